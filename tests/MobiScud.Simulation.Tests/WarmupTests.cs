using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;
using MobiScud.TestSupport;

namespace MobiScud.Simulation.Tests;

/// <summary>
/// A warm-up is simulated and not scored: a run with warm-up W and duration D reports exactly what the same run of
/// length W + D did in [W, W + D), and nothing of [0, W).
/// </summary>
public sealed class WarmupTests
{
    private static readonly TimeSpan _slot = TimeSpan.FromSeconds(30);

    // Random waypoint does not depend on the run's length, and sites by k-means over the eNBs do not depend on where
    // the UEs go: the three runs below share one RAN and one network, the shorter ones being prefixes of the longest.
    private static ScenarioConfig Synthetic(TimeSpan warmup, TimeSpan duration) => new()
    {
        Seed = 5,
        Warmup = warmup,
        Duration = duration,
        Ues = 120,
        Strategies = [StrategyKind.CoreAnchored, StrategyKind.MobiScud],
        Policies = ["always", "predictive"],
        Mobility = { SpeedMin = 15, SpeedMax = 30 },
        Handover = { CancelProbability = 0.05 },
        Pvm = { MigrationFailureProbability = 0.05 },
        Report = { CostSlot = _slot },
    };

    private static (Simulator Sim, SimulationResult Result) Run(ScenarioConfig scenario)
    {
        var sim = new Simulator(scenario);
        return (sim, sim.Run());
    }

    [Fact]
    public void AWarmedRunScoresExactlyTheWindowAfterTheWarmup()
    {
        var w = TimeSpan.FromMinutes(2);
        var d = TimeSpan.FromMinutes(3);
        var (warm, warmResult) = Run(Synthetic(w, d));
        var (cold, coldResult) = Run(Synthetic(TimeSpan.Zero, w + d));

        // The same run stopped one tick before W: what the long run did in [0, W).
        var (before, _) = Run(Synthetic(TimeSpan.Zero, w - TimeSpan.FromTicks(1)));

        Assert.Equal(w.TotalSeconds, warmResult.WarmupSeconds);
        Assert.Equal(d.TotalSeconds, warmResult.DurationSeconds);
        var skipped = (int)(w / _slot);
        for (var l = 0; l < warm.Lanes.Count; l++)
        {
            var a = warm.Lanes[l].Stats;
            var c = cold.Lanes[l].Stats;
            var b = before.Lanes[l].Stats;

            // Cost slots: exactly the long run's from W on (R follows: 1.5 x the largest Q of these).
            Assert.Equal(c.Slots.Count - skipped, a.Slots.Count);
            for (var i = 0; i < a.Slots.Count; i++)
            {
                Assert.Equal(c.Slots[skipped + i].Users, a.Slots[i].Users);
                Assert.Equal(c.Slots[skipped + i].X, a.Slots[i].X);
                Assert.Equal(c.Slots[skipped + i].Y, a.Slots[i].Y);
            }

            Assert.Equal(c.Slots.Skip(skipped).Max(s => s.Users), warmResult.Lanes[l].Cost.MaxUsers);

            // Probes, their losses and RTTs, and the away share: the long run's minus what it had before W.
            Assert.Equal(c.ProbesSent - b.ProbesSent, a.ProbesSent);
            Assert.Equal(c.Lost.Zip(b.Lost, (x, y) => x - y), a.Lost);
            Assert.Equal(c.Rtt.Count - b.Rtt.Count, a.Rtt.Count);
            Assert.Equal(c.Rtt.Sum - b.Rtt.Sum, a.Rtt.Sum, 1e-6);
            Assert.Equal(c.PvmProbeSamples - b.PvmProbeSamples, a.PvmProbeSamples);
            Assert.Equal(c.PvmAwaySamples - b.PvmAwaySamples, a.PvmAwaySamples);

            // Migrations by start time: those started in the window, and every one of them is accounted for once,
            // the ones still on the wire at W (started in the warm-up) in none of the outcomes.
            Assert.Equal(c.MigrationsStarted - b.MigrationsStarted, a.MigrationsStarted);
            Assert.Equal(a.MigrationsStarted, a.MigrationsCompletedCount + a.MigrationsCancelled + a.MigrationsFailed + a.MigrationsInFlight);
            Assert.Equal(a.MigrationsCompletedCount, a.MigrationTimes.Count);
            Assert.Equal(c.PvmsCreated - b.PvmsCreated, a.PvmsCreated);
            Assert.Equal(0, a.InvariantViolations);
        }

        // The lanes that migrate had migrations on the wire at W (so the boundary rule was exercised), and they
        // completed in the long run within the window, uncounted here.
        var migrating = Enumerable.Range(0, warm.Lanes.Count).Where(l => before.Lanes[l].Stats.MigrationsInFlight > 0).ToList();
        Assert.NotEmpty(migrating);
        foreach (var l in migrating)
        {
            var a = warm.Lanes[l].Stats;
            var c = cold.Lanes[l].Stats;
            var b = before.Lanes[l].Stats;
            var endedInWindow = c.MigrationsCompletedCount + c.MigrationsCancelled + c.MigrationsFailed - (b.MigrationsCompletedCount + b.MigrationsCancelled + b.MigrationsFailed);
            var ofTheWindow = a.MigrationsCompletedCount + a.MigrationsCancelled + a.MigrationsFailed;
            Assert.Equal(endedInWindow, ofTheWindow + b.MigrationsInFlight + (a.MigrationsInFlight - c.MigrationsInFlight));
        }

        // What the RAN did, from W on; the time series start at W.
        Assert.Equal(coldResult.Ran.HandoversX2 - before.Ran.X2, warmResult.Ran.HandoversX2);
        Assert.Equal(coldResult.Ran.HandoversS1 - before.Ran.S1, warmResult.Ran.HandoversS1);
        Assert.Equal(coldResult.Ran.HandoversCancelled - before.Ran.Cancelled, warmResult.Ran.HandoversCancelled);
        var samples = coldResult.SampleTimes.Where(t => t >= w.TotalSeconds).Select(t => t - (float)w.TotalSeconds).ToArray();
        Assert.Equal(samples, warmResult.SampleTimes);
        Assert.Equal(0f, warmResult.SampleTimes[0]);
        foreach (var lane in warmResult.Strategies)
        {
            Assert.Equal(samples.Length, lane.PvmsPerSite.First().Value.Length);
        }
    }

