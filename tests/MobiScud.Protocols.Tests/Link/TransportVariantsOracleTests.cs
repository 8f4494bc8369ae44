using System.Buffers.Binary;
using MobiScud.Capture;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Tests.Capture;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Link;

/// <summary>
/// Real S1AP/SCTP packets (open5gs_testepc_2019) re-wrapped in every link layer, IP version, fragmentation and
/// encapsulation we decode, written to files and decoded both by tshark and by us: the S1AP messages found per frame
/// (and their procedure codes) must agree.
/// </summary>
public sealed class TransportVariantsOracleTests
{
    private static readonly Lazy<List<byte[]>> _sourcePackets = new(LoadSourcePackets);

    public static TheoryData<string> LinkVariants() => ["ethernet", "vlan", "qinq", "sll", "sll2", "null-le", "null-be", "loop", "raw", "ipv4", "ipv6-ext", "ipv6-linktype", "udp-encap", "ip-fragments"];

    [Theory]
    [MemberData(nameof(LinkVariants))]
    public async Task Link_and_network_variants_match_tshark(string variant)
    {
        var (link, frames) = Build(variant, _sourcePackets.Value);
        var path = WritePcap(variant, link, frames, bigEndian: variant == "sll", micro: variant == "loop");
        await AssertSameS1apAsTshark(path, expectAtLeast: 20);
    }

    [Fact]
    public async Task Sctp_fragments_bundles_and_retransmissions_match_tshark()
    {
        // One association (the first source packet's), new TSNs from 1000: a message in three DATA fragments, a
        // retransmitted middle fragment, two whole messages bundled in one packet, and a retransmitted whole packet.
        var packets = _sourcePackets.Value.Where(p => p.Length > 100 && p[((p[0] & 0x0F) * 4) + 12] == 0 && p[((p[0] & 0x0F) * 4) + 13] == 3).Take(3).ToList();
        var first = packets[0];
        var ihl = (first[0] & 0x0F) * 4;
        var message = first.AsSpan(ihl + 12 + 16, BinaryPrimitives.ReadUInt16BigEndian(first.AsSpan(ihl + 12 + 2)) - 16).ToArray();
        var second = packets[1];
        var ihl2 = (second[0] & 0x0F) * 4;
        var message2 = second.AsSpan(ihl2 + 12 + 16, BinaryPrimitives.ReadUInt16BigEndian(second.AsSpan(ihl2 + 12 + 2)) - 16).ToArray();
        var header = first.AsSpan(0, ihl + 12).ToArray();
        var third = message.Length / 3;
        var f1 = Sctp(header, DataChunk(1000, 7, 0x02, message.AsSpan(0, third)));
        var f2 = Sctp(header, DataChunk(1001, 7, 0x00, message.AsSpan(third, third)));
        var f3 = Sctp(header, DataChunk(1002, 7, 0x01, message.AsSpan(2 * third)));
        var bundle = Sctp(header, [.. DataChunk(1003, 8, 0x03, message2), .. DataChunk(1004, 9, 0x03, message)]);
        var frames = new List<byte[]> { f1, f2, f2, f3, bundle, bundle };
        var path = WritePcap("sctp-fragments", LinkType.Raw, frames, bigEndian: false, micro: false);
        var (ours, _) = await AssertSameS1apAsTshark(path, expectAtLeast: 3);
        Assert.Equal([4L, 5L, 5L], ours.Select(m => m.Frame));
    }

