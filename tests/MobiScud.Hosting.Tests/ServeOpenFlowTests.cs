using System.Net.Http.Json;
using System.Text.Json;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;
using MobiScud.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// `mobiscud serve` with `Sdn:Kind: OpenFlow` and a real Open vSwitch (userspace datapath, ovs-vswitchd in a namespace
/// this test creates) whose three bridges connect to serve's OpenFlow listener. What the switch holds is read with
/// ovs-ofctl, a tool we did not write.
/// </summary>
public sealed class ServeOpenFlowTests(ITestOutputHelper output)
{
    private static readonly (SiteId Site, ulong Dpid, string Bridge, string Endpoint, string Mac, EnbId Enb)[] _bridges =
    [
        (A, 0xa1, "brA", "10.77.0.254", "02:00:00:00:00:fe", EnbA),
        (B, 0xb1, "brB", "10.78.0.254", "02:00:00:00:01:fe", EnbB),
        (C, 0xc1, "brC", "10.79.0.254", "02:00:00:00:02:fe", EnbC),
    ];

    /// <summary>Serve's switch section: one bridge per site, eNB on port 1, S-GW on port 2, PVMs on 3, gtpu 10, site i to site j on port 20 + j.</summary>
    private static Dictionary<string, string?> SdnSettings(string controllerSocket)
    {
        var s = new Dictionary<string, string?>
        {
            ["MobiScud:Sdn:Kind"] = "OpenFlow",
            ["MobiScud:Sdn:Tcp"] = "",
            ["MobiScud:Sdn:UnixSocket"] = controllerSocket,
        };
        for (var i = 0; i < _bridges.Length; i++)
        {
            var b = _bridges[i];
            var p = $"MobiScud:Sdn:Switches:{i}";
            s[$"{p}:Site"] = b.Site.Value;
            s[$"{p}:DatapathId"] = $"0x{b.Dpid:x}";
            s[$"{p}:Endpoint"] = b.Endpoint;
            s[$"{p}:EndpointMac"] = b.Mac;
            s[$"{p}:TunnelPort"] = "10";
            s[$"{p}:PvmPort"] = "3";
            s[$"{p}:Enbs:0:Address"] = EnbAddress(b.Enb).ToString();
            s[$"{p}:Enbs:0:Mac"] = $"02:00:00:00:0{i}:01";
            s[$"{p}:Enbs:0:Port"] = "1";
            s[$"{p}:Sgws:0:Address"] = "10.77.0.2";
            s[$"{p}:Sgws:0:Mac"] = "02:00:00:00:00:02";
            s[$"{p}:Sgws:0:Port"] = "2";
            for (var j = 0; j < _bridges.Length; j++)
            {
                if (j != i)
                {
                    s[$"{p}:InterSitePorts:{_bridges[j].Site.Value}"] = $"{20 + j}";
                }
            }
        }

        return s;
    }

    /// <summary>The three bridges, each pointed at serve's listener, with a gtpu port and patch links between every pair.</summary>
    private static async Task AddBridgesAsync(OvsSandbox ovs, string socket)
    {
        foreach (var b in _bridges)
        {
            await ovs.AddBridgeAsync(b.Bridge, b.Dpid, $"unix:{socket}");
        }

        for (var i = 0; i < _bridges.Length; i++)
        {
            var b = _bridges[i];
            await ovs.Vsctl("add-port", b.Bridge, $"gtp{b.Bridge}", "--", "set", "interface", $"gtp{b.Bridge}", "type=gtpu", "options:remote_ip=flow", "options:key=flow",
                $"options:local_ip={b.Endpoint}", "ofport_request=10");
            for (var j = i + 1; j < _bridges.Length; j++)
            {
                var (x, y) = ($"p{i}{j}", $"p{j}{i}");
                await ovs.Vsctl("add-port", b.Bridge, x, "--", "set", "interface", x, "type=patch", $"options:peer={y}", $"ofport_request={20 + j}");
                await ovs.Vsctl("add-port", _bridges[j].Bridge, y, "--", "set", "interface", y, "type=patch", $"options:peer={x}", $"ofport_request={20 + i}");
            }
        }
    }

    private static async Task<List<string>> FlowsAsync(OvsSandbox ovs, string bridge, UeId ue) =>
        [.. (await DumpAsync(ovs, bridge)).Where(l => l.Contains($"cookie=0x{SteeringCookies.ForUe(ue):x},", StringComparison.Ordinal))];

