using System.Globalization;
using MobiScud.Simulation.Scenario;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MobiScud.Simulation.Topology;

/// <summary>Which transport network joins the edge sites and the core (`topology.backhaul`).</summary>
public enum BackhaulKind
{
    /// <summary>A direct link between every pair of edge sites and from each to the core: the original model.</summary>
    Mesh,

    /// <summary>Edge sites -> aggregation nodes -> one metro core node, the core DC behind it.</summary>
    Tree,

    /// <summary>The edge sites on one metro ring (by angle around their centroid), the core DC behind one of them.</summary>
    Ring,

    /// <summary>Nodes and links from <see cref="TopologyConfig.BackhaulFile"/>.</summary>
    File,
}

public enum SiteTier
{
    Edge,
    Aggregation,
    Core,
}

/// <summary>A transport node: an edge site (PVMs run there), an aggregation router, or a core node.</summary>
public sealed record BackhaulNode(int Index, string Id, SiteTier Tier, double X, double Y);

/// <summary>A bidirectional link. One-way delay = fixed + length x fibre delay per km.</summary>
public sealed record BackhaulLink(int Index, int A, int B, double Gbps, double FixedSeconds, double LengthKm)
{
    public double BytesPerSecond => Gbps * 1e9 / 8;

    public double Delay(double fibreSecondsPerKm) => FixedSeconds + (LengthKm * fibreSecondsPerKm);
}

/// <summary>
/// The backhaul graph with shortest-delay routes between its endpoints: the edge sites (endpoint i is edge site i)
/// and the core DC (endpoint <see cref="CoreEndpoint"/>). A probe's inter-site delay and a migration's links are
/// both this route, so latency and capacity follow the same path.
/// </summary>
public sealed class Backhaul
{
    private readonly double[] _delay;
    private readonly int[][] _paths;
    private readonly int _endpoints;

    public Backhaul(BackhaulKind kind, IReadOnlyList<BackhaulNode> nodes, IReadOnlyList<BackhaulLink> links, IReadOnlyList<int> edgeNodes, int coreNode, double fibreSecondsPerKm)
    {
        Kind = kind;
        Nodes = nodes;
        Links = links;
        EdgeNodes = edgeNodes;
        CoreNode = coreNode;
        _endpoints = edgeNodes.Count + 1;
        CoreEndpoint = edgeNodes.Count;
        var adjacency = new List<(int To, int Link)>[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            adjacency[i] = [];
        }

        foreach (var l in links)
        {
            if (l.A == l.B)
            {
                throw new ScenarioException($"backhaul link {l.Index} joins node '{nodes[l.A].Id}' to itself");
            }

            adjacency[l.A].Add((l.B, l.Index));
            adjacency[l.B].Add((l.A, l.Index));
        }

        var endpointNode = edgeNodes.Append(coreNode).ToArray();
        _delay = new double[_endpoints * _endpoints];
        _paths = new int[_endpoints * _endpoints][];
        var linkDelay = links.Select(l => l.Delay(fibreSecondsPerKm)).ToArray();
        for (var a = 0; a < _endpoints; a++)
        {
            var (dist, via) = Dijkstra(endpointNode[a], adjacency, linkDelay, links);
            for (var b = 0; b < _endpoints; b++)
            {
                var target = endpointNode[b];
                if (double.IsPositiveInfinity(dist[target]))
                {
                    throw new ScenarioException($"backhaul: no route from '{nodes[endpointNode[a]].Id}' to '{nodes[target].Id}'");
                }

                _delay[(a * _endpoints) + b] = dist[target];
                var path = new List<int>();
                for (var n = target; n != endpointNode[a]; n = links[via[n]].A == n ? links[via[n]].B : links[via[n]].A)
                {
                    path.Add(via[n]);
                }

                path.Reverse();
                _paths[(a * _endpoints) + b] = [.. path];
            }
        }
    }

    public BackhaulKind Kind { get; }

    public IReadOnlyList<BackhaulNode> Nodes { get; }

    public IReadOnlyList<BackhaulLink> Links { get; }

    /// <summary>Node index of each edge site, in site order.</summary>
    public IReadOnlyList<int> EdgeNodes { get; }

    /// <summary>Node where the core DC (S-GW/P-GW, core-anchored PVMs) sits.</summary>
    public int CoreNode { get; }

    /// <summary>Endpoint index of the core DC: edge sites are endpoints 0..n-1.</summary>
    public int CoreEndpoint { get; }

    /// <summary>One-way delay along the shortest route between two endpoints (edge sites, then the core), seconds.</summary>
    public double Delay(int a, int b) => _delay[(a * _endpoints) + b];

