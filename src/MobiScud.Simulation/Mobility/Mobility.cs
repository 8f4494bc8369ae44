using System.Globalization;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Mobility;

/// <summary>
/// Where each UE is. Positions are asked for with non-decreasing time per UE (the engine's ticks), which lets
/// models keep a cursor instead of searching.
/// </summary>
public interface IMobilityModel
{
    int UeCount { get; }

    /// <summary>When the UE is present (attached) in simulation time; traces start and end, synthetic models do not.</summary>
    (TimeSpan From, TimeSpan To) Presence(int ue);

    void Position(int ue, double t, out double x, out double y);

    /// <summary>The UE's label (trace id or index).</summary>
    string Label(int ue);

    /// <summary>An upper bound on any UE's speed (m/s): lets the handover check skip UEs deep inside their cell.</summary>
    double MaxSpeed { get; }
}

/// <summary>Random waypoint (Johnson and Maltz): pick a point in the area and a speed, go, pause, repeat.</summary>
internal sealed class RandomWaypoint : IMobilityModel
{
    private readonly double _minX;
    private readonly double _minY;
    private readonly double _w;
    private readonly double _h;
    private readonly double _vMin;
    private readonly double _vMax;
    private readonly double _pauseMax;
    private readonly SimRandom[] _rng;
    private readonly Leg[] _legs;

    public RandomWaypoint(int ues, double minX, double minY, double maxX, double maxY, double speedMin, double speedMax, double pauseMax, ulong seed)
    {
        _minX = minX;
        _minY = minY;
        _w = maxX - minX;
        _h = maxY - minY;
        _vMin = speedMin;
        _vMax = speedMax;
        _pauseMax = pauseMax;
        _rng = new SimRandom[ues];
        _legs = new Leg[ues];
        for (var i = 0; i < ues; i++)
        {
            _rng[i] = new SimRandom(seed, 0x10000UL + (ulong)i);
            var x = minX + (_rng[i].NextDouble() * _w);
            var y = minY + (_rng[i].NextDouble() * _h);
            _legs[i] = new Leg { X0 = x, Y0 = y, X1 = x, Y1 = y, T0 = 0, TArrive = 0, TLeave = 0 };
            NextLeg(i, 0);
        }
    }

    public int UeCount => _legs.Length;

    public double MaxSpeed => _vMax;

    public (TimeSpan From, TimeSpan To) Presence(int ue) => (TimeSpan.Zero, TimeSpan.MaxValue);

    public string Label(int ue) => ue.ToString(CultureInfo.InvariantCulture);

    public void Position(int ue, double t, out double x, out double y)
    {
        ref var leg = ref _legs[ue];
        while (t >= leg.TLeave)
        {
            NextLeg(ue, leg.TLeave);
        }

        if (t >= leg.TArrive)
        {
            x = leg.X1;
            y = leg.Y1;
            return;
        }

        var f = (t - leg.T0) / (leg.TArrive - leg.T0);
        x = leg.X0 + ((leg.X1 - leg.X0) * f);
        y = leg.Y0 + ((leg.Y1 - leg.Y0) * f);
    }

    private void NextLeg(int ue, double t0)
    {
        ref var leg = ref _legs[ue];
        ref var r = ref _rng[ue];
        var x1 = _minX + (r.NextDouble() * _w);
        var y1 = _minY + (r.NextDouble() * _h);
        var v = r.Uniform(_vMin, _vMax);
        var travel = NetworkTopology.Distance(leg.X1, leg.Y1, x1, y1) / v;
        leg = new Leg
        {
            X0 = leg.X1,
            Y0 = leg.Y1,
            X1 = x1,
            Y1 = y1,
            T0 = t0,
            TArrive = t0 + travel,
            TLeave = t0 + travel + (r.NextDouble() * _pauseMax) + 1e-3,
        };
    }

    private struct Leg
    {
        public double X0;
        public double Y0;
        public double X1;
        public double Y1;
        public double T0;
        public double TArrive;
        public double TLeave;
    }
}

/// <summary>A straight road; each car drives at its own constant speed and turns round at the ends.</summary>
internal sealed class Highway : IMobilityModel
{
    private readonly double _x0;
    private readonly double _y0;
    private readonly double _length;
    private readonly double[] _offset;
    private readonly double[] _speed;

