using System.Globalization;
using MobiScud.Control.Model;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Topology;

/// <summary>An eNodeB at a position (metres, local plane) with its serving edge site.</summary>
public sealed record EnbNode(int Index, EnbId Id, double X, double Y, int Site, int Cells);

public sealed record EdgeSiteNode(int Index, SiteId Id, double X, double Y);

/// <summary>
/// The simulated network: eNBs, edge sites (each serving the eNBs nearest to it), and the core data centre behind
/// the S-GW/P-GW. One-way delays are precomputed per eNB and per site pair so a probe costs a few array reads.
/// </summary>
public sealed class NetworkTopology
{
    public static readonly SiteId CoreSite = new("core");

    private readonly double[] _backhaul;
    private readonly double[] _interSite;
    private readonly int[] _siteCell;
    private readonly int _endpoints;

    public NetworkTopology(IReadOnlyList<EnbNode> enbs, IReadOnlyList<EdgeSiteNode> sites, LinkConfig links, Backhaul? transport = null)
    {
        if (enbs.Count == 0)
        {
            throw new ArgumentException("the topology has no eNBs", nameof(enbs));
        }

        Enbs = enbs;
        Sites = sites;
        Links = links;
        Transport = transport ?? Topology.Backhaul.Mesh(sites, links);
        if (Transport.EdgeNodes.Count != sites.Count)
        {
            throw new ArgumentException($"the backhaul has {Transport.EdgeNodes.Count} edge sites, the topology {sites.Count}", nameof(transport));
        }

        _backhaul = new double[enbs.Count];
        var perKm = links.FibrePerKm.TotalSeconds;
        foreach (var e in enbs)
        {
            var s = sites[e.Site];
            _backhaul[e.Index] = links.BackhaulFixed.TotalSeconds + (Distance(e.X, e.Y, s.X, s.Y) / 1000 * perKm * links.RouteFactor);
        }

        // Edge sites, then the core DC: one-way delay along the backhaul's shortest route.
        _endpoints = sites.Count + 1;
        _interSite = new double[_endpoints * _endpoints];
        for (var a = 0; a < _endpoints; a++)
        {
            for (var b = 0; b < _endpoints; b++)
            {
                _interSite[(a * _endpoints) + b] = a == b ? 0 : Transport.Delay(a, b);
            }
        }

        SiteIndex = sites.ToDictionary(s => s.Id, s => s.Index);
        EnbIndex = enbs.ToDictionary(e => e.Id, e => e.Index);
        Grid = new EnbGrid(enbs);
        MinX = enbs.Min(e => e.X);
        MaxX = enbs.Max(e => e.X);
        MinY = enbs.Min(e => e.Y);
        MaxY = enbs.Max(e => e.Y);

        // Wang et al. measure distance in rings of cells: the distance between cell centres over the distance
        // between neighbouring cells. Each site (and the core DC) counts as the cell nearest to it.
        CellDistance = enbs.Count > 1
            ? Median(enbs.Select(e => Math.Sqrt(enbs.Where(o => o.Index != e.Index).Min(o => ((o.X - e.X) * (o.X - e.X)) + ((o.Y - e.Y) * (o.Y - e.Y))))).ToList())
            : 1;
        _siteCell = new int[_endpoints];
        for (var s = 0; s < _endpoints; s++)
        {
            var node = Transport.Nodes[s < sites.Count ? Transport.EdgeNodes[s] : Transport.CoreNode];
            _siteCell[s] = Grid.Nearest(node.X, node.Y, out _);
        }
    }

    /// <summary>Typical distance between neighbouring eNBs (median nearest-neighbour distance), metres.</summary>
    public double CellDistance { get; }

    /// <summary>The backhaul graph: routes, delays and the links migrations and user traffic share.</summary>
    public Backhaul Transport { get; }

