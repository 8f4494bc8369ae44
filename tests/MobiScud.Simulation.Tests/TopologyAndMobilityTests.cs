using MobiScud.Control.Model;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Mobility;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;
using MobiScud.TestSupport;

namespace MobiScud.Simulation.Tests;

public sealed class TopologyAndMobilityTests
{
    private static string Towers => Path.Combine(TestData.Datasets, "san-francisco", "cell_towers_san_francisco.csv");

    [Fact]
    public void HexGridNeighboursAreOneInterSiteDistanceApart()
    {
        var grid = NetworkTopology.HexGrid(19, 500);
        Assert.Equal(19, grid.Count);
        Assert.Equal(19, grid.Select(g => (Math.Round(g.X), Math.Round(g.Y))).Distinct().Count());
        // The centre of two full rings has exactly 6 neighbours at 500 m, and none closer.
        // Two full rings: every point within 2 ISD of the centre, and the inner 7 each have 6 neighbours at 1 ISD.
        var centre = grid[0];
        Assert.All(grid, g => Assert.True(NetworkTopology.Distance(g.X, g.Y, centre.X, centre.Y) <= (2 * 500) + 1e-6));
        foreach (var inner in grid.Take(7))
        {
            Assert.Equal(6, grid.Count(g => Math.Abs(NetworkTopology.Distance(g.X, g.Y, inner.X, inner.Y) - 500) < 1e-6));
        }

        var distances = grid.Skip(1).Select(g => NetworkTopology.Distance(g.X, g.Y, centre.X, centre.Y)).ToList();
        Assert.Equal(6, distances.Count(d => Math.Abs(d - 500) < 1e-6));
        Assert.True(distances.Min() > 499.999);
    }

    [Fact]
    public void SanFranciscoCellsGroupInto549EnbsAsSourcesSays()
    {
        // SOURCES.md: 1,999 rows, 549 distinct eNB IDs (cell >> 8).
        var enbs = CellCsv.LoadEnbs(Towers);
        Assert.Equal(549, enbs.Count);
        Assert.Equal(1999, enbs.Sum(e => e.Cells));
        // The towers' bounding box is about 13.5 km east-west and 23 km north-south.
        var width = enbs.Max(e => e.X) - enbs.Min(e => e.X);
        var height = enbs.Max(e => e.Y) - enbs.Min(e => e.Y);
        Assert.InRange(width, 10_000, 14_000);
        Assert.InRange(height, 20_000, 24_000);
    }

    [Fact]
    public void EveryEnbIsServedByItsNearestSite()
    {
        var scenario = new ScenarioConfig { Topology = { Enbs = 60, Sites = 6 } };
        var topo = NetworkTopology.Build(scenario);
        Assert.Equal(6, topo.Sites.Count);
        Assert.All(topo.Sites, s => Assert.Contains(topo.Enbs, e => e.Site == s.Index));
        foreach (var e in topo.Enbs)
        {
            var nearest = topo.Sites.OrderBy(s => NetworkTopology.Distance(s.X, s.Y, e.X, e.Y)).First();
            Assert.Equal(NetworkTopology.Distance(nearest.X, nearest.Y, e.X, e.Y), NetworkTopology.Distance(topo.Sites[e.Site].X, topo.Sites[e.Site].Y, e.X, e.Y), 6);
        }
    }

    [Fact]
    public void GridNearestAgreesWithBruteForce()
    {
        var enbs = CellCsv.LoadEnbs(Towers).Select((p, i) => new EnbNode(i, p.Id, p.X, p.Y, 0, p.Cells)).ToList();
        var grid = new EnbGrid(enbs);
        var rng = new SimRandom(3, 4);
        for (var i = 0; i < 5000; i++)
        {
            // Inside and well outside the area.
            var x = rng.Uniform(-15_000, 15_000);
            var y = rng.Uniform(-25_000, 20_000);
            var got = grid.Nearest(x, y, out var d2);
            var want = enbs.Select(e => grid.DistanceSquared(e.Index, x, y)).Min();
            Assert.Equal(want, d2);
            Assert.Equal(want, grid.DistanceSquared(got, x, y));
        }
    }

    [Fact]
    public void RandomWaypointStaysInItsAreaAtItsSpeeds()
    {
        var m = new RandomWaypoint(20, 0, 0, 2000, 1000, 5, 20, 10, 1);
        for (var ue = 0; ue < 20; ue++)
        {
            m.Position(ue, 0, out var px, out var py);
            for (var t = 0.5; t < 600; t += 0.5)
            {
                m.Position(ue, t, out var x, out var y);
                Assert.InRange(x, 0, 2000);
                Assert.InRange(y, 0, 1000);
                Assert.True(NetworkTopology.Distance(x, y, px, py) <= (20 * 0.5) + 1e-9);
                (px, py) = (x, y);
            }
        }
    }

