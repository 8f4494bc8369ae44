using System.Buffers.Binary;
using System.Net;

namespace MobiScud.Protocols.Link;

/// <summary>
/// Builds the few IPv4 packets the emulators originate (RFC 791 header, RFC 792 ICMP echo, RFC 768 UDP). Only what a
/// traffic generator needs: no options, no fragmentation.
/// </summary>
public static class PacketBuilder
{
    public const byte IcmpProtocol = 1;
    public const byte UdpProtocol = 17;
    public const byte IcmpEchoReply = 0;
    public const byte IcmpEchoRequest = 8;

    public static byte[] Ipv4(IPAddress source, IPAddress destination, byte protocol, ReadOnlySpan<byte> payload, ushort id = 0, byte ttl = 64)
    {
        if (payload.Length > ushort.MaxValue - 20)
        {
            throw new ArgumentException($"payload of {payload.Length} octets does not fit an IPv4 packet", nameof(payload));
        }

        var p = new byte[20 + payload.Length];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        p[6] = 0x40; // DF: the generator never needs fragments
        p[8] = ttl;
        p[9] = protocol;
        WriteIpv4(source, p.AsSpan(12), nameof(source));
        WriteIpv4(destination, p.AsSpan(16), nameof(destination));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), InternetChecksum(p.AsSpan(0, 20)));
        payload.CopyTo(p.AsSpan(20));
        return p;
    }

    /// <summary>ICMP echo request or reply with its checksum.</summary>
    public static byte[] IcmpEcho(byte type, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        var m = new byte[8 + data.Length];
        m[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(4), identifier);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), sequence);
        data.CopyTo(m.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), InternetChecksum(m));
        return m;
    }

    /// <summary>The ones'-complement sum of RFC 1071 over <paramref name="data"/>.</summary>
    public static ushort InternetChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (i < data.Length)
        {
            sum += (uint)data[i] << 8;
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>An ICMP echo message's type, identifier and sequence, if <paramref name="icmp"/> is one with a valid checksum.</summary>
    public static bool TryReadIcmpEcho(ReadOnlySpan<byte> icmp, out byte type, out ushort identifier, out ushort sequence)
    {
        type = 0;
        identifier = 0;
        sequence = 0;
        if (icmp.Length < 8 || (icmp[0] != IcmpEchoRequest && icmp[0] != IcmpEchoReply) || InternetChecksum(icmp) != 0)
        {
            return false;
        }

        type = icmp[0];
        identifier = BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]);
        sequence = BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]);
        return true;
    }

    private static void WriteIpv4(IPAddress address, Span<byte> destination, string name)
    {
        if (!address.TryWriteBytes(destination, out var written) || written != 4)
        {
            throw new ArgumentException($"{address} is not an IPv4 address", name);
        }
    }
}
