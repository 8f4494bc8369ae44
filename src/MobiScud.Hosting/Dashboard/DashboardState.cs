namespace MobiScud.Hosting.Dashboard;

/// <summary>An eNB/gNB on the map: its label (the eNB id), position and serving site.</summary>
public sealed record DashboardEnb(string Id, double X, double Y, string? Site);

/// <summary>An edge site (or the core DC) on the map, with how many PVMs it can hold (0: unbounded).</summary>
public sealed record DashboardSite(string Name, double X, double Y, int Capacity, bool Core);

/// <summary>What the map draws once: <see cref="Geo"/> true means X = longitude and Y = latitude (tiles may be laid under it).</summary>
/// <param name="Tiles">A tile URL template ({z}/{x}/{y}, Web Mercator) drawn under a geographic map; null: none (offline).</param>
public sealed record DashboardTopology(string Title, bool Geo, IReadOnlyList<DashboardEnb> Enbs, IReadOnlyList<DashboardSite> Sites, bool Simulation, string? Tiles = null);

/// <summary>A live migration's bar: bytes sent and left in the current round, the downtime expected if it stopped now.</summary>
public sealed record MigrationBar(string Id, string Ue, string From, string To, double StartedAt, long BytesSent, long BytesRemaining, double ExpectedDowntimeMs, string Phase);

public sealed record FeedItem(long Seq, double At, string Ue, string Kind, string Detail);

/// <summary>One arrow of a UE's ladder: a signalling message between two parties, or a command the MC gave.</summary>
public sealed record LadderEntry(double At, string From, string To, string Text);

/// <summary>One lane (strategy or policy) of a simulation, as it builds up.</summary>
public sealed record LaneRow(string Name, double RttP50Ms, double RttP95Ms, long Probes, double LostPercent, long Started, long Completed, long Cancelled, long Failed, double GbOnWire, double AwayPercent);

/// <summary>A point of the charts: cumulative counters and the gauges of the last interval (NaN: nothing measured).</summary>
public sealed record SeriesPoint(double T, long Handovers, long MigrationsStarted, long MigrationsCompleted, long MigrationsCancelled, long SteeringFailures, double RttP50Ms, double RttP95Ms, double LinkUtilisation);

/// <summary>What the page receives each tick: aggregated, so its size follows eNBs x sites, not the UEs.</summary>
/// <param name="Groups">[eNB index, PVM site index or -1, UE count] for every pair that has UEs.</param>
/// <param name="List">Each UE with its eNB and PVM site, only while there are at most <see cref="DashboardState.ListLimit"/>.</param>
public sealed record DashboardFrame(
    long Version, double T, int TopologyVersion, int Ues, int Connected, int[][] Groups, string[][]? List, int[] SitePvms,
    IReadOnlyList<MigrationBar> Migrations, IReadOnlyList<FeedItem> Feed, SeriesPoint Point, IReadOnlyList<LaneRow> Lanes);

/// <summary>A UE's ladder and where it is now.</summary>
public sealed record UeDetail(string Ue, string? Enb, string? Site, bool Connected, IReadOnlyList<LadderEntry> Ladder);

/// <summary>Where migration progress comes from between start and end (the hypervisor: QMP query-migrate or the pre-copy model).</summary>
public interface IMigrationProgressSource
{
    /// <summary>Progress of the migrations running now, by migration id.</summary>
    IReadOnlyDictionary<string, (long Sent, long Remaining, double ExpectedDowntimeMs)> Progress();
}

