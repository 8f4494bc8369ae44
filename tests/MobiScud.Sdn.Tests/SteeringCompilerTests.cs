using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.OpenFlow;
using MobiScud.Sdn.Steering;

namespace MobiScud.Sdn.Tests;

/// <summary>The compiler is pure: intent + topology in, flows out. These tests need no switch.</summary>
public sealed class SteeringCompilerTests
{
    private static readonly SdnTopology _topology = OvsHarness.TwoSites;
    private static readonly IPAddress _ue = IPAddress.Parse("172.16.0.5");

    private static SteeringIntent Intent(IPAddress enb, uint dl, SiteId pvmSite, int version = 1, IPAddress? pvm = null, string ue = "ue1", uint ul = 0x1001) =>
        new(new UeId(ue), _ue, new EnbId(1), [new Bearer(5, new GtpEndpoint(OvsHarness.Sgw, ul), new GtpEndpoint(enb, dl))],
            OvsHarness.SiteA, pvmSite, pvm ?? OvsHarness.Pvm, version);

    private static FlowEntry Find(IEnumerable<FlowEntry> flows, byte table, ushort priority) =>
        flows.Single(f => f.TableId == table && f.Priority == priority);

    private static IReadOnlyList<OfpAction> Actions(FlowEntry f) => Assert.IsType<ApplyActionsInstruction>(Assert.Single(f.Instructions)).Actions;

    [Fact]
    public void Local_pvm_decapsulates_only_the_ues_bearer_from_its_enb_and_encapsulates_the_reply_with_the_downlink_teid()
    {
        var compiled = SteeringCompiler.Compile(Intent(OvsHarness.Enb1, 0x2002, OvsHarness.SiteA), _topology);
        var flows = Assert.Single(compiled).Value;
        Assert.All(flows, f => Assert.Equal(SteeringCookies.ForUe(new UeId("ue1")), f.Cookie));

        var deliver = Find(flows.Where(f => f.TableId == SteeringTables.Uplink), SteeringTables.Uplink, SteeringTables.Deliver);
        Assert.Equal(new OfpMatch([OxmField.TunnelId(0x1001), OxmField.TunIpv4Src(OvsHarness.Enb1), OxmField.EthType(0x0800), OxmField.Ipv4Src(_ue), OxmField.Ipv4Dst(OvsHarness.Pvm)]), deliver.Match);
        Assert.Equal(new OutputAction(3), Actions(deliver)[^1]);
        Assert.Equal(new SetFieldAction(OxmField.EthDst(SiteTopology.PvmMac(OvsHarness.Pvm))), Actions(deliver)[1]);

        var guard = Find(flows, SteeringTables.Uplink, SteeringTables.IsolationGuard);
        Assert.Empty(guard.Instructions);
        Assert.Equal(new OfpMatch([OxmField.EthType(0x0800), OxmField.Ipv4Dst(OvsHarness.Pvm)]), guard.Match);

        var bearer = Find(flows, SteeringTables.Uplink, SteeringTables.Bearer);
        Assert.Equal([new SetFieldAction(OxmField.TunIpv4Dst(OvsHarness.Sgw)), new OutputAction(OfpPort.InPort)], Actions(bearer));

        var down = Find(flows, SteeringTables.TowardUe, SteeringTables.Deliver);
        Assert.Equal([new SetFieldAction(OxmField.TunIpv4Dst(OvsHarness.Enb1)), new SetFieldAction(OxmField.TunnelId(0x2002)), new OutputAction(10)], Actions(down));
    }

    [Fact]
    public void Remote_pvm_goes_over_the_inter_site_link_and_the_pvm_site_relays_both_ways()
    {
        var compiled = SteeringCompiler.Compile(Intent(OvsHarness.Enb1, 0x2002, OvsHarness.SiteB), _topology);
        Assert.Equal(2, compiled.Count);
        Assert.Equal(new OutputAction(5), Actions(Find(compiled[OvsHarness.SiteA], SteeringTables.Uplink, SteeringTables.Deliver))[^1]);
        Assert.Contains(compiled[OvsHarness.SiteA], f => f.TableId == SteeringTables.TowardUe && f.Match.Fields.Contains(OxmField.InPort(5)));
        var relays = compiled[OvsHarness.SiteB];
        Assert.Equal(2, relays.Count);
        Assert.Contains(relays, f => f.Match.Fields.Contains(OxmField.InPort(5)) && Actions(f)[^1].Equals(new OutputAction(3)));
        Assert.Contains(relays, f => f.Match.Fields.Contains(OxmField.InPort(3)) && Actions(f)[^1].Equals(new OutputAction(5)));
    }

