using System.Buffers.Binary;

namespace MobiScud.Protocols.Link;

/// <summary>The header facts of one IP packet (v4 or v6, extension headers skipped) and where its payload is.</summary>
public readonly struct IpPacketInfo
{
    public NetAddress Source { get; init; }

    public NetAddress Destination { get; init; }

    /// <summary>Upper-layer protocol number (6 TCP, 17 UDP, 132 SCTP ...), after any IPv6 extension headers.</summary>
    public byte Protocol { get; init; }

    /// <summary>Offset of the payload in the span given to the decoder.</summary>
    public int PayloadOffset { get; init; }

    public int PayloadLength { get; init; }

    public bool IsFragment { get; init; }

    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset { get; init; }

    public bool MoreFragments { get; init; }

    /// <summary>IPv4 identification or IPv6 fragment-header identification.</summary>
    public uint FragmentId { get; init; }
}

/// <summary>IPv4 (options skipped via IHL) and IPv6 (extension headers skipped) header decoding; lengths are checked against the span.</summary>
public static class IpDecoder
{
    private const int MaxExtensionHeaders = 8;

    public static bool TryDecode(NetworkProtocol protocol, ReadOnlySpan<byte> packet, out IpPacketInfo info, out TransportError error) =>
        protocol == NetworkProtocol.Ipv6 ? TryDecodeIpv6(packet, out info, out error) : TryDecodeIpv4(packet, out info, out error);

    public static IpPacketInfo Decode(NetworkProtocol protocol, ReadOnlySpan<byte> packet)
    {
        if (!TryDecode(protocol, packet, out var info, out var error))
        {
            throw new TransportDecodeException(error, 0);
        }

        return info;
    }

    public static bool TryDecodeIpv4(ReadOnlySpan<byte> packet, out IpPacketInfo info, out TransportError error)
    {
        info = default;
        if (packet.Length < 20)
        {
            error = TransportError.TruncatedIpHeader;
            return false;
        }

        if (packet[0] >> 4 != 4)
        {
            error = TransportError.BadIpVersion;
            return false;
        }

        var headerLength = (packet[0] & 0x0F) * 4;
        if (headerLength < 20 || headerLength > packet.Length)
        {
            error = TransportError.BadIpHeaderLength;
            return false;
        }

        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        // Total length 0 is what TCP segmentation offload leaves in captures: take what was captured.
        if (totalLength == 0)
        {
            totalLength = packet.Length;
        }

        if (totalLength < headerLength || totalLength > packet.Length)
        {
            error = TransportError.BadIpTotalLength;
            return false;
        }

        var flagsOffset = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
        var more = (flagsOffset & 0x2000) != 0;
        var fragOffset = (flagsOffset & 0x1FFF) * 8;
        info = new IpPacketInfo
        {
            Source = NetAddress.FromIpv4(packet[12..]),
            Destination = NetAddress.FromIpv4(packet[16..]),
            Protocol = packet[9],
            PayloadOffset = headerLength,
            PayloadLength = totalLength - headerLength,
            IsFragment = more || fragOffset != 0,
            MoreFragments = more,
            FragmentOffset = fragOffset,
            FragmentId = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]),
        };
        error = TransportError.None;
        return true;
    }

    public static bool TryDecodeIpv6(ReadOnlySpan<byte> packet, out IpPacketInfo info, out TransportError error)
    {
        info = default;
        if (packet.Length < 40)
        {
            error = TransportError.TruncatedIpHeader;
            return false;
        }

        if (packet[0] >> 4 != 6)
        {
            error = TransportError.BadIpVersion;
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        if (payloadLength == 0 || 40 + payloadLength > packet.Length)
        {
            // Zero means a jumbogram (hop-by-hop option), which capture files never carry whole.
            error = TransportError.BadIpTotalLength;
            return false;
        }

        var end = 40 + payloadLength;
        var next = packet[6];
        var offset = 40;
        var isFragment = false;
        var more = false;
        var fragOffset = 0;
        uint fragId = 0;
        for (var i = 0; ; i++)
        {
            int length;
            switch (next)
            {
                case 0 or 43 or 60 or 135 or 139 or 140: // hop-by-hop, routing, destination options, mobility, HIP, shim6
                    if (end - offset < 8)
                    {
                        error = TransportError.TruncatedIpHeader;
                        return false;
                    }

                    length = (packet[offset + 1] + 1) * 8;
                    break;
                case 44: // fragment header
                    if (end - offset < 8)
                    {
                        error = TransportError.TruncatedIpHeader;
                        return false;
                    }

                    var fo = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
                    more = (fo & 1) != 0;
                    fragOffset = fo & 0xFFF8;
                    isFragment = more || fragOffset != 0;
                    fragId = BinaryPrimitives.ReadUInt32BigEndian(packet[(offset + 4)..]);
                    length = 8;
                    break;
                case 51: // authentication header: length in 4-octet units, minus 2
                    if (end - offset < 8)
                    {
                        error = TransportError.TruncatedIpHeader;
                        return false;
                    }

                    length = (packet[offset + 1] + 2) * 4;
                    break;
                default:
                    info = new IpPacketInfo
                    {
                        Source = NetAddress.FromIpv6(packet[8..]),
                        Destination = NetAddress.FromIpv6(packet[24..]),
                        Protocol = next,
                        PayloadOffset = offset,
                        PayloadLength = end - offset,
                        IsFragment = isFragment,
                        MoreFragments = more,
                        FragmentOffset = fragOffset,
                        FragmentId = fragId,
                    };
                    error = TransportError.None;
                    return true;
            }

            if (i >= MaxExtensionHeaders || length > end - offset)
            {
                error = i >= MaxExtensionHeaders ? TransportError.UnsupportedIpv6ExtensionHeader : TransportError.TruncatedIpHeader;
                return false;
            }

            next = packet[offset];
            offset += length;
        }
    }
}