/// <summary>
/// The dashboard's model, fed by a host (serve's command dispatcher and taps, the simulator) and read by the page's
/// stream. Thread-safe; bounded: a feed ring, a ladder ring per UE, a series ring, finished migrations kept briefly.
/// </summary>
public sealed class DashboardState
{
    /// <summary>Above this many UEs a frame carries only the aggregated groups (the page stays small at 10,000 UEs).</summary>
    public const int ListLimit = 1000;
    private const int FeedKeep = 300;
    private const int LadderKeep = 200;
    private const int SeriesKeep = 720;
    private const double FinishedShownSeconds = 5;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Ue> _ues = [];
    private readonly Dictionary<string, int> _enbIndex = [];
    private readonly Dictionary<string, int> _siteIndex = [];
    private readonly List<DashboardEnb> _enbs = [];
    private readonly List<DashboardSite> _sites = [];
    private readonly Dictionary<string, Migration> _migrations = [];
    private readonly Queue<FeedItem> _feed = new();
    private readonly Dictionary<string, Queue<LadderEntry>> _ladders = [];
    private readonly List<SeriesPoint> _series = [];
    private readonly List<double> _rttWindow = [];
    private IReadOnlyList<LaneRow> _lanes = [];
    private long _handovers, _started, _completed, _cancelled, _failed, _steeringFailures, _feedSeq, _version;
    private double _link = double.NaN;
    private (double, double) _rttFixed = (double.NaN, double.NaN);
    private string _title = "MobiScud";
    private bool _geo;
    private bool _simulation;
    private int _topologyVersion = 1;
    private string? _tiles;

    /// <param name="now">Seconds on the host's time line (wall clock for serve, virtual time for a simulation).</param>
    public DashboardState(Func<double> now) => Now = now;

    public Func<double> Now { get; }

    /// <summary>The host's tile URL template (<see cref="DashboardTiles"/>), given to the page with the topology; null: offline drawing.</summary>
    public string? Tiles
    {
        get
        {
            lock (_lock)
            {
                return _tiles;
            }
        }

        set
        {
            if (value is not null && DashboardTiles.Problem(value) is { } problem)
            {
                throw new ArgumentException(problem, nameof(value));
            }

            lock (_lock)
            {
                _tiles = value;
                _topologyVersion++;
                _version++;
            }
        }
    }

    /// <summary>Polled each frame for the bars of running migrations; null: bars show start and end only.</summary>
    public IMigrationProgressSource? Progress { get; set; }

    public void SetTopology(DashboardTopology topology)
    {
        lock (_lock)
        {
            _title = topology.Title;
            _geo = topology.Geo;
            _simulation = topology.Simulation;
            _enbs.Clear();
            _enbIndex.Clear();
            _sites.Clear();
            _siteIndex.Clear();
            foreach (var s in topology.Sites)
            {
                _siteIndex[s.Name] = _sites.Count;
                _sites.Add(s);
            }

            foreach (var e in topology.Enbs)
            {
                _enbIndex[e.Id] = _enbs.Count;
                _enbs.Add(e);
            }

            _topologyVersion++;
            _version++;
        }
    }

    public DashboardTopology Topology(out int version)
    {
        lock (_lock)
        {
            version = _topologyVersion;
            return new DashboardTopology(_title, _geo, [.. _enbs], [.. _sites], _simulation, _tiles);
        }
    }

    /// <summary>Where the UE is now; an eNB or site the topology lacks is placed near the core (serve learns eNBs from the signalling).</summary>
    public void UpdateUe(string ue, string? enb, string? pvmSite, bool connected)
    {
        lock (_lock)
        {
            var e = enb is null ? -1 : EnbIndex(enb);
            var s = pvmSite is null ? -1 : SiteIndex(pvmSite);
            if (!_ues.TryGetValue(ue, out var u))
            {
                _ues[ue] = u = new Ue();
            }

            u.Enb = e;
            u.Site = s;
            u.Connected = connected;
            _version++;
        }
    }

    public void RemoveUe(string ue)
    {
        lock (_lock)
        {
            _version += _ues.Remove(ue) ? 1 : 0;
        }
    }

    public void Event(string ue, string kind, string detail)
    {
        lock (_lock)
        {
            _feed.Enqueue(new FeedItem(++_feedSeq, Now(), ue, kind, detail));
            while (_feed.Count > FeedKeep)
            {
                _feed.Dequeue();
            }

            switch (kind)
            {
                case "HandoverExecuted":
                    _handovers++;
                    break;
                case "SteeringFailed":
                    _steeringFailures++;
                    break;
            }

            _version++;
        }
    }

    public void Ladder(string ue, string from, string to, string text)
    {
        lock (_lock)
        {
            if (!_ladders.TryGetValue(ue, out var q))
            {
                _ladders[ue] = q = new Queue<LadderEntry>();
            }

            q.Enqueue(new LadderEntry(Now(), from, to, text));
            while (q.Count > LadderKeep)
            {
                q.Dequeue();
            }
        }
    }