    [Fact]
    public void After_a_handover_the_flows_name_the_new_enb_and_teid_and_keep_the_same_keys_where_they_can()
    {
        var before = SteeringCompiler.Compile(Intent(OvsHarness.Enb1, 0x2002, OvsHarness.SiteA), _topology)[OvsHarness.SiteA];
        var after = SteeringCompiler.Compile(Intent(OvsHarness.Enb2, 0x3003, OvsHarness.SiteA, 2), _topology)[OvsHarness.SiteA];
        Assert.Contains(OxmField.TunIpv4Src(OvsHarness.Enb2), Find(after, 1, SteeringTables.Deliver).Match.Fields);
        Assert.Equal(new SetFieldAction(OxmField.TunnelId(0x3003)), Actions(Find(after, 2, SteeringTables.Deliver))[1]);

        // The downlink flow keeps its key (same match) so the switch replaces its actions in place.
        Assert.Equal(Find(before, 2, SteeringTables.Deliver).Key, Find(after, 2, SteeringTables.Deliver).Key);
        Assert.False(Find(before, 2, SteeringTables.Deliver).SameAs(Find(after, 2, SteeringTables.Deliver)));
    }

    [Fact]
    public void Compiling_is_deterministic_and_cookies_differ_per_ue()
    {
        var a = SteeringCompiler.Compile(Intent(OvsHarness.Enb1, 0x2002, OvsHarness.SiteB), _topology);
        var b = SteeringCompiler.Compile(Intent(OvsHarness.Enb1, 0x2002, OvsHarness.SiteB), _topology);
        foreach (var site in a.Keys)
        {
            Assert.Equal(a[site].Count, b[site].Count);
            Assert.All(a[site].Zip(b[site]), p => Assert.True(p.First.SameAs(p.Second)));
        }

        Assert.NotEqual(SteeringCookies.ForUe(new UeId("ue1")), SteeringCookies.ForUe(new UeId("ue2")));
        Assert.True(SteeringCookies.IsOurs(SteeringCookies.ForUe(new UeId("ue2"))));
        Assert.NotEqual(SteeringCookies.Infrastructure, SteeringCookies.ForUe(new UeId("")));
    }

    [Fact]
    public void Without_a_pvm_the_bearer_is_only_passed_through_to_its_sgw()
    {
        var intent = Intent(OvsHarness.Enb1, 0x2002, OvsHarness.SiteA) with { PvmAddress = null };
        var flows = Assert.Single(SteeringCompiler.Compile(intent, _topology)).Value;
        var only = Assert.Single(flows);
        Assert.Equal(SteeringTables.Bearer, only.Priority);
    }

    [Fact]
    public void A_tunnel_mark_is_set_right_before_every_output_into_the_gtpu_port_and_nowhere_else()
    {
        var marked = new SdnTopology(_topology.Sites.Select(s => s with { TunnelMark = s.Site == OvsHarness.SiteA ? 1u : 2u }));
        foreach (var (pvmSite, topo, expectMarks) in new[] { (OvsHarness.SiteA, marked, true), (OvsHarness.SiteB, marked, true), (OvsHarness.SiteA, _topology, false) })
        {
            var compiled = SteeringCompiler.Compile(Intent(OvsHarness.Enb1, 0x2002, pvmSite), topo);
            foreach (var (siteId, ueFlows) in compiled)
            {
                var site = topo[siteId];
                var intoTunnel = 0;
                foreach (var f in SteeringCompiler.SiteBase(site).Concat(ueFlows))
                {
                    var fromTunnel = f.TableId == SteeringTables.Uplink; // table 1 only sees packets the gtpu port decapsulated
                    var actions = f.Instructions.OfType<ApplyActionsInstruction>().SelectMany(i => i.Actions).ToList();
                    for (var i = 0; i < actions.Count; i++)
                    {
                        var isMark = actions[i] is SetFieldAction { Field: { Class: OxmClass.Nxm1, Field: OxmFieldId.NxPktMark } };
                        var tunnelOut = actions[i] is OutputAction o && (o.Port == site.TunnelPort || (fromTunnel && o.Port == OfpPort.InPort));
                        if (tunnelOut)
                        {
                            intoTunnel++;
                            if (expectMarks)
                            {
                                Assert.True(i > 0 && actions[i - 1].Equals(new SetFieldAction(OxmField.PktMark(site.TunnelMark!.Value))), $"{siteId}: no pkt_mark before {actions[i]} in {f}");
                            }
                        }

                        Assert.True(!isMark || (expectMarks && i + 1 < actions.Count && actions[i + 1] is OutputAction), $"{siteId}: stray pkt_mark in {f}");
                    }
                }

                // Site A (the switch site) re-encapsulates (default + bearer) and encapsulates downlink; B only re-encapsulates unknown TEIDs.
                Assert.Equal(siteId == OvsHarness.SiteA ? 3 : 1, intoTunnel);
            }
        }
    }

