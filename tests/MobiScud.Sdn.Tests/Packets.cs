using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using MobiScud.Protocols.Link;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// The test-only packet pieces: IPv4 and ICMP echo come from <see cref="PacketBuilder"/>, the G-PDU header from
/// <see cref="Protocols.Gtp.GtpU.WriteGPdu"/>; the kernels and OVS that receive them are the check on all three.
/// </summary>
internal static class Packets
{
    /// <summary>UDP (RFC 768) with checksum 0, allowed for IPv4: the receiver never drops it for a checksum.</summary>
    public static byte[] Udp(ushort srcPort, ushort dstPort, ReadOnlySpan<byte> payload)
    {
        var u = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(u, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        payload.CopyTo(u.AsSpan(8));
        return u;
    }

    /// <summary>A GTP-U G-PDU (TS 29.281: version 1, PT=1, no optional fields) carrying <paramref name="inner"/>.</summary>
    public static byte[] GPdu(uint teid, ReadOnlySpan<byte> inner)
    {
        var g = new byte[8 + inner.Length];
        Protocols.Gtp.GtpU.WriteGPdu(g, teid, inner);
        return g;
    }
}

/// <summary>An IPv4 packet as read from a raw socket.</summary>
internal sealed record IpPacket(IPAddress Src, IPAddress Dst, byte Protocol, byte[] Payload)
{
    public static IpPacket? Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < 20 || b[0] >> 4 != 4)
        {
            return null;
        }

        var ihl = (b[0] & 0x0F) * 4;
        var total = BinaryPrimitives.ReadUInt16BigEndian(b[2..]);
        if (ihl < 20 || total > b.Length || total < ihl)
        {
            return null;
        }

        return new IpPacket(new IPAddress(b.Slice(12, 4)), new IPAddress(b.Slice(16, 4)), b[9], b[ihl..total].ToArray());
    }

    public ushort UdpDstPort => Protocol == 17 && Payload.Length >= 8 ? BinaryPrimitives.ReadUInt16BigEndian(Payload.AsSpan(2)) : (ushort)0;

    public ReadOnlySpan<byte> UdpPayload => Payload.AsSpan(8);

    /// <summary>The TEID and inner packet when this is GTP-U G-PDU on UDP 2152.</summary>
    public (uint Teid, IpPacket Inner)? Gtp
    {
        get
        {
            if (UdpDstPort != 2152 || Payload.Length < 16 || Payload[9] != 0xFF)
            {
                return null;
            }

            var teid = BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(12));
            var inner = Parse(Payload.AsSpan(16));
            return inner is null ? null : (teid, inner);
        }
    }
}

/// <summary>Sockets created inside a network namespace (the socket keeps its namespace), and reading from them.</summary>
internal static class NetnsSocket
{
    public static Socket Create(string netns, AddressFamily family, SocketType type, ProtocolType protocol) =>
        MobiScud.Cloud.Net.NetNamespace.OpenSocket(netns, family, type, protocol);

    /// <summary>Reads from a raw IPv4 socket until a packet satisfies <paramref name="want"/>, or fails after <paramref name="timeout"/>.</summary>
    public static async Task<IpPacket> ReceiveAsync(Socket raw, Func<IpPacket, bool> want, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                var n = await raw.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (IpPacket.Parse(buffer.AsSpan(0, n)) is { } p && want(p))
                {
                    return p;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no packet for: {what} within {timeout.TotalSeconds} s");
        }
    }
}
