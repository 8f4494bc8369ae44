using System.Collections.Frozen;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>One transport link between two sites (either direction).</summary>
public sealed record SiteLink(SiteId A, SiteId B, double DelayMs = 1, double CapacityGbps = 10);

/// <summary>
/// The sites (edge, aggregation, core) and the links between them, as the policies see them: distance in hops (the
/// "rings" of Wang et al.'s cost model), one-way delay along the route, the route's links (for per-link migration
/// budgets) and each site's PVM capacity. Routes follow the least delay, ties broken by fewer hops then by link order,
/// so that every host routes alike. Built once per topology and shared; immutable.
/// </summary>
public sealed class SiteGraph
{
    private readonly FrozenDictionary<SiteId, int> _index;
    private readonly int[] _hops;
    private readonly double[] _delay;
    private readonly int[] _viaLink;
    private readonly int _n;

    private SiteGraph(IReadOnlyList<SiteId> sites, IReadOnlyList<SiteLink> links, IReadOnlyDictionary<SiteId, int> capacity)
    {
        Sites = sites;
        Links = links;
        _n = sites.Count;
        _index = sites.Select((s, i) => KeyValuePair.Create(s, i)).ToFrozenDictionary();
        Capacities = capacity.ToFrozenDictionary();
        _hops = new int[_n * _n];
        _delay = new double[_n * _n];
        _viaLink = new int[_n * _n];
        var adjacency = new List<(int To, int Link)>[_n];
        for (var i = 0; i < _n; i++)
        {
            adjacency[i] = [];
        }

        for (var l = 0; l < links.Count; l++)
        {
            var a = _index[links[l].A];
            var b = _index[links[l].B];
            adjacency[a].Add((b, l));
            adjacency[b].Add((a, l));
        }

        for (var source = 0; source < _n; source++)
        {
            Route(source, adjacency);
        }
    }

    public IReadOnlyList<SiteId> Sites { get; }

    public IReadOnlyList<SiteLink> Links { get; }

    /// <summary>PVM capacity per site; a site not listed has no limit.</summary>
    public FrozenDictionary<SiteId, int> Capacities { get; }

    /// <summary>
    /// A graph from its sites and links. <paramref name="capacities"/> gives each site's PVM capacity (missing: no
    /// limit). Every site must be reachable from every other.
    /// </summary>
    public static SiteGraph FromLinks(IEnumerable<SiteId> sites, IEnumerable<SiteLink> links, IReadOnlyDictionary<SiteId, int>? capacities = null)
    {
        ArgumentNullException.ThrowIfNull(sites);
        ArgumentNullException.ThrowIfNull(links);
        var siteList = sites.ToList();
        var seen = new HashSet<SiteId>();
        foreach (var s in siteList)
        {
            if (string.IsNullOrEmpty(s.Value))
            {
                throw new ArgumentException("a site in the site graph has no name", nameof(sites));
            }

            if (!seen.Add(s))
            {
                throw new ArgumentException($"site '{s}' is listed twice in the site graph", nameof(sites));
            }
        }

        var linkList = links.ToList();
        for (var i = 0; i < linkList.Count; i++)
        {
            var l = linkList[i] ?? throw new ArgumentException($"link {i} of the site graph is null", nameof(links));
            if (!seen.Contains(l.A) || !seen.Contains(l.B))
            {
                throw new ArgumentException($"link {i} ({l.A} - {l.B}) names a site that is not in the site graph", nameof(links));
            }

            if (l.A == l.B)
            {
                throw new ArgumentException($"link {i} joins {l.A} to itself", nameof(links));
            }

            if (!(l.DelayMs >= 0) || double.IsInfinity(l.DelayMs) || !(l.CapacityGbps > 0) || double.IsInfinity(l.CapacityGbps))
            {
                throw new ArgumentException($"link {i} ({l.A} - {l.B}) needs a finite delay >= 0 and a capacity > 0 (got {l.DelayMs} ms, {l.CapacityGbps} Gbps)", nameof(links));
            }
        }

        var caps = new Dictionary<SiteId, int>();
        foreach (var (site, cap) in capacities ?? new Dictionary<SiteId, int>())
        {
            if (!seen.Contains(site))
            {
                throw new ArgumentException($"capacity given for '{site}', which is not in the site graph", nameof(capacities));
            }

            if (cap < 0)
            {
                throw new ArgumentException($"site '{site}' has a negative capacity ({cap})", nameof(capacities));
            }

            caps[site] = cap;
        }

        var graph = new SiteGraph(siteList, linkList, caps);
        for (var i = 0; i < graph._n; i++)
        {
            for (var j = 0; j < graph._n; j++)
            {
                if (graph._hops[(i * graph._n) + j] < 0)
                {
                    throw new ArgumentException($"site '{siteList[j]}' cannot be reached from '{siteList[i]}' in the site graph", nameof(links));
                }
            }
        }

        return graph;
    }