    public void MigrationStarted(string id, string ue, string from, string to)
    {
        lock (_lock)
        {
            _migrations[id] = new Migration(ue, from, to, Now());
            _started++;
            _version++;
        }
    }

    /// <summary>Progress reported by the host itself (a simulation reads its model); serve polls <see cref="Progress"/>.</summary>
    public void MigrationProgress(string id, long sent, long remaining, double expectedDowntimeMs)
    {
        lock (_lock)
        {
            if (_migrations.TryGetValue(id, out var m) && m.Phase == "running")
            {
                (m.Sent, m.Remaining, m.DowntimeMs) = (sent, remaining, expectedDowntimeMs);
                _version++;
            }
        }
    }

    /// <param name="phase">completed, cancelled or failed.</param>
    public void MigrationEnded(string id, string phase, long bytesSent = -1)
    {
        lock (_lock)
        {
            if (!_migrations.TryGetValue(id, out var m) || m.Phase != "running")
            {
                return;
            }

            m.Phase = phase;
            m.EndedAt = Now();
            if (bytesSent >= 0)
            {
                m.Sent = bytesSent;
            }

            if (phase == "completed")
            {
                m.Remaining = 0;
                _completed++;
            }
            else if (phase == "cancelled")
            {
                _cancelled++;
            }
            else
            {
                _failed++;
            }

            _version++;
        }
    }

    /// <summary>Counters a host keeps itself (a simulation's lane), replacing the ones counted from events.</summary>
    public void SetCounters(long handovers, long started, long completed, long cancelled, long steeringFailures)
    {
        lock (_lock)
        {
            (_handovers, _started, _completed, _cancelled, _steeringFailures) = (handovers, started, completed, cancelled, steeringFailures);
            _version++;
        }
    }

    public void ObserveRtt(double ms)
    {
        lock (_lock)
        {
            if (_rttWindow.Count < 100_000)
            {
                _rttWindow.Add(ms);
            }
        }
    }

    /// <summary>RTT quantiles a host computes itself (a simulation's histogram), used when no RTT was observed in the interval.</summary>
    public void SetRtt(double p50Ms, double p95Ms)
    {
        lock (_lock)
        {
            _rttFixed = (p50Ms, p95Ms);
        }
    }

    public void SetLinkUtilisation(double busiest)
    {
        lock (_lock)
        {
            _link = busiest;
        }
    }

    public void SetLanes(IReadOnlyList<LaneRow> lanes)
    {
        lock (_lock)
        {
            _lanes = lanes;
            _version++;
        }
    }

    /// <summary>Closes the current chart interval: one series point from the counters and the RTTs seen since the last one.</summary>
    public SeriesPoint Sample()
    {
        lock (_lock)
        {
            var (p50, p95) = _rttFixed;
            if (_rttWindow.Count > 0)
            {
                _rttWindow.Sort();
                p50 = _rttWindow[(int)(0.5 * (_rttWindow.Count - 1))];
                p95 = _rttWindow[(int)(0.95 * (_rttWindow.Count - 1))];
                _rttWindow.Clear();
            }

            var point = new SeriesPoint(Now(), _handovers, _started, _completed, _cancelled, _steeringFailures, p50, p95, _link);
            _series.Add(point);
            if (_series.Count > SeriesKeep)
            {
                _series.RemoveRange(0, _series.Count - SeriesKeep);
            }

            _version++;
            return point;
        }
    }

    public IReadOnlyList<SeriesPoint> Series()
    {
        lock (_lock)
        {
            return [.. _series];
        }
    }

    public long Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    public UeDetail? Detail(string ue)
    {
        lock (_lock)
        {
            var known = _ues.TryGetValue(ue, out var u);
            var ladder = _ladders.TryGetValue(ue, out var q) ? q.ToArray() : [];
            if (!known && ladder.Length == 0)
            {
                return null;
            }

            return new UeDetail(ue, u is { Enb: >= 0 } ? _enbs[u.Enb].Id : null, u is { Site: >= 0 } ? _sites[u.Site].Name : null, u?.Connected ?? false, ladder);
        }
    }