    public Highway(int ues, double x0, double y0, double length, double speedMin, double speedMax, ulong seed)
    {
        _x0 = x0;
        _y0 = y0;
        _length = length;
        _offset = new double[ues];
        _speed = new double[ues];
        var rng = new SimRandom(seed, 0x4151);
        for (var i = 0; i < ues; i++)
        {
            // Position along an unfolded loop of 2L: [0, L) eastbound, [L, 2L) westbound.
            _offset[i] = rng.NextDouble() * 2 * length;
            _speed[i] = rng.Uniform(speedMin, speedMax);
        }
    }

    public int UeCount => _offset.Length;

    public double MaxSpeed => _speed.Length == 0 ? 0 : _speed.Max();

    public (TimeSpan From, TimeSpan To) Presence(int ue) => (TimeSpan.Zero, TimeSpan.MaxValue);

    public string Label(int ue) => ue.ToString(CultureInfo.InvariantCulture);

    public void Position(int ue, double t, out double x, out double y)
    {
        var s = (_offset[ue] + (_speed[ue] * t)) % (2 * _length);
        x = _x0 + (s < _length ? s : (2 * _length) - s);
        y = _y0;
    }
}

/// <summary>
/// Recorded positions, linearly interpolated between fixes. A UE is present from its first fix to its last.
/// Positions are clipped to a box (SOURCES.md: a few cabs leave the city; clip them rather than lose coverage).
/// </summary>
internal sealed class TraceMobility : IMobilityModel
{
    private readonly string[] _labels;
    private readonly double[][] _times;
    private readonly double[][] _xs;
    private readonly double[][] _ys;
    private readonly int[] _cursor;
    private readonly (double MinX, double MinY, double MaxX, double MaxY) _clip;

    public TraceMobility(IEnumerable<(string Ue, double T, double X, double Y)> fixes, (double MinX, double MinY, double MaxX, double MaxY) clip)
    {
        _clip = clip;
        var byUe = fixes.GroupBy(f => f.Ue, StringComparer.Ordinal)
            .Select(g => (Ue: g.Key, Fixes: g.OrderBy(f => f.T).ToArray()))
            .Where(g => g.Fixes.Length >= 2)
            .OrderBy(g => g.Fixes[0].T)
            .ThenBy(g => g.Ue, StringComparer.Ordinal)
            .ToList();
        _labels = byUe.Select(g => g.Ue).ToArray();
        _times = byUe.Select(g => g.Fixes.Select(f => f.T).ToArray()).ToArray();
        _xs = byUe.Select(g => g.Fixes.Select(f => f.X).ToArray()).ToArray();
        _ys = byUe.Select(g => g.Fixes.Select(f => f.Y).ToArray()).ToArray();
        _cursor = new int[_labels.Length];
        double max = 0;
        for (var u = 0; u < _times.Length; u++)
        {
            for (var i = 1; i < _times[u].Length; i++)
            {
                var dt = _times[u][i] - _times[u][i - 1];
                var d = NetworkTopology.Distance(_xs[u][i], _ys[u][i], _xs[u][i - 1], _ys[u][i - 1]);
                max = Math.Max(max, dt > 0 ? d / dt : (d > 0 ? double.PositiveInfinity : 0));
            }
        }

        MaxSpeed = max;
    }

    public int UeCount => _labels.Length;

    public double MaxSpeed { get; }

    public string Label(int ue) => _labels[ue];

    public (TimeSpan From, TimeSpan To) Presence(int ue) =>
        (TimeSpan.FromSeconds(Math.Max(0, _times[ue][0])), TimeSpan.FromSeconds(Math.Max(0, _times[ue][^1])));

    public void Position(int ue, double t, out double x, out double y)
    {
        var ts = _times[ue];
        ref var c = ref _cursor[ue];
        while (c < ts.Length - 2 && t >= ts[c + 1])
        {
            c++;
        }

        var span = ts[c + 1] - ts[c];
        var f = span <= 0 ? 0 : Math.Clamp((t - ts[c]) / span, 0, 1);
        x = Math.Clamp(_xs[ue][c] + ((_xs[ue][c + 1] - _xs[ue][c]) * f), _clip.MinX, _clip.MaxX);
        y = Math.Clamp(_ys[ue][c] + ((_ys[ue][c + 1] - _ys[ue][c]) * f), _clip.MinY, _clip.MaxY);
    }