    /// <summary>The eNB (cell) standing for a site (or the core DC, index Sites.Count) in ring distances.</summary>
    public int SiteCell(int site) => _siteCell[site];

    /// <summary>
    /// Distance between two eNBs in rings of cells, as Wang et al.'s code computes it: straight distance over the
    /// cell distance, rounded up (exact multiples kept).
    /// </summary>
    public int Rings(int enbA, int enbB)
    {
        if (enbA == enbB)
        {
            return 0;
        }

        var a = Enbs[enbA];
        var b = Enbs[enbB];
        var r = Distance(a.X, a.Y, b.X, b.Y) / CellDistance;
        return Math.Abs(r - Math.Round(r)) < 1e-8 ? (int)Math.Round(r) : (int)Math.Ceiling(r);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count == 0 ? 1 : Math.Max(1e-3, values[values.Count / 2]);
    }

    public IReadOnlyList<EnbNode> Enbs { get; }

    public IReadOnlyList<EdgeSiteNode> Sites { get; }

    public LinkConfig Links { get; }

    public IReadOnlyDictionary<SiteId, int> SiteIndex { get; }

    public IReadOnlyDictionary<EnbId, int> EnbIndex { get; }

    public EnbGrid Grid { get; }

    public double MinX { get; }

    public double MaxX { get; }

    public double MinY { get; }

    public double MaxY { get; }

    /// <summary>One-way eNB -> its edge site (aggregation + fibre), seconds.</summary>
    public double Backhaul(int enb) => _backhaul[enb];

    /// <summary>One-way between edge sites, or a site and the core DC (index Sites.Count), along the backhaul route, seconds.</summary>
    public double InterSite(int a, int b) => _interSite[(a * _endpoints) + b];

    public IReadOnlyDictionary<EnbId, SiteId> EnbToSite() => Enbs.ToDictionary(e => e.Id, e => Sites[e.Site].Id);

    public static double Distance(double x1, double y1, double x2, double y2)
    {
        var dx = x1 - x2;
        var dy = y1 - y2;
        return Math.Sqrt((dx * dx) + (dy * dy));
    }

    public static NetworkTopology Build(ScenarioConfig scenario) => Build(scenario, null);

    /// <summary>
    /// The scenario's network. With <paramref name="demand"/> (weight per eNB: UE time spent there) and
    /// `sitePlacement: demand`, edge sites are the weighted k-means centres.
    /// </summary>
    public static NetworkTopology Build(ScenarioConfig scenario, double[]? demand)
    {
        var t = scenario.Topology;
        var positions = t.TowersCsv is not null ? TowerCsv.LoadEnbs(scenario.Resolve(t.TowersCsv))
            : t.CellsCsv is not null ? CellCsv.LoadEnbs(scenario.Resolve(t.CellsCsv))
            : HexGrid(t.Enbs, t.InterSiteDistance);
        var points = positions.Select(p => (p.X, p.Y)).ToList();
        List<EdgeSiteNode> sites;
        Backhaul? transport = null;
        if (t.Backhaul == BackhaulKind.File)
        {
            var spec = BackhaulFile.Read(scenario.Resolve(t.BackhaulFile!), t.BackhaulLinksCsv is null ? null : scenario.Resolve(t.BackhaulLinksCsv), GeoProjection.SanFrancisco);
            (transport, sites) = BackhaulFile.Build(spec, t.Links);
        }
        else if (t.SitesCsv is not null)
        {
            sites = TowerCsv.LoadEnbs(scenario.Resolve(t.SitesCsv)).Select((p, i) => new EdgeSiteNode(i, new SiteId($"edge-{p.Id.Value}"), p.X, p.Y)).ToList();
        }
        else
        {
            var siteCount = Math.Min(t.Sites, positions.Count);
            var weights = t.SitePlacement == SitePlacement.Demand ? demand : null;
            KMeans.Cluster(points, siteCount, scenario.Seed, out var centres, weights);
            sites = centres.Select((c, i) => new EdgeSiteNode(i, new SiteId($"edge-{i}"), c.X, c.Y)).ToList();
        }

        // Each eNB is served by the nearest edge site (what k-means assigns at convergence).
        var enbs = positions.Select((p, i) => new EnbNode(i, p.Id, p.X, p.Y, NearestSite(sites, p.X, p.Y), p.Cells)).ToList();
        transport ??= Topology.Backhaul.Build(scenario, sites);
        return new NetworkTopology(enbs, sites, t.Links, transport);
    }

