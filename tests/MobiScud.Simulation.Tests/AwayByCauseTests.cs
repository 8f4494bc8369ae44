using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Tests;

/// <summary>The away share split by cause, and the bytes a completed migration re-sends beyond the guest's memory.</summary>
public sealed class AwayByCauseTests
{
    [Fact]
    public void TheCausesAddUpToTheAwayShareAndNameWhatEachStrategyDoes()
    {
        // Default sessions: UEs go idle and come back, so resumes happen; fast UEs cross sites often.
        var r = new Simulator(new ScenarioConfig
        {
            Seed = 11,
            Duration = TimeSpan.FromMinutes(8),
            Ues = 60,
            Topology = { Enbs = 37, Sites = 6 },
            Session = { ActiveMean = TimeSpan.FromSeconds(90), IdleMean = TimeSpan.FromSeconds(30) },
            Mobility = { SpeedMin = 15, SpeedMax = 30 },
        }).Run();

        foreach (var lane in r.Lanes)
        {
            var a = lane.PvmAway.ByCause!;
            Assert.Equal(lane.PvmAway.Fraction, a.MoveInFlight + a.LeftBehind + a.MovedNotThere + a.ResumedAway + a.CreatedAway, 12);
        }

        // Core-anchored PVMs are created (and resumed) in the core, where no UE is ever served.
        var core = r.Lane("core-anchored").PvmAway.ByCause!;
        Assert.Equal(1.0, core.CreatedAway + core.ResumedAway, 12);
        Assert.True(core.CreatedAway > 0 && core.ResumedAway > 0, $"core created away {core.CreatedAway}, resumed away {core.ResumedAway}");

        // Static edge never migrates: away means left behind where it was created, or resumed there after an idle period.
        var stat = r.Lane("static-edge").PvmAway.ByCause!;
        Assert.Equal(0, stat.MoveInFlight);
        Assert.Equal(0, stat.MovedNotThere);
        Assert.True(stat.LeftBehind > 0, $"static edge left behind {stat.LeftBehind}");
        Assert.True(stat.ResumedAway > 0, $"static edge resumed away {stat.ResumedAway}");

        // MobiScud follows: its away probes are mostly moves on the wire, and it leaves far less behind than static edge.
        var m = r.Lane("mobiscud").PvmAway.ByCause!;
        Assert.True(m.MoveInFlight > 0, $"mobiscud in flight {m.MoveInFlight}");
        Assert.True(m.LeftBehind < stat.LeftBehind / 2, $"mobiscud left behind {m.LeftBehind}, static edge {stat.LeftBehind}");
    }

    [Fact]
    public void AMigrationAloneOnItsLinkResendsWhatTheGuestDirtiedDuringTheFullCopy()
    {
        // One always-connected UE: each migration is alone on its 1 Gbit/s link, which only the UE's own traffic
        // (1 Mbit/s, when its PVM is away) shares. Round 1 sends M = 256 MiB at the link's share b; the guest dirties
        // 8 MiB/s x M / b meanwhile (under the 32 MiB working set), whose sending takes ~0.14 s, under the 300 ms limit:
        // stop-and-copy after one round, and the remainder is the only re-sent data (Clark et al.; QEMU's pending test).
        var r = new Simulator(new ScenarioConfig
        {
            Seed = 3,
            Duration = TimeSpan.FromMinutes(10),
            Ues = 1,
            Topology = { Enbs = 37, Sites = 6 },
            Session = { ActiveMean = TimeSpan.Zero },
            Mobility = { SpeedMin = 30, SpeedMax = 30, PauseMax = TimeSpan.Zero },
            Strategies = [StrategyKind.MobiScud],
        }).Run();
        var bytes = r.Lane("mobiscud").Bytes;
        var completed = r.Lane("mobiscud").Migrations.Completed;
        Assert.True(completed >= 3, $"{completed} migrations completed");
        Assert.Equal([0, completed], bytes.CompletedByRounds);

        const double memory = 256.0 * 1024 * 1024;
        const double dirtyRate = 8.0 * 1024 * 1024;
        const double link = 1e9 / 8;
        const double ue = 1e6 / 8;
        var perMove = bytes.CompletedResent / completed;
        Assert.InRange(perMove, (dirtyRate * memory / link) - 1, (dirtyRate * memory / (link - ue)) + 1);
        Assert.Equal(bytes.Completed, completed * memory + bytes.CompletedResent, 0.5 * completed);
    }

    [Fact]
    public void MovesToAWalkersOwnSiteAreMetAndStaticEdgeHasNoMovesToMeet()
    {
        // A walker (2 m/s) stays in a site's cells for minutes: a move to its serving site lands long before it leaves,
        // so the next probe finds it there; no move may count as never met.
        var r = new Simulator(new ScenarioConfig
        {
            Seed = 4,
            Duration = TimeSpan.FromMinutes(40),
            Ues = 1,
            Topology = { Enbs = 37, Sites = 6 },
            Session = { ActiveMean = TimeSpan.Zero },
            Mobility = { SpeedMin = 2, SpeedMax = 2, PauseMax = TimeSpan.Zero },
            Strategies = [StrategyKind.StaticEdge, StrategyKind.MobiScud],
        }).Run();
        var m = r.Lane("mobiscud");
        Assert.True(m.Migrations.Completed >= 2, $"{m.Migrations.Completed} migrations completed");
        Assert.Equal(0, m.Bytes.CompletedNeverMet);
        Assert.InRange(m.Bytes.CompletedUnmetAtEnd, 0, 1);
        Assert.Equal(0, m.PvmAway.ByCause!.MovedNotThere);

        // always follows to the serving site (or the handover's target site), never elsewhere.
        Assert.Equal(m.Migrations.Completed, m.Bytes.CompletedByTarget.Sum());
        Assert.Equal(0, m.Bytes.CompletedByTarget[(int)MoveTarget.Elsewhere]);
        Assert.Equal(m.Bytes.CompletedNeverMet, m.Bytes.NeverMetByTarget.Sum());
        var s = r.Lane("static-edge");
        Assert.Equal(0, s.Bytes.CompletedNeverMet + s.Bytes.CompletedUnmetAtEnd);
        Assert.True(s.PvmAway.ByCause!.LeftBehind > 0.3, $"static edge left behind {s.PvmAway.ByCause.LeftBehind}");
    }
}