    /// <summary>Link indices along the shortest route from endpoint a to b (empty when a == b).</summary>
    public IReadOnlyList<int> Path(int a, int b) => _paths[(a * _endpoints) + b];

    public string LinkName(int link) => $"{Nodes[Links[link].A].Id}-{Nodes[Links[link].B].Id}";

    private static (double[] Dist, int[] Via) Dijkstra(int source, List<(int To, int Link)>[] adjacency, double[] linkDelay, IReadOnlyList<BackhaulLink> links)
    {
        var dist = new double[adjacency.Length];
        var via = new int[adjacency.Length];
        Array.Fill(dist, double.PositiveInfinity);
        Array.Fill(via, -1);
        dist[source] = 0;
        // Ties broken by node index, so routes do not depend on the heap's internals.
        var heap = new PriorityQueue<int, (double, int)>();
        heap.Enqueue(source, (0, source));
        while (heap.TryDequeue(out var n, out var p))
        {
            if (p.Item1 > dist[n])
            {
                continue;
            }

            foreach (var (to, link) in adjacency[n])
            {
                var d = dist[n] + linkDelay[link];
                if (d < dist[to] - 1e-15 || (Math.Abs(d - dist[to]) <= 1e-15 && via[to] >= 0 && link < via[to]))
                {
                    dist[to] = d;
                    via[to] = link;
                    heap.Enqueue(to, (d, to));
                }
            }
        }

        _ = links;
        return (dist, via);
    }

    /// <summary>The preset or file the scenario names, over the given edge sites.</summary>
    public static Backhaul Build(ScenarioConfig scenario, IReadOnlyList<EdgeSiteNode> sites)
    {
        var t = scenario.Topology;
        var l = t.Links;
        return t.Backhaul switch
        {
            BackhaulKind.Mesh => Mesh(sites, l),
            BackhaulKind.Tree => Tree(sites, l, t.AggregationSites, scenario.Seed),
            BackhaulKind.Ring => Ring(sites, l),
            _ => throw new ScenarioException("topology.backhaul: file topologies are built with their sites (BackhaulFile.Load)"),
        };
    }

    private static double Km(double x1, double y1, double x2, double y2, LinkConfig l) =>
        NetworkTopology.Distance(x1, y1, x2, y2) / 1000 * l.RouteFactor;

    private static (double X, double Y) Centroid(IReadOnlyList<EdgeSiteNode> sites) =>
        (sites.Average(s => s.X), sites.Average(s => s.Y));

    /// <summary>Every pair of edge sites linked directly (interSiteFixed + fibre), each site linked to the core (links.core).</summary>
    public static Backhaul Mesh(IReadOnlyList<EdgeSiteNode> sites, LinkConfig l)
    {
        var nodes = sites.Select(s => new BackhaulNode(s.Index, s.Id.Value, SiteTier.Edge, s.X, s.Y)).ToList();
        var (cx, cy) = Centroid(sites);
        var core = nodes.Count;
        nodes.Add(new BackhaulNode(core, NetworkTopology.CoreSite.Value, SiteTier.Core, cx, cy));
        var links = new List<BackhaulLink>();
        for (var a = 0; a < sites.Count; a++)
        {
            for (var b = a + 1; b < sites.Count; b++)
            {
                links.Add(new BackhaulLink(links.Count, a, b, l.InterSiteGbps, l.InterSiteFixed.TotalSeconds, Km(sites[a].X, sites[a].Y, sites[b].X, sites[b].Y, l)));
            }
        }

        for (var a = 0; a < sites.Count; a++)
        {
            // The core link's delay is links.core whatever the distance (as before): the core DC is "far".
            links.Add(new BackhaulLink(links.Count, a, core, l.InterSiteGbps, l.Core.TotalSeconds, 0));
        }

        return new Backhaul(BackhaulKind.Mesh, nodes, links, Enumerable.Range(0, sites.Count).ToList(), core, l.FibrePerKm.TotalSeconds);
    }

