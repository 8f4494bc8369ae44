using MobiScud.Capture;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Sctp;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Sctp;

/// <summary>
/// Mutation fuzzing of the transport decoders with real frames from every shared capture: bit flips, byte
/// overwrites, truncations, extensions and length-field stomps. Only the typed <see cref="TransportDecodeException"/>
/// may escape the throwing entry points; the Try entry points and the whole frame decoder never throw.
/// MOBISCUD_FUZZ_ITERATIONS raises the count (default 100,000 per test).
/// </summary>
public sealed class TransportFuzzTests
{
    private static readonly Lazy<List<(LinkType Link, byte[] Frame)>> _seeds = new(LoadSeeds);

    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : 100_000;

    [Fact]
    public void Frame_decoder_never_throws_on_mutated_real_frames()
    {
        var seeds = _seeds.Value;
        var random = new Random(4960);
        var sink = new CountingSink();
        var decoder = new FrameDecoder(sink);
        var buffer = new byte[70_000];
        for (var i = 0; i < Iterations; i++)
        {
            var (link, seed) = seeds[random.Next(seeds.Count)];
            var length = Mutate(seed, buffer, random);
            // A fresh decoder now and then, so state built from garbage does not hide bugs in the empty path.
            if (i % 5000 == 0)
            {
                decoder = new FrameDecoder(sink);
            }

            decoder.Process(new CaptureFrame(i + 1, link, i, buffer.AsMemory(0, length), length, 0));
        }

        Assert.True(sink.Messages + sink.Drops > 0);
        Assert.True(sink.Drops > 0, "mutations should have been rejected somewhere");
    }

    [Fact]
    public void Throwing_decoders_raise_only_the_typed_error()
    {
        var seeds = _seeds.Value;
        var random = new Random(768);
        var buffer = new byte[70_000];
        var typed = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var (link, seed) = seeds[random.Next(seeds.Count)];
            var length = Mutate(seed, buffer, random);
            var frame = buffer.AsSpan(0, length);
            try
            {
                var ip = LinkDecoder.Decode(link, frame, out var protocol);
                var info = IpDecoder.Decode(protocol, ip);
                var payload = ip.Slice(info.PayloadOffset, info.PayloadLength);
                if (info.Protocol == 17)
                {
                    var udp = UdpDecoder.Decode(payload);
                    Assert.InRange(udp.PayloadOffset + udp.PayloadLength, 8, payload.Length);
                }
                else if (info.Protocol == 132)
                {
                    WalkSctp(payload);
                }
            }
            catch (TransportDecodeException e)
            {
                Assert.NotEqual(TransportError.None, e.Error);
                typed++;
            }
        }

        Assert.True(typed > 0);
    }

    [Fact]
    public void Reassembler_bounds_memory_and_survives_hostile_chunk_sequences()
    {
        var random = new Random(9);
        var reassembler = new SctpReassembler { MaxMessageSize = 4096, MaxDirections = 64 };
        var sink = new CountingSink();
        var tap = new SctpTap(reassembler);
        var packet = new byte[12 + 16 + 600];
        for (var i = 0; i < Iterations / 4; i++)
        {
            random.NextBytes(packet);
            packet[12] = 0; // DATA
            packet[13] = (byte)random.Next(8);
            var chunkLength = random.Next(16, packet.Length - 12 + 1);
            packet[14] = (byte)(chunkLength >> 8);
            packet[15] = (byte)chunkLength;
            var src = new NetAddress(0, (ulong)random.Next(200), false);
            tap.Process(src, new NetAddress(0, 1, false), packet.AsSpan(0, 12 + chunkLength), sink);
            Assert.True(reassembler.TrackedDirections <= 64);
        }
    }

    private static void WalkSctp(ReadOnlySpan<byte> packet)
    {
        if (!SctpCommonHeader.TryDecode(packet, out _, out var error))
        {
            throw new TransportDecodeException(error, 0);
        }

        var reader = new SctpChunkReader(packet);
        while (reader.TryReadNext(out var chunk, out error))
        {
            Assert.InRange(chunk.Offset + 4 + chunk.Value.Length, 4, packet.Length);
            switch (chunk.Type)
            {
                case SctpChunkType.Data:
                    if (SctpDataChunk.TryParse(chunk, out var data, out _))
                    {
                        Assert.True(data.UserData.Length <= chunk.Value.Length);
                    }

                    break;
                case SctpChunkType.Init or SctpChunkType.InitAck:
                    SctpInitChunk.TryParse(chunk, out _, out _);
                    break;
                case SctpChunkType.Sack:
                    SctpSackChunk.TryParse(chunk, out _, out _);
                    break;
                case SctpChunkType.Shutdown:
                    SctpShutdownChunk.TryParse(chunk, out _, out _);
                    break;
            }
        }

        if (error != TransportError.None)
        {
            throw new TransportDecodeException(error, reader.Offset);
        }
    }

    private static int Mutate(byte[] seed, byte[] buffer, Random random)
    {
        var length = seed.Length;
        seed.CopyTo(buffer, 0);
        var mutations = 1 + random.Next(4);
        for (var m = 0; m < mutations; m++)
        {
            switch (random.Next(6))
            {
                case 0 when length > 0:
                    buffer[random.Next(length)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when length > 0:
                    buffer[random.Next(length)] = (byte)random.Next(256);
                    break;
                case 2:
                    length = random.Next(length + 1);
                    break;
                case 3:
                    var extra = random.Next(1, 64);
                    random.NextBytes(buffer.AsSpan(length, extra));
                    length += extra;
                    break;
                case 4 when length > 1:
                    // Stomp a 16-bit field with an extreme value: lengths are where decoders go wrong.
                    var at = random.Next(length - 1);
                    var v = random.Next(4) switch { 0 => 0, 1 => 0xFFFF, 2 => 4, _ => random.Next(65536) };
                    buffer[at] = (byte)(v >> 8);
                    buffer[at + 1] = (byte)v;
                    break;
                default:
                    break;
            }
        }

        return length;
    }

    private static List<(LinkType, byte[])> LoadSeeds()
    {
        var seeds = new List<(LinkType, byte[])>();
        foreach (var file in TestData.AllCaptures())
        {
            using var source = CaptureFile.Open(file);
            var n = 0;
            while (source.TryReadNext(out var frame) && n++ < 400)
            {
                seeds.Add((frame.LinkType, frame.Data.ToArray()));
            }
        }

        return seeds;
    }

    private sealed class CountingSink : IPayloadSink, ISctpSink
    {
        public long Messages { get; private set; }

        public long Drops { get; private set; }

        public void OnS1ap(in PayloadContext context, ushort streamId, ReadOnlySpan<byte> message) => Messages++;

        public void OnUdp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload) => Messages++;

        public void OnDropped(in DropReason reason, long frameNumber) => Drops++;

        public void OnMessage(in SctpAssociationKey association, SctpDirection direction, ushort streamId, uint payloadProtocolId, ReadOnlySpan<byte> message) => Messages++;

        public void OnDropped(TransportError reason) => Drops++;
    }
}
