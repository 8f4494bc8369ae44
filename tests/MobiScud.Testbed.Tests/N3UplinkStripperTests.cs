using System.Buffers.Binary;
using System.Net;
using MobiScud.Protocols.Gtp;
using MobiScud.Protocols.Link;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;

namespace MobiScud.Testbed.Tests;

/// <summary>The N3 uplink step on single frames (the whole path through OVS is in NrTestbedTests).</summary>
public sealed class N3UplinkStripperTests
{
    private static readonly IPNetwork _pvms = IPNetwork.Parse("10.64.0.0/24");

    /// <summary>An Ethernet frame from gNB 10.60.0.11 to the UPF 10.60.0.3 carrying a G-PDU with the UL PDU Session Container.</summary>
    private static byte[] Frame(IPAddress innerDestination, bool container = true)
    {
        var inner = PacketBuilder.Ipv4(IPAddress.Parse("172.16.0.11"), innerDestination, PacketBuilder.IcmpProtocol, PacketBuilder.IcmpEcho(PacketBuilder.IcmpEchoRequest, 1, 7, [1, 2, 3, 4]));
        var gtp = new byte[(container ? 16 : 8) + inner.Length];
        if (container)
        {
            UserPlane.WriteGPduWithContainer(gtp, 0x1001, 1, 1, inner);
        }
        else
        {
            GtpU.WriteGPdu(gtp, 0x1001, inner);
        }

        var udp = new byte[8 + gtp.Length];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 2152);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), 2152);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        gtp.CopyTo(udp.AsSpan(8));
        var ip = PacketBuilder.Ipv4(IPAddress.Parse("10.60.0.11"), IPAddress.Parse("10.60.0.3"), PacketBuilder.UdpProtocol, udp);
        byte[] eth = [0x02, 0, 0, 0, 0, 0x03, 0x02, 0, 0, 0, 0x01, 0x01, 0x08, 0x00];
        return [.. eth, .. ip];
    }

    [Fact]
    public void A_G_PDU_with_the_container_bound_for_a_PVM_leaves_as_a_plain_G_PDU_with_the_same_TEID_addresses_and_inner_packet()
    {
        var frame = Frame(IPAddress.Parse("10.64.0.10"));
        var stripped = N3UplinkStripper.Strip(frame, _pvms);
        Assert.NotNull(stripped);
        Assert.Equal(frame.Length - 8, stripped.Length);
        Assert.Equal(frame.AsSpan(0, 14).ToArray(), stripped.AsSpan(0, 14).ToArray()); // same MACs
        Assert.True(IpDecoder.TryDecodeIpv4(stripped.AsSpan(14), out var ip, out _));
        Assert.Equal(0, PacketBuilder.InternetChecksum(stripped.AsSpan(14, 20))); // header checksum valid
        Assert.Equal(frame.AsSpan(14 + 12, 8).ToArray(), stripped.AsSpan(14 + 12, 8).ToArray()); // same outer addresses
        var udp = stripped.AsSpan(14 + 20);
        Assert.Equal(udp.Length, BinaryPrimitives.ReadUInt16BigEndian(udp[4..]));
        var header = GtpU.Decode(udp[8..]);
        Assert.Equal(0x30, header.Flags);
        Assert.Equal(0, header.ExtensionHeaderCount);
        Assert.Equal(0x1001u, header.Teid);
        var original = GtpU.Decode(frame.AsSpan(14 + 20 + 8));
        Assert.Equal((byte)1, original.Qfi);
        Assert.Equal(original.Payload(frame.AsSpan(14 + 20 + 8)).ToArray(), header.Payload(udp[8..]).ToArray());
        Assert.Equal(ip.PayloadLength, udp.Length);
    }

    [Fact]
    public void Other_uplink_keeps_its_container_and_plain_or_foreign_frames_pass_unchanged()
    {
        Assert.Null(N3UplinkStripper.Strip(Frame(IPAddress.Parse("10.200.0.2")), _pvms)); // the internet: the UPF gets the QFI
        Assert.Null(N3UplinkStripper.Strip(Frame(IPAddress.Parse("10.64.0.10"), container: false), _pvms)); // nothing to strip
        var truncated = Frame(IPAddress.Parse("10.64.0.10"))[..50];
        Assert.Null(N3UplinkStripper.Strip(truncated, _pvms));
        byte[] arp = [.. new byte[12], 0x08, 0x06, .. new byte[28]];
        Assert.Null(N3UplinkStripper.Strip(arp, _pvms));
    }
}