    [Fact]
    public void WithATraceTheScoredWindowIsTheSameHourAsWithoutWarmup()
    {
        // traceStart 10 min with 5 min of warm-up replays the trace from 5 min: the run from 5 min without warm-up,
        // scored from its 6th minute on. Sites by the eNBs alone, so the two runs share one network.
        ScenarioConfig Sf(TimeSpan traceStart, TimeSpan warmup, TimeSpan duration)
        {
            var s = ScenarioLoader.LoadFile(Path.Combine(TestData.RepoRoot, "examples", "san-francisco.yaml"));
            s.Mobility.TraceStart = traceStart;
            s.Warmup = warmup;
            s.Duration = duration;
            s.Ues = 120;
            s.Strategies = [StrategyKind.MobiScud];
            s.Report.CostSlot = TimeSpan.FromMinutes(1);
            return s;
        }

        var (warm, warmResult) = Run(Sf(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5)));
        var (cold, coldResult) = Run(Sf(TimeSpan.FromMinutes(5), TimeSpan.Zero, TimeSpan.FromMinutes(10)));
        Assert.Equal(coldResult.Ues, warmResult.Ues);
        var a = warm.Lanes[0].Stats.Slots;
        var c = cold.Lanes[0].Stats.Slots.Skip(5).ToList();
        Assert.Equal(5, a.Count);
        Assert.Equal(c.Select(s => (s.Users, string.Join(",", s.X), string.Join(",", s.Y))), a.Select(s => (s.Users, string.Join(",", s.X), string.Join(",", s.Y))));
        Assert.True(a.Sum(s => s.Users) > 0);
    }

    [Fact]
    public void WarmupIsReadFromYaml()
    {
        var s = ScenarioLoader.Load("warmup: 30m\nduration: 1h\n", ".");
        Assert.Equal(TimeSpan.FromMinutes(30), s.Warmup);
        Assert.Equal(TimeSpan.Zero, ScenarioLoader.Load("duration: 1h\n", ".").Warmup);
    }

    [Fact]
    public void TheSanFranciscoBenchmarkIsScoredAfterHalfAnHourLearned()
    {
        var s = ScenarioLoader.LoadFile(Path.Combine(TestData.RepoRoot, "examples", "san-francisco-policies.yaml"));
        Assert.Equal(TimeSpan.FromMinutes(30), s.Warmup);
        Assert.True(s.Warmup <= s.Mobility.TraceStart);
        ScenarioValidator.Validate(s);
    }

    [Fact]
    public void ANegativeWarmupIsAnErrorNamingTheKey()
    {
        var ex = Assert.Throws<ScenarioException>(() => new Simulator(Synthetic(TimeSpan.FromSeconds(-1), TimeSpan.FromMinutes(1))));
        Assert.Equal("warmup", ex.Field);
        Assert.StartsWith("warmup ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWarmupBeforeTheTraceStartsIsAnErrorNamingBothKeys()
    {
        var s = ScenarioLoader.Load("duration: 10m\nmobility:\n  model: trace\n  tracePath: t.csv\n  traceStart: 20m\n", ".");
        s.Warmup = TimeSpan.FromMinutes(21);
        var ex = Assert.Throws<ScenarioException>(() => new Simulator(s));
        Assert.Equal("warmup", ex.Field);
        Assert.Contains("mobility.traceStart", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWarmupPastTheLimitOfSimulatedTimeIsAnErrorNamingTheKey()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("duration: 480h\nwarmup: 264h\n", "."));
        Assert.Equal("warmup", ex.Field);
    }
}
