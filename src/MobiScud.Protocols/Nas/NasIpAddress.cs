using System.Buffers.Binary;
using System.Net;

namespace MobiScud.Protocols.Nas;

/// <summary>
/// The EPS PDN address (TS 24.301 9.9.4.9) and the 5G PDU address (TS 24.501 9.11.4.10) share one layout: the type in
/// the low 3 bits of the first octet, then IPv4 (type 1), an IPv6 interface identifier (type 2) or both, the interface
/// identifier first (type 3). Any other type carries no address.
/// </summary>
internal static class NasIpAddress
{
    /// <summary>Reads the IE's value <paramref name="v"/> found at offset <paramref name="at"/>; <paramref name="name"/> names it in errors.</summary>
    public static (byte Type, IPAddress? Ipv4, ulong? Ipv6InterfaceId) Read(ReadOnlySpan<byte> v, int at, string name)
    {
        if (v.Length < 1)
        {
            throw new NasDecodeException(NasError.BadLength, at, $"empty {name}");
        }

        var type = (byte)(v[0] & 0x07);
        var need = type switch { 1 => 5, 2 => 9, 3 => 13, _ => 1 };
        if (v.Length < need)
        {
            throw new NasDecodeException(NasError.BadLength, at, $"{name} of type {type} in {v.Length} octets");
        }

        return type switch
        {
            1 => (type, new IPAddress(v.Slice(1, 4)), null),
            2 => (type, null, BinaryPrimitives.ReadUInt64BigEndian(v[1..])),
            3 => (type, new IPAddress(v.Slice(9, 4)), BinaryPrimitives.ReadUInt64BigEndian(v[1..])),
            _ => (type, null, null),
        };
    }

    /// <summary>"IPv4;::IID" with the parts present, as the decode rows print them.</summary>
    public static string Format(IPAddress? ipv4, ulong? ipv6InterfaceId) =>
        string.Join(";", new[] { ipv4?.ToString(), ipv6InterfaceId is { } i ? $"::{i >> 48:x}:{(i >> 32) & 0xffff:x}:{(i >> 16) & 0xffff:x}:{i & 0xffff:x}" : null }.Where(s => s is not null));
}