    /// <summary>
    /// Edge sites -> aggregation nodes (k-means over the sites) -> a metro core node at the centroid; the core DC
    /// hangs off the metro core node with links.core. Traffic between sites of different aggregation nodes
    /// crosses the metro core.
    /// </summary>
    public static Backhaul Tree(IReadOnlyList<EdgeSiteNode> sites, LinkConfig l, int aggregationSites, ulong seed)
    {
        var aggregations = aggregationSites > 0 ? Math.Min(aggregationSites, sites.Count) : Math.Max(1, (int)Math.Ceiling(Math.Sqrt(sites.Count)));
        var assignment = KMeans.Cluster(sites.Select(s => (s.X, s.Y)).ToList(), aggregations, seed ^ 0xA66, out var centres);
        var nodes = sites.Select(s => new BackhaulNode(s.Index, s.Id.Value, SiteTier.Edge, s.X, s.Y)).ToList();
        var aggBase = nodes.Count;
        for (var a = 0; a < centres.Count; a++)
        {
            nodes.Add(new BackhaulNode(nodes.Count, $"agg-{a}", SiteTier.Aggregation, centres[a].X, centres[a].Y));
        }

        var (cx, cy) = Centroid(sites);
        var metro = nodes.Count;
        nodes.Add(new BackhaulNode(metro, "metro-core", SiteTier.Core, cx, cy));
        var core = nodes.Count;
        nodes.Add(new BackhaulNode(core, NetworkTopology.CoreSite.Value, SiteTier.Core, cx, cy));
        var links = new List<BackhaulLink>();
        for (var s = 0; s < sites.Count; s++)
        {
            var agg = nodes[aggBase + assignment[s]];
            links.Add(new BackhaulLink(links.Count, s, agg.Index, l.InterSiteGbps, l.AggregationFixed.TotalSeconds, Km(sites[s].X, sites[s].Y, agg.X, agg.Y, l)));
        }

        for (var a = 0; a < centres.Count; a++)
        {
            var agg = nodes[aggBase + a];
            links.Add(new BackhaulLink(links.Count, agg.Index, metro, l.AggregationGbps, l.MetroCoreFixed.TotalSeconds, Km(agg.X, agg.Y, cx, cy, l)));
        }

        links.Add(new BackhaulLink(links.Count, metro, core, l.CoreGbps, l.Core.TotalSeconds, 0));
        return new Backhaul(BackhaulKind.Tree, nodes, links, Enumerable.Range(0, sites.Count).ToList(), core, l.FibrePerKm.TotalSeconds);
    }

    /// <summary>The edge sites on one ring in order of angle around their centroid; the core DC behind the site nearest the centroid.</summary>
    public static Backhaul Ring(IReadOnlyList<EdgeSiteNode> sites, LinkConfig l)
    {
        var nodes = sites.Select(s => new BackhaulNode(s.Index, s.Id.Value, SiteTier.Edge, s.X, s.Y)).ToList();
        var (cx, cy) = Centroid(sites);
        var core = nodes.Count;
        nodes.Add(new BackhaulNode(core, NetworkTopology.CoreSite.Value, SiteTier.Core, cx, cy));
        var order = sites.OrderBy(s => Math.Atan2(s.Y - cy, s.X - cx)).ThenBy(s => s.Index).Select(s => s.Index).ToList();
        var links = new List<BackhaulLink>();
        if (sites.Count == 2)
        {
            links.Add(new BackhaulLink(0, order[0], order[1], l.InterSiteGbps, l.InterSiteFixed.TotalSeconds, Km(sites[order[0]].X, sites[order[0]].Y, sites[order[1]].X, sites[order[1]].Y, l)));
        }
        else if (sites.Count > 2)
        {
            for (var i = 0; i < order.Count; i++)
            {
                var a = sites[order[i]];
                var b = sites[order[(i + 1) % order.Count]];
                links.Add(new BackhaulLink(links.Count, a.Index, b.Index, l.InterSiteGbps, l.InterSiteFixed.TotalSeconds, Km(a.X, a.Y, b.X, b.Y, l)));
            }
        }

        var hub = sites.OrderBy(s => NetworkTopology.Distance(s.X, s.Y, cx, cy)).ThenBy(s => s.Index).First();
        links.Add(new BackhaulLink(links.Count, hub.Index, core, l.CoreGbps, l.Core.TotalSeconds, 0));
        return new Backhaul(BackhaulKind.Ring, nodes, links, Enumerable.Range(0, sites.Count).ToList(), core, l.FibrePerKm.TotalSeconds);
    }
}

/// <summary>
/// A backhaul read from a file: YAML (`nodes:` and `links:` lists) or CSV (a nodes file `id,tier,lat,lon` or
/// `id,tier,x,y`, and a links file `a,b,gbps,fixedMs[,km]`). Edge-tier nodes are the edge sites; the first
/// core-tier node is where the core DC sits. A link without a length gets the straight distance x routeFactor.
/// </summary>
public static class BackhaulFile
{
    public sealed record Spec(List<(string Id, SiteTier Tier, double X, double Y)> Nodes, List<(string A, string B, double Gbps, double FixedSeconds, double? Km, int Line)> Links, string Source);