    private static int NearestSite(List<EdgeSiteNode> sites, double x, double y)
    {
        var best = 0;
        var bestD = double.MaxValue;
        foreach (var s in sites)
        {
            var d = ((s.X - x) * (s.X - x)) + ((s.Y - y) * (s.Y - y));
            if (d < bestD)
            {
                bestD = d;
                best = s.Index;
            }
        }

        return best;
    }

    /// <summary>The first n points of a hexagonal lattice, ring by ring around the origin (macro-cell layout).</summary>
    public static List<(EnbId Id, double X, double Y, int Cells)> HexGrid(int n, double isd)
    {
        var result = new List<(EnbId, double, double, int)>(n);
        // Axial coordinates (q, r) in rings of growing radius: ring k holds 6k points.
        for (var k = 0; result.Count < n; k++)
        {
            foreach (var (q, r) in Ring(k))
            {
                if (result.Count == n)
                {
                    break;
                }

                var x = isd * (q + (r / 2.0));
                var y = isd * (Math.Sqrt(3) / 2 * r);
                result.Add((new EnbId((uint)(result.Count + 1)), x, y, 3));
            }
        }

        return result;
    }

    private static IEnumerable<(int Q, int R)> Ring(int k)
    {
        if (k == 0)
        {
            yield return (0, 0);
            yield break;
        }

        // From the corner (-k, k) the six sides run along these axial directions, turning 60 degrees each time.
        int[] dq = [1, 1, 0, -1, -1, 0];
        int[] dr = [0, -1, -1, 0, 1, 1];
        var q = -k;
        var r = k;
        for (var side = 0; side < 6; side++)
        {
            for (var step = 0; step < k; step++)
            {
                yield return (q, r);
                q += dq[side];
                r += dr[side];
            }
        }
    }
}

/// <summary>Lloyd's k-means with k-means++ seeding from the scenario seed: edge sites at cluster centres.</summary>
internal static class KMeans
{
    /// <summary>
    /// k centres over the points; with <paramref name="weights"/>, each point counts that much (seeding picks in
    /// proportion to weight x squared distance, centres are weighted means). Points of zero weight still get
    /// assigned but do not pull centres.
    /// </summary>
    public static int[] Cluster(IReadOnlyList<(double X, double Y)> points, int k, ulong seed, out List<(double X, double Y)> centres, IReadOnlyList<double>? weights = null)
    {
        if (weights is not null && (weights.Count != points.Count || weights.Any(w => !(w >= 0)) || !(weights.Sum() > 0)))
        {
            throw new ArgumentException("weights: one non-negative weight per point, not all zero", nameof(weights));
        }

        double W(int i) => weights is null ? 1 : weights[i];
        if (k < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "at least one site");
        }

        var rng = new SimRandom(seed, 0x5173);
        if (weights is null)
        {
            centres = [points[(int)(rng.NextDouble() * points.Count)]];
        }
        else
        {
            var first = rng.NextDouble() * weights.Sum();
            var i0 = 0;
            while (i0 < points.Count - 1 && (first -= weights[i0]) > 0)
            {
                i0++;
            }

            centres = [points[i0]];
        }

