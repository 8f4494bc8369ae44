using System.Buffers.Binary;
using System.Net;

namespace MobiScud.Protocols.Link;

/// <summary>
/// An IPv4 or IPv6 address as a value (no allocation), usable as a dictionary key on the per-packet path.
/// IPv4 is kept in <see cref="Low"/> with <see cref="High"/> zero.
/// </summary>
public readonly record struct NetAddress(ulong High, ulong Low, bool IsIpv6)
{
    public static NetAddress FromIpv4(ReadOnlySpan<byte> four) => new(0, BinaryPrimitives.ReadUInt32BigEndian(four), false);

    public static NetAddress FromIpv6(ReadOnlySpan<byte> sixteen) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(sixteen), BinaryPrimitives.ReadUInt64BigEndian(sixteen[8..]), true);

    public static NetAddress From(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new ArgumentException($"unsupported address {address}", nameof(address));
        }

        return written == 4 ? FromIpv4(bytes[..4]) : FromIpv6(bytes);
    }

    public static NetAddress Parse(string text) => From(IPAddress.Parse(text));

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!IsIpv6)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Low);
            return new IPAddress(bytes[..4]);
        }

        BinaryPrimitives.WriteUInt64BigEndian(bytes, High);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], Low);
        return new IPAddress(bytes);
    }

    public override string ToString() => ToIPAddress().ToString();
}

/// <summary>An address and a transport port (SCTP or UDP).</summary>
public readonly record struct NetEndpoint(NetAddress Address, ushort Port) : IComparable<NetEndpoint>
{
    public int CompareTo(NetEndpoint other)
    {
        var c = Address.IsIpv6.CompareTo(other.Address.IsIpv6);
        if (c == 0)
        {
            c = Address.High.CompareTo(other.Address.High);
        }

        if (c == 0)
        {
            c = Address.Low.CompareTo(other.Address.Low);
        }

        return c != 0 ? c : Port.CompareTo(other.Port);
    }

    public override string ToString() => Address.IsIpv6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}