    public static Spec Read(string path, string? linksCsv, GeoProjection projection)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new ScenarioException($"backhaul file not found: {path}");
        }

        if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            if (linksCsv is null)
            {
                throw new ScenarioException($"{path}: a CSV backhaul needs topology.backhaulLinksCsv (a,b,gbps,fixedMs,km) beside the nodes file");
            }

            return new Spec(ReadNodesCsv(path, projection), ReadLinksCsv(linksCsv), path);
        }

        return ReadYaml(path, projection);
    }

    private static SiteTier Tier(string text, string where) =>
        Enum.TryParse<SiteTier>(text.Trim(), ignoreCase: true, out var t) ? t : throw new ScenarioException($"{where}: tier '{text}' is not edge, aggregation or core");

    private static double Number(string text, string where, string what) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : throw new ScenarioException($"{where}: {what} '{text}' is not a number");

    private static List<(string, SiteTier, double, double)> ReadNodesCsv(string path, GeoProjection projection)
    {
        var lines = System.IO.File.ReadAllLines(path);
        if (lines.Length == 0)
        {
            throw new ScenarioException($"{path}: empty file");
        }

        var cols = lines[0].Split(',').Select(c => c.Trim()).ToArray();
        var geo = cols.Contains("lat");
        int Col(string n) => Array.IndexOf(cols, n) is var i and >= 0 ? i : throw new ScenarioException($"{path}: header has no '{n}' column (expected id,tier,lat,lon or id,tier,x,y)");
        int id = Col("id"), tier = Col("tier"), a = Col(geo ? "lat" : "x"), b = Col(geo ? "lon" : "y");
        var result = new List<(string, SiteTier, double, double)>();
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
            {
                continue;
            }

            var f = lines[i].Split(',');
            var where = $"{path} line {i + 1}";
            if (f.Length < cols.Length)
            {
                throw new ScenarioException($"{where}: expected {cols.Length} columns");
            }

            var (x, y) = geo ? projection.Project(Number(f[a], where, "lat"), Number(f[b], where, "lon")) : (Number(f[a], where, "x"), Number(f[b], where, "y"));
            result.Add((f[id].Trim(), Tier(f[tier], where), x, y));
        }

        return result;
    }

    private static List<(string, string, double, double, double?, int)> ReadLinksCsv(string path)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new ScenarioException($"backhaul links CSV not found: {path}");
        }

        var lines = System.IO.File.ReadAllLines(path);
        var cols = lines.Length > 0 ? lines[0].Split(',').Select(c => c.Trim()).ToArray() : [];
        int Col(string n) => Array.IndexOf(cols, n) is var i and >= 0 ? i : throw new ScenarioException($"{path}: header has no '{n}' column (expected a,b,gbps,fixedMs[,km])");
        int a = Col("a"), b = Col("b"), gbps = Col("gbps"), fixedMs = Col("fixedMs");
        var km = Array.IndexOf(cols, "km");
        var result = new List<(string, string, double, double, double?, int)>();
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
            {
                continue;
            }

            var f = lines[i].Split(',');
            var where = $"{path} line {i + 1}";
            if (f.Length < 4)
            {
                throw new ScenarioException($"{where}: expected a,b,gbps,fixedMs");
            }

            double? length = km >= 0 && km < f.Length && f[km].Trim().Length > 0 ? Number(f[km], where, "km") : null;
            result.Add((f[a].Trim(), f[b].Trim(), Number(f[gbps], where, "gbps"), Number(f[fixedMs], where, "fixedMs") / 1000, length, i + 1));
        }

        return result;
    }

    private static Spec ReadYaml(string path, GeoProjection projection)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(System.IO.File.ReadAllText(path)));
        }
        catch (YamlException ex)
        {
            throw new ScenarioException($"{path} line {ex.Start.Line}: not valid YAML: {ex.Message}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ScenarioException($"{path}: expected a mapping with 'nodes' and 'links'");
        }

        YamlSequenceNode Seq(string key) => root.Children.TryGetValue(new YamlScalarNode(key), out var n) && n is YamlSequenceNode s ? s : throw new ScenarioException($"{path}: needs a '{key}' list");
        string? Field(YamlMappingNode m, string key) => m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? (v as YamlScalarNode)?.Value : null;
        var nodes = new List<(string, SiteTier, double, double)>();
        foreach (var item in Seq("nodes"))
        {
            var where = $"{path} line {item.Start.Line}";
            if (item is not YamlMappingNode m)
            {
                throw new ScenarioException($"{where}: a node is a mapping {{id, tier, lat, lon}} or {{id, tier, x, y}}");
            }

            var id = Field(m, "id") ?? throw new ScenarioException($"{where}: node without 'id'");
            var tier = Tier(Field(m, "tier") ?? throw new ScenarioException($"{where}: node '{id}' without 'tier'"), where);
            double x, y;
            if (Field(m, "lat") is { } lat && Field(m, "lon") is { } lon)
            {
                (x, y) = projection.Project(Number(lat, where, "lat"), Number(lon, where, "lon"));
            }
            else
            {
                x = Number(Field(m, "x") ?? throw new ScenarioException($"{where}: node '{id}' needs lat/lon or x/y"), where, "x");
                y = Number(Field(m, "y") ?? throw new ScenarioException($"{where}: node '{id}' needs lat/lon or x/y"), where, "y");
            }

            nodes.Add((id, tier, x, y));
        }

        var links = new List<(string, string, double, double, double?, int)>();
        foreach (var item in Seq("links"))
        {
            var line = (int)item.Start.Line;
            var where = $"{path} line {line}";
            if (item is not YamlMappingNode m)
            {
                throw new ScenarioException($"{where}: a link is a mapping {{a, b, gbps, fixed, km}}");
            }

            var a = Field(m, "a") ?? throw new ScenarioException($"{where}: link without 'a'");
            var b = Field(m, "b") ?? throw new ScenarioException($"{where}: link without 'b'");
            var gbps = Number(Field(m, "gbps") ?? throw new ScenarioException($"{where}: link {a}-{b} without 'gbps'"), where, "gbps");
            var fixedText = Field(m, "fixed") ?? "0s";
            var fixedDelay = ScenarioLoader.ParseDuration(fixedText) ?? throw new ScenarioException($"{where}: link {a}-{b} fixed '{fixedText}' is not a duration");
            double? km = Field(m, "km") is { } k ? Number(k, where, "km") : null;
            links.Add((a, b, gbps, fixedDelay.TotalSeconds, km, line));
        }

        return new Spec(nodes, links, path);
    }

    /// <summary>The graph from a file; its edge-tier nodes become the edge sites (in file order).</summary>
    public static (Backhaul Backhaul, List<EdgeSiteNode> Sites) Build(Spec spec, LinkConfig l)
    {
        var nodes = new List<BackhaulNode>();
        var byId = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, tier, x, y) in spec.Nodes)
        {
            if (!byId.TryAdd(id, nodes.Count))
            {
                throw new ScenarioException($"{spec.Source}: node '{id}' is listed twice");
            }

            nodes.Add(new BackhaulNode(nodes.Count, id, tier, x, y));
        }

        var edges = nodes.Where(n => n.Tier == SiteTier.Edge).Select(n => n.Index).ToList();
        if (edges.Count == 0)
        {
            throw new ScenarioException($"{spec.Source}: no node of tier 'edge' (edge sites host the PVMs)");
        }

        var core = nodes.FirstOrDefault(n => n.Tier == SiteTier.Core) ?? throw new ScenarioException($"{spec.Source}: no node of tier 'core' (where the core DC sits)");
        var links = new List<BackhaulLink>();
        foreach (var (a, b, gbps, fixedSeconds, km, line) in spec.Links)
        {
            var ia = byId.TryGetValue(a, out var i1) ? i1 : throw new ScenarioException($"{spec.Source} line {line}: link names unknown node '{a}'");
            var ib = byId.TryGetValue(b, out var i2) ? i2 : throw new ScenarioException($"{spec.Source} line {line}: link names unknown node '{b}'");
            if (!(gbps > 0) || fixedSeconds < 0 || km < 0)
            {
                throw new ScenarioException($"{spec.Source} line {line}: link {a}-{b} needs gbps > 0, fixed >= 0 and km >= 0");
            }

            var length = km ?? (NetworkTopology.Distance(nodes[ia].X, nodes[ia].Y, nodes[ib].X, nodes[ib].Y) / 1000 * l.RouteFactor);
            links.Add(new BackhaulLink(links.Count, ia, ib, gbps, fixedSeconds, length));
        }

        var sites = edges.Select((n, i) => new EdgeSiteNode(i, new Control.Model.SiteId(nodes[n].Id), nodes[n].X, nodes[n].Y)).ToList();
        if (sites.Any(s => s.Id == NetworkTopology.CoreSite))
        {
            throw new ScenarioException($"{spec.Source}: an edge node may not be called '{NetworkTopology.CoreSite}' (reserved for the core DC)");
        }

        return (new Backhaul(BackhaulKind.File, nodes, links, edges, core.Index, l.FibrePerKm.TotalSeconds), sites);
    }
}