    [Fact]
    public void HighwayCarsTurnAtTheEnds()
    {
        var m = new Highway(5, 100, 50, 1000, 10, 30, 2);
        for (var ue = 0; ue < 5; ue++)
        {
            for (var t = 0.0; t < 1000; t += 1)
            {
                m.Position(ue, t, out var x, out var y);
                Assert.InRange(x, 100, 1100);
                Assert.Equal(50, y);
            }
        }
    }

    [Fact]
    public void TraceCsvIsInterpolatedBetweenFixes()
    {
        var dir = Directory.CreateTempSubdirectory("mobiscud-sim-trace-");
        try
        {
            var path = Path.Combine(dir.FullName, "t.csv");
            File.WriteAllText(path, "time,ue,x,y\n0,a,0,0\n10,a,100,0\n5,b,0,0\n15,b,0,50\n");
            var m = new TraceMobility(TraceMobility.LoadCsv(path, TimeSpan.Zero, TimeSpan.FromSeconds(20), 10), (-1e6, -1e6, 1e6, 1e6));
            Assert.Equal(2, m.UeCount);
            Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15)), m.Presence(1));
            m.Position(0, 2.5, out var x, out _);
            Assert.Equal(25, x, 9);
            m.Position(1, 10, out _, out var y);
            Assert.Equal(25, y, 9);

            File.WriteAllText(path, "time,ue,x,y\n0,a,0,zero\n");
            var ex = Assert.Throws<ScenarioException>(() => TraceMobility.LoadCsv(path, TimeSpan.Zero, TimeSpan.FromSeconds(20), 10));
            Assert.Contains("line 2", ex.Message);
            Assert.Contains("'y'", ex.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void HandoverTriggersPastTheA3PointAfterTimeToTrigger()
    {
        // Two eNBs 1000 m apart, one UE driving from the first to the second at 10 m/s, always connected.
        // A3 with 3 dB and the 37.6 log10(d) slope holds once d_s / d_t > 10^(3/37.6), i.e. x > 1000 * 1.2017 / 2.2017.
        var scenario = new ScenarioConfig
        {
            Duration = TimeSpan.FromSeconds(100),
            Ues = 1,
            Topology = { Enbs = 2, InterSiteDistance = 1000, Sites = 2 },
            Session = { ActiveMean = TimeSpan.Zero, AttachWithin = TimeSpan.Zero },
            Handover = { MeasurementPeriod = TimeSpan.FromMilliseconds(100), TimeToTrigger = TimeSpan.FromMilliseconds(500), A3OffsetDb = 3, S1Duration = TimeSpan.FromMilliseconds(100) },
        };
        var topo = NetworkTopology.Build(scenario);
        var a = topo.Enbs[0];
        var b = topo.Enbs[1];
        var sim = new Simulator(scenario, topo, new Line(a.X, a.Y, b.X, b.Y, 10));
        var result = sim.Run();
        Assert.Equal(1, result.Ran.HandoversS1); // two sites: S1 under the same-site X2 policy
        var crossing = 1000 * Math.Pow(10, 3 / 37.6) / (1 + Math.Pow(10, 3 / 37.6)) / 10; // seconds
        var handover = result.Tracked!.HandoverTimes.Single();
        // First measurement past the A3 point, then TTT, then the S1 execution time (100 ms ticks).
        Assert.InRange(handover, crossing + 0.5 + 0.1, crossing + 0.5 + 0.1 + 0.1 + 1e-3);
        var mobiscud = result[StrategyKind.MobiScud];
        Assert.Equal(1, mobiscud.MigrationsCompleted);
    }

    private sealed class Line(double x0, double y0, double x1, double y1, double speed) : IMobilityModel
    {
        public int UeCount => 1;

        public (TimeSpan From, TimeSpan To) Presence(int ue) => (TimeSpan.Zero, TimeSpan.MaxValue);

        public string Label(int ue) => "driver";

        public double MaxSpeed => speed;

        public void Position(int ue, double t, out double x, out double y)
        {
            var len = NetworkTopology.Distance(x0, y0, x1, y1);
            var f = Math.Min(1, speed * t / len);
            x = x0 + ((x1 - x0) * f);
            y = y0 + ((y1 - y0) * f);
        }
    }
}