    [Fact]
    public void Bad_intents_and_topologies_fail_with_what_and_where()
    {
        var unknownSite = Intent(OvsHarness.Enb1, 1, new SiteId("site-z"));
        var e = Assert.Throws<InvalidOperationException>(() => SteeringCompiler.Compile(unknownSite, _topology));
        Assert.Contains("site-z", e.Message, StringComparison.Ordinal);

        var noSgw = new SiteTopology(new SiteId("x"), 1, IPAddress.Parse("10.0.0.1"), OvsHarness.Mac("02:00:00:00:00:09"), 10, 3, [], [], new Dictionary<SiteId, uint>());
        var t = Assert.Throws<InvalidOperationException>(() => new SdnTopology([noSgw]));
        Assert.Contains("site topology 'x'", t.Message, StringComparison.Ordinal);
        var nowhere = SteeringCompiler.TryCompile(Intent(OvsHarness.Enb1, 1, OvsHarness.SiteA) with { SwitchSite = new SiteId("nowhere") }, _topology);
        Assert.Null(nowhere.Flows);
        Assert.Contains("switch site 'nowhere'", nowhere.Error, StringComparison.Ordinal);
        Assert.Contains("site-z", SteeringCompiler.TryCompile(unknownSite, _topology).Error, StringComparison.Ordinal);
    }
}

/// <summary>The simulator's in-memory switches answer where packets go, with the same flows the live switch gets.</summary>
public sealed class InMemorySwitchFabricTests
{
    private static readonly IPAddress _ue = IPAddress.Parse("172.16.0.5");
    private static readonly UeId _ue1 = new("ue1");

    private static InstallSteering Install(IPAddress enb, uint dl, SiteId pvmSite, int version, uint ul = 0x1001, string ue = "ue1", IPAddress? ueAddress = null, IPAddress? pvm = null) =>
        new(new UeId(ue), new SteeringIntent(new UeId(ue), ueAddress ?? _ue, new EnbId(1), [new Bearer(5, new GtpEndpoint(OvsHarness.Sgw, ul), new GtpEndpoint(enb, dl))],
            OvsHarness.SiteA, pvmSite, pvm ?? OvsHarness.Pvm, version));

    [Fact]
    public async Task Ue_to_pvm_is_decapsulated_to_the_pvm_and_the_reply_is_gtpu_to_the_enb()
    {
        var fabric = new InMemorySwitchFabric(OvsHarness.TwoSites);
        Assert.True((await fabric.ExecuteAsync(Install(OvsHarness.Enb1, 0x2002, OvsHarness.SiteA, 1))).Confirmed);

        var up = Assert.Single(fabric.TraceUplink(OvsHarness.SiteA, OvsHarness.Enb1, OvsHarness.Sgw, 0x1001, _ue, OvsHarness.Pvm));
        Assert.Equal(("pvm", OvsHarness.SiteA), (up.Role, up.Site));
        Assert.Null(up.Packet.Gtp);
        Assert.Equal(_ue, up.Packet.Src);

        var down = Assert.Single(fabric.TraceFromPvm(OvsHarness.SiteA, OvsHarness.Pvm, _ue));
        Assert.Equal($"enb {OvsHarness.Enb1}", down.Role);
        Assert.Equal(0x2002u, down.Packet.Gtp!.Teid);
        Assert.Equal(OvsHarness.Sgw, down.Packet.Src);
    }

