using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Tests;

/// <summary>The default scenario end to end, through the real MC, computed once for the class.</summary>
public sealed class DefaultScenarioFixture
{
    public DefaultScenarioFixture() => Result = new Simulator(new ScenarioConfig()).Run();

    public SimulationResult Result { get; }
}

public sealed class EndToEndTests(DefaultScenarioFixture fixture) : IClassFixture<DefaultScenarioFixture>
{
    private SimulationResult R => fixture.Result;

    [Fact]
    public void MedianRttOrdersMobiScudBelowStaticEdgeBelowCoreAnchored()
    {
        var mobiscud = R[StrategyKind.MobiScud].RttP50Ms;
        var staticEdge = R[StrategyKind.StaticEdge].RttP50Ms;
        var core = R[StrategyKind.CoreAnchored].RttP50Ms;
        Assert.True(mobiscud < staticEdge, $"MobiScud p50 {mobiscud} ms should be below static edge {staticEdge} ms");
        Assert.True(staticEdge < core, $"static edge p50 {staticEdge} ms should be below core-anchored {core} ms");
    }

    [Fact]
    public void EveryAttachedUeHasExactlyOnePvmAtAllTimes()
    {
        // Checked after every event delivered to each lane and at every sample tick; duplicates at every create.
        foreach (var s in R.Strategies)
        {
            Assert.True(s.InvariantViolations == 0, $"{s.Strategy}: {string.Join("; ", s.Violations)}");
            Assert.Equal(R.Ues, s.PvmsCreated); // one PVM per UE for its lifetime, resumed after idle, never re-created
        }
    }

    [Fact]
    public void OnlyMobiScudMigratesAndItsMigrationsFollowInterSiteHandovers()
    {
        Assert.True(R.Ran.InterSiteHandovers > 20, $"the default scenario should move UEs between sites ({R.Ran.InterSiteHandovers})");
        var m = R[StrategyKind.MobiScud];
        Assert.True(m.MigrationsCompleted > 20);
        Assert.True(m.MigrationsStarted <= R.Ran.InterSiteHandovers + R.Ran.ServiceRequests, "a migration needs a move between sites");
        Assert.Equal(0, R[StrategyKind.StaticEdge].MigrationsStarted);
        Assert.Equal(0, R[StrategyKind.CoreAnchored].MigrationsStarted);

        // Pre-copy of 256 MiB over a 1 Gbit/s link shared by few: seconds, not minutes; downtime within the 300 ms
        // limit plus the switch-over.
        Assert.InRange(m.MigrationTimeP50S, 256 * 1048576 / 125e6, 30);
        Assert.InRange(m.DowntimeP95Ms, 20, 300 + 20 + 1);
        Assert.True(m.GbMoved >= m.MigrationsCompleted * 0.268, "each migration moves at least the guest's memory");
    }

    [Fact]
    public void AllStrategiesProbeTheSameUesAtTheSameTimes()
    {
        var sent = R.Strategies.Select(s => s.ProbesSent).Distinct().ToList();
        Assert.Single(sent);
        Assert.True(sent[0] > 10_000);

        // Core-anchored and static edge never lose a probe once the PVM runs, except before it boots.
        Assert.Equal(0, R[StrategyKind.StaticEdge].LossByCause["Downtime"]);
        Assert.True(R[StrategyKind.MobiScud].LossByCause["Downtime"] > 0, "probes in stop-and-copy are lost");
        foreach (var s in R.Strategies)
        {
            Assert.Equal(0, s.LossByCause["StaleSteering"]);
            Assert.Equal(0, s.LossByCause["Misrouted"]);
        }
    }

    [Fact]
    public void CoreAnchoredRttIsTheEdgePathPlusTheCoreRoundTrip()
    {
        // core 20 ms each way plus two gateway passes: the difference of medians is ~40-45 ms.
        var diff = R[StrategyKind.CoreAnchored].RttP50Ms - R[StrategyKind.StaticEdge].RttP50Ms;
        Assert.InRange(diff, 35, 45);
    }

    [Fact]
    public void PvmCountsPerSiteAddUpToTheUes()
    {
        foreach (var s in R.Strategies)
        {
            var last = s.PvmsPerSite.Values.Sum(v => v[^1]);
            Assert.Equal(R.Ues, last);
        }

        Assert.Equal(R.Ues, R[StrategyKind.CoreAnchored].PvmsPerSite["core"][^1]);
    }
}
