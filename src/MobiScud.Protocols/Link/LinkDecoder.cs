using System.Buffers.Binary;

namespace MobiScud.Protocols.Link;

/// <summary>Strips a frame's link-layer header and says which IP version follows.</summary>
public static class LinkDecoder
{
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeIpv6 = 0x86DD;
    private const int MaxVlanTags = 4;

    /// <summary>Finds the network-layer packet in a frame. No exception: the reason comes back in <paramref name="error"/>.</summary>
    public static bool TryDecode(LinkType link, ReadOnlySpan<byte> frame, out NetworkProtocol protocol, out int offset, out TransportError error)
    {
        protocol = default;
        offset = 0;
        switch (link)
        {
            case LinkType.Ethernet:
                return TryEthernet(frame, out protocol, out offset, out error);
            case LinkType.LinuxSll:
                if (frame.Length < 16)
                {
                    error = TransportError.TruncatedLinkHeader;
                    return false;
                }

                offset = 16;
                return FromEtherType(BinaryPrimitives.ReadUInt16BigEndian(frame[14..]), out protocol, out error);
            case LinkType.LinuxSll2:
                if (frame.Length < 20)
                {
                    error = TransportError.TruncatedLinkHeader;
                    return false;
                }

                offset = 20;
                return FromEtherType(BinaryPrimitives.ReadUInt16BigEndian(frame), out protocol, out error);
            case LinkType.Null:
            case LinkType.Loop:
                if (frame.Length < 4)
                {
                    error = TransportError.TruncatedLinkHeader;
                    return false;
                }

                offset = 4;
                return FromAddressFamily(frame[..4], out protocol, out error);
            case LinkType.Raw:
            case LinkType.RawBsd12:
            case LinkType.RawBsd14:
            case LinkType.Ipv4:
            case LinkType.Ipv6:
                return FromVersionNibble(frame, out protocol, out error);
            default:
                error = TransportError.UnsupportedLinkType;
                return false;
        }
    }

    /// <summary>As <see cref="TryDecode"/>, throwing <see cref="TransportDecodeException"/>; returns the IP packet.</summary>
    public static ReadOnlySpan<byte> Decode(LinkType link, ReadOnlySpan<byte> frame, out NetworkProtocol protocol)
    {
        if (!TryDecode(link, frame, out protocol, out var offset, out var error))
        {
            throw new TransportDecodeException(error, offset);
        }

        return frame[offset..];
    }

    private static bool TryEthernet(ReadOnlySpan<byte> frame, out NetworkProtocol protocol, out int offset, out TransportError error)
    {
        protocol = default;
        offset = 12;
        for (var tags = 0; ; tags++)
        {
            if (frame.Length < offset + 2)
            {
                error = TransportError.TruncatedLinkHeader;
                return false;
            }

            var etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
            offset += 2;
            // 802.1Q, 802.1ad (QinQ) and the pre-standard 0x9100 tag each add 4 bytes before the real EtherType.
            if (etherType is 0x8100 or 0x88A8 or 0x9100 && tags < MaxVlanTags)
            {
                offset += 2;
                continue;
            }

            return FromEtherType(etherType, out protocol, out error);
        }
    }

    private static bool FromEtherType(ushort etherType, out NetworkProtocol protocol, out TransportError error)
    {
        protocol = etherType == EtherTypeIpv6 ? NetworkProtocol.Ipv6 : NetworkProtocol.Ipv4;
        error = etherType is EtherTypeIpv4 or EtherTypeIpv6 ? TransportError.None : TransportError.NotIp;
        return error == TransportError.None;
    }

    private static bool FromAddressFamily(ReadOnlySpan<byte> header, out NetworkProtocol protocol, out TransportError error)
    {
        // The family is in the capturing host's byte order: values are small, so the zero half tells the order.
        var family = header[0] == 0 && header[1] == 0
            ? BinaryPrimitives.ReadUInt32BigEndian(header)
            : BinaryPrimitives.ReadUInt32LittleEndian(header);
        protocol = NetworkProtocol.Ipv4;
        error = TransportError.None;
        switch (family)
        {
            case 2: // AF_INET everywhere
                return true;
            case 10 or 24 or 28 or 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, macOS
                protocol = NetworkProtocol.Ipv6;
                return true;
            default:
                error = TransportError.NotIp;
                return false;
        }
    }

    private static bool FromVersionNibble(ReadOnlySpan<byte> frame, out NetworkProtocol protocol, out TransportError error)
    {
        protocol = NetworkProtocol.Ipv4;
        if (frame.IsEmpty)
        {
            error = TransportError.TruncatedIpHeader;
            return false;
        }

        switch (frame[0] >> 4)
        {
            case 4:
                error = TransportError.None;
                return true;
            case 6:
                protocol = NetworkProtocol.Ipv6;
                error = TransportError.None;
                return true;
            default:
                error = TransportError.BadIpVersion;
                return false;
        }
    }
}
