using MobiScud.Cloud.Simulated;
using MobiScud.Control.Model;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Tests;

/// <summary>The backhaul graph: presets, routes, delays along routes, shared capacity, and where sites and eNBs come from.</summary>
public sealed class BackhaulTests
{
    private static readonly LinkConfig _links = new();

    /// <summary>Sites on a 4 x 4 grid, 10 km apart.</summary>
    private static List<EdgeSiteNode> GridSites(int n = 4) =>
        Enumerable.Range(0, n * n).Select(i => new EdgeSiteNode(i, new SiteId($"edge-{i}"), (i % n) * 10_000.0, (i / n) * 10_000.0)).ToList();

    private static double SumDelay(Backhaul b, IEnumerable<int> path) => path.Sum(l => b.Links[l].Delay(_links.FibrePerKm.TotalSeconds));

    [Fact]
    public void MeshRoutesEverySitePairOverItsDirectLinkAndTheCoreOverLinksCore()
    {
        var sites = GridSites();
        var b = Backhaul.Mesh(sites, _links);
        Assert.Equal((16 * 15 / 2) + 16, b.Links.Count);
        for (var a = 0; a < 16; a++)
        {
            for (var c = 0; c < 16; c++)
            {
                Assert.Equal(a == c ? 0 : 1, b.Path(a, c).Count);
            }

            Assert.Single(b.Path(a, b.CoreEndpoint));
            Assert.Equal(_links.Core.TotalSeconds, b.Delay(a, b.CoreEndpoint), 12);
        }

        // The direct link: 1 ms fixed + 10 km x 1.5 route factor x 5 us/km.
        Assert.Equal(0.001 + (10 * 1.5 * 5e-6), b.Delay(0, 1), 12);
    }

    [Fact]
    public void TreeRoutesThroughAggregationAndTheMetroCore()
    {
        var sites = GridSites();
        var b = Backhaul.Tree(sites, _links, aggregationSites: 4, seed: 1);
        var aggregation = b.Nodes.Where(n => n.Tier == SiteTier.Aggregation).ToList();
        Assert.Equal(4, aggregation.Count);

        // Each edge site has exactly one uplink (to its aggregation node).
        int AggOf(int site) => b.Links.Single(l => l.A == site || l.B == site).B;
        var pairs = 0;
        for (var a = 0; a < 16; a++)
        {
            for (var c = 0; c < 16; c++)
            {
                if (a == c)
                {
                    continue;
                }

                var path = b.Path(a, c);
                // Same aggregation: up and down (2 links); else up, across the metro core, down (4 links).
                Assert.Equal(AggOf(a) == AggOf(c) ? 2 : 4, path.Count);
                Assert.Equal(SumDelay(b, path), b.Delay(a, c), 12);
                pairs += AggOf(a) == AggOf(c) ? 0 : 1;
            }

            // To the core DC: site -> aggregation -> metro core -> core DC.
            Assert.Equal(3, b.Path(a, b.CoreEndpoint).Count);
        }

        Assert.True(pairs > 0);
    }

    [Fact]
    public void RingRoutesTheShorterWayRound()
    {
        // Eight sites on a circle: the ring links neighbours; the opposite site is four hops either way.
        var sites = Enumerable.Range(0, 8).Select(i => new EdgeSiteNode(i, new SiteId($"edge-{i}"), 20_000 * Math.Cos(i * Math.PI / 4), 20_000 * Math.Sin(i * Math.PI / 4))).ToList();
        var b = Backhaul.Ring(sites, _links);
        Assert.Equal(8 + 1, b.Links.Count);
        Assert.Single(b.Path(0, 1));
        Assert.Single(b.Path(0, 7));
        Assert.Equal(2, b.Path(0, 2).Count);
        Assert.Equal(4, b.Path(0, 4).Count);
        Assert.Equal(SumDelay(b, b.Path(0, 4)), b.Delay(0, 4), 12);
        Assert.True(b.Delay(0, 4) > b.Delay(0, 1) * 3.9, "delay grows with ring distance");
    }

