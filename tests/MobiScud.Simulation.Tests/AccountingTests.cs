using System.Text.Json;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Tests;

/// <summary>Per-lane accounting, the Wang et al. cost, results.json's lanes[] and parallel lanes.</summary>
public sealed class AccountingTests
{
    private static ScenarioConfig Busy(ulong seed = 5) => new()
    {
        Seed = seed,
        Duration = TimeSpan.FromMinutes(4),
        Ues = 60,
        Topology = { Enbs = 37, Sites = 6 },
        Session = { ActiveMean = TimeSpan.Zero },
        Mobility = { SpeedMin = 15, SpeedMax = 30 },
    };

    [Fact]
    public void CancelledMigrationsCountTheirBytesOnTheWire()
    {
        // A 1 s deadline: the MC cancels every migration of a 256 MiB guest over a shared 1 Gbit/s link (>= 2.1 s).
        var scenario = Busy();
        scenario.Control.MigrationDeadline = TimeSpan.FromSeconds(1);
        var r = new Simulator(scenario).Run();
        var m = r.Lane("mobiscud");
        Assert.True(m.Migrations.Started > 10, $"{m.Migrations.Started} started");
        Assert.Equal(0, m.Migrations.Completed);
        Assert.True(m.Migrations.Cancelled > 10);
        Assert.Equal(m.Migrations.Started, m.Migrations.Completed + m.Migrations.Cancelled + m.Migrations.Failed + m.Migrations.InFlight);

        // Each cancelled attempt sent about a second's worth of its share: bytes on the wire without any completion.
        Assert.Equal(0, m.Bytes.Completed);
        Assert.True(m.Bytes.Cancelled > m.Migrations.Cancelled * 10e6, $"{m.Bytes.Cancelled / 1e9:0.00} GB for {m.Migrations.Cancelled} cancelled");
        Assert.True(m.Bytes.Cancelled <= m.Migrations.Cancelled * 128.0 * 1048576 * 1.01, "at most the per-migration cap for 1 s");
        Assert.Equal(m.Bytes.Completed + m.Bytes.Cancelled + m.Bytes.Failed + m.Bytes.InFlight, m.BytesOnWire, 0);
        Assert.Equal(0, r.Lane("static-edge").BytesOnWire);
    }

    [Fact]
    public void StartedEqualsTheOutcomesAndBytesAddUpWithFailuresToo()
    {
        var scenario = Busy(6);
        scenario.Pvm.MigrationFailureProbability = 0.3;
        var r = new Simulator(scenario).Run();
        var m = r.Lane("mobiscud");
        Assert.True(m.Migrations.Failed > 0);
        Assert.True(m.Migrations.Completed > 0);
        Assert.Equal(m.Migrations.Started, m.Migrations.Completed + m.Migrations.Cancelled + m.Migrations.Failed + m.Migrations.InFlight);
        Assert.True(m.Bytes.Failed > 0);
        Assert.Equal(m.Bytes.Completed + m.Bytes.Cancelled + m.Bytes.Failed + m.Bytes.InFlight, m.BytesOnWire, 0);

        // The old field still counts only completed migrations.
        Assert.Equal(m.Bytes.Completed / 1e9, r.Strategies.Single(s => s.Strategy == "mobiscud").GbMoved, 9);
    }

    [Fact]
    public void LinkUtilisationAndAwayTimeAreMeasured()
    {
        var r = new Simulator(Busy()).Run();
        var m = r.Lane("mobiscud");
        var s = r.Lane("static-edge");
        var c = r.Lane("core-anchored");

        // Core-anchored PVMs are never at the serving site; static edge's are left behind as UEs move; MobiScud follows.
        Assert.Equal(1.0, c.PvmAway.Fraction, 9);
        Assert.InRange(s.PvmAway.Fraction, 0.2, 0.99);
        Assert.True(m.PvmAway.Fraction < s.PvmAway.Fraction / 2, $"mobiscud away {m.PvmAway.Fraction:0.00}, static edge {s.PvmAway.Fraction:0.00}");

        // Migrations load the busiest inter-site links; utilisation is a fraction of capacity.
        Assert.Equal(5, m.LinkUtilisation.Busiest.Count);
        Assert.True(m.LinkUtilisation.Busiest[0].Mean > 0.05, $"busiest link mean {m.LinkUtilisation.Busiest[0].Mean}");
        Assert.All(m.LinkUtilisation.Busiest, l => Assert.InRange(l.P95, 0, 1));
        Assert.True(m.LinkUtilisation.P95 >= m.LinkUtilisation.P50);
    }

