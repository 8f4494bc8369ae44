using System.Net;
using System.Net.Sockets;
using System.Text;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;
using Xunit.Abstractions;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// Two sites on one ovs-vswitchd with endpoints in one subnet (<see cref="OvsSharedSubnetHarness"/>): GTP-U
/// encapsulated at a site must leave through that site's bridge, which the per-site pkt_mark routes ensure.
/// </summary>
[Collection(OvsSharedSubnetCollection.Name)]
public sealed class OvsSharedSubnetTests(OvsSharedSubnetHarness ovs, ITestOutputHelper output)
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(10);
    private static readonly IPAddress _ue = IPAddress.Parse("172.16.60.5");
    private static readonly IPAddress _internet = IPAddress.Parse("198.51.100.60");
    private const uint Ul = 0x6001;
    private const uint DlAtA = 0x6a01;
    private const uint DlAtB = 0x6b01;

    private static SteeringIntent Intent(IPAddress enb, uint dl, SiteId switchSite, SiteId pvmSite) =>
        new(new UeId("ue60"), _ue, new EnbId(1), [new Bearer(5, new GtpEndpoint(OvsSharedSubnetHarness.Sgw, Ul), new GtpEndpoint(enb, dl))],
            switchSite, pvmSite, OvsSharedSubnetHarness.Pvm, OvsSharedSubnetHarness.NextVersion());

    private async Task InstallAsync(SteeringIntent intent)
    {
        var result = await ovs.Programmer.ExecuteAsync(new InstallSteering(intent.Ue, intent));
        Assert.True(result.Confirmed, $"not confirmed by barrier: {string.Join("; ", result.Sites.Select(s => $"{s.Key}={s.Value}"))}");
        Assert.Empty(result.Rejections);
        Assert.True(result.DatapathSynced, "the datapath sync (flush) did not run");
    }

    private static string Nonce() => Guid.NewGuid().ToString("N")[..12];

    private static bool Carries(IpPacket p, string nonce) => Encoding.ASCII.GetString(p.Payload).Contains(nonce, StringComparison.Ordinal);

    private async Task SendUplinkAsync(string enbRole, IPAddress enb, byte[] inner)
    {
        using var s = ovs.Socket(enbRole, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(enb, 2152));
        await s.SendToAsync(Packets.GPdu(Ul, inner), new IPEndPoint(OvsSharedSubnetHarness.Sgw, 2152));
    }

    private static byte[] Ping(string nonce) =>
        PacketBuilder.Ipv4(_ue, OvsSharedSubnetHarness.Pvm, PacketBuilder.IcmpProtocol, PacketBuilder.IcmpEcho(PacketBuilder.IcmpEchoRequest, 0x4d60, 1, Encoding.ASCII.GetBytes(nonce)));

    /// <summary>A ping from the UE through <paramref name="enbRole"/> reaches the PVM host <paramref name="pvmRole"/>, whose reply reaches the eNB in GTP-U.</summary>
    private async Task PingThroughAsync(string enbRole, IPAddress enb, string pvmRole, uint expectedDl)
    {
        using var pvmIcmp = ovs.Socket(pvmRole, SocketType.Raw, ProtocolType.Icmp);
        using var enbRaw = ovs.Socket(enbRole, SocketType.Raw, ProtocolType.Udp);
        var nonce = Nonce();
        await SendUplinkAsync(enbRole, enb, Ping(nonce));
        var atPvm = await NetnsSocket.ReceiveAsync(pvmIcmp, p => p.Payload[0] == 8 && Carries(p, nonce), _wait, $"echo request from {enbRole} at {pvmRole}");
        Assert.Equal(_ue, atPvm.Src);
        var atEnb = await NetnsSocket.ReceiveAsync(enbRaw, p => p.Gtp is { } g && g.Inner.Protocol == 1 && Carries(g.Inner, nonce), _wait, $"echo reply from {pvmRole} in GTP-U at {enbRole}");
        Assert.Equal(expectedDl, atEnb.Gtp!.Value.Teid);
        Assert.Equal(enb, atEnb.Dst);
        Assert.Equal(OvsSharedSubnetHarness.Sgw, atEnb.Src);
        Assert.Equal(0, atEnb.Gtp!.Value.Inner.Payload[0]);
    }

    [Fact]
    public async Task Per_site_mark_routes_keep_encapsulated_gtpu_on_its_sites_bridge_through_a_handover_and_a_migration()
    {
        try
        {
            // The marked site has its own route to the shared subnet; unmarked packets take the other bridge.
            Assert.Contains("dev brA", await ovs.Appctl("ovs/route/lookup", OvsSharedSubnetHarness.EnbB.ToString(), "pkt_mark=1"), StringComparison.Ordinal);
            Assert.Contains("dev brB", await ovs.Appctl("ovs/route/lookup", OvsSharedSubnetHarness.EnbA.ToString()), StringComparison.Ordinal);
            output.WriteLine("unmarked: " + await ovs.Appctl("ovs/route/lookup", OvsSharedSubnetHarness.EnbA.ToString()));

            // UE at eNB A, PVM at site a: encapsulation at a.
            await InstallAsync(Intent(OvsSharedSubnetHarness.EnbA, DlAtA, OvsSharedSubnetHarness.SiteA, OvsSharedSubnetHarness.SiteA));
            await PingThroughAsync("enba", OvsSharedSubnetHarness.EnbA, "pvma", DlAtA);

            // Handed over to eNB B, PVM still at a: over the inter-site link to PVM A, the reply encapsulated at b toward eNB B.
            await InstallAsync(Intent(OvsSharedSubnetHarness.EnbB, DlAtB, OvsSharedSubnetHarness.SiteB, OvsSharedSubnetHarness.SiteA));
            await PingThroughAsync("enbb", OvsSharedSubnetHarness.EnbB, "pvma", DlAtB);

            // Other traffic of the bearer at b: re-encapsulated toward the S-GW with its TEID unchanged.
            using (var sgwRaw = ovs.Socket("sgw", SocketType.Raw, ProtocolType.Udp))
            {
                var other = Nonce();
                await SendUplinkAsync("enbb", OvsSharedSubnetHarness.EnbB, PacketBuilder.Ipv4(_ue, _internet, PacketBuilder.UdpProtocol, Packets.Udp(40000, 7777, Encoding.ASCII.GetBytes(other))));
                var atSgw = await NetnsSocket.ReceiveAsync(sgwRaw, p => p.Gtp is { } g && Carries(g.Inner, other), _wait, "bearer traffic from eNB B at the S-GW");
                Assert.Equal(Ul, atSgw.Gtp!.Value.Teid);
                Assert.Equal(OvsSharedSubnetHarness.Sgw, atSgw.Dst);
            }

            // Migration done: the PVM answers at site b.
            await InstallAsync(Intent(OvsSharedSubnetHarness.EnbB, DlAtB, OvsSharedSubnetHarness.SiteB, OvsSharedSubnetHarness.SiteB));
            await PingThroughAsync("enbb", OvsSharedSubnetHarness.EnbB, "pvmb", DlAtB);
        }
        catch
        {
            output.WriteLine("brA:\n" + await ovs.DumpFlowsAsync(OvsSharedSubnetHarness.BridgeA));
            output.WriteLine("brB:\n" + await ovs.DumpFlowsAsync(OvsSharedSubnetHarness.BridgeB));
            output.WriteLine(await ovs.Appctl("ovs/route/show"));
            output.WriteLine(await ovs.Appctl("tnl/ports/show", "-v"));
            output.WriteLine(await ovs.Appctl("tnl/neigh/show"));
            output.WriteLine(await ovs.Appctl("ofproto/trace", "brA", $"in_port=3,ip,nw_src={OvsSharedSubnetHarness.Pvm},nw_dst={_ue}"));
            output.WriteLine(await ovs.Appctl("ofproto/trace", "brB", $"in_port=5,ip,nw_src={OvsSharedSubnetHarness.Pvm},nw_dst={_ue}"));
            output.WriteLine(await ovs.Appctl("dpctl/dump-flows", "-m"));
            throw;
        }
    }

    [Fact]
    public async Task The_unixctl_client_speaks_to_ovs_vswitchd_like_ovs_appctl_and_names_the_command_ovs_refused()
    {
        await using var unixctl = new OvsUnixctl(() => OvsUnixctl.SocketIn(ovs.Dir));
        Assert.Contains("10.60.0.0/24 MARK 1 dev brA", await unixctl.CallAsync("ovs/route/show"), StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => unixctl.CallAsync("no/such-command"));
        Assert.Contains("ovs-appctl no/such-command", e.Message, StringComparison.Ordinal);

        // Arguments, and the same connection after an error reply.
        Assert.Contains("dev brA", await unixctl.CallAsync("ovs/route/lookup", ["10.60.0.3", "pkt_mark=1"]), StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => OvsUnixctl.SocketIn(Path.Combine(ovs.Dir, "missing")));
    }

    [Fact]
    public async Task The_blocking_unixctl_call_gets_the_same_replies_and_errors_and_stamps_the_reply_after_the_request()
    {
        await using var unixctl = new OvsUnixctl(() => OvsUnixctl.SocketIn(ovs.Dir));
        var timeout = TimeSpan.FromSeconds(10);
        Assert.Contains("10.60.0.0/24 MARK 1 dev brA", unixctl.Call("ovs/route/show", null, timeout, out var sent, out var replied), StringComparison.Ordinal);
        Assert.True(sent > 0 && replied >= sent, $"sent {sent}, replied {replied}");
        var e = Assert.Throws<InvalidOperationException>(() => unixctl.Call("no/such-command", null, timeout, out _, out _));
        Assert.Contains("ovs-appctl no/such-command", e.Message, StringComparison.Ordinal);
        Assert.Contains("dev brA", unixctl.Call("ovs/route/lookup", ["10.60.0.3", "pkt_mark=1"], timeout, out _, out _), StringComparison.Ordinal);
        await using var missing = new OvsUnixctl(Path.Combine(ovs.Dir, "no-such.ctl"));
        Assert.ThrowsAny<System.Net.Sockets.SocketException>(() => missing.Call("ovs/route/show", null, timeout, out _, out _));
    }

    [Fact]
    public void The_routing_helper_routes_each_site_to_its_bridge_seeds_every_peer_and_refuses_what_ovs_31_cannot_separate()
    {
        var a = OvsSharedSubnetHarness.Sites[OvsSharedSubnetHarness.SiteA];
        var b = OvsSharedSubnetHarness.Sites[OvsSharedSubnetHarness.SiteB];
        Assert.Equal(
            ["ovs/route/add 10.60.0.0/24 brA pkt_mark=1", "tnl/neigh/set brA 10.60.0.1 02:00:00:00:60:01", "tnl/neigh/set brA 10.60.0.2 02:00:00:00:60:02"],
            OvsTunnelRouting.Commands(a, "brA", OvsSharedSubnetHarness.Backhaul).Select(c => string.Join(' ', c)));
        Assert.Equal("ovs/route/add 10.60.0.0/24 brB", string.Join(' ', OvsTunnelRouting.Commands(b, "brB", OvsSharedSubnetHarness.Backhaul)[0]));
        Assert.DoesNotContain(OvsTunnelRouting.GtpuInterfaceOptions(a), o => o.StartsWith("options:local_ip", StringComparison.Ordinal));
        Assert.Contains("options:local_ip=10.60.0.249", OvsTunnelRouting.GtpuInterfaceOptions(b));

        var e = Assert.Throws<ArgumentException>(() => OvsTunnelRouting.Commands(a, "brA", IPNetwork.Parse("10.61.0.0/24")));
        Assert.Contains("endpoint 10.60.0.250 is not in the IPv4 subnet 10.61.0.0/24", e.Message, StringComparison.Ordinal);
        OvsTunnelRouting.CheckSharedSubnet([a, b]);
        var twoMarked = Assert.Throws<InvalidOperationException>(() => OvsTunnelRouting.CheckSharedSubnet([a, b with { TunnelMark = 2 }]));
        Assert.Contains("marked [a, b]", twoMarked.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => OvsTunnelRouting.CheckSharedSubnet([a with { TunnelMark = null }, b]));
    }
}