    [Fact]
    public void BackhaulFromYamlAndCsvFilesGivesTheSameGraph()
    {
        var dir = Directory.CreateTempSubdirectory("mobiscud-backhaul-");
        try
        {
            var yaml = Path.Combine(dir.FullName, "net.yaml");
            File.WriteAllText(yaml, """
                nodes:
                  - {id: a, tier: edge, x: 0, y: 0}
                  - {id: b, tier: edge, x: 10000, y: 0}
                  - {id: c, tier: edge, x: 20000, y: 0}
                  - {id: agg, tier: aggregation, x: 10000, y: 5000}
                  - {id: dc, tier: core, x: 10000, y: 50000}
                links:
                  - {a: a, b: agg, gbps: 10, fixed: 0.5ms, km: 12}
                  - {a: b, b: agg, gbps: 10, fixed: 0.5ms}
                  - {a: c, b: agg, gbps: 10, fixed: 0.5ms, km: 12}
                  - {a: a, b: b, gbps: 1, fixed: 5ms, km: 10}
                  - {a: agg, b: dc, gbps: 40, fixed: 15ms}
                """);
            var nodes = Path.Combine(dir.FullName, "nodes.csv");
            File.WriteAllText(nodes, "id,tier,x,y\na,edge,0,0\nb,edge,10000,0\nc,edge,20000,0\nagg,aggregation,10000,5000\ndc,core,10000,50000\n");
            var links = Path.Combine(dir.FullName, "links.csv");
            File.WriteAllText(links, "a,b,gbps,fixedMs,km\na,agg,10,0.5,12\nb,agg,10,0.5,\nc,agg,10,0.5,12\na,b,1,5,10\nagg,dc,40,15,\n");

            var (fromYaml, sites) = BackhaulFile.Build(BackhaulFile.Read(yaml, null, GeoProjection.SanFrancisco), _links);
            var (fromCsv, _) = BackhaulFile.Build(BackhaulFile.Read(nodes, links, GeoProjection.SanFrancisco), _links);
            Assert.Equal(["a", "b", "c"], sites.Select(s => s.Id.Value));
            for (var x = 0; x < 4; x++)
            {
                for (var y = 0; y < 4; y++)
                {
                    Assert.Equal(fromYaml.Delay(x, y), fromCsv.Delay(x, y), 12);
                    Assert.Equal(fromYaml.Path(x, y), fromCsv.Path(x, y));
                }
            }

            // a -> b: the direct link costs 5 ms + 50 us; via agg 2 x 0.5 ms + fibre (12 km + 5 km x 1.5): shorter.
            Assert.Equal(2, fromYaml.Path(0, 1).Count);
            Assert.Equal(0.0005 + (12 * 5e-6) + 0.0005 + (5 * 1.5 * 5e-6), fromYaml.Delay(0, 1), 12);

            var bad = Path.Combine(dir.FullName, "bad.yaml");
            File.WriteAllText(bad, "nodes:\n  - {id: a, tier: edge, x: 0, y: 0}\n  - {id: dc, tier: core, x: 1, y: 1}\nlinks:\n  - {a: a, b: nowhere, gbps: 1}\n");
            var ex = Assert.Throws<ScenarioException>(() => BackhaulFile.Build(BackhaulFile.Read(bad, null, GeoProjection.SanFrancisco), _links));
            Assert.Contains("nowhere", ex.Message);
            Assert.Contains("line 5", ex.Message);

            var island = Path.Combine(dir.FullName, "island.yaml");
            File.WriteAllText(island, "nodes:\n  - {id: a, tier: edge, x: 0, y: 0}\n  - {id: dc, tier: core, x: 1, y: 1}\nlinks: []\n");
            var ex2 = Assert.Throws<ScenarioException>(() => BackhaulFile.Build(BackhaulFile.Read(island, null, GeoProjection.SanFrancisco), _links));
            Assert.Contains("no route", ex2.Message);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static ScenarioConfig Still(BackhaulKind backhaul) => new()
    {
        Seed = 3,
        Duration = TimeSpan.FromMinutes(2),
        Ues = 30,
        Strategies = [StrategyKind.CoreAnchored, StrategyKind.StaticEdge],
        Topology = { Enbs = 37, Sites = 9, Backhaul = backhaul },
        Mobility = { SpeedMin = 0.01, SpeedMax = 0.01 },
        Session = { ActiveMean = TimeSpan.Zero },
    };

    [Theory]
    [InlineData(BackhaulKind.Mesh)]
    [InlineData(BackhaulKind.Tree)]
    [InlineData(BackhaulKind.Ring)]
    public void CoreAnchoredProbesPayTheRoutedPathToTheCore(BackhaulKind kind)
    {
        // UEs barely move, so every UE stays at its first eNB: the two lanes differ by exactly the round trip from the
        // serving site to the core DC along the routed path, plus the S-GW and P-GW each way, minus the edge switch
        // the static-edge probe passes (same jitter draws).
        var scenario = Still(kind);
        var sim = new Simulator(scenario);
        var r = sim.Run();
        var topo = sim.Topology;
        var tracked = r.Tracked!;
        var core = tracked.Lanes.Single(l => l.Strategy == "core-anchored");
        var edge = tracked.Lanes.Single(l => l.Strategy == "static-edge");
        var diffs = core.RttMs.Zip(edge.RttMs, (c, e) => (double)c - e).Where(d => !double.IsNaN(d)).ToList();
        Assert.NotEmpty(diffs);

        // Which site serves the tracked UE: the one whose core delay explains the difference.
        var expected = Enumerable.Range(0, topo.Sites.Count).Select(s => 2 * (topo.InterSite(s, topo.Sites.Count) + (2 * topo.Links.Gateway.TotalSeconds) - topo.Links.Switch.TotalSeconds) * 1000).ToList();
        var median = diffs.OrderBy(d => d).ElementAt(diffs.Count / 2);
        Assert.True(expected.Any(e => Math.Abs(e - median) < 0.01), $"median difference {median} ms, expected one of {string.Join(", ", expected.Distinct().Select(e => e.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)))}");
        if (kind == BackhaulKind.Mesh)
        {
            Assert.Equal(2 * (20 + 0.5 - 0.05), median, 2);
        }
        else
        {
            // The hierarchy adds its hops to the core: more than the mesh's direct links.core.
            Assert.True(median > (2 * (20 + 0.5 - 0.05)) + 0.5, $"{kind}: {median} ms");
        }
    }

    private sealed class Harness : IPreCopyHost
    {
        private readonly PriorityQueue<Action, (TimeSpan, long)> _queue = new();
        private long _seq;

        public Harness() => Model = new PreCopyMigrationModel(this);

        public PreCopyMigrationModel Model { get; }

        public Dictionary<PreCopyMigration, PreCopyResult> Results { get; } = [];

        public void WakeAt(TimeSpan at, int link, long version) => _queue.Enqueue(() => Model.OnWake(at, link, version), (at, _seq++));

        public void Finished(PreCopyMigration migration, PreCopyResult result) => Results.Add(migration, result);

        public void At(TimeSpan at, Action a) => _queue.Enqueue(a, (at, _seq++));

        public void Run()
        {
            while (_queue.TryDequeue(out var a, out _))
            {
                a();
            }
        }
    }

    private static PreCopyParameters Memory(double mib) => new((long)(mib * 1048576), 0, 0, TimeSpan.FromMilliseconds(300), 30, 1e12, TimeSpan.Zero);

    [Fact]
    public void MigrationsSharingALinkOfTheirRoutesSlowEachOtherDown()
    {
        // Link 0 (100 MiB/s) carries m1 alone; link 1 (100 MiB/s) carries m1 and m2. m1's route is 0 + 1, so both
        // get half of link 1: 100 MiB each takes 2 s instead of 1 s. No dirtying: one round of M bytes.
        const double MiB = 1048576;
        var h = new Harness();
        h.Model.AddLink(100 * MiB);
        h.Model.AddLink(100 * MiB);
        var m1 = h.Model.Start(TimeSpan.Zero, [0, 1], Memory(100), "m1");
        var m2 = h.Model.Start(TimeSpan.Zero, [1], Memory(100), "m2");
        h.Run();
        Assert.Equal(2.0, h.Results[m1].TotalTime.TotalSeconds, 4);
        Assert.Equal(2.0, h.Results[m2].TotalTime.TotalSeconds, 4);

        // Alone, the same migration over the same route takes 1 s.
        var alone = new Harness();
        alone.Model.AddLink(100 * MiB);
        alone.Model.AddLink(100 * MiB);
        var solo = alone.Model.Start(TimeSpan.Zero, [0, 1], Memory(100), "solo");
        alone.Run();
        Assert.Equal(1.0, alone.Results[solo].TotalTime.TotalSeconds, 4);

        // Both links carried m1's bytes; link 1 also m2's.
        Assert.Equal(100 * MiB, h.Model.MigrationBytes(0), 0);
        Assert.Equal(200 * MiB, h.Model.MigrationBytes(1), 0);
    }

    [Fact]
    public void WhenOneMigrationLeavesTheOtherLinksOfItsRouteSpeedUp()
    {
        // m1 (50 MiB) on links 0 + 1, m2 (150 MiB) on link 1 only: both at 50 MiB/s until m1 ends at 1 s, then m2 gets
        // all 100 MiB/s for its last 100 MiB: done at 2 s.
        const double MiB = 1048576;
        var h = new Harness();
        h.Model.AddLink(100 * MiB);
        h.Model.AddLink(100 * MiB);
        var m1 = h.Model.Start(TimeSpan.Zero, [0, 1], Memory(50), "m1");
        var m2 = h.Model.Start(TimeSpan.Zero, [1], Memory(150), "m2");
        h.Run();
        Assert.Equal(1.0, h.Results[m1].TotalTime.TotalSeconds, 4);
        Assert.Equal(2.0, h.Results[m2].TotalTime.TotalSeconds, 4);
    }

    [Fact]
    public void UserTrafficOnALinkLeavesMigrationsTheRest()
    {
        // 100 MiB/s link with 75 MiB/s of user traffic: the migration gets 25 MiB/s, 100 MiB takes 4 s; the traffic
        // never takes more than 90% (a TCP flow still gets its share).
        const double MiB = 1048576;
        var h = new Harness();
        h.Model.AddLink(100 * MiB);
        h.Model.SetBackground(TimeSpan.Zero, 0, 75 * MiB);
        var m = h.Model.Start(TimeSpan.Zero, [0], Memory(100), "m");
        h.Run();
        Assert.Equal(4.0, h.Results[m].TotalTime.TotalSeconds, 4);

        var full = new Harness();
        full.Model.AddLink(100 * MiB);
        full.Model.SetBackground(TimeSpan.Zero, 0, 1000 * MiB);
        var m2 = full.Model.Start(TimeSpan.Zero, [0], Memory(10), "m2");
        full.Run();
        Assert.Equal(1.0, full.Results[m2].TotalTime.TotalSeconds, 4);

        // Background started halfway: the migration slows from then on. 100 MiB: 50 in the first 0.5 s, the other 50
        // at 25 MiB/s.
        var later = new Harness();
        later.Model.AddLink(100 * MiB);
        var m3 = later.Model.Start(TimeSpan.Zero, [0], Memory(100), "m3");
        later.At(TimeSpan.FromSeconds(0.5), () => later.Model.SetBackground(TimeSpan.FromSeconds(0.5), 0, 75 * MiB));
        later.Run();
        Assert.Equal(2.5, later.Results[m3].TotalTime.TotalSeconds, 4);
    }

    [Fact]
    public void TowersCsvGivesOneEnbPerRow()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "id,lat,lon\n1,37.77,-122.42\n2,37.78,-122.41\n3,37.76,-122.43\nx9,37.75,-122.40\n");
            var enbs = TowerCsv.LoadEnbs(file);
            Assert.Equal(4, enbs.Count);
            Assert.Equal([1u, 2u, 3u, 4u], enbs.Select(e => e.Id.Value));
            var scenario = new ScenarioConfig { Topology = { TowersCsv = file, Sites = 2 }, Ues = 5, Duration = TimeSpan.FromMinutes(1) };
            var topo = NetworkTopology.Build(scenario);
            Assert.Equal(4, topo.Enbs.Count);
            Assert.Equal(2, topo.Sites.Count);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void CellsCsvWhoseIdsAllCollapseIntoOneEnbIsAnErrorNamingTheCount()
    {
        // A site list with small ids in the cell column: every id >> 8 is 0, so all rows would become one eNB.
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "cell,lat,lon\n1,37.77,-122.42\n2,37.78,-122.41\n3,37.76,-122.43\n");
            var ex = Assert.Throws<ScenarioException>(() => CellCsv.LoadEnbs(file));
            Assert.Contains("all 3 cells group into one eNB", ex.Message);
            Assert.Contains("towersCsv", ex.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void WeightedKMeansPullsCentresToWhereTheWeightIs()
    {
        // Two groups of points; all the weight on the right group. With k = 1 the centre is the right group's mean.
        var points = new List<(double X, double Y)> { (0, 0), (0, 10), (10, 0), (1000, 0), (1000, 10), (1010, 0) };
        KMeans.Cluster(points, 1, 7, out var unweighted);
        Assert.Equal(3020 / 6.0, unweighted[0].X, 6);
        KMeans.Cluster(points, 1, 7, out var weighted, [0, 0, 0, 1, 1, 2]);
        Assert.Equal((1000 + 1000 + 2020) / 4.0, weighted[0].X, 6);
        Assert.Throws<ArgumentException>(() => KMeans.Cluster(points, 1, 7, out _, [0, 0, 0, 0, 0, 0]));
    }

    [Fact]
    public void DemandPlacementPutsSitesWhereTheUesDrive()
    {
        // Cars on a west-east highway through the middle of a hex grid: by demand, every site sits near the road;
        // over the eNBs alone, sites spread over the whole grid.
        ScenarioConfig Make(SitePlacement placement) => new()
        {
            Duration = TimeSpan.FromMinutes(5),
            Ues = 60,
            Strategies = [StrategyKind.StaticEdge],
            Topology = { Enbs = 61, Sites = 4, SitePlacement = placement },
            Mobility = { Model = MobilityKind.Highway },
        };
        var byEnbs = new Simulator(Make(SitePlacement.Enbs)).Topology;
        var byDemand = new Simulator(Make(SitePlacement.Demand)).Topology;
        var roadY = (byEnbs.MinY + byEnbs.MaxY) / 2;
        var spreadEnbs = byEnbs.Sites.Average(s => Math.Abs(s.Y - roadY));
        var spreadDemand = byDemand.Sites.Average(s => Math.Abs(s.Y - roadY));
        Assert.True(spreadDemand < spreadEnbs / 3, $"demand sites {spreadDemand:0} m from the road, eNB sites {spreadEnbs:0} m");
    }
}