    [Fact]
    public async Task Other_traffic_goes_to_the_sgw_with_the_same_teid_and_foreign_or_spoofed_packets_are_dropped()
    {
        var fabric = new InMemorySwitchFabric(OvsHarness.TwoSites);
        await fabric.ExecuteAsync(Install(OvsHarness.Enb1, 0x2002, OvsHarness.SiteA, 1));
        await fabric.ExecuteAsync(Install(OvsHarness.Enb1, 0x2012, OvsHarness.SiteA, 1, 0x1002, "ue2", IPAddress.Parse("172.16.0.6"), IPAddress.Parse("192.168.77.20")));

        var other = Assert.Single(fabric.TraceUplink(OvsHarness.SiteA, OvsHarness.Enb1, OvsHarness.Sgw, 0x1001, _ue, IPAddress.Parse("198.51.100.7")));
        Assert.Equal($"sgw {OvsHarness.Sgw}", other.Role);
        Assert.Equal(0x1001u, other.Packet.Gtp!.Teid);

        Assert.Empty(fabric.TraceUplink(OvsHarness.SiteA, OvsHarness.Enb1, OvsHarness.Sgw, 0x1002, IPAddress.Parse("172.16.0.6"), OvsHarness.Pvm));
        Assert.Empty(fabric.TraceUplink(OvsHarness.SiteA, OvsHarness.Enb1, OvsHarness.Sgw, 0x1001, IPAddress.Parse("172.16.0.99"), OvsHarness.Pvm));
        Assert.Empty(fabric.TraceUplink(OvsHarness.SiteA, OvsHarness.Enb2, OvsHarness.Sgw, 0x1001, _ue, OvsHarness.Pvm));
    }

    [Fact]
    public async Task Migration_handover_removal_and_stale_intents()
    {
        var fabric = new InMemorySwitchFabric(OvsHarness.TwoSites);
        await fabric.ExecuteAsync(Install(OvsHarness.Enb1, 0x2002, OvsHarness.SiteB, 1));
        var remote = Assert.Single(fabric.TraceUplink(OvsHarness.SiteA, OvsHarness.Enb1, OvsHarness.Sgw, 0x1001, _ue, OvsHarness.Pvm));
        Assert.Equal((OvsHarness.SiteB, "pvm"), (remote.Site, remote.Role));
        Assert.Equal(0x2002u, Assert.Single(fabric.TraceFromPvm(OvsHarness.SiteB, OvsHarness.Pvm, _ue)).Packet.Gtp!.Teid);

        // Handover to eNB2 with the PVM back at A: site B's relays are cleared.
        await fabric.ExecuteAsync(Install(OvsHarness.Enb2, 0x3003, OvsHarness.SiteA, 2));
        Assert.DoesNotContain(fabric.Flows(OvsHarness.SiteB), f => f.Cookie == SteeringCookies.ForUe(_ue1));
        var down = Assert.Single(fabric.TraceFromPvm(OvsHarness.SiteA, OvsHarness.Pvm, _ue));
        Assert.Equal(($"enb {OvsHarness.Enb2}", 0x3003u), (down.Role, down.Packet.Gtp!.Teid));

        // An older intent arriving late changes nothing.
        var stale = await fabric.ExecuteAsync(Install(OvsHarness.Enb1, 0x2002, OvsHarness.SiteA, 1));
        Assert.True(stale.Stale);
        Assert.Equal(0x3003u, Assert.Single(fabric.TraceFromPvm(OvsHarness.SiteA, OvsHarness.Pvm, _ue)).Packet.Gtp!.Teid);

        await fabric.ExecuteAsync(new RemoveSteering(_ue1, OvsHarness.SiteA));
        Assert.DoesNotContain(fabric.Flows(OvsHarness.SiteA), f => f.Cookie == SteeringCookies.ForUe(_ue1));
        var afterRemoval = Assert.Single(fabric.TraceUplink(OvsHarness.SiteA, OvsHarness.Enb2, OvsHarness.Sgw, 0x1001, _ue, OvsHarness.Pvm));
        Assert.Equal($"sgw {OvsHarness.Sgw}", afterRemoval.Role);
    }
}