    /// <summary>Today's model: every pair of sites joined by a direct link of <paramref name="delayMs"/>.</summary>
    public static SiteGraph Mesh(IEnumerable<SiteId> sites, double delayMs = 1, double capacityGbps = 10, IReadOnlyDictionary<SiteId, int>? capacities = null)
    {
        var list = sites.ToList();
        var links = new List<SiteLink>();
        for (var i = 0; i < list.Count; i++)
        {
            for (var j = i + 1; j < list.Count; j++)
            {
                links.Add(new SiteLink(list[i], list[j], delayMs, capacityGbps));
            }
        }

        return FromLinks(list, links, capacities);
    }

    public bool Contains(SiteId site) => _index.ContainsKey(site);

    /// <summary>Hops along the route from <paramref name="a"/> to <paramref name="b"/> (0 for the same site).</summary>
    public int Hops(SiteId a, SiteId b) => a == b ? 0 : _hops[Cell(a, b)];

    /// <summary>One-way delay along the route, in milliseconds.</summary>
    public double DelayMs(SiteId a, SiteId b) => a == b ? 0 : _delay[Cell(a, b)];

    /// <summary>The indices (into <see cref="Links"/>) of the links on the route from <paramref name="a"/> to <paramref name="b"/>, in order.</summary>
    public IReadOnlyList<int> Path(SiteId a, SiteId b)
    {
        if (a == b)
        {
            return [];
        }

        // Walk back from b: _viaLink holds the link by which the route from a enters each site.
        var ia = Index(a);
        var at = Index(b);
        var path = new List<int>();
        while (at != ia)
        {
            var link = _viaLink[(ia * _n) + at];
            path.Add(link);
            var l = Links[link];
            var ja = _index[l.A];
            at = ja == at ? _index[l.B] : ja;
        }

        path.Reverse();
        return path;
    }

    /// <summary>PVM capacity of a site, or null when it has no limit.</summary>
    public int? Capacity(SiteId site) => Capacities.TryGetValue(site, out var c) ? c : null;

    private int Index(SiteId s) => _index.TryGetValue(s, out var i) ? i : throw new KeyNotFoundException($"site '{s}' is not in the site graph");

    private int Cell(SiteId a, SiteId b) => (Index(a) * _n) + Index(b);

    private void Route(int source, List<(int To, int Link)>[] adjacency)
    {
        var row = source * _n;
        for (var i = 0; i < _n; i++)
        {
            _hops[row + i] = -1;
            _delay[row + i] = double.PositiveInfinity;
            _viaLink[row + i] = -1;
        }

        _hops[row + source] = 0;
        _delay[row + source] = 0;
        var queue = new PriorityQueue<int, (double Delay, int Hops, int Site)>();
        queue.Enqueue(source, (0, 0, source));
        var done = new bool[_n];
        while (queue.TryDequeue(out var u, out _))
        {
            if (done[u])
            {
                continue;
            }

            done[u] = true;
            foreach (var (v, link) in adjacency[u])
            {
                var delay = _delay[row + u] + Links[link].DelayMs;
                var hops = _hops[row + u] + 1;
                var better = delay < _delay[row + v]
                    || (delay == _delay[row + v] && (hops < _hops[row + v] || (hops == _hops[row + v] && link < _viaLink[row + v])));
                if (!done[v] && better)
                {
                    _delay[row + v] = delay;
                    _hops[row + v] = hops;
                    _viaLink[row + v] = link;
                    queue.Enqueue(v, (delay, hops, v));
                }
            }
        }
    }
}
