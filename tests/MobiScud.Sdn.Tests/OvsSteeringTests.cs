using System.Net;
using System.Net.Sockets;
using System.Text;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Sdn.Steering;
using Xunit.Abstractions;

namespace MobiScud.Sdn.Tests;

/// <summary>Real GTP-U packets through a real Open vSwitch programmed by our controller (see <see cref="OvsHarness"/>).</summary>
[Collection(OvsCollection.Name)]
public sealed class OvsSteeringTests(OvsHarness ovs, ITestOutputHelper output)
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(10);
    private static readonly IPAddress _ue1 = IPAddress.Parse("172.16.0.5");
    private static readonly IPAddress _ue2 = IPAddress.Parse("172.16.0.6");
    private static readonly IPAddress _internet = IPAddress.Parse("198.51.100.7");
    private const uint Ul1 = 0x1001;
    private const uint Dl1 = 0x2002;
    private const uint Dl1AfterHandover = 0x3003;
    private const uint Ul2 = 0x1002;
    private const uint Dl2 = 0x2012;

    private static SteeringIntent Intent(IPAddress enb, uint dlTeid, SiteId pvmSite, UeId? ue = null, IPAddress? ueAddress = null, uint ul = Ul1, IPAddress? pvm = null) =>
        new(ue ?? new UeId("ue1"), ueAddress ?? _ue1, new EnbId(1),
            [new Bearer(5, new GtpEndpoint(OvsHarness.Sgw, ul), new GtpEndpoint(enb, dlTeid))],
            OvsHarness.SiteA, pvmSite, pvm ?? OvsHarness.Pvm, OvsHarness.NextVersion());

    private async Task InstallAsync(SteeringIntent intent)
    {
        var result = await ovs.Programmer.ExecuteAsync(new InstallSteering(intent.Ue, intent));
        Assert.True(result.Confirmed, $"not confirmed by barrier: {string.Join("; ", result.Sites.Select(s => $"{s.Key}={s.Value}"))}");
        Assert.Empty(result.Rejections);

        // The harness's programmer confirms beyond the barrier: OVS's datapath cache follows the new tables (no flush
        // here), so the first packet sent from now on must take the new path.
        Assert.True(result.DatapathSynced, "the datapath sync did not run");

        // The reaction-time stages: present when flow-mods went out, in order, the flush only after the barrier reply.
        var sent = result.Sites.Values.Any(s => s.FlowMods > 0);
        Assert.Equal(sent, result.Times is not null);
        if (result.Times is { } t)
        {
            Assert.True(t.Written <= t.BarrierRead && t.BarrierRead <= t.Resumed && t.Resumed <= t.FlushSent && t.FlushSent <= t.FlushReplied && t.FlushSent != 0, $"stages out of order: {t}");
        }
    }

    /// <summary>The first packet matching <paramref name="want"/> at any of the sockets, and where it arrived.</summary>
    private static async Task<(string Where, IpPacket Packet)> FirstAtAsync(Func<IpPacket, bool> want, string what, params (string Where, Socket Socket)[] at)
    {
        using var cts = new CancellationTokenSource(_wait);
        var tasks = at.Select(async a => (a.Where, await ReceiveOrNeverAsync(a.Socket, want, cts.Token))).ToList();
        try
        {
            return await await Task.WhenAny(tasks);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no packet for: {what} within {_wait.TotalSeconds} s");
        }
        finally
        {
            cts.Cancel();
        }
    }

    private static async Task<IpPacket> ReceiveOrNeverAsync(Socket raw, Func<IpPacket, bool> want, CancellationToken ct)
    {
        var buffer = new byte[65536];
        while (true)
        {
            var n = await raw.ReceiveAsync(buffer, SocketFlags.None, ct);
            if (IpPacket.Parse(buffer.AsSpan(0, n)) is { } p && want(p))
            {
                return p;
            }
        }
    }

    /// <summary>Runs a scenario; on failure, the switches' flow tables go into the test output.</summary>
    private async Task WithDumpsOnFailure(Func<Task> body)
    {
        try
        {
            await body();
        }
        catch
        {
            output.WriteLine("brA:\n" + await ovs.DumpFlowsAsync("brA"));
            output.WriteLine("brB:\n" + await ovs.DumpFlowsAsync("brB"));
            output.WriteLine(await ovs.OfctlAsync("-O", "OpenFlow13", "show", ovs.MgmtSocket("brA")));
            output.WriteLine(await ovs.OfctlAsync("-O", "OpenFlow13", "show", ovs.MgmtSocket("brB")));
            output.WriteLine(await ovs.Appctl("ofproto/trace", "brA", "in_port=10,tun_id=0x1001,tun_src=10.77.0.1,tun_dst=10.77.0.254,ip,nw_src=172.16.0.5,nw_dst=192.168.77.10"));
            output.WriteLine(await ovs.Appctl("dpctl/dump-flows", "-m"));
            throw;
        }
    }

    private static string Nonce() => Guid.NewGuid().ToString("N")[..12];

    /// <summary>The eNB sends GTP-U toward the S-GW, as a real eNB does (an ordinary UDP socket on 2152).</summary>
    private async Task SendUplinkAsync(string enbRole, IPAddress enb, uint teid, byte[] inner)
    {
        using var s = ovs.Socket(enbRole, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(enb, 2152));
        await s.SendToAsync(Packets.GPdu(teid, inner), new IPEndPoint(OvsHarness.Sgw, 2152));
    }

    private static byte[] Ping(IPAddress src, IPAddress dst, string nonce) =>
        PacketBuilder.Ipv4(src, dst, PacketBuilder.IcmpProtocol, PacketBuilder.IcmpEcho(PacketBuilder.IcmpEchoRequest, 0x4d53, 1, Encoding.ASCII.GetBytes(nonce)));

    private static byte[] UdpTo(IPAddress src, IPAddress dst, string nonce) =>
        PacketBuilder.Ipv4(src, dst, PacketBuilder.UdpProtocol, Packets.Udp(40000, 7777, Encoding.ASCII.GetBytes(nonce)));

    private static bool Carries(IpPacket p, string nonce) => Encoding.ASCII.GetString(p.Payload).Contains(nonce, StringComparison.Ordinal);

    [Fact]
    public async Task Ue_ping_reaches_its_pvm_decapsulated_and_the_reply_reaches_the_enb_in_gtpu_with_the_downlink_teid()
    {
        await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteA));
        using var pvmIcmp = ovs.Socket("pvma", SocketType.Raw, ProtocolType.Icmp);
        using var enbRaw = ovs.Socket("enb1", SocketType.Raw, ProtocolType.Udp);
        var nonce = Nonce();
        await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, Ping(_ue1, OvsHarness.Pvm, nonce));

        var atPvm = await NetnsSocket.ReceiveAsync(pvmIcmp, p => p.Protocol == 1 && p.Payload[0] == 8 && Carries(p, nonce), _wait, "echo request at the PVM");
        Assert.Equal(_ue1, atPvm.Src);
        Assert.Equal(OvsHarness.Pvm, atPvm.Dst);

        // The PVM's own kernel answers; the switch must wrap the reply in GTP-U toward eNB1 with the downlink TEID.
        var atEnb = await NetnsSocket.ReceiveAsync(enbRaw, p => p.Gtp is { } g && g.Inner.Protocol == 1 && Carries(g.Inner, nonce), _wait, "echo reply in GTP-U at eNB1");
        var (teid, inner) = atEnb.Gtp!.Value;
        Assert.Equal(Dl1, teid);
        Assert.Equal(OvsHarness.Enb1, atEnb.Dst);
        Assert.Equal(OvsHarness.Sgw, atEnb.Src);
        Assert.Equal(0, inner.Payload[0]); // ICMP echo reply
        Assert.Equal(OvsHarness.Pvm, inner.Src);
        Assert.Equal(_ue1, inner.Dst);
    }

    [Fact]
    public async Task Ue_udp_reaches_its_pvm_and_a_pvm_udp_reply_reaches_the_enb_in_gtpu()
    {
        await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteA));
        using var pvmUdp = ovs.Socket("pvma", SocketType.Raw, ProtocolType.Udp);
        using var enbRaw = ovs.Socket("enb1", SocketType.Raw, ProtocolType.Udp);
        var nonce = Nonce();
        await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, UdpTo(_ue1, OvsHarness.Pvm, nonce));
        var atPvm = await NetnsSocket.ReceiveAsync(pvmUdp, p => p.UdpDstPort == 7777 && Carries(p, nonce), _wait, "UDP at the PVM");
        Assert.Equal(_ue1, atPvm.Src);

        using (var reply = ovs.Socket("pvma", SocketType.Dgram, ProtocolType.Udp))
        {
            await reply.SendToAsync(Encoding.ASCII.GetBytes("re-" + nonce), new IPEndPoint(_ue1, 40000));
        }

        var atEnb = await NetnsSocket.ReceiveAsync(enbRaw, p => p.Gtp is { } g && Carries(g.Inner, "re-" + nonce), _wait, "UDP reply in GTP-U at eNB1");
        Assert.Equal(Dl1, atEnb.Gtp!.Value.Teid);
        Assert.Equal(17, atEnb.Gtp!.Value.Inner.Protocol);
    }

    [Fact]
    public async Task Other_traffic_of_the_bearer_and_unknown_teids_reach_the_sgw_with_their_teid_unchanged()
    {
        await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteA));
        using var sgwRaw = ovs.Socket("sgw", SocketType.Raw, ProtocolType.Udp);
        using var pvmUdp = ovs.Socket("pvma", SocketType.Raw, ProtocolType.Udp);
        var nonce = Nonce();
        await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, UdpTo(_ue1, _internet, nonce));
        var atSgw = await NetnsSocket.ReceiveAsync(sgwRaw, p => p.Gtp is { } g && Carries(g.Inner, nonce), _wait, "bearer traffic at the S-GW");
        Assert.Equal(Ul1, atSgw.Gtp!.Value.Teid);
        Assert.Equal(_internet, atSgw.Gtp!.Value.Inner.Dst);
        Assert.Equal(OvsHarness.Sgw, atSgw.Dst);

        var unknown = Nonce();
        await SendUplinkAsync("enb1", OvsHarness.Enb1, 0x7777, UdpTo(IPAddress.Parse("172.16.9.9"), _internet, unknown));
        var unknownAtSgw = await NetnsSocket.ReceiveAsync(sgwRaw, p => p.Gtp is { } g && Carries(g.Inner, unknown), _wait, "unknown TEID at the S-GW");
        Assert.Equal(0x7777u, unknownAtSgw.Gtp!.Value.Teid);
    }

    [Fact]
    public async Task After_a_handover_the_pvm_reply_goes_to_the_new_enb_with_the_new_teid_at_once()
    {
        await WithDumpsOnFailure(async () =>
        {
            using var enb1Raw = ovs.Socket("enb1", SocketType.Raw, ProtocolType.Udp);
            using var enb2Raw = ovs.Socket("enb2", SocketType.Raw, ProtocolType.Udp);
            using var pvmIcmp = ovs.Socket("pvma", SocketType.Raw, ProtocolType.Icmp);

            // Traffic on the old path first, so OVS's datapath caches the old rules (uplink from eNB1, reply to eNB1).
            await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteA));
            var warm = Nonce();
            await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, Ping(_ue1, OvsHarness.Pvm, warm));
            await NetnsSocket.ReceiveAsync(enb1Raw, p => p.Gtp is { } g && Carries(g.Inner, warm), _wait, "echo reply at eNB1 before the handover");

            // The very first packets after the confirmed handover: the old eNB is no longer a valid source for the PVM
            // (dropped at the guard), the new one is, and the PVM's reply goes to the new eNB with the new TEID.
            await InstallAsync(Intent(OvsHarness.Enb2, Dl1AfterHandover, OvsHarness.SiteA));
            var stale = Nonce();
            var nonce = Nonce();
            await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, Ping(_ue1, OvsHarness.Pvm, stale));
            await SendUplinkAsync("enb2", OvsHarness.Enb2, Ul1, Ping(_ue1, OvsHarness.Pvm, nonce));
            var first = await NetnsSocket.ReceiveAsync(pvmIcmp, p => p.Payload[0] == 8 && (Carries(p, stale) || Carries(p, nonce)), _wait, "echo request from the new eNB at the PVM");
            Assert.True(Carries(first, nonce), "a packet from the old eNB reached the PVM after the handover was confirmed");

            var (where, reply) = await FirstAtAsync(p => p.Gtp is { } g && Carries(g.Inner, nonce), "echo reply at an eNB", ("eNB1", enb1Raw), ("eNB2", enb2Raw));
            Assert.Equal("eNB2", where);
            Assert.Equal(Dl1AfterHandover, reply.Gtp!.Value.Teid);
            Assert.Equal(OvsHarness.Enb2, reply.Dst);
        });
    }

    [Fact]
    public async Task During_a_migration_the_pvm_at_the_other_site_is_reached_over_the_inter_site_link_and_after_it_the_new_site()
    {
        await WithDumpsOnFailure(async () =>
        {
            using var pvmA = ovs.Socket("pvma", SocketType.Raw, ProtocolType.Udp);
            using var pvmB = ovs.Socket("pvmb", SocketType.Raw, ProtocolType.Udp);
            using var enbRaw = ovs.Socket("enb1", SocketType.Raw, ProtocolType.Udp);

            // The PVM still runs at site A while the UE is served at A: local delivery.
            await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteA));
            var n1 = Nonce();
            await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, UdpTo(_ue1, OvsHarness.Pvm, n1));
            await NetnsSocket.ReceiveAsync(pvmA, p => Carries(p, n1), _wait, "UDP at PVM A");

            // The PVM now answers at site B: the switch at A sends it over the inter-site link, B relays both ways.
            // The first packet after the confirmed change already goes to B, although A's path is cached.
            await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteB));
            var n2 = Nonce();
            await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, UdpTo(_ue1, OvsHarness.Pvm, n2));
            var (where, atB) = await FirstAtAsync(p => Carries(p, n2), "UDP at a PVM host", ("PVM A", pvmA), ("PVM B", pvmB));
            Assert.Equal("PVM B", where);
            Assert.Equal(_ue1, atB.Src);
            using (var reply = ovs.Socket("pvmb", SocketType.Dgram, ProtocolType.Udp))
            {
                await reply.SendToAsync(Encoding.ASCII.GetBytes("re-" + n2), new IPEndPoint(_ue1, 40000));
            }

            var atEnb = await NetnsSocket.ReceiveAsync(enbRaw, p => p.Gtp is { } g && Carries(g.Inner, "re-" + n2), _wait, "PVM B reply at eNB1");
            Assert.Equal(Dl1, atEnb.Gtp!.Value.Teid);

            // And nothing of n2 went to the old host: probe A with a marker it would receive if it were still steered there.
            await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteA));
            var marker = Nonce();
            await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, UdpTo(_ue1, OvsHarness.Pvm, marker));
            var firstAtA = await NetnsSocket.ReceiveAsync(pvmA, p => Carries(p, n2) || Carries(p, marker), _wait, "marker at PVM A");
            Assert.True(Carries(firstAtA, marker), "PVM A received traffic while the PVM was at site B");
        });
    }

    [Fact]
    public async Task Another_ues_bearer_and_a_spoofed_inner_source_cannot_reach_the_pvm()
    {
        await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteA));
        await InstallAsync(Intent(OvsHarness.Enb1, Dl2, OvsHarness.SiteA, new UeId("ue2"), _ue2, Ul2, IPAddress.Parse("192.168.77.20")));
        using var pvmUdp = ovs.Socket("pvma", SocketType.Raw, ProtocolType.Udp);
        var otherBearer = Nonce();
        var spoofed = Nonce();
        var marker = Nonce();
        await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul2, UdpTo(_ue2, OvsHarness.Pvm, otherBearer));
        await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul2, UdpTo(_ue1, OvsHarness.Pvm, otherBearer));
        await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, UdpTo(IPAddress.Parse("172.16.0.99"), OvsHarness.Pvm, spoofed));
        await SendUplinkAsync("enb1", OvsHarness.Enb1, Ul1, UdpTo(_ue1, OvsHarness.Pvm, marker));
        var first = await NetnsSocket.ReceiveAsync(pvmUdp, p => Carries(p, otherBearer) || Carries(p, spoofed) || Carries(p, marker), _wait, "marker at the PVM");
        Assert.True(Carries(first, marker), $"forbidden packet reached the PVM: {Encoding.ASCII.GetString(first.Payload)}");
        await ovs.Programmer.ExecuteAsync(new RemoveSteering(new UeId("ue2"), OvsHarness.SiteA));
    }

    [Fact]
    public async Task Flows_our_encoder_sent_appear_in_ovs_ofctl_dump_flows_as_intended()
    {
        await InstallAsync(Intent(OvsHarness.Enb1, Dl1, OvsHarness.SiteA));
        var dump = await ovs.DumpFlowsAsync("brA");
        output.WriteLine(dump);
        var cookie = $"cookie=0x{SteeringCookies.ForUe(new UeId("ue1")):x}";
        var lines = dump.Split('\n').Where(l => l.Contains(cookie, StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        Assert.Contains(lines, l => l.Contains("table=1, priority=300,ip,tun_id=0x1001,tun_src=10.77.0.1,nw_src=172.16.0.5,nw_dst=192.168.77.10 actions=set_field:02:00:00:00:00:fe->eth_src,set_field:02:00:c0:a8:4d:0a->eth_dst,output:3", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("table=1, priority=200,ip,nw_dst=192.168.77.10 actions=drop", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("table=1, priority=100,tun_id=0x1001 actions=set_field:10.77.0.2->tun_dst,IN_PORT", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("table=2, priority=300,ip,in_port=3,nw_src=192.168.77.10,nw_dst=172.16.0.5 actions=set_field:10.77.0.1->tun_dst,set_field:0x2002->tun_id,output:10", StringComparison.Ordinal));
    }
}

/// <summary>Reconciliation against a real switch: after a crash of ovs-vswitchd, and after someone tampers with the tables.</summary>
[Collection(OvsCollection.Name)]
public sealed class OvsReconcileTests(OvsHarness ovs, ITestOutputHelper output)
{
    private static readonly IPAddress _ue = IPAddress.Parse("172.16.0.5");

    private static SteeringIntent Intent() =>
        new(new UeId("ue1"), _ue, new EnbId(1), [new Bearer(5, new GtpEndpoint(OvsHarness.Sgw, 0x1001), new GtpEndpoint(OvsHarness.Enb1, 0x2002))],
            OvsHarness.SiteA, OvsHarness.SiteA, OvsHarness.Pvm, OvsHarness.NextVersion());

    [Fact]
    public async Task Killing_and_restarting_ovs_vswitchd_reconciles_every_flow_and_traffic_flows_again()
    {
        var install = await ovs.Programmer.ExecuteAsync(new InstallSteering(new UeId("ue1"), Intent()));
        Assert.True(install.Confirmed);
        var desiredA = ovs.Controller.DesiredFlows(OvsHarness.DpidA).Count;
        var desiredB = ovs.Controller.DesiredFlows(OvsHarness.DpidB).Count;

        ovs.Controller.ExpectReconnect(OvsHarness.DpidA);
        ovs.Controller.ExpectReconnect(OvsHarness.DpidB);
        await ovs.RestartVswitchdAsync();
        var a = await ovs.Controller.WaitForSwitchAsync(OvsHarness.DpidA).WaitAsync(TimeSpan.FromSeconds(60));
        var b = await ovs.Controller.WaitForSwitchAsync(OvsHarness.DpidB).WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"reconciled after restart: {a}");
        output.WriteLine($"reconciled after restart: {b}");

        // A restarted OVS has empty tables: everything desired is added, nothing else exists.
        Assert.Equal(0, a.Found);
        Assert.Equal(desiredA, a.Added);
        Assert.Equal(desiredB, b.Added);
        Assert.Empty(a.Rejections);
        var dump = await ovs.DumpFlowsAsync("brA");
        Assert.Equal(desiredA, dump.Split('\n').Count(l => l.Contains("cookie=", StringComparison.Ordinal)));

        // Traffic works again without the MC re-sending anything.
        using var pvmIcmp = ovs.Socket("pvma", SocketType.Raw, ProtocolType.Icmp);
        using var enbRaw = ovs.Socket("enb1", SocketType.Raw, ProtocolType.Udp);
        var nonce = Guid.NewGuid().ToString("N")[..12];
        using (var s = ovs.Socket("enb1", SocketType.Dgram, ProtocolType.Udp))
        {
            s.Bind(new IPEndPoint(OvsHarness.Enb1, 2152));
            var ping = PacketBuilder.Ipv4(_ue, OvsHarness.Pvm, PacketBuilder.IcmpProtocol, PacketBuilder.IcmpEcho(PacketBuilder.IcmpEchoRequest, 7, 1, Encoding.ASCII.GetBytes(nonce)));
            await s.SendToAsync(Packets.GPdu(0x1001, ping), new IPEndPoint(OvsHarness.Sgw, 2152));
        }

        await NetnsSocket.ReceiveAsync(pvmIcmp, p => p.Payload[0] == 8 && Encoding.ASCII.GetString(p.Payload).Contains(nonce, StringComparison.Ordinal), TimeSpan.FromSeconds(10), "ping at the PVM after restart");
        var reply = await NetnsSocket.ReceiveAsync(enbRaw, p => p.Gtp is { } g && Encoding.ASCII.GetString(g.Inner.Payload).Contains(nonce, StringComparison.Ordinal), TimeSpan.FromSeconds(10), "reply at eNB1 after restart");
        Assert.Equal(0x2002u, reply.Gtp!.Value.Teid);
    }

    [Fact]
    public async Task Resync_removes_foreign_flows_restores_deleted_ones_repairs_modified_ones_and_keeps_the_rest()
    {
        var install = await ovs.Programmer.ExecuteAsync(new InstallSteering(new UeId("ue1"), Intent()));
        Assert.True(install.Confirmed);
        var clean = await ovs.Controller.ResyncAsync(OvsHarness.DpidA);
        output.WriteLine($"clean resync: {clean}");

        // Our flows read back from OVS compare equal to what we sent: a resync of an untouched switch changes nothing.
        Assert.Equal(clean.Found, clean.Kept);
        Assert.Equal(0, clean.Added + clean.Modified + clean.Deleted);

        var mgmt = ovs.MgmtSocket("brA");
        await ovs.OfctlAsync("-O", "OpenFlow13", "add-flow", mgmt, "table=3,priority=7,cookie=0x1234,udp,tp_dst=9999,actions=drop");
        await ovs.OfctlAsync("-O", "OpenFlow13", "del-flows", "--strict", mgmt, "table=1,priority=200,ip,nw_dst=192.168.77.10");
        await ovs.OfctlAsync("-O", "OpenFlow13", "mod-flows", "--strict", mgmt, "table=2,priority=0,actions=drop");

        var fixedUp = await ovs.Controller.ResyncAsync(OvsHarness.DpidA);
        output.WriteLine($"resync after tampering: {fixedUp}");
        Assert.Equal(1, fixedUp.Deleted);
        Assert.Equal(1, fixedUp.Added);
        Assert.Equal(1, fixedUp.Modified);
        Assert.Empty(fixedUp.Rejections);

        var dump = await ovs.DumpFlowsAsync("brA");
        Assert.DoesNotContain("tp_dst=9999", dump, StringComparison.Ordinal);
        Assert.Contains("table=1, priority=200,ip,nw_dst=192.168.77.10 actions=drop", dump, StringComparison.Ordinal);
        Assert.Contains("table=2, priority=0 actions=NORMAL", dump, StringComparison.Ordinal);
    }
}
