using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Sdn.Steering;
using Xunit.Abstractions;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// A real Open vSwitch that refuses steering: table 1 of brA is given an OVSDB flow limit (Flow_Table flow_limit,
/// overflow_policy=refuse) so the UE's uplink flow-mods get OFPT_ERROR FLOW_MOD_FAILED/TABLE_FULL, as a switch whose
/// table is full does. The MC core, driven by the programmer's outcomes, hears SteeringFailed, backs off and re-sends;
/// once the table has room the retry lands, and ovs-ofctl (a tool we did not write) shows the flows. And a switch that
/// stops answering (ovs-vswitchd frozen with SIGSTOP) lets the barrier time out: the MC hears "unconfirmed" and the
/// retry lands once the switch runs again.
/// </summary>
[Collection(OvsCollection.Name)]
public sealed class OvsSteeringFailureTests(OvsHarness ovs, ITestOutputHelper output)
{
    private static readonly UeId _ue = new("ue-table-full");
    private static readonly IPAddress _ueAddress = IPAddress.Parse("172.16.0.9");
    private static readonly EnbId _enb = new(1);

    [Fact]
    public async Task Flow_mods_a_full_table_refuses_reach_the_mc_which_retries_with_back_off_until_the_table_has_room()
    {
        var config = new McConfig(new Dictionary<EnbId, SiteId> { [_enb] = OvsHarness.SiteA }, new SiteId("core"),
            steeringRetryAfter: TimeSpan.FromSeconds(1), steeringRetryMax: TimeSpan.FromSeconds(30));
        var mc = new Mc(config, ovs, output, _ue);

        // Table 1 holds only what is there now: every new flow in it is refused.
        var table1 = (await ovs.OfctlAsync("-O", "OpenFlow13", "--no-stats", "dump-flows", ovs.MgmtSocket("brA"), "table=1"))
            .Split('\n').Count(l => l.Contains("cookie=", StringComparison.Ordinal));
        await ovs.Vsctl("--", "--id=@ft", "create", "Flow_Table", $"flow_limit={table1}", "overflow_policy=refuse", "--", "set", "Bridge", "brA", "flow_tables:1=@ft");
        try
        {
            await mc.FeedAsync(new UeAttached(mc.Now, _ue, null, _ueAddress, _enb, null,
                [new Bearer(5, new GtpEndpoint(OvsHarness.Sgw, 0x1701), new GtpEndpoint(OvsHarness.Enb1, 0x2702))]));
            await mc.FeedAsync(new PvmStarted(mc.Now, _ue, PvmId.For(_ue), OvsHarness.SiteA, OvsHarness.Pvm));

            // The first install is refused; the MC marks it not installed and schedules a retry 1 s later.
            var first = Assert.Single(mc.Failures);
            Assert.StartsWith(SteeringFailureKinds.Rejected + ":", first.Reason, StringComparison.Ordinal);
            Assert.Contains("FLOW_MOD_FAILED/TABLE_FULL", first.Reason, StringComparison.Ordinal);
            Assert.Equal(OvsHarness.SiteA, first.SwitchSite);
            Assert.False(mc.State!.SteeringInstalled);
            Assert.Equal(TimeSpan.FromSeconds(1), mc.NextTimer().Due - first.At);

            // Still full: the retry (a new intent version, the same flows) is refused too, and the wait doubles.
            await mc.FireNextTimerAsync();
            Assert.Equal(2, mc.Installs.Count);
            Assert.True(mc.Installs[1].Version > mc.Installs[0].Version);
            var second = mc.Failures[1];
            Assert.Equal(mc.Installs[1].Version, second.IntentVersion);
            Assert.Equal(TimeSpan.FromSeconds(2), mc.NextTimer().Due - second.At);
            Assert.DoesNotContain("nw_src=172.16.0.9", await ovs.DumpFlowsAsync("brA"), StringComparison.Ordinal);

            // Room in the table: the next retry lands and nothing more is reported.
            await ovs.Vsctl("clear", "Bridge", "brA", "flow_tables");
            await mc.FireNextTimerAsync();
            Assert.Equal(3, mc.Installs.Count);
            Assert.Equal(2, mc.Failures.Count);
            Assert.True(mc.State!.SteeringInstalled);
            Assert.Empty(mc.Timers);

            var dump = await ovs.DumpFlowsAsync("brA");
            output.WriteLine(dump);
            var flows = dump.Split('\n').Where(l => l.Contains($"cookie=0x{SteeringCookies.ForUe(_ue):x},", StringComparison.Ordinal)).ToList();
            Assert.Contains(flows, l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("tun_id=0x1701", StringComparison.Ordinal)
                                        && l.Contains($"nw_src=172.16.0.9,nw_dst={OvsHarness.Pvm}", StringComparison.Ordinal) && l.EndsWith("output:3", StringComparison.Ordinal));
            Assert.Contains(flows, l => l.Contains("table=2", StringComparison.Ordinal) && l.Contains("set_field:0x2702->tun_id", StringComparison.Ordinal));
        }
        finally
        {
            await ovs.Vsctl("clear", "Bridge", "brA", "flow_tables");
            await ovs.Programmer.ExecuteAsync(new RemoveSteering(_ue, OvsHarness.SiteA));
        }
    }