        var d2 = new double[points.Count];
        while (centres.Count < k)
        {
            double sum = 0;
            for (var i = 0; i < points.Count; i++)
            {
                d2[i] = double.MaxValue;
                foreach (var c in centres)
                {
                    d2[i] = Math.Min(d2[i], Sq(points[i].X - c.X) + Sq(points[i].Y - c.Y));
                }

                d2[i] *= W(i);

                sum += d2[i];
            }

            if (sum <= 0)
            {
                // Fewer distinct weighted points than k: the rest go on the first unused points.
                var chosenSoFar = centres;
                centres.Add(points.FirstOrDefault(p => !chosenSoFar.Contains(p), points[centres.Count % points.Count]));
                continue;
            }

            var pick = rng.NextDouble() * sum;
            var chosen = points.Count - 1;
            for (var i = 0; i < points.Count; i++)
            {
                pick -= d2[i];
                if (pick <= 0)
                {
                    chosen = i;
                    break;
                }
            }

            centres.Add(points[chosen]);
        }

        var assignment = new int[points.Count];
        for (var iteration = 0; iteration < 100; iteration++)
        {
            var moved = false;
            for (var i = 0; i < points.Count; i++)
            {
                var best = 0;
                var bestD = double.MaxValue;
                for (var c = 0; c < centres.Count; c++)
                {
                    var d = Sq(points[i].X - centres[c].X) + Sq(points[i].Y - centres[c].Y);
                    if (d < bestD)
                    {
                        bestD = d;
                        best = c;
                    }
                }

                moved |= assignment[i] != best || iteration == 0;
                assignment[i] = best;
            }

            for (var c = 0; c < centres.Count; c++)
            {
                double sx = 0, sy = 0, n = 0;
                for (var i = 0; i < points.Count; i++)
                {
                    if (assignment[i] == c)
                    {
                        sx += points[i].X * W(i);
                        sy += points[i].Y * W(i);
                        n += W(i);
                    }
                }

                if (n > 0)
                {
                    centres[c] = (sx / n, sy / n);
                }
            }

            if (!moved)
            {
                break;
            }
        }

        return assignment;
    }

    private static double Sq(double v) => v * v;
}

/// <summary>Local equirectangular projection (metres) around a reference point; fine at city scale.</summary>
public readonly record struct GeoProjection(double Lat0, double Lon0)
{
    private const double EarthRadius = 6_371_008.8;

    /// <summary>The projection both San Francisco files use (37.75 N, as SOURCES.md suggests).</summary>
    public static GeoProjection SanFrancisco => new(37.75, -122.45);

    public (double X, double Y) Project(double lat, double lon)
    {
        var x = EarthRadius * (lon - Lon0) * Math.PI / 180 * Math.Cos(Lat0 * Math.PI / 180);
        var y = EarthRadius * (lat - Lat0) * Math.PI / 180;
        return (x, y);
    }

    /// <summary>The inverse of <see cref="Project"/>: (latitude, longitude) of a point in metres.</summary>
    public (double Lat, double Lon) Unproject(double x, double y) =>
        (Lat0 + (y / EarthRadius * 180 / Math.PI), Lon0 + (x / (EarthRadius * Math.Cos(Lat0 * Math.PI / 180)) * 180 / Math.PI));
}

