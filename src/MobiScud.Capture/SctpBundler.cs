using System.Buffers.Binary;
using MobiScud.Protocols;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Capture;

/// <summary>
/// Makes a capture S1AP-dense for rate measurements: the DATA chunks of later packets of one SCTP association and
/// direction are bundled into an earlier packet of it (RFC 4960 section 6.10), as an SCTP stack does when messages queue
/// under load, so that a sender at F frames/s offers up to <c>maxChunks x F</c> messages/s.
/// <para>
/// What keeps the message order: chunks stay in TSN order within their flow (a bundle takes only the next packets of
/// its flow, and any other packet of that flow but a lone SACK closes it); a message of a UE in the opposite direction
/// stops later messages of that UE (by eNB or MME UE S1AP id) from joining the bundle, and a message of no UE (S1
/// Setup, reset) closes it, so a message never moves ahead of what it answered; a message of another association, an
/// IP fragment or SCTP over UDP closes every bundle, so nothing moves across associations (an S1 handover's steps
/// alternate between source and target). What moves: messages of other UEs of the same association, at most
/// <c>window</c> packets ahead, which is what a stack's send queue does under load. Packets of SACKs then DATA chunks
/// of directly carried SCTP are bundled; a bundle carries the newest SACK of its packets first (control chunks go
/// first; a later cumulative SACK says what an earlier one said) and keeps the time of its first packet; a lone SACK
/// waits for the next bundle its flow starts (a delayed SACK), or goes out on its own when the flow closes. IPv4 total length and header checksum, IPv6 payload length are set; the
/// SCTP checksum is not recomputed (see <see cref="BenchCaptureGenerator"/>).
/// </para>
/// </summary>
public static class SctpBundler
{
    private const byte SctpProtocol = 132;
    private const int SctpHeader = 12;
    private const byte DataChunk = 0;
    private const byte SackChunk = 3;
    private const uint S1apPpid = 18;
    private const ushort S1apPort = 36412;

