using MobiScud.Capture;
using MobiScud.Protocols.Link;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>Our readers and transport decoders against tshark on every shared capture.</summary>
public sealed class CaptureReaderOracleTests
{
    public static TheoryData<string> Captures()
    {
        var data = new TheoryData<string>();
        foreach (var f in TestData.AllCaptures())
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public async Task Frame_count_timestamps_and_lengths_match_tshark(string name)
    {
        var file = TestData.Capture(name);
        var expected = await Tshark.FieldsAsync(file, string.Empty, "frame.number", "frame.time_epoch", "frame.cap_len");
        var frames = new List<(long Number, long Nanos, int Length)>();
        using (var source = CaptureFile.Open(file))
        {
            while (source.TryReadNext(out var frame))
            {
                frames.Add((frame.Number, frame.TimestampNanos, frame.Data.Length));
            }
        }

        Assert.Equal(expected.Count, frames.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(long.Parse(expected[i][0]), frames[i].Number);
            Assert.Equal(int.Parse(expected[i][2]), frames[i].Length);
            // tshark prints epoch seconds with nanosecond digits.
            var parts = expected[i][1].Split('.');
            var nanos = (long.Parse(parts[0]) * 1_000_000_000L) + long.Parse(parts[1].PadRight(9, '0')[..9]);
            Assert.Equal(nanos, frames[i].Nanos);
        }
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public async Task S1ap_messages_per_frame_and_association_match_tshark(string name)
    {
        var file = TestData.Capture(name);
        // One row per frame that carries S1AP; procedureCode lists one value per S1AP message in the frame.
        var expected = await Tshark.FieldsAsync(file, "s1ap", "frame.number", "s1ap.procedureCode", "ip.src", "sctp.srcport", "ip.dst", "sctp.dstport");
        var sink = new RecordingSink();
        var decoder = new FrameDecoder(sink);
        using (var source = CaptureFile.Open(file))
        {
            while (source.TryReadNext(out var frame))
            {
                decoder.Process(frame);
            }
        }

        var ours = sink.S1ap.GroupBy(m => m.Frame).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(expected.Select(r => long.Parse(r[0])), ours.Keys.Order());
        foreach (var row in expected)
        {
            var messages = ours[long.Parse(row[0])];
            Assert.Equal(row[1].Split(',').Length, messages.Count);
            foreach (var m in messages)
            {
                Assert.Equal(row[2].Split(',')[0], m.Source.Address.ToString());
                Assert.Equal(row[3].Split(',')[0], m.Source.Port.ToString());
                Assert.Equal(row[4].Split(',')[0], m.Destination.Address.ToString());
                Assert.Equal(row[5].Split(',')[0], m.Destination.Port.ToString());
            }
        }
    }

    internal sealed class RecordingSink : IPayloadSink
    {
        public List<(long Frame, NetEndpoint Source, NetEndpoint Destination, byte[] Payload)> S1ap { get; } = [];

        public List<(long Frame, UdpPayloadKind Kind)> Udp { get; } = [];

        public Dictionary<DropReason, int> Drops { get; } = [];

        public void OnS1ap(in PayloadContext context, ushort streamId, ReadOnlySpan<byte> message) =>
            S1ap.Add((context.FrameNumber, context.Source, context.Destination, message.ToArray()));

        public void OnUdp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload) => Udp.Add((context.FrameNumber, kind));

        public void OnDropped(in DropReason reason, long frameNumber) => Drops[reason] = Drops.GetValueOrDefault(reason) + 1;
    }
}