/// <summary>OpenCelliD cell export: LTE cells grouped into eNBs (eNB id = cell >> 8) at the centroid of their cells.</summary>
internal static class CellCsv
{
    public static List<(EnbId Id, double X, double Y, int Cells)> LoadEnbs(string path, GeoProjection? projection = null)
    {
        var proj = projection ?? GeoProjection.SanFrancisco;
        if (!File.Exists(path))
        {
            throw new ScenarioException($"cells CSV not found: {path}");
        }

        using var reader = new StreamReader(path);
        var header = reader.ReadLine() ?? throw new ScenarioException($"{path}: empty file");
        var cols = header.Split(',');
        int Col(string name)
        {
            var i = Array.IndexOf(cols, name);
            return i >= 0 ? i : throw new ScenarioException($"{path}: header has no '{name}' column");
        }

        int cellCol = Col("cell"), latCol = Col("lat"), lonCol = Col("lon");
        var groups = new SortedDictionary<uint, (double X, double Y, int N)>();
        var lineNo = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (line.Length == 0)
            {
                continue;
            }

            var f = line.Split(',');
            if (f.Length <= Math.Max(cellCol, Math.Max(latCol, lonCol))
                || !ulong.TryParse(f[cellCol], NumberStyles.Integer, CultureInfo.InvariantCulture, out var cell)
                || !double.TryParse(f[latCol], NumberStyles.Float, CultureInfo.InvariantCulture, out var lat)
                || !double.TryParse(f[lonCol], NumberStyles.Float, CultureInfo.InvariantCulture, out var lon))
            {
                throw new ScenarioException($"{path} line {lineNo}: expected cell, lat and lon numbers");
            }

            var (x, y) = proj.Project(lat, lon);
            var id = (uint)(cell >> 8);
            groups[id] = groups.TryGetValue(id, out var g) ? (g.X + x, g.Y + y, g.N + 1) : (x, y, 1);
        }

        if (groups.Count == 0)
        {
            throw new ScenarioException($"{path}: no cells");
        }

        var rows = groups.Values.Sum(g => g.N);
        if (groups.Count == 1 && rows > 1)
        {
            // Small ids (a site list with 1, 2, 3...) all shift to eNB 0: that would silently be a one-cell network.
            throw new ScenarioException($"{path}: all {rows} cells group into one eNB (eNB id = cell >> 8 = {groups.Keys.First()}); for a list of towers or sites with one eNB per row use topology.towersCsv (columns id,lat,lon)");
        }

        return groups.Select(kv => (new EnbId(kv.Key), kv.Value.X / kv.Value.N, kv.Value.Y / kv.Value.N, kv.Value.N)).ToList();
    }
}