    [Fact]
    public async Task Pcapng_with_several_interfaces_link_types_and_resolutions_matches_tshark()
    {
        var packets = _sourcePackets.Value.Take(40).ToList();
        var path = Path.Combine(Path.GetTempPath(), $"mobiscud-capture-{Environment.ProcessId}-multi.pcapng");
        using (var f = File.Create(path))
        {
            WritePcapngBlock(f, 0x0A0D0D0A, [.. U32(0x1A2B3C4D), 1, 0, 0, 0, .. Enumerable.Repeat((byte)0xFF, 8)]);
            // Interface 0: Ethernet, nanoseconds (if_tsresol 9); interface 1: NULL, default microseconds;
            // interface 2: raw IP, 2^-20 s units.
            WritePcapngBlock(f, 1, [1, 0, 0, 0, 0, 0, 4, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
            WritePcapngBlock(f, 1, [0, 0, 0, 0, 0, 0, 4, 0]);
            WritePcapngBlock(f, 1, [101, 0, 0, 0, 0, 0, 4, 0, 9, 0, 1, 0, 0x94, 0, 0, 0, 0, 0, 0, 0]);
            ulong t = 1_600_000_000;
            for (var i = 0; i < packets.Count; i++)
            {
                var iface = i % 3;
                var frame = iface switch
                {
                    0 => Wrap("ethernet", packets[i]),
                    1 => Wrap("null-le", packets[i]),
                    _ => packets[i],
                };
                var ts = iface switch
                {
                    0 => ((t + (ulong)i) * 1_000_000_000UL) + 123_456_789UL,
                    1 => ((t + (ulong)i) * 1_000_000UL) + 654_321UL,
                    _ => ((t + (ulong)i) << 20) + 12345UL,
                };
                WritePcapngBlock(f, 6, [.. U32((uint)iface), .. U32((uint)(ts >> 32)), .. U32((uint)ts), .. U32((uint)frame.Length), .. U32((uint)frame.Length), .. frame, .. new byte[(4 - (frame.Length % 4)) % 4]]);
            }
        }

        await AssertSameS1apAsTshark(path, expectAtLeast: 10);
        var times = await Tshark.FieldsAsync(path, string.Empty, "frame.time_epoch");
        using var source = CaptureFile.Open(path);
        var i2 = 0;
        while (source.TryReadNext(out var frame))
        {
            var parts = times[i2++][0].Split('.');
            Assert.Equal((long.Parse(parts[0]) * 1_000_000_000L) + long.Parse(parts[1].PadRight(9, '0')[..9]), frame.TimestampNanos);
        }

        Assert.Equal(times.Count, i2);
    }

    internal static async Task<(List<(long Frame, byte Code)> Ours, IReadOnlyList<string[]> Theirs)> AssertSameS1apAsTshark(string path, int expectAtLeast)
    {
        var theirs = await Tshark.FieldsAsync(path, "s1ap", "frame.number", "s1ap.procedureCode");
        var sink = new CaptureReaderOracleTests.RecordingSink();
        var decoder = new FrameDecoder(sink);
        using (var source = CaptureFile.Open(path))
        {
            while (source.TryReadNext(out var frame))
            {
                decoder.Process(frame);
            }
        }

        // The second octet of an S1AP-PDU (APER) is its procedure code.
        var ours = sink.S1ap.Select(m => (m.Frame, m.Payload[1])).ToList();
        var expected = theirs.SelectMany(r => r[1].Split(',').Select(c => (long.Parse(r[0]), byte.Parse(c)))).ToList();
        Assert.True(expected.Count >= expectAtLeast, $"tshark found only {expected.Count} S1AP messages in {path}");
        Assert.Equal(expected, ours);
        return (ours, theirs);
    }

    private static List<byte[]> LoadSourcePackets()
    {
        var result = new List<byte[]>();
        using var source = CaptureFile.Open(TestData.Capture("open5gs_testepc_2019.pcapng"));
        while (source.TryReadNext(out var frame) && result.Count < 120)
        {
            var data = frame.Data.Span;
            if (LinkDecoder.TryDecode(frame.LinkType, data, out var p, out var off, out _) && p == NetworkProtocol.Ipv4 && data[off + 9] == 132)
            {
                result.Add(data[off..].ToArray());
            }
        }

        return result;
    }

    private static (LinkType, List<byte[]>) Build(string variant, List<byte[]> packets) => variant switch
    {
        "ethernet" or "vlan" or "qinq" => (LinkType.Ethernet, packets.Select(p => Wrap(variant, p)).ToList()),
        "sll" => (LinkType.LinuxSll, packets.Select(p => Wrap(variant, p)).ToList()),
        "sll2" => (LinkType.LinuxSll2, packets.Select(p => Wrap(variant, p)).ToList()),
        "null-le" or "null-be" => (LinkType.Null, packets.Select(p => Wrap(variant, p)).ToList()),
        "loop" => (LinkType.Loop, packets.Select(p => Wrap(variant, p)).ToList()),
        "raw" => (LinkType.Raw, packets),
        "ipv4" => (LinkType.Ipv4, packets),
        "ipv6-ext" => (LinkType.Raw, packets.Select(ToIpv6).ToList()),
        "ipv6-linktype" => (LinkType.Ipv6, packets.Select(ToIpv6).ToList()),
        "udp-encap" => (LinkType.Raw, packets.Select(ToUdpEncapsulated).ToList()),
        "ip-fragments" => (LinkType.Raw, packets.SelectMany(Fragment).ToList()),
        _ => throw new ArgumentException(variant),
    };

    private static byte[] Wrap(string variant, byte[] ip)
    {
        var v6 = ip[0] >> 4 == 6;
        byte[] etherType = v6 ? [0x86, 0xDD] : [0x08, 0x00];
        byte[] macs = [0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10];
        return variant switch
        {
            "ethernet" => [.. macs, .. etherType, .. ip],
            "vlan" => [.. macs, 0x81, 0x00, 0x00, 0x64, .. etherType, .. ip],
            "qinq" => [.. macs, 0x88, 0xA8, 0x00, 0x0A, 0x81, 0x00, 0x00, 0x64, .. etherType, .. ip],
            "sll" => [0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, .. etherType, .. ip],
            "sll2" => [.. etherType, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, .. ip],
            "null-le" => [2, 0, 0, 0, .. ip],
            "null-be" => [0, 0, 0, 2, .. ip],
            "loop" => [0, 0, 0, 2, .. ip],
            _ => throw new ArgumentException(variant),
        };
    }

    private static byte[] ToIpv6(byte[] ip4)
    {
        var ihl = (ip4[0] & 0x0F) * 4;
        var payload = ip4.AsSpan(ihl, BinaryPrimitives.ReadUInt16BigEndian(ip4.AsSpan(2)) - ihl);
        // Hop-by-hop then destination options (each 8 bytes with a PadN option) before SCTP.
        byte[] ext = [60, 0, 1, 4, 0, 0, 0, 0, 132, 0, 1, 4, 0, 0, 0, 0];
        var v6 = new byte[40 + ext.Length + payload.Length];
        v6[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(v6.AsSpan(4), (ushort)(ext.Length + payload.Length));
        v6[6] = 0;
        v6[7] = 64;
        v6[8] = 0xfd;
        ip4.AsSpan(12, 4).CopyTo(v6.AsSpan(20));
        v6[24] = 0xfd;
        ip4.AsSpan(16, 4).CopyTo(v6.AsSpan(36));
        ext.CopyTo(v6.AsSpan(40));
        payload.CopyTo(v6.AsSpan(40 + ext.Length));
        return v6;
    }

    private static byte[] ToUdpEncapsulated(byte[] ip4)
    {
        var ihl = (ip4[0] & 0x0F) * 4;
        var total = BinaryPrimitives.ReadUInt16BigEndian(ip4.AsSpan(2));
        var sctp = ip4.AsSpan(ihl, total - ihl);
        var result = new byte[ihl + 8 + sctp.Length];
        ip4.AsSpan(0, ihl).CopyTo(result);
        result[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(2), (ushort)result.Length);
        result[10] = result[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(10), Ipv4Checksum(result.AsSpan(0, ihl)));
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(ihl), 9899);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(ihl + 2), 9899);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(ihl + 4), (ushort)(8 + sctp.Length));
        sctp.CopyTo(result.AsSpan(ihl + 8));
        return result;
    }