    /// <param name="packets">IP packets (no link header) with their times, in capture order.</param>
    /// <param name="maxChunks">At most this many DATA chunks per packet (1: nothing is bundled).</param>
    /// <param name="maxBytes">At most this many bytes per IP packet (the path MTU a stack would respect).</param>
    /// <param name="window">A bundle takes packets at most this many output packets after its first one.</param>
    /// <param name="keepUeOrder">
    /// True: every UE's messages keep their order across directions and associations (see above); a capture whose UEs
    /// take turns (each answer before the next UE's message, as in the shared captures) then bundles little. False:
    /// only the TSN order of each flow is kept; a message may move ahead of up to <paramref name="window"/> packets,
    /// answers included, which is the density a busy eNB's send queue gives but not a sequence the tracker could follow
    /// UE by UE: for rate measurements (messages counted), not for checking events.
    /// </param>
    public static List<(long Nanos, byte[] Ip)> Bundle(IReadOnlyList<(long Nanos, byte[] Ip)> packets, int maxChunks, int maxBytes = 1500, int window = 256, bool keepUeOrder = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 68);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var output = new List<Pending>(packets.Count);
        var open = new Dictionary<(NetAddress, NetAddress, ushort, ushort), Pending>();
        (NetAddress, NetAddress, ushort, ushort) association = default;
        var summary = new S1apSummary();
        var ues = new List<long>();
        var held = new Dictionary<(NetAddress, NetAddress, ushort, ushort), (Pending Packet, byte[] Sack)>();
        foreach (var (nanos, ip) in packets)
        {
            var version = ip.Length == 0 ? 0 : ip[0] >> 4;
            if (!IpDecoder.TryDecode(version == 6 ? NetworkProtocol.Ipv6 : NetworkProtocol.Ipv4, ip, out var info, out _))
            {
                output.Add(new Pending(nanos, ip, -1));
                continue;
            }

            var payload = ip.AsSpan(info.PayloadOffset, info.PayloadLength);
            if (info.IsFragment || (info.Protocol == 17 && payload.Length >= 4
                && (BinaryPrimitives.ReadUInt16BigEndian(payload) == 9899 || BinaryPrimitives.ReadUInt16BigEndian(payload[2..]) == 9899)))
            {
                // Which flow a non-first fragment (or an encapsulated packet) belongs to is not looked at: close all.
                open.Clear();
                ReleaseAll();
                output.Add(new Pending(nanos, ip, -1));
                continue;
            }

            if (info.Protocol != SctpProtocol || payload.Length < SctpHeader)
            {
                output.Add(new Pending(nanos, ip, -1));
                continue;
            }

            var sourcePort = BinaryPrimitives.ReadUInt16BigEndian(payload);
            var destinationPort = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
            var key = (info.Source, info.Destination, sourcePort, destinationPort);
            var reverse = (info.Destination, info.Source, destinationPort, sourcePort);
            var (chunks, sacks) = DataAfterSacks(payload);
            if (chunks == 0 && sacks > 0)
            {
                // A SACK alone carries no message: bundles on either side stay open (the data it acknowledges is
                // already out, ahead of it). It waits for the next bundle its flow starts and rides in it, as a
                // delayed SACK does (RFC 4960 6.2); a later lone SACK of the flow says all it said and replaces it.
                if (maxChunks == 1)
                {
                    output.Add(new Pending(nanos, ip, -1));
                }
                else
                {
                    held[key] = (new Pending(nanos, ip, -1), LastSack(payload));
                }

                continue;
            }

            // A message of another association closes every bundle: nothing moves ahead of a message on another
            // association (an S1 handover's steps alternate between the source's and the target's).
            if (keepUeOrder && association != key && association != reverse)
            {
                open.Clear();
                ReleaseAll();
                association = key;
            }

            if (chunks == 0 || maxChunks == 1)
            {
                open.Remove(key);
                if (keepUeOrder)
                {
                    open.Remove(reverse);
                }

                Release(key);
                output.Add(new Pending(nanos, ip, -1));
                continue;
            }

            // The UEs this packet's messages concern; a message of no UE (setup, reset, not S1AP) is a barrier.
            var allNamed = !keepUeOrder || UesOf(payload, summary, ues);
            if (keepUeOrder && open.TryGetValue(reverse, out var opposite))
            {
                // Later messages of these UEs on the other side must not move ahead of this one.
                if (allNamed)
                {
                    opposite.Block(ues);
                }
                else
                {
                    open.Remove(reverse);
                }
            }

            if (allNamed && open.TryGetValue(key, out var bundle)
                && bundle.Chunks + chunks <= maxChunks
                && bundle.SizeWith(payload) <= maxBytes
                && output.Count - bundle.Index <= window
                && !bundle.Blocks(ues))
            {
                bundle.Join(payload);
                continue;
            }

            var started = new Pending(nanos, ip, output.Count);
            started.Start(info.PayloadOffset, payload);
            if (held.Remove(key, out var waiting))
            {
                started.TakeSack(waiting.Sack);
            }

            output.Add(started);
            open[key] = started;
        }

        ReleaseAll();
        return [.. output.Select(p => (p.Nanos, p.Build()))];

        void Release((NetAddress, NetAddress, ushort, ushort) flow)
        {
            if (held.Remove(flow, out var waiting))
            {
                output.Add(waiting.Packet);
            }
        }