/// <summary>A plain tower or site list, columns `id,lat,lon` (or `id,x,y` in metres): one eNB per row.</summary>
internal static class TowerCsv
{
    public static List<(EnbId Id, double X, double Y, int Cells)> LoadEnbs(string path, GeoProjection? projection = null)
    {
        var proj = projection ?? GeoProjection.SanFrancisco;
        if (!File.Exists(path))
        {
            throw new ScenarioException($"towers CSV not found: {path}");
        }

        var lines = File.ReadAllLines(path);
        var cols = lines.Length > 0 ? lines[0].Split(',').Select(c => c.Trim()).ToArray() : [];
        var geo = cols.Contains("lat");
        int Col(string name) => Array.IndexOf(cols, name) is var i and >= 0 ? i : throw new ScenarioException($"{path}: header has no '{name}' column (expected id,lat,lon or id,x,y)");
        int idCol = Col("id"), aCol = Col(geo ? "lat" : "x"), bCol = Col(geo ? "lon" : "y");
        var result = new List<(EnbId, double, double, int)>();
        var seen = new HashSet<uint>();
        for (var n = 1; n < lines.Length; n++)
        {
            if (lines[n].Trim().Length == 0)
            {
                continue;
            }

            var f = lines[n].Split(',');
            if (f.Length <= Math.Max(idCol, Math.Max(aCol, bCol))
                || !double.TryParse(f[aCol], NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
                || !double.TryParse(f[bCol], NumberStyles.Float, CultureInfo.InvariantCulture, out var b))
            {
                throw new ScenarioException($"{path} line {n + 1}: expected id and two coordinates");
            }

            // Numeric ids are kept as eNB ids; other labels are numbered by row.
            var id = uint.TryParse(f[idCol].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : (uint)(result.Count + 1);
            if (!seen.Add(id))
            {
                throw new ScenarioException($"{path} line {n + 1}: id {f[idCol].Trim()} is listed twice");
            }

            var (x, y) = geo ? proj.Project(a, b) : (a, b);
            result.Add((new EnbId(id), x, y, 1));
        }

        if (result.Count == 0)
        {
            throw new ScenarioException($"{path}: no towers");
        }

        return result;
    }
}

/// <summary>Uniform grid buckets over the eNBs: the nearest eNB is found by looking at a few buckets only.</summary>
public sealed class EnbGrid
{
    private readonly double _minX;
    private readonly double _minY;
    private readonly double _cell;
    private readonly int _nx;
    private readonly int _ny;
    private readonly int[] _start;
    private readonly int[] _items;
    private readonly double[] _ex;
    private readonly double[] _ey;

    public EnbGrid(IReadOnlyList<EnbNode> enbs)
    {
        _ex = enbs.Select(e => e.X).ToArray();
        _ey = enbs.Select(e => e.Y).ToArray();
        _minX = _ex.Min();
        _minY = _ey.Min();
        var w = Math.Max(1, _ex.Max() - _minX);
        var h = Math.Max(1, _ey.Max() - _minY);
        // About two eNBs per bucket.
        _cell = Math.Max(1, Math.Sqrt(w * h * 2 / enbs.Count));
        _nx = (int)(w / _cell) + 1;
        _ny = (int)(h / _cell) + 1;
        var counts = new int[(_nx * _ny) + 1];
        foreach (var e in enbs)
        {
            counts[Bucket(e.X, e.Y) + 1]++;
        }

        for (var i = 1; i < counts.Length; i++)
        {
            counts[i] += counts[i - 1];
        }

        _start = (int[])counts.Clone();
        _items = new int[enbs.Count];
        var fill = (int[])counts.Clone();
        foreach (var e in enbs)
        {
            _items[fill[Bucket(e.X, e.Y)]++] = e.Index;
        }
    }

    private int Bucket(double x, double y)
    {
        var bx = Math.Clamp((int)((x - _minX) / _cell), 0, _nx - 1);
        var by = Math.Clamp((int)((y - _minY) / _cell), 0, _ny - 1);
        return (by * _nx) + bx;
    }

    public double DistanceSquared(int enb, double x, double y)
    {
        var dx = _ex[enb] - x;
        var dy = _ey[enb] - y;
        return (dx * dx) + (dy * dy);
    }

    /// <summary>Nearest eNB to (x, y): rings of buckets outward until no closer eNB can exist.</summary>
    public int Nearest(double x, double y, out double distanceSquared)
    {
        var bx = (int)Math.Floor((x - _minX) / _cell);
        var by = (int)Math.Floor((y - _minY) / _cell);
        var best = -1;
        var bestD = double.MaxValue;
        var maxRing = Math.Max(_nx, _ny) + Math.Max(Math.Abs(bx), Math.Abs(by)) + 1;
        for (var ring = 0; ring <= maxRing; ring++)
        {
            // Everything at ring r is at least (r - 1) cells away.
            if (best >= 0)
            {
                var minDist = (ring - 1) * _cell;
                if (minDist > 0 && minDist * minDist > bestD)
                {
                    break;
                }
            }

            for (var gy = by - ring; gy <= by + ring; gy++)
            {
                if (gy < 0 || gy >= _ny)
                {
                    continue;
                }

                var edgeRow = gy == by - ring || gy == by + ring;
                for (var gx = bx - ring; gx <= bx + ring; gx += edgeRow ? 1 : 2 * ring)
                {
                    if (gx >= 0 && gx < _nx)
                    {
                        var b = (gy * _nx) + gx;
                        for (var i = _start[b]; i < _start[b + 1]; i++)
                        {
                            var e = _items[i];
                            var d = DistanceSquared(e, x, y);
                            if (d < bestD || (d == bestD && e < best))
                            {
                                bestD = d;
                                best = e;
                            }
                        }
                    }

                    if (ring == 0)
                    {
                        break;
                    }
                }
            }
        }

        distanceSquared = bestD;
        return best;
    }
}