    [Fact]
    public void WangCostOfHandComputedSlots()
    {
        // Slot 1: Q = 2, one UE moved 1 ring and is served from 0, the other did not move and is 2 rings away.
        // Slot 2: Q = 1, the UE moved 3 rings, served from 1. R = 1.5 x 2 = 3.
        var s1 = new CostSlot();
        s1.Add(1, 0);
        s1.Add(0, 2);
        var s2 = new CostSlot();
        s2.Add(3, 1);
        var cost = SimulationResult.Cost([s1, s2], new ReportConfig());
        const double mu = 0.8;
        var h1 = 1 - (2 / 3.0);
        var h2 = 1 - (1 / 3.0);
        var migration = ((1 + (1 - mu)) / h1) + ((1 + (1 - Math.Pow(mu, 3))) / h2);
        var transmission = ((1 - (mu * mu)) / h1) + ((1 - mu) / h2);
        Assert.Equal(3, cost.UeSlots);
        Assert.Equal(2, cost.MaxUsers);
        Assert.Equal((migration + transmission) / 3, cost.MeanPerUeSlot, 12);
        Assert.Equal(migration / 3, cost.MigrationPerUeSlot, 12);
        Assert.Equal(transmission / 3, cost.TransmissionPerUeSlot, 12);
    }

    [Fact]
    public void RingDistanceIsDistanceOverCellSpacingRoundedUp()
    {
        var topo = NetworkTopology.Build(new ScenarioConfig { Topology = { Enbs = 19, InterSiteDistance = 500 } });
        Assert.Equal(500, topo.CellDistance, 6);
        Assert.Equal(0, topo.Rings(0, 0));
        // Neighbours are one ring apart; the second ring of the hex grid is 2 (or sqrt(3) -> 2) rings away.
        Assert.Equal(1, topo.Rings(0, 1));
        Assert.All(Enumerable.Range(7, 12), i => Assert.Equal(2, topo.Rings(0, i)));
    }

    [Fact]
    public void ResultsJsonCarriesTheDocumentedLaneFields()
    {
        var r = new Simulator(Busy()).Run();
        using var doc = JsonDocument.Parse(r.ToJson());
        var lanes = doc.RootElement.GetProperty("lanes");
        Assert.Equal(3, lanes.GetArrayLength());
        Assert.Equal("mesh", doc.RootElement.GetProperty("backhaul").GetString());
        foreach (var lane in lanes.EnumerateArray())
        {
            Assert.False(string.IsNullOrEmpty(lane.GetProperty("name").GetString()));
            Assert.True(lane.TryGetProperty("policy", out _));
            foreach (var p in new[] { "p50Ms", "p95Ms", "p99Ms" })
            {
                Assert.True(lane.GetProperty("rtt").GetProperty(p).GetDouble() > 0);
            }

            foreach (var p in new[] { "started", "completed", "cancelled", "failed" })
            {
                Assert.True(lane.GetProperty("migrations").GetProperty(p).GetInt64() >= 0);
            }

            Assert.True(lane.GetProperty("bytesOnWire").GetDouble() >= 0);
            Assert.True(lane.GetProperty("cost").GetProperty("meanPerUeSlot").GetDouble() >= 0);
        }

        var mobiscud = lanes.EnumerateArray().Single(l => l.GetProperty("name").GetString() == "mobiscud");
        Assert.Equal("always", mobiscud.GetProperty("policy").GetString());
        Assert.Equal(JsonValueKind.Null, lanes[0].GetProperty("policy").ValueKind);
    }