    private static IEnumerable<byte[]> Fragment(byte[] ip4)
    {
        var ihl = (ip4[0] & 0x0F) * 4;
        var total = BinaryPrimitives.ReadUInt16BigEndian(ip4.AsSpan(2));
        var payload = ip4.AsSpan(ihl, total - ihl).ToArray();
        if (payload.Length <= 48)
        {
            yield return ip4;
            yield break;
        }

        // Second fragment first: reassembly must not depend on arrival order.
        var split = (payload.Length / 2) & ~7;
        yield return Piece(split, payload.AsSpan(split), more: false);
        yield return Piece(0, payload.AsSpan(0, split), more: true);

        byte[] Piece(int offset, ReadOnlySpan<byte> data, bool more)
        {
            var p = new byte[ihl + data.Length];
            ip4.AsSpan(0, ihl).CopyTo(p);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(0x4000 + (ip4[5] ^ 0x55)));
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), (ushort)((more ? 0x2000 : 0) | (offset / 8)));
            p[10] = p[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Ipv4Checksum(p.AsSpan(0, ihl)));
            data.CopyTo(p.AsSpan(ihl));
            return p;
        }
    }

    private static ushort Ipv4Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    private static byte[] DataChunk(uint tsn, ushort ssn, byte flags, ReadOnlySpan<byte> data)
    {
        var chunk = new byte[(16 + data.Length + 3) & ~3];
        chunk[0] = 0;
        chunk[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)(16 + data.Length));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4), tsn);
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(10), ssn);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(12), 18);
        data.CopyTo(chunk.AsSpan(16));
        return chunk;
    }

    private static byte[] Sctp(byte[] ipAndCommonHeader, byte[] chunks)
    {
        var p = new byte[ipAndCommonHeader.Length + chunks.Length];
        ipAndCommonHeader.CopyTo(p, 0);
        chunks.CopyTo(p, ipAndCommonHeader.Length);
        var ihl = (p[0] & 0x0F) * 4;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[10] = p[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Ipv4Checksum(p.AsSpan(0, ihl)));
        return p;
    }

    private static string WritePcap(string name, LinkType link, List<byte[]> frames, bool bigEndian, bool micro)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mobiscud-capture-{Environment.ProcessId}-{name}.pcap");
        using var f = File.Create(path);
        void W32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(b, v);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            }

            f.Write(b);
        }

        void W16(ushort v)
        {
            Span<byte> b = stackalloc byte[2];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt16BigEndian(b, v);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(b, v);
            }

            f.Write(b);
        }

        W32(micro ? 0xA1B2C3D4 : 0xA1B23C4D);
        W16(2);
        W16(4);
        W32(0);
        W32(0);
        W32(262144);
        W32((uint)link);
        for (var i = 0; i < frames.Count; i++)
        {
            W32(1_600_000_000u + (uint)i);
            W32(micro ? 999_999u : 999_999_999u);
            W32((uint)frames[i].Length);
            W32((uint)frames[i].Length);
            f.Write(frames[i]);
        }

        return path;
    }

    private static byte[] U32(uint v) => BitConverter.GetBytes(v);

    private static void WritePcapngBlock(Stream f, uint type, byte[] body)
    {
        var length = (uint)(12 + body.Length);
        f.Write(U32(type));
        f.Write(U32(length));
        f.Write(body);
        f.Write(U32(length));
    }
}
