using System.Buffers.Binary;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Capture;

/// <summary>
/// Builds a large capture for benchmarking against tshark: the IP packets of the given captures (link headers stripped,
/// written as LINKTYPE_RAW), repeated <c>repeat</c> times. Each repetition shifts every SCTP TSN (DATA, SACK, SHUTDOWN,
/// INIT/INIT-ACK initial TSN) by a fresh offset and moves the timestamps on, so that tshark's TSN analysis sees new data
/// rather than retransmissions it would not dissect again. The SCTP checksum is not recomputed (tshark does not check it
/// by default, and neither do we). With <c>sctpOnly</c>, only SCTP packets (and IP fragments) are kept; with
/// <see cref="BenchFilter.Signalling"/>, only the S1AP and NGAP associations (ports 36412/38412, also over UDP 9899) and
/// one GTP-U packet in <see cref="GtpuEvery"/>, so the file is S1AP- (or NGAP-) dense: other SCTP traffic (Diameter,
/// X2AP) costs tshark time and us none, and would flatter the ratio.
/// </summary>
public static class BenchCaptureGenerator
{
    /// <summary>With <see cref="BenchFilter.Signalling"/>: one GTP-U packet kept in this many (some user plane, mostly signalling).</summary>
    public const int GtpuEvery = 4;

    /// <summary>TSN shift per repetition: far more than any capture here sends on one association.</summary>
    public const uint TsnStride = 1_000_000;

    /// <summary>Time of the first packet (2023-11-14), nanoseconds since the Unix epoch.</summary>
    public const long FirstTimestamp = 1_700_000_000_000_000_000L;

    public static (long Frames, long Bytes) Generate(IReadOnlyList<string> inputs, int repeat, Stream output, bool sctpOnly = false) =>
        Generate(inputs, repeat, output, sctpOnly ? BenchFilter.Sctp : BenchFilter.All);

    /// <param name="bundle">At most this many DATA chunks per SCTP packet (<see cref="SctpBundler"/>; 1: packets as captured).</param>
    /// <param name="keepUeOrder">With <paramref name="bundle"/>: keep every UE's message order (see <see cref="SctpBundler.Bundle"/>).</param>
    public static (long Frames, long Bytes) Generate(IReadOnlyList<string> inputs, int repeat, Stream output, BenchFilter filter, int bundle = 1, bool keepUeOrder = false)
    {
        if (repeat < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(repeat), repeat, "at least one repetition");
        }

        if (bundle is < 1 or > 32)
        {
            // ShiftTsns moves at most 64 TSNs per packet.
            throw new ArgumentOutOfRangeException(nameof(bundle), bundle, "1 to 32 chunks per packet");
        }

        // Each input keeps its own pace, relative to its first packet, and the inputs follow each other 1 s apart: the
        // inputs' own dates (years apart across captures) must not become the span of one repetition, or the Int64
        // nanosecond timestamps overflow after a few repetitions.
        var packets = new List<(long Nanos, byte[] Ip)>();
        var inputStart = 0L;
        foreach (var input in inputs)
        {
            var first = packets.Count;
            var gtpu = 0;
            using (var source = CaptureFile.Open(input))
            {
                while (source.TryReadNext(out var frame))
                {
                    if (LinkDecoder.TryDecode(frame.LinkType, frame.Data.Span, out var network, out var offset, out _)
                        && Keep(network, frame.Data.Span[offset..], filter, ref gtpu))
                    {
                        packets.Add((frame.TimestampNanos, frame.Data.Span[offset..].ToArray()));
                    }
                }
            }

            if (packets.Count > first)
            {
                var min = packets.Skip(first).Min(p => p.Nanos);
                var max = packets.Skip(first).Max(p => p.Nanos);
                for (var i = first; i < packets.Count; i++)
                {
                    packets[i] = (inputStart + (packets[i].Nanos - min), packets[i].Ip);
                }

                inputStart += max - min + 1_000_000_000L;
            }
        }

        if (packets.Count == 0)
        {
            throw new InvalidOperationException("no IP packets in the inputs");
        }

        if (bundle > 1)
        {
            packets = SctpBundler.Bundle(packets, bundle, keepUeOrder: keepUeOrder);
        }

        var span = inputStart;
        // The pcap record keeps whole seconds in 32 bits: the last repetition must end before 2106.
        if (span > (((long)uint.MaxValue * 1_000_000_000L) - FirstTimestamp) / Math.Max(1, repeat))
        {
            throw new InvalidOperationException($"{repeat} repetitions of {span / 1e9:0} s do not fit in pcap timestamps (before 2106): use fewer repetitions or shorter inputs");
        }

        long frames = 0;
        long bytes = 0;
        using var writer = new PcapWriter(output, LinkType.Raw);
        var buffer = new byte[65536];
        for (var r = 0; r < repeat; r++)
        {
            var shift = (uint)r * TsnStride;
            var timeBase = FirstTimestamp + (r * span);
            foreach (var (nanos, ip) in packets)
            {
                var copy = buffer.AsSpan(0, ip.Length);
                ip.CopyTo(copy);
                ShiftTsns(copy, shift);
                writer.Write(timeBase + nanos, copy);
                frames++;
                bytes += ip.Length;
            }
        }

