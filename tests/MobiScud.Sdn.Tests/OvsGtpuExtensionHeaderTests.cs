using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MobiScud.Control.Model;
using MobiScud.Protocols.Gtp;
using MobiScud.Protocols.Link;
using MobiScud.Sdn.Steering;
using Xunit.Abstractions;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// Issue 15: what Open vSwitch 3.1's `gtpu` port (userspace datapath) does with the PDU Session Container extension
/// header (TS 38.415, GTP-U extension type 0x85) that 5G gNBs put on every uplink G-PDU and UPFs on downlink ones.
/// Real G-PDUs with the header go through the real switch programmed by our controller; what arrives at the PVM, the
/// UPF (S-GW role) and the gNB (eNB role) is read with raw sockets and decoded by our GTP-U decoder. docs/sdn.md
/// records the findings: the header defeats the decapsulation toward the PVM, and OVS never writes one.
/// </summary>
[Collection(OvsCollection.Name)]
public sealed class OvsGtpuExtensionHeaderTests(OvsHarness ovs, ITestOutputHelper output)
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(10);
    private static readonly IPAddress _ue = IPAddress.Parse("172.16.0.15");
    private static readonly IPAddress _internet = IPAddress.Parse("198.51.100.7");
    private const uint Ul = 0x5001;
    private const uint Dl = 0x6002;
    private const byte Qfi = 9;

    private async Task InstallAsync()
    {
        var intent = new SteeringIntent(new UeId("ue-nr"), _ue, new EnbId(1),
            [new Bearer(1, new GtpEndpoint(OvsHarness.Sgw, Ul), new GtpEndpoint(OvsHarness.Enb1, Dl))],
            OvsHarness.SiteA, OvsHarness.SiteA, OvsHarness.Pvm, OvsHarness.NextVersion());
        var result = await ovs.Programmer.ExecuteAsync(new InstallSteering(intent.Ue, intent));
        Assert.True(result.Confirmed && result.DatapathSynced, "steering not confirmed");
    }

    /// <summary>G-PDU with E=1, sequence/N-PDU octets 0, next extension 0x85 and a PDU Session Container
    /// (length 1: PDU type in the high nibble of octet 1 - 1 UL, 0 DL -, QFI in octet 2, no next extension).</summary>
    internal static byte[] GPduWithContainer(uint teid, byte pduType, byte qfi, ReadOnlySpan<byte> inner)
    {
        var g = new byte[16 + inner.Length];
        g[0] = 0x34; // version 1, PT=1, E=1
        g[1] = 0xFF;
        BinaryPrimitives.WriteUInt16BigEndian(g.AsSpan(2), (ushort)(g.Length - 8));
        BinaryPrimitives.WriteUInt32BigEndian(g.AsSpan(4), teid);
        g[11] = 0x85;
        g[12] = 1;
        g[13] = (byte)(pduType << 4);
        g[14] = qfi;
        g[15] = 0;
        inner.CopyTo(g.AsSpan(16));
        return g;
    }

    private static string Nonce() => Guid.NewGuid().ToString("N")[..12];

    private static bool Carries(ReadOnlySpan<byte> bytes, string nonce) => Encoding.ASCII.GetString(bytes).Contains(nonce, StringComparison.Ordinal);

    private static byte[] UdpTo(IPAddress src, IPAddress dst, string nonce) =>
        PacketBuilder.Ipv4(src, dst, PacketBuilder.UdpProtocol, Packets.Udp(40000, 7777, Encoding.ASCII.GetBytes(nonce)));

    private async Task SendUplinkAsync(byte[] gtp)
    {
        using var s = ovs.Socket("enb1", SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(OvsHarness.Enb1, 2152));
        await s.SendToAsync(gtp, new IPEndPoint(OvsHarness.Sgw, 2152));
    }

    /// <summary>The first packet at <paramref name="raw"/> that <paramref name="want"/> accepts, or null after the wait.</summary>
    private static async Task<IpPacket?> MaybeReceiveAsync(Socket raw, Func<IpPacket, bool> want)
    {
        try
        {
            return await NetnsSocket.ReceiveAsync(raw, want, _wait, "packet");
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Uplink_with_the_PDU_session_container_misses_the_PVM_and_reaches_the_UPF_unchanged()
    {
        await InstallAsync();
        using var pvmUdp = ovs.Socket("pvma", SocketType.Raw, ProtocolType.Udp);
        using var sgwRaw = ovs.Socket("sgw", SocketType.Raw, ProtocolType.Udp);

        // Control: the same packet without the extension header reaches the PVM decapsulated.
        var plain = Nonce();
        await SendUplinkAsync(Packets.GPdu(Ul, UdpTo(_ue, OvsHarness.Pvm, plain)));
        Assert.NotNull(await MaybeReceiveAsync(pvmUdp, p => p.UdpDstPort == 7777 && Carries(p.Payload, plain)));

        // With the PDU Session Container: OVS 3.1's gtpu port pops only the 8-octet header (and the 4 optional octets
        // only when S is set; an extension header never), so what it hands the flow table is no IP packet: the PVM's
        // flow (ip, nw_dst=PVM) does not match, the table's fallback re-encapsulates toward the UPF (S-GW role) with
        // the TEID and the GTP-U flags OVS kept in the tunnel metadata, and the UPF gets the gNB's packet octet for
        // octet. The UE's traffic goes to the core, not to its PVM: silently, nothing is dropped or damaged.
        var nonce = Nonce();
        var inner = UdpTo(_ue, OvsHarness.Pvm, nonce);
        var sent = GPduWithContainer(Ul, pduType: 1, Qfi, inner);
        await SendUplinkAsync(sent);
        var atUpf = await MaybeReceiveAsync(sgwRaw, p => p.UdpDstPort == 2152 && Carries(p.Payload, nonce));
        var atPvm = await MaybeReceiveAsync(pvmUdp, p => Carries(p.Payload, nonce));
        output.WriteLine(atPvm is null ? "PVM: nothing" : $"PVM: {atPvm.Src} -> {atPvm.Dst} proto {atPvm.Protocol}");
        output.WriteLine(atUpf is null ? "UPF: nothing" : $"UPF: GTP-U {Convert.ToHexString(atUpf.UdpPayload[..Math.Min(32, atUpf.UdpPayload.Length)])}");
        Assert.Null(atPvm);
        Assert.NotNull(atUpf);
        var gtp = atUpf.UdpPayload.ToArray();
        Assert.Equal(sent, gtp);
        var header = GtpU.Decode(gtp);
        Assert.Equal(Ul, header.Teid);
        Assert.Equal(Qfi, header.Qfi);
        Assert.Equal(inner, header.Payload(gtp).ToArray());
    }

    [Fact]
    public async Task Downlink_encapsulated_by_OVS_carries_no_PDU_session_container()
    {
        await InstallAsync();
        using var enbRaw = ovs.Socket("enb1", SocketType.Raw, ProtocolType.Udp);
        var nonce = Nonce();
        using (var reply = ovs.Socket("pvma", SocketType.Dgram, ProtocolType.Udp))
        {
            await reply.SendToAsync(Encoding.ASCII.GetBytes(nonce), new IPEndPoint(_ue, 40000));
        }

        var atGnb = await MaybeReceiveAsync(enbRaw, p => p.UdpDstPort == 2152 && Carries(p.Payload, nonce));
        Assert.NotNull(atGnb);
        var gtp = atGnb.UdpPayload.ToArray();
        var header = GtpU.Decode(gtp);
        output.WriteLine($"gNB: flags 0x{gtp[0]:x2}, TEID 0x{header.Teid:x8}, QFI {header.Qfi?.ToString() ?? "none"}");
        Assert.Equal(Dl, header.Teid);
        Assert.Equal(0x30, gtp[0]); // version 1, PT=1, no E/S/PN: a plain 8-octet header
        Assert.Null(header.Qfi);
    }
}