    /// <summary>The MC core with the programmer as its switch adapter: failures come back as events, timers fire on request (virtual time).</summary>
    [Fact]
    public async Task A_barrier_a_frozen_switch_never_answers_reaches_the_mc_as_unconfirmed_and_the_retry_lands_once_it_runs_again()
    {
        var ue = new UeId("ue-frozen-switch");
        var config = new McConfig(new Dictionary<EnbId, SiteId> { [_enb] = OvsHarness.SiteA }, new SiteId("core"));
        var mc = new Mc(config, ovs, output, ue);
        await mc.FeedAsync(new UeAttached(mc.Now, ue, null, IPAddress.Parse("172.16.0.11"), _enb, null,
            [new Bearer(5, new GtpEndpoint(OvsHarness.Sgw, 0x1711), new GtpEndpoint(OvsHarness.Enb1, 0x2712))]));
        var pid = File.ReadAllText(Path.Combine(ovs.Dir, "ovs-vswitchd.pid")).Trim();
        await ovs.RunAsync("kill", "-STOP", pid);
        try
        {
            // The flow-mods and the barrier sit in the frozen switch's socket; no BARRIER_REPLY within the controller's timeout.
            await mc.FeedAsync(new PvmStarted(mc.Now, ue, PvmId.For(ue), OvsHarness.SiteA, OvsHarness.Pvm));
        }
        finally
        {
            await ovs.RunAsync("kill", "-CONT", pid);
        }

        var failed = Assert.Single(mc.Failures);
        Assert.StartsWith(SteeringFailureKinds.Unconfirmed + ":", failed.Reason, StringComparison.Ordinal);
        Assert.False(mc.State!.SteeringInstalled);

        try
        {
            // Running again (its session may meanwhile have been dropped by the keep-alive: then it reconnects and is
            // reconciled). The retry is confirmed, or deferred to that reconcile; either way the MC hears of no failure.
            for (var i = 0; i < 600 && !ovs.Controller.ConnectedSwitches.Contains(OvsHarness.DpidA); i++)
            {
                await Task.Delay(100);
            }

            await mc.FireNextTimerAsync();
            Assert.Single(mc.Failures);
            Assert.True(mc.State!.SteeringInstalled);
            var cookie = $"cookie=0x{SteeringCookies.ForUe(ue):x},";
            var flows = new List<string>();
            for (var i = 0; i < 300 && !flows.Any(l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("nw_src=172.16.0.11", StringComparison.Ordinal)); i++)
            {
                await Task.Delay(100);
                flows = [.. (await ovs.DumpFlowsAsync("brA")).Split('\n').Where(l => l.Contains(cookie, StringComparison.Ordinal))];
            }

            output.WriteLine(string.Join('\n', flows));
            Assert.Contains(flows, l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("tun_id=0x1711", StringComparison.Ordinal) && l.Contains("nw_src=172.16.0.11", StringComparison.Ordinal));
            Assert.Contains(flows, l => l.Contains("table=2", StringComparison.Ordinal) && l.Contains("set_field:0x2712->tun_id", StringComparison.Ordinal));
        }
        finally
        {
            await ovs.Programmer.ExecuteAsync(new RemoveSteering(ue, OvsHarness.SiteA));
        }
    }

    private sealed class Mc(McConfig config, OvsHarness ovs, ITestOutputHelper output, UeId ue)
    {
        public UeState? State { get; private set; }

        public TimeSpan Now { get; private set; } = TimeSpan.FromSeconds(100);

        public List<SteeringIntent> Installs { get; } = [];

        public List<SteeringFailed> Failures { get; } = [];

        public List<ScheduleTimer> Timers { get; } = [];

        public ScheduleTimer NextTimer() => Assert.Single(Timers, t => t.Kind == TimerKind.SteeringRetry);

        public async Task FireNextTimerAsync()
        {
            var t = NextTimer();
            Timers.Remove(t);
            Now = t.Due;
            await FeedAsync(new TimerFired(t.Due, t.Ue, t.Kind, t.Token));
        }

        public async Task FeedAsync(UeEvent e)
        {
            var decision = MobiScudControl.Decide(config, State, e);
            State = decision.State;
            output.WriteLine($"{e.At}: {McText.Describe(e)} -> {string.Join(" | ", decision.Commands.Select(McText.Describe))}");
            var heard = new List<SteeringFailed>();
            foreach (var command in decision.Commands)
            {
                switch (command)
                {
                    case InstallSteering install:
                        Installs.Add(install.Intent);
                        var result = await ovs.Programmer.ExecuteAsync(install);
                        heard.AddRange(result.Failures.Select(f => new SteeringFailed(Now, ue, f.Site, f.Reason, install.Intent.Version)));
                        break;
                    case ScheduleTimer timer:
                        Timers.Add(timer);
                        break;
                }
            }

            foreach (var failed in heard)
            {
                Failures.Add(failed);
                await FeedAsync(failed);
            }
        }
    }
}