        return (frames, bytes);
    }

    private static bool Keep(NetworkProtocol network, ReadOnlySpan<byte> packet, BenchFilter filter, ref int gtpu)
    {
        if (filter == BenchFilter.All)
        {
            return true;
        }

        if (!IpDecoder.TryDecode(network, packet, out var ip, out _))
        {
            return false;
        }

        if (filter == BenchFilter.Sctp)
        {
            return ip.Protocol == 132 || ip.IsFragment;
        }

        if (ip.IsFragment)
        {
            return false;
        }

        var payload = packet.Slice(ip.PayloadOffset, ip.PayloadLength);
        if (ip.Protocol == 17 && UdpDecoder.TryDecode(payload, out var udp, out _))
        {
            if (udp.SourcePort == 2152 || udp.DestinationPort == 2152)
            {
                return gtpu++ % GtpuEvery == 0;
            }

            if (udp.SourcePort != 9899 && udp.DestinationPort != 9899)
            {
                return false;
            }

            payload = payload.Slice(udp.PayloadOffset, udp.PayloadLength);
        }
        else if (ip.Protocol != 132)
        {
            return false;
        }

        if (payload.Length < SctpCommonHeader.Length)
        {
            return false;
        }

        var source = BinaryPrimitives.ReadUInt16BigEndian(payload);
        var destination = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
        return source is S1apPort or NgapPort || destination is S1apPort or NgapPort;
    }

    private const ushort S1apPort = 36412;
    private const ushort NgapPort = 38412;

    /// <summary>Adds <paramref name="shift"/> to every TSN in an IP packet carrying SCTP (directly or over UDP 9899).</summary>
    public static void ShiftTsns(Span<byte> ip, uint shift)
    {
        Span<int> offsets = stackalloc int[64];
        var count = TsnOffsets(ip, offsets);
        foreach (var at in offsets[..count])
        {
            var tsn = ip[at..];
            BinaryPrimitives.WriteUInt32BigEndian(tsn, BinaryPrimitives.ReadUInt32BigEndian(tsn) + shift);
        }
    }

    /// <summary>
    /// Where the TSNs (DATA, SACK, SHUTDOWN, FORWARD-TSN; INIT/INIT-ACK initial TSN) of an IP packet carrying SCTP
    /// (directly or over UDP 9899) are, as byte offsets into <paramref name="ip"/>; at most <paramref name="into"/>'s
    /// length of them. A packet that is not SCTP, or a non-first fragment, has none; a first fragment has those of the
    /// chunks it holds the start of.
    /// </summary>
    public static int TsnOffsets(ReadOnlySpan<byte> ip, Span<int> into)
    {
        var version = ip.IsEmpty ? 0 : ip[0] >> 4;
        if (!IpDecoder.TryDecode(version == 6 ? NetworkProtocol.Ipv6 : NetworkProtocol.Ipv4, ip, out var info, out _) || info.FragmentOffset != 0)
        {
            return 0;
        }

        var start = info.PayloadOffset;
        var payload = ip.Slice(info.PayloadOffset, info.PayloadLength);
        if (info.Protocol == 17 && UdpDecoder.TryDecode(payload, out var udp, out _) && (udp.SourcePort == 9899 || udp.DestinationPort == 9899))
        {
            start += udp.PayloadOffset;
            payload = payload.Slice(udp.PayloadOffset, udp.PayloadLength);
        }
        else if (info.Protocol != 132)
        {
            return 0;
        }

        var count = 0;
        var offset = SctpCommonHeader.Length;
        while (payload.Length - offset >= 4 && count < into.Length)
        {
            var type = (SctpChunkType)payload[offset];
            int length = BinaryPrimitives.ReadUInt16BigEndian(payload[(offset + 2)..]);
            if (length < 4)
            {
                return count;
            }

            // A chunk cut by the end of a first fragment still has its TSN if that came before the cut.
            var cut = length > payload.Length - offset;
            var tsnAt = type switch
            {
                SctpChunkType.Data or SctpChunkType.Sack or SctpChunkType.Shutdown or SctpChunkType.ForwardTsn => offset + 4,
                SctpChunkType.Init or SctpChunkType.InitAck => offset + 16,
                _ => -1,
            };
            if (tsnAt >= 0 && tsnAt + 4 <= Math.Min(offset + length, payload.Length))
            {
                into[count++] = start + tsnAt;
            }

            if (cut)
            {
                return count;
            }

            offset += (length + 3) & ~3;
        }

        return count;
    }
}

/// <summary>Which packets of the inputs a generated benchmark capture keeps.</summary>
public enum BenchFilter
{
    /// <summary>Every IP packet.</summary>
    All,

    /// <summary>SCTP packets and IP fragments (S1AP, NGAP, X2AP, Diameter over SCTP ...).</summary>
    Sctp,

    /// <summary>The S1AP and NGAP associations (SCTP ports 36412/38412, also over UDP 9899) and one GTP-U packet in <see cref="BenchCaptureGenerator.GtpuEvery"/>.</summary>
    Signalling,
}