    [Fact]
    public void EachPolicyRunsAsItsOwnMobiScudLane()
    {
        var scenario = ScenarioLoader.Load("""
            duration: 3m
            ues: 30
            strategies: [static-edge, mobiscud]
            policies: [always, never, hysteresis]
            control:
              policy:
                dwell: 20s
            """, ".");
        var r = new Simulator(scenario).Run();
        Assert.Equal(["static-edge", "mobiscud/always", "mobiscud/never", "mobiscud/hysteresis"], r.Lanes.Select(l => l.Name));
        Assert.Equal([null, "always", "never", "hysteresis"], r.Lanes.Select(l => l.Policy));
        Assert.All(r.Lanes, l => Assert.Equal(0, l.InvariantViolations));

        var bad = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("policies: [always, sometimes]\n", "."));
        Assert.Contains("policies[1]", bad.Message);
        Assert.Contains("sometimes", bad.Message);
        var noMobiscud = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("strategies: [static-edge]\npolicies: [never]\n", "."));
        Assert.Contains("mobiscud", noMobiscud.Message);
    }

    [Fact]
    public void ParallelLanesGiveTheSameResultsAsSerialAndAsAnotherRun()
    {
        var scenario = Busy(8);
        scenario.Handover.CancelProbability = 0.1;
        scenario.Pvm.MigrationFailureProbability = 0.1;
        scenario.Topology.Backhaul = BackhaulKind.Tree;
        var a = new Simulator(scenario) { Parallel = true }.Run().DeterministicJson();
        var b = new Simulator(scenario) { Parallel = true }.Run().DeterministicJson();
        var serial = new Simulator(scenario) { Parallel = false }.Run().DeterministicJson();
        Assert.Equal(a, b);
        Assert.Equal(a, serial);
    }

    [Fact]
    public void TreeBackhaulMakesALeftBehindPvmCostMoreThanTheMesh()
    {
        // The same RAN; on the tree a PVM left at another site is reached through aggregation and the metro core.
        var mesh = Busy();
        var tree = Busy();
        tree.Topology.Backhaul = BackhaulKind.Tree;
        tree.Topology.AggregationSites = 3;
        var m = new Simulator(mesh).Run();
        var t = new Simulator(tree).Run();
        Assert.Equal(m.Ran, t.Ran);
        Assert.True(t.Lane("static-edge").Rtt.P95Ms > m.Lane("static-edge").Rtt.P95Ms, $"tree p95 {t.Lane("static-edge").Rtt.P95Ms}, mesh {m.Lane("static-edge").Rtt.P95Ms}");
        Assert.Equal("tree", t.Backhaul);
    }

    [Fact]
    public void TheSchedulersPerLinkBudgetHoldsOnTheSimulatedLinks()
    {
        // Without a budget migrations pile up on the busiest link; with one per link they queue and never overlap.
        var free = new Simulator(Busy()).Run().Lane("mobiscud");
        var budgeted = Busy();
        budgeted.Control.Scheduler.MaxConcurrentPerLink = 1;
        var r = new Simulator(budgeted).Run();
        var m = r.Lane("mobiscud");
        Assert.True(free.Migrations.MaxConcurrentOnLink > 1, $"without a budget: {free.Migrations.MaxConcurrentOnLink}");
        Assert.Equal(1, m.Migrations.MaxConcurrentOnLink);
        Assert.True(m.Migrations.Queued > 0, "some migrations waited for the link");
        Assert.True(m.Migrations.Completed > 0);
        Assert.Equal(0, m.InvariantViolations);
        Assert.Equal(m.Migrations.Started, m.Migrations.Completed + m.Migrations.Cancelled + m.Migrations.Failed + m.Migrations.InFlight);
    }
}