    /// <summary>The frame for a page that has seen the feed up to <paramref name="feedSeen"/>.</summary>
    public DashboardFrame Frame(long feedSeen)
    {
        var progress = Progress?.Progress();
        lock (_lock)
        {
            var now = Now();
            var point = _series.Count > 0 ? _series[^1] : new SeriesPoint(now, 0, 0, 0, 0, 0, double.NaN, double.NaN, double.NaN);
            var groups = new Dictionary<(int, int), int>();
            var pvms = new int[_sites.Count];
            var connected = 0;
            foreach (var u in _ues.Values)
            {
                connected += u.Connected ? 1 : 0;
                if (u.Site >= 0)
                {
                    pvms[u.Site]++;
                }

                if (u.Enb >= 0)
                {
                    groups[(u.Enb, u.Site)] = groups.GetValueOrDefault((u.Enb, u.Site)) + 1;
                }
            }

            string[][]? list = _ues.Count <= ListLimit
                ? [.. _ues.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new[] { kv.Key, kv.Value.Enb >= 0 ? _enbs[kv.Value.Enb].Id : "", kv.Value.Site >= 0 ? _sites[kv.Value.Site].Name : "" })]
                : null;
            var bars = new List<MigrationBar>();
            foreach (var (id, m) in _migrations.ToList())
            {
                if (m.Phase != "running" && now - m.EndedAt > FinishedShownSeconds)
                {
                    _migrations.Remove(id);
                    continue;
                }

                if (m.Phase == "running" && progress is not null && progress.TryGetValue(id, out var p))
                {
                    (m.Sent, m.Remaining, m.DowntimeMs) = p;
                }

                bars.Add(new MigrationBar(id, m.Ue, m.From, m.To, m.StartedAt, m.Sent, m.Remaining, m.DowntimeMs, m.Phase));
            }

            return new DashboardFrame(
                _version, now, _topologyVersion, _ues.Count, connected, [.. groups.Select(g => new[] { g.Key.Item1, g.Key.Item2, g.Value })], list, pvms,
                [.. bars.OrderBy(b => b.StartedAt).Take(50)], [.. _feed.Where(f => f.Seq > feedSeen)], point, _lanes);
        }
    }

    private int EnbIndex(string enb)
    {
        if (_enbIndex.TryGetValue(enb, out var i))
        {
            return i;
        }

        // Not configured: on a ring around the map's centre, so that it shows and stays where it was put.
        var (cx, cy, r) = Extent();
        var angle = _enbs.Count * 2.399963; // golden angle: new ones never land on old ones
        _enbIndex[enb] = _enbs.Count;
        _enbs.Add(new DashboardEnb(enb, cx + (r * 1.2 * Math.Cos(angle)), cy + (r * 1.2 * Math.Sin(angle)), null));
        _topologyVersion++;
        return _enbs.Count - 1;
    }

    private int SiteIndex(string site)
    {
        if (_siteIndex.TryGetValue(site, out var i))
        {
            return i;
        }

        var (cx, cy, r) = Extent();
        var angle = _sites.Count * 2.399963;
        _siteIndex[site] = _sites.Count;
        _sites.Add(new DashboardSite(site, cx + (r * 0.5 * Math.Cos(angle)), cy + (r * 0.5 * Math.Sin(angle)), 0, false));
        _topologyVersion++;
        return _sites.Count - 1;
    }

    private (double X, double Y, double R) Extent()
    {
        var points = _enbs.Select(e => (e.X, e.Y)).Concat(_sites.Select(s => (s.X, s.Y))).ToList();
        if (points.Count == 0)
        {
            return (0, 0, 1000);
        }

        var cx = points.Average(p => p.X);
        var cy = points.Average(p => p.Y);
        var r = Math.Max(1e-3, points.Max(p => Math.Max(Math.Abs(p.X - cx), Math.Abs(p.Y - cy))));
        return (cx, cy, r);
    }

    private sealed class Ue
    {
        public int Enb = -1;
        public int Site = -1;
        public bool Connected;
    }

    private sealed class Migration(string ue, string from, string to, double startedAt)
    {
        public string Ue { get; } = ue;

        public string From { get; } = from;

        public string To { get; } = to;

        public double StartedAt { get; } = startedAt;

        public string Phase = "running";
        public double EndedAt;
        public long Sent;
        public long Remaining;
        public double DowntimeMs = double.NaN; // unknown until the hypervisor's model says
    }
}