        void ReleaseAll()
        {
            output.AddRange(held.Values.Select(h => h.Packet).OrderBy(p => p.Nanos));
            held.Clear();
        }
    }

    /// <summary>The last SACK chunk of a packet of SACK chunks.</summary>
    private static byte[] LastSack(ReadOnlySpan<byte> sctp)
    {
        var offset = SctpHeader;
        var last = offset;
        while (sctp.Length - offset >= 4)
        {
            last = offset;
            offset += (BinaryPrimitives.ReadUInt16BigEndian(sctp[(offset + 2)..]) + 3) & ~3;
        }

        return sctp.Slice(last, BinaryPrimitives.ReadUInt16BigEndian(sctp[(last + 2)..])).ToArray();
    }

    /// <summary>
    /// Fills <paramref name="ues"/> with the UE identities (eNB and MME UE S1AP ids) of the packet's DATA chunks; false
    /// if one of them names no UE or is not a decodable S1AP message.
    /// </summary>
    private static bool UesOf(ReadOnlySpan<byte> sctp, S1apSummary summary, List<long> ues)
    {
        ues.Clear();
        var named = true;
        var offset = SctpHeader;
        while (sctp.Length - offset >= 16)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(sctp[(offset + 2)..]);
            if (sctp[offset] == DataChunk && length >= 16 && length <= sctp.Length - offset)
            {
                var before = ues.Count;
                if (BinaryPrimitives.ReadUInt32BigEndian(sctp[(offset + 12)..]) == S1apPpid || BinaryPrimitives.ReadUInt16BigEndian(sctp) == S1apPort || BinaryPrimitives.ReadUInt16BigEndian(sctp[2..]) == S1apPort)
                {
                    try
                    {
                        S1apDecoder.Decode(sctp.Slice(offset + 16, length - 16), summary);
                        Add(ues, 1, summary.EnbUeS1apId);
                        Add(ues, 2, summary.MmeUeS1apId);
                        Add(ues, 2, summary.SourceMmeUeS1apId);
                        Add(ues, 2, summary.MmeUeS1apId2);
                    }
                    catch (DecodeException)
                    {
                        // Counted as a message of no UE below.
                    }
                }

                named &= ues.Count > before;
            }

            offset += (Math.Max(length, 4) + 3) & ~3;
        }

        return named;

        static void Add(List<long> ues, long kind, uint? id)
        {
            if (id is { } v)
            {
                ues.Add((kind << 32) | v);
            }
        }
    }

    /// <summary>
    /// The S1AP messages an IP packet carries: DATA chunks that end a user message (E bit) with PPID 18 or on SCTP
    /// port 36412, carried directly or over UDP 9899 (RFC 6951). A non-first IP fragment has none; a first fragment
    /// counts those whose chunk header it holds.
    /// </summary>
    public static int S1apMessages(ReadOnlySpan<byte> ip)
    {
        var version = ip.IsEmpty ? 0 : ip[0] >> 4;
        if (!IpDecoder.TryDecode(version == 6 ? NetworkProtocol.Ipv6 : NetworkProtocol.Ipv4, ip, out var info, out _) || info.FragmentOffset != 0)
        {
            return 0;
        }

        var payload = ip.Slice(info.PayloadOffset, Math.Min(info.PayloadLength, ip.Length - info.PayloadOffset));
        if (info.Protocol == 17 && UdpDecoder.TryDecode(payload, out var udp, out _) && (udp.SourcePort == 9899 || udp.DestinationPort == 9899))
        {
            payload = payload.Slice(udp.PayloadOffset, Math.Min(udp.PayloadLength, payload.Length - udp.PayloadOffset));
        }
        else if (info.Protocol != SctpProtocol)
        {
            return 0;
        }

        if (payload.Length < SctpHeader)
        {
            return 0;
        }

        var s1apPort = BinaryPrimitives.ReadUInt16BigEndian(payload) == S1apPort || BinaryPrimitives.ReadUInt16BigEndian(payload[2..]) == S1apPort;
        var count = 0;
        var offset = SctpHeader;
        while (payload.Length - offset >= 16)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(payload[(offset + 2)..]);
            if (length < 4)
            {
                break;
            }

            if (payload[offset] == DataChunk && (payload[offset + 1] & 0x01) != 0
                && (BinaryPrimitives.ReadUInt32BigEndian(payload[(offset + 12)..]) == S1apPpid || s1apPort))
            {
                count++;
            }

            offset += (length + 3) & ~3;
        }

        return count;
    }

    /// <summary>
    /// (DATA chunks, SACK chunks) of an SCTP packet made of whole SACK chunks followed by whole DATA chunks; (0, 0) for
    /// any other packet (INIT, SHUTDOWN, HEARTBEAT, ABORT ..., a cut chunk).
    /// </summary>
    private static (int Data, int Sacks) DataAfterSacks(ReadOnlySpan<byte> sctp)
    {
        int data = 0, sacks = 0;
        var offset = SctpHeader;
        while (offset < sctp.Length)
        {
            if (sctp.Length - offset < 4)
            {
                return (0, 0);
            }

            var type = sctp[offset];
            int length = BinaryPrimitives.ReadUInt16BigEndian(sctp[(offset + 2)..]);
            if (length > sctp.Length - offset)
            {
                return (0, 0);
            }

            if (type == DataChunk && length >= 16)
            {
                data++;
            }
            else if (type == SackChunk && data == 0 && length >= 16)
            {
                sacks++;
            }
            else
            {
                return (0, 0);
            }

            offset += (length + 3) & ~3;
        }

        return (data, sacks);
    }

    /// <summary>
    /// One output packet: a packet as captured, or a bundle: the first packet's IP and SCTP common headers, the newest
    /// SACK of the packets joined (a later cumulative SACK says all an earlier one said; control chunks go first), then
    /// their DATA chunks in order.
    /// </summary>
    private sealed class Pending(long nanos, byte[] ip, int index)
    {
        private readonly List<byte[]> _data = [];
        private byte[]? _header;
        private byte[]? _sack;
        private HashSet<long>? _blocked;

        public long Nanos { get; } = nanos;

        public int Index { get; } = index;

        public int Chunks => _data.Count;

        /// <summary>Notes UEs that had a message in the opposite direction since the bundle began.</summary>
        public void Block(List<long> ues) => (_blocked ??= []).UnionWith(ues);

        /// <summary>Whether a message of one of these UEs would move ahead of that UE's message in the other direction.</summary>
        public bool Blocks(List<long> ues) => _blocked is not null && ues.Exists(_blocked.Contains);

        public void Start(int payloadOffset, ReadOnlySpan<byte> sctp)
        {
            _header = ip.AsSpan(0, payloadOffset + SctpHeader).ToArray();
            Join(sctp);
        }

        /// <summary>A delayed lone SACK of the flow, unless the bundle has a newer one of its own.</summary>
        public void TakeSack(byte[] sack) => _sack ??= sack;

        /// <summary>Adds a packet of SACKs then DATA chunks (its newest SACK replaces the bundle's).</summary>
        public void Join(ReadOnlySpan<byte> sctp)
        {
            var offset = SctpHeader;
            while (sctp.Length - offset >= 4)
            {
                int length = BinaryPrimitives.ReadUInt16BigEndian(sctp[(offset + 2)..]);
                var chunk = sctp.Slice(offset, length).ToArray();
                if (sctp[offset] == SackChunk)
                {
                    _sack = chunk;
                }
                else
                {
                    _data.Add(chunk);
                }

                offset += (length + 3) & ~3;
            }
        }

        /// <summary>The IP packet's size were <paramref name="sctp"/> to join.</summary>
        public int SizeWith(ReadOnlySpan<byte> sctp)
        {
            var size = Size();
            var offset = SctpHeader;
            while (sctp.Length - offset >= 4)
            {
                int length = BinaryPrimitives.ReadUInt16BigEndian(sctp[(offset + 2)..]);
                size += sctp[offset] == SackChunk ? Pad(length) - (_sack is null ? 0 : Pad(_sack.Length)) : Pad(length);
                offset += (length + 3) & ~3;
            }

            return size;
        }

        private int Size() => _header!.Length + (_sack is null ? 0 : Pad(_sack.Length)) + _data.Sum(d => Pad(d.Length));

        private static int Pad(int length) => (length + 3) & ~3;

        public byte[] Build()
        {
            if (_header is null)
            {
                return ip;
            }

            var result = new byte[Size()];
            _header.CopyTo(result, 0);
            var at = _header.Length;
            foreach (var chunk in _data.Prepend(_sack).OfType<byte[]>())
            {
                chunk.CopyTo(result, at);
                at += Pad(chunk.Length);
            }

            if (result[0] >> 4 == 6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(4), (ushort)(result.Length - 40));
            }
            else
            {
                var headerLength = (result[0] & 0x0F) * 4;
                BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(2), (ushort)result.Length);
                result[10] = 0;
                result[11] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(10), Ipv4Checksum(result.AsSpan(0, headerLength)));
            }

            return result;
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
    }
}
