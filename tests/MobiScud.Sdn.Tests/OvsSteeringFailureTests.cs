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
/// once the table has room the retry lands, and ovs-ofctl (a tool we did not write) shows the flows.
/// </summary>
[Collection(OvsCollection.Name)]
public sealed class OvsSteeringFailureTests(OvsHarness ovs, ITestOutputHelper output)
{
    private static readonly UeId Ue = new("ue-table-full");
    private static readonly IPAddress UeAddress = IPAddress.Parse("172.16.0.9");
    private static readonly EnbId Enb = new(1);

    [Fact]
    public async Task Flow_mods_a_full_table_refuses_reach_the_mc_which_retries_with_back_off_until_the_table_has_room()
    {
        var config = new McConfig(new Dictionary<EnbId, SiteId> { [Enb] = OvsHarness.SiteA }, new SiteId("core"),
            steeringRetryAfter: TimeSpan.FromSeconds(1), steeringRetryMax: TimeSpan.FromSeconds(30));
        var mc = new Mc(config, ovs, output);

        // Table 1 holds only what is there now: every new flow in it is refused.
        var table1 = (await ovs.OfctlAsync("-O", "OpenFlow13", "--no-stats", "dump-flows", ovs.MgmtSocket("brA"), "table=1"))
            .Split('\n').Count(l => l.Contains("cookie=", StringComparison.Ordinal));
        await ovs.Vsctl("--", "--id=@ft", "create", "Flow_Table", $"flow_limit={table1}", "overflow_policy=refuse", "--", "set", "Bridge", "brA", "flow_tables:1=@ft");
        try
        {
            await mc.FeedAsync(new UeAttached(mc.Now, Ue, null, UeAddress, Enb, null,
                [new Bearer(5, new GtpEndpoint(OvsHarness.Sgw, 0x1701), new GtpEndpoint(OvsHarness.Enb1, 0x2702))]));
            await mc.FeedAsync(new PvmStarted(mc.Now, Ue, PvmId.For(Ue), OvsHarness.SiteA, OvsHarness.Pvm));

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
            var flows = dump.Split('\n').Where(l => l.Contains($"cookie=0x{SteeringCookies.ForUe(Ue):x},", StringComparison.Ordinal)).ToList();
            Assert.Contains(flows, l => l.Contains("table=1", StringComparison.Ordinal) && l.Contains("tun_id=0x1701", StringComparison.Ordinal)
                                        && l.Contains($"nw_src=172.16.0.9,nw_dst={OvsHarness.Pvm}", StringComparison.Ordinal) && l.EndsWith("output:3", StringComparison.Ordinal));
            Assert.Contains(flows, l => l.Contains("table=2", StringComparison.Ordinal) && l.Contains("set_field:0x2702->tun_id", StringComparison.Ordinal));
        }
        finally
        {
            await ovs.Vsctl("clear", "Bridge", "brA", "flow_tables");
            await ovs.Programmer.ExecuteAsync(new RemoveSteering(Ue, OvsHarness.SiteA));
        }
    }

    /// <summary>The MC core with the programmer as its switch adapter: failures come back as events, timers fire on request (virtual time).</summary>
    private sealed class Mc(McConfig config, OvsHarness ovs, ITestOutputHelper output)
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
                        heard.AddRange(result.Failures.Select(f => new SteeringFailed(Now, Ue, f.Site, f.Reason, install.Intent.Version)));
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