    /// <summary>`ovs-ofctl -O OpenFlow13 --no-stats dump-flows` of a bridge, one flow a line.</summary>
    private static async Task<List<string>> DumpAsync(OvsSandbox ovs, string bridge)
    {
        var ofctl = ExternalTool.Require("ovs-ofctl", "openvswitch-switch");
        var dump = await ExternalTool.RunAsync(ofctl, ["-O", "OpenFlow13", "--no-stats", "dump-flows", ovs.MgmtSocket(bridge)], TimeSpan.FromSeconds(30));
        Assert.True(dump.ExitCode == 0, dump.StdErr);
        return [.. dump.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim())];
    }

    [Fact]
    public async Task Serve_programs_a_real_ovs_through_its_listener_for_attach_handover_and_detach()
    {
        await using var ovs = await OvsSandbox.StartAsync("hof");
        var socket = Path.Combine(ovs.Dir, "serve-of.sock");

        // Migrations into site-c fail (a broken link): that UE stays redirected from site-c's switch to its PVM at site-a.
        var settings = Settings(SdnSettings(socket));
        settings["MobiScud:Hypervisor:TimeScale"] = "20";
        settings["MobiScud:Hypervisor:MemoryMiB"] = "128";
        settings["MobiScud:Hypervisor:FailMigrationsTo:0"] = C.Value;
        await using var serve = await StartAsync(settings);
        var adapter = serve.App.Services.GetRequiredService<OpenFlowSteeringAdapter>();

        // Steering for a switch that has not connected yet waits in the controller's desired state.
        await serve.Pipeline.PostAsync(Attach(1, EnbA, Now));
        await Wait.Until(async () => (await serve.State(Ue(1)))?.Steering?.PvmAddress is not null, "UE 1's steering toward its PVM at site-a");

        await AddBridgesAsync(ovs, socket);
        await Task.WhenAll(_bridges.Select(b => adapter.WaitForSwitchAsync(b.Site))).WaitAsync(TimeSpan.FromSeconds(60));

        Task<List<string>> Flows(string bridge, UeId ue) => FlowsAsync(ovs, bridge, ue);

        // Attach at eNB 1 (site-a), PVM at site-a: decap of the UL TEID to the PVM port, encap with the DL TEID toward eNB 1.
        var pvm1 = (await serve.State(Ue(1)))!.PvmAddress!.ToString();
        await Wait.Until(async () => (await Flows("brA", Ue(1))).Any(l => l.Contains("table=2", StringComparison.Ordinal)), "UE 1's flows on brA after the switch connected");
        var a1 = await Flows("brA", Ue(1));
        output.WriteLine("brA, UE 1 attached:\n" + string.Join('\n', a1));
        Assert.Contains(a1, l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("tun_id=0x1001", StringComparison.Ordinal) && l.Contains("tun_src=10.77.1.1", StringComparison.Ordinal)
                                 && l.Contains($"nw_src=10.45.0.1,nw_dst={pvm1}", StringComparison.Ordinal) && l.EndsWith("output:3", StringComparison.Ordinal));
        Assert.Contains(a1, l => l.Contains("table=2", StringComparison.Ordinal) && l.Contains("in_port=3,", StringComparison.Ordinal) && l.Contains($"nw_src={pvm1},nw_dst=10.45.0.1", StringComparison.Ordinal)
                                 && l.Contains("set_field:10.77.1.1->tun_dst", StringComparison.Ordinal) && l.Contains("set_field:0x2001->tun_id", StringComparison.Ordinal) && l.EndsWith("output:10", StringComparison.Ordinal));
        Assert.Empty(await Flows("brB", Ue(1)));

        // UE 2 attaches at site-a too; then both hand over by X2: UE 1 to eNB 3 (site-b), UE 2 to eNB 4 (site-c).
        await serve.Pipeline.PostAsync(Attach(2, EnbA, Now));
        await Wait.Until(async () => (await serve.State(Ue(2)))?.Steering?.PvmAddress is not null, "UE 2's steering");
        var pvm2 = (await serve.State(Ue(2)))!.PvmAddress!.ToString();
        await serve.Pipeline.PostAsync(Switched(1, EnbB, Now));
        await serve.Pipeline.PostAsync(Switched(2, EnbC, Now));
        await Wait.Until(async () => await serve.State(Ue(1)) is { PvmSite: var s, Migration: null, Steering.SwitchSite: var sw } && s == B && sw == B, "UE 1's PVM migrated to site-b and steered there");
        await Wait.Until(async () => await serve.State(Ue(2)) is { Migration: null, Steering: { SwitchSite: var sw, PvmSite: var ps } } && sw == C && ps == A, "UE 2's migration to site-c failed, redirect kept");

        // UE 1: decap/encap now at site-b with the new eNB's address and DL TEID; nothing left at site-a.
        await Wait.Until(async () => (await Flows("brA", Ue(1))).Count == 0, "UE 1's flows gone from brA");
        var b1 = await Flows("brB", Ue(1));
        output.WriteLine("brB, UE 1 after handover and migration:\n" + string.Join('\n', b1));
        Assert.Contains(b1, l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("tun_id=0x1001", StringComparison.Ordinal) && l.Contains("tun_src=10.77.1.3", StringComparison.Ordinal)
                                 && l.Contains($"nw_dst={pvm1}", StringComparison.Ordinal) && l.EndsWith("output:3", StringComparison.Ordinal));
        Assert.Contains(b1, l => l.Contains("table=2", StringComparison.Ordinal) && l.Contains("set_field:10.77.1.3->tun_dst", StringComparison.Ordinal)
                                 && l.Contains("set_field:0x3001->tun_id", StringComparison.Ordinal));
        Assert.DoesNotContain(b1, l => l.Contains("0x2001", StringComparison.Ordinal) || l.Contains("10.77.1.1", StringComparison.Ordinal));

        // UE 2: site-c's switch decapsulates and hands the packets over the link to site-a (port 20), site-a relays to its PVM.
        var c2 = await Flows("brC", Ue(2));
        var a2 = await Flows("brA", Ue(2));
        output.WriteLine("brC, UE 2 redirected:\n" + string.Join('\n', c2) + "\nbrA, UE 2 relay:\n" + string.Join('\n', a2));
        Assert.Contains(c2, l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("tun_id=0x1002", StringComparison.Ordinal) && l.Contains("tun_src=10.77.1.4", StringComparison.Ordinal)
                                 && l.Contains($"nw_dst={pvm2}", StringComparison.Ordinal) && l.EndsWith("output:20", StringComparison.Ordinal));
        Assert.Contains(c2, l => l.Contains("table=2", StringComparison.Ordinal) && l.Contains("in_port=20", StringComparison.Ordinal) && l.Contains("set_field:0x3002->tun_id", StringComparison.Ordinal));
        Assert.Contains(a2, l => l.Contains("in_port=22", StringComparison.Ordinal) && l.Contains($"nw_dst={pvm2}", StringComparison.Ordinal) && l.EndsWith("output:3", StringComparison.Ordinal));
        Assert.Contains(a2, l => l.Contains("in_port=3,", StringComparison.Ordinal) && l.Contains($"nw_src={pvm2}", StringComparison.Ordinal) && l.EndsWith("output:22", StringComparison.Ordinal));
        Assert.DoesNotContain(a2, l => l.Contains("table=1", StringComparison.Ordinal));

        // Read back from the switch with nothing remembered (as after a restart): the flows alone give the steering.
        var ue2Flows = (await adapter.Controller.DumpFlowsAsync(0xc1)).Select(FlowEntry.FromStats).Where(f => f.Cookie == SteeringCookies.ForUe(Ue(2))).ToList();
        var want2 = (await serve.State(Ue(2)))!.Steering!;
        var decoded = MobiScud.Sdn.Steering.SteeringDecompiler.Decompile(adapter.Topology, adapter.Topology[C], Ue(2), null, ue2Flows);
        Assert.Equal((want2.UeAddress, want2.PvmAddress, A, C), (decoded.UeAddress, decoded.PvmAddress, decoded.PvmSite, decoded.SwitchSite));
        var bearer = Assert.Single(decoded.Bearers);
        Assert.Equal((want2.Bearers[0].Uplink, want2.Bearers[0].Downlink), (bearer.Uplink, bearer.Downlink));
        Assert.Equal((0, 0, (byte)0), (decoded.Version, (int)decoded.Enb.Value, bearer.ERabId));
        Assert.Same(want2, MobiScud.Sdn.Steering.SteeringDecompiler.Decompile(adapter.Topology, adapter.Topology[C], Ue(2), want2, ue2Flows));

        // The REST view: what the switches hold (read back by flow-stats) is what the MC wants.
        using var client = serve.Client();
        var view = await client.GetFromJsonAsync<JsonElement>("/api/v1/steering");
        output.WriteLine(view.ToString());
        var installed = view.GetProperty("installed").EnumerateArray().ToDictionary(e => e.GetProperty("ue").GetString()!);
        var intended = view.GetProperty("intended").EnumerateArray().ToDictionary(e => e.GetProperty("ue").GetString()!);
        Assert.Equal(intended.Keys.Order(), installed.Keys.Order());
        foreach (var (ue, want) in intended)
        {
            foreach (var field in new[] { "ueAddress", "enb", "switchSite", "pvmSite", "pvmAddress", "version", "bearers" })
            {
                Assert.Equal(want.GetProperty(field).ToString(), installed[ue].GetProperty(field).ToString());
            }
        }

        Assert.Equal("site-b", installed[Ue(1).Value].GetProperty("switchSite").GetString());
        Assert.Equal("site-c", installed[Ue(2).Value].GetProperty("switchSite").GetString());
        Assert.Equal("site-a", installed[Ue(2).Value].GetProperty("pvmSite").GetString());

        // Detach: UE 1's steering leaves the switch.
        await serve.Pipeline.PostAsync(new Detached(Now, Ue(1)));
        await Wait.Until(async () => (await serve.State(Ue(1)))?.Steering is null, "UE 1's steering dropped");
        Assert.Empty(await Flows("brB", Ue(1)));
        Assert.Empty(await Flows("brA", Ue(1)));
        Assert.NotEmpty(await Flows("brC", Ue(2)));
        view = await client.GetFromJsonAsync<JsonElement>("/api/v1/steering");
        Assert.Equal([Ue(2).Value], view.GetProperty("installed").EnumerateArray().Select(e => e.GetProperty("ue").GetString()));
    }
    /// <summary>
    /// Steering a switch cannot take reaches the MC as SteeringFailed and shows in the REST views, the UE's timeline and
    /// /metrics; the MC re-sends it with back-off until it lands. Two genuine causes: the site's switch has not connected
    /// within Sdn:ConnectDeadline, and a full flow table (OVSDB Flow_Table flow_limit with overflow_policy=refuse: OVS
    /// answers the flow-mods with OFPT_ERROR FLOW_MOD_FAILED/TABLE_FULL).
    /// </summary>
    [Fact]
    public async Task Steering_a_switch_cannot_take_is_reported_to_the_mc_shown_and_retried_until_it_lands()
    {
        await using var ovs = await OvsSandbox.StartAsync("hsf");
        var socket = Path.Combine(ovs.Dir, "serve-of.sock");
        var settings = Settings(SdnSettings(socket));
        settings["MobiScud:Sdn:ConnectDeadline"] = "00:00:01";
        settings["MobiScud:SteeringRetryAfter"] = "00:00:01";
        settings["MobiScud:SteeringRetryMax"] = "00:00:02";
        await using var serve = await StartAsync(settings);
        var adapter = serve.App.Services.GetRequiredService<OpenFlowSteeringAdapter>();
        using var client = serve.Client();

        // No switch has connected: past the deadline the MC hears UE 1's steering is not on brA.
        await serve.Pipeline.PostAsync(Attach(1, EnbA, Now));
        await Wait.Until(async () => (await serve.State(Ue(1)))?.SteeringFault?.Reason.StartsWith(SteeringFailureKinds.NotConnected, StringComparison.Ordinal) == true,
            "UE 1's steering reported failed: switch not connected");
        // Retries alternate with new reports (each waits for the deadline again): read the view while a fault stands.
        var ue1 = await ViewWhenAsync(client, $"/api/v1/ues/{Ue(1).Value}", v => v.GetProperty("steeringFault").ValueKind == JsonValueKind.Object, "UE 1's steering fault in the REST view");
        output.WriteLine(ue1.ToString());
        Assert.Equal("site-a", ue1.GetProperty("steeringFault").GetProperty("site").GetString());
        Assert.StartsWith(SteeringFailureKinds.NotConnected, ue1.GetProperty("steeringFault").GetProperty("reason").GetString(), StringComparison.Ordinal);

        // The switches connect: the reconcile installs the flows the MC asked for, the next retry is confirmed.
        await AddBridgesAsync(ovs, socket);
        await Task.WhenAll(_bridges.Select(b => adapter.WaitForSwitchAsync(b.Site))).WaitAsync(TimeSpan.FromSeconds(60));
        await Wait.Until(async () => (await serve.State(Ue(1))) is { SteeringInstalled: true, SteeringFault: null }, "UE 1's steering retried and installed");
        Assert.Contains(await FlowsAsync(ovs, "brA", Ue(1)), l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("nw_src=10.45.0.1", StringComparison.Ordinal));

        // brA's table 1 is full: UE 2's uplink flows are refused.
        var table1 = (await DumpAsync(ovs, "brA")).Count(l => l.Contains("table=1,", StringComparison.Ordinal));
        await ovs.Vsctl("--", "--id=@ft", "create", "Flow_Table", $"flow_limit={table1}", "overflow_policy=refuse", "--", "set", "Bridge", "brA", "flow_tables:1=@ft");
        await serve.Pipeline.PostAsync(Attach(2, EnbA, Now));
        await Wait.Until(async () => (await serve.State(Ue(2)))?.SteeringFailures >= 2, "UE 2's steering refused, retried, refused again");
        Assert.DoesNotContain(await FlowsAsync(ovs, "brA", Ue(2)), l => l.Contains("table=1,", StringComparison.Ordinal));

        var view = await ViewWhenAsync(client, "/api/v1/steering", v => v.GetProperty("failed").GetArrayLength() > 0, "UE 2 among the failed steering");
        output.WriteLine(view.ToString());
        var failed = Assert.Single(view.GetProperty("failed").EnumerateArray());
        Assert.Equal(Ue(2).Value, failed.GetProperty("ue").GetString());
        Assert.Contains("FLOW_MOD_FAILED/TABLE_FULL", failed.GetProperty("reason").GetString(), StringComparison.Ordinal);
        var timeline = await client.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{Ue(2).Value}/timeline");
        var entries = timeline.EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("kind").GetString() == "SteeringFailed" && e.GetProperty("detail").GetString()!.Contains("TABLE_FULL", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.GetProperty("kind").GetString() == "TimerFired" && e.GetProperty("commands").EnumerateArray().Any(c => c.GetString()!.StartsWith("InstallSteering", StringComparison.Ordinal)));
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("mobiscud_steering_failures_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("reason=\"rejected\"", metrics, StringComparison.Ordinal);
        Assert.Contains("reason=\"not-connected\"", metrics, StringComparison.Ordinal);

        // Room in the table: the next retry lands, and the views say so.
        await ovs.Vsctl("clear", "Bridge", "brA", "flow_tables");
        await Wait.Until(async () => (await serve.State(Ue(2))) is { SteeringInstalled: true, SteeringFault: null }, "UE 2's steering installed after the table got room");
        var ue2Flows = await FlowsAsync(ovs, "brA", Ue(2));
        output.WriteLine(string.Join('\n', ue2Flows));
        Assert.Contains(ue2Flows, l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("tun_id=0x1002", StringComparison.Ordinal)
                                       && l.Contains("nw_src=10.45.0.2", StringComparison.Ordinal) && l.EndsWith("output:3", StringComparison.Ordinal));
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/v1/steering")).GetProperty("failed").EnumerateArray());
    }

    /// <summary>Polls a REST view until it shows what the caller waits for (the state it reads moves on by itself).</summary>
    private static async Task<JsonElement> ViewWhenAsync(HttpClient client, string path, Func<JsonElement, bool> shows, string what)
    {
        var view = default(JsonElement);
        await Wait.Until(async () => shows(view = await client.GetFromJsonAsync<JsonElement>(path)), what);
        return view;
    }

    [Fact]
    public async Task After_a_restart_serve_keeps_the_ues_flows_on_the_switch_and_removes_flows_no_ue_owns()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ovs = await OvsSandbox.StartAsync("hor");
        var socket = Path.Combine(ovs.Dir, "serve-of.sock");
        var settings = Settings(SdnSettings(socket));
        settings["MobiScud:Storage:Kind"] = "Redis";
        settings["MobiScud:Storage:Redis"] = redis.Endpoint;
        List<string> before;

        // One hypervisor across the restart, as QEMU processes outlive serve: the PVM is still there afterwards, so the
        // MC's steering after the restart is the same as before. (A fresh one would make the MC boot the PVM again, and
        // steer without it until it runs: the flows would rightly change during the restart.)
        var hypervisor = new SimulatedHypervisor(new HypervisorOptions());
        await using (var first = await StartAsync(settings, hypervisor))
        {
            await AddBridgesAsync(ovs, socket);
            var adapter = first.App.Services.GetRequiredService<OpenFlowSteeringAdapter>();
            await Task.WhenAll(_bridges.Select(b => adapter.WaitForSwitchAsync(b.Site))).WaitAsync(TimeSpan.FromSeconds(60));
            await first.Pipeline.PostAsync(Attach(3, EnbB, Now));
            await Wait.Until(async () => (await FlowsAsync(ovs, "brB", Ue(3))).Any(l => l.Contains("table=2", StringComparison.Ordinal)), "UE 3's flows on brB");
            before = await FlowsAsync(ovs, "brB", Ue(3));
        }

        var since = System.Diagnostics.Stopwatch.StartNew();

        // While serve is down the switch keeps its flows (fail_mode=secure); someone adds one under a UE cookie no UE owns.
        const string stray = "cookie=0xa5800000000000ff,table=1,priority=100,tun_id=0x9999,actions=drop";
        var ofctl = ExternalTool.Require("ovs-ofctl", "openvswitch-switch");
        Assert.Equal(0, (await ExternalTool.RunAsync(ofctl, ["-O", "OpenFlow13", "add-flow", ovs.MgmtSocket("brB"), stray], TimeSpan.FromSeconds(30))).ExitCode);
        Assert.Equal(before, await FlowsAsync(ovs, "brB", Ue(3)));
        Assert.Contains(await DumpAsync(ovs, "brB"), l => l.Contains("tun_id=0x9999", StringComparison.Ordinal));

        var again = Settings(SdnSettings(socket));
        again["MobiScud:Storage:Kind"] = "Redis";
        again["MobiScud:Storage:Redis"] = redis.Endpoint;
        again["MobiScud:Silo:ClusterId"] = settings["MobiScud:Silo:ClusterId"];
        await using var second = await StartAsync(again, hypervisor);
        await second.App.Services.GetRequiredService<OpenFlowSteeringAdapter>().WaitForSwitchAsync(B).WaitAsync(TimeSpan.FromSeconds(60));

        // The MC re-sent UE 3's steering from its persisted state; the stray flow is gone; the switch holds what the MC wants.
        await Wait.Until(async () => !(await DumpAsync(ovs, "brB")).Any(l => l.Contains("tun_id=0x9999", StringComparison.Ordinal)), "the stray flow removed");
        await Wait.Until(async () => (await FlowsAsync(ovs, "brB", Ue(3))).Order().SequenceEqual(before.Order()), "UE 3's flows as before the restart");

        // Kept, not deleted and re-added: the listener opened only after the MC had re-sent its steering, so the switch's
        // reconnect reconcile found the UE's flows wanted. OVS's own age of the flow covers the whole restart.
        var stats = await ExternalTool.RunAsync(ofctl, ["-O", "OpenFlow13", "dump-flows", ovs.MgmtSocket("brB"), $"cookie=0x{SteeringCookies.ForUe(Ue(3)):x}/-1"], TimeSpan.FromSeconds(30));
        var ages = System.Text.RegularExpressions.Regex.Matches(stats.StdOut, @"duration=([0-9.]+)s").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(before.Count, ages.Count);
        Assert.All(ages, age => Assert.True(age >= since.Elapsed.TotalSeconds, $"a flow of UE 3 is {age} s old: re-installed during the restart ({since.Elapsed.TotalSeconds:0.0} s ago)"));

        using var client = second.Client();
        var view = await client.GetFromJsonAsync<JsonElement>("/api/v1/steering");
        var installed = Assert.Single(view.GetProperty("installed").EnumerateArray());
        var intended = Assert.Single(view.GetProperty("intended").EnumerateArray());
        Assert.Equal(intended.ToString(), installed.ToString());
        Assert.Equal(("site-b", "10.45.0.3"), (installed.GetProperty("switchSite").GetString(), installed.GetProperty("ueAddress").GetString()));
    }
}