    /// <summary>Generic trace CSV with a header naming time, ue, x, y (seconds, metres).</summary>
    public static List<(string Ue, double T, double X, double Y)> LoadCsv(string path, TimeSpan start, TimeSpan duration, int maxUes)
    {
        var rows = new List<(string, double, double, double)>();
        ReadCsv(path, ["time", "ue", "x", "y"], (f, line) =>
        {
            var t = Number(f[0], path, line, "time") - start.TotalSeconds;
            rows.Add((f[1], t, Number(f[2], path, line, "x"), Number(f[3], path, line, "y")));
        });
        return Window(rows, duration, maxUes);
    }

    /// <summary>Cabspotting (cab_id, unix_time, lat, lon, occupied), projected around 37.75 N; time 0 = first fix + start.</summary>
    public static List<(string Ue, double T, double X, double Y)> LoadCabspotting(string path, TimeSpan start, TimeSpan duration, int maxUes)
    {
        var raw = new List<(string Ue, double T, double Lat, double Lon)>();
        ReadCsv(path, ["cab_id", "unix_time", "lat", "lon"], (f, line) =>
            raw.Add((f[0], Number(f[1], path, line, "unix_time"), Number(f[2], path, line, "lat"), Number(f[3], path, line, "lon"))));
        if (raw.Count == 0)
        {
            throw new ScenarioException($"{path}: no fixes");
        }

        var t0 = raw.Min(r => r.T) + start.TotalSeconds;
        var proj = GeoProjection.SanFrancisco;
        var rows = raw.Select(r =>
        {
            var (x, y) = proj.Project(r.Lat, r.Lon);
            return (r.Ue, r.T - t0, x, y);
        }).ToList();
        return Window(rows, duration, maxUes);
    }

    private static List<(string Ue, double T, double X, double Y)> Window(List<(string Ue, double T, double X, double Y)> rows, TimeSpan duration, int maxUes)
    {
        // Keep one fix before 0 and one after the end so interpolation covers the window.
        var end = duration.TotalSeconds;
        var kept = new List<(string, double, double, double)>();
        foreach (var g in rows.GroupBy(r => r.Ue, StringComparer.Ordinal))
        {
            var f = g.OrderBy(r => r.T).ToList();
            var first = f.FindLastIndex(r => r.T <= 0);
            var last = f.FindIndex(r => r.T >= end);
            var from = Math.Max(0, first);
            var to = last < 0 ? f.Count - 1 : last;
            for (var i = from; i <= to; i++)
            {
                var r = f[i];
                kept.Add((r.Ue, r.T, r.X, r.Y));
            }
        }

        var ues = kept.Select(k => k.Item1).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(maxUes).ToHashSet(StringComparer.Ordinal);
        return kept.Where(k => ues.Contains(k.Item1)).ToList();
    }

    private static double Number(string s, string path, int line, string column) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ScenarioException($"{path} line {line}: column '{column}' is not a number: '{s}'");

    private static void ReadCsv(string path, string[] columns, Action<string[], int> row)
    {
        if (!File.Exists(path))
        {
            throw new ScenarioException($"trace file not found: {path}");
        }

        using var reader = new StreamReader(path);
        var header = (reader.ReadLine() ?? throw new ScenarioException($"{path}: empty file")).Split(',');
        var idx = columns.Select(c =>
        {
            var i = Array.FindIndex(header, h => string.Equals(h.Trim(), c, StringComparison.OrdinalIgnoreCase));
            return i >= 0 ? i : throw new ScenarioException($"{path}: header has no '{c}' column (expected {string.Join(',', columns)})");
        }).ToArray();
        var line = 1;
        var fields = new string[columns.Length];
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            var f = text.Split(',');
            for (var i = 0; i < idx.Length; i++)
            {
                if (idx[i] >= f.Length)
                {
                    throw new ScenarioException($"{path} line {line}: missing column '{columns[i]}'");
                }

                fields[i] = f[idx[i]].Trim();
            }

            row(fields, line);
        }
    }
}
