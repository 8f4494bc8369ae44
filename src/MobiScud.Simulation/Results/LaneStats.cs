using MobiScud.Cloud.Simulated;
using MobiScud.Control.Model;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Results;

/// <summary>
/// RTTs in a fixed-width histogram (10 us bins up to 2 s): percentiles and the CDF at any scale without keeping
/// every sample, so a 10,000-UE hour costs the same memory as the demo.
/// </summary>
public sealed class RttHistogram
{
    public const double BinSeconds = 10e-6;
    private const int Bins = 200_000;
    private readonly long[] _counts = new long[Bins];

    public long Count { get; private set; }

    public long Overflow { get; private set; }

    public double Sum { get; private set; }

    public void Add(double seconds)
    {
        Count++;
        Sum += seconds;
        var bin = (int)(seconds / BinSeconds);
        if (bin >= Bins)
        {
            Overflow++;
            bin = Bins - 1;
        }

        _counts[Math.Max(0, bin)]++;
    }

    /// <summary>The q-quantile in seconds (bin centre), NaN when empty.</summary>
    public double Quantile(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        var target = (long)Math.Ceiling(q * Count);
        target = Math.Clamp(target, 1, Count);
        long seen = 0;
        for (var i = 0; i < Bins; i++)
        {
            seen += _counts[i];
            if (seen >= target)
            {
                return (i + 0.5) * BinSeconds;
            }
        }

        return Bins * BinSeconds;
    }

    /// <summary>The CDF at up to <paramref name="points"/> RTT values (ms, fraction).</summary>
    public List<(double RttMs, double Fraction)> Cdf(int points = 400)
    {
        var result = new List<(double, double)>();
        if (Count == 0)
        {
            return result;
        }

        var lo = Quantile(0.0005);
        var hi = Quantile(0.9995);
        var step = Math.Max(BinSeconds, (hi - lo) / points);
        long seen = 0;
        var next = lo;
        for (var i = 0; i < Bins; i++)
        {
            seen += _counts[i];
            var x = (i + 1) * BinSeconds;
            if (_counts[i] > 0 && x >= next)
            {
                result.Add((x * 1000, seen / (double)Count));
                next = x + step;
            }
        }

        return result;
    }
}

/// <summary>Everything one strategy lane measured.</summary>
public sealed class LaneStats
{
    private const int MaxViolationMessages = 20;

    public LaneStats(StrategyKind kind, int siteSlots, string? name = null, string? policy = null, int links = 0)
    {
        Kind = kind;
        SiteSlots = siteSlots;
        Name = name ?? SimulationResult.Name(kind);
        Policy = policy;
        LinkSamples = Enumerable.Range(0, links).Select(_ => new List<float>()).ToArray();
    }

    public StrategyKind Kind { get; }

    /// <summary>The lane's name in the table and JSON (the strategy, or mobiscud/policy).</summary>
    public string Name { get; }

    /// <summary>The migration policy of a mobiscud lane (null for the other strategies).</summary>
    public string? Policy { get; }

    /// <summary>Bytes put on the wire by migrations that completed.</summary>
    public double BytesCompleted => BytesMoved;

    /// <summary>Bytes sent by migrations that were cancelled (by the MC, a suspend or a detach) before they completed.</summary>
    public double BytesCancelled { get; private set; }

    /// <summary>Bytes sent by migrations that failed.</summary>
    public double BytesFailed { get; private set; }

    /// <summary>Every migration byte sent, whatever became of the migration (in-flight ones as of the end).</summary>
    public double BytesOnWire => BytesMoved + BytesCancelled + BytesFailed + BytesInFlight;

    public double BytesInFlight { get; set; }

    public long MigrationsInFlight { get; set; }

    /// <summary>The most migrations seen on one backhaul link at once (checked at every start).</summary>
    public int MaxConcurrentOnLink { get; set; }

    /// <summary>Migrations the scheduler queued before granting (or dropping) them.</summary>
    public long MigrationsQueued { get; set; }

    /// <summary>Queued migrations the MC withdrew before they started.</summary>
    public long QueuedDropped { get; set; }

    public long PlacementFallbacks { get; set; }

    public long PlacementsRefused { get; set; }

    /// <summary>Probes (of UEs with a running PVM) taken, and those where the PVM was not at the serving site.</summary>
    public long PvmProbeSamples { get; set; }

    public long PvmAwaySamples { get; set; }

    /// <summary>The away probes by cause, indexed by <see cref="AwayCause"/> (they sum to <see cref="PvmAwaySamples"/>).</summary>
    public long[] PvmAwayByCause { get; } = new long[Enum.GetValues<AwayCause>().Length];

    /// <summary>Completed migrations by pre-copy rounds (index = rounds, the last bin counts that many or more).</summary>
    public long[] RoundsOfCompleted { get; } = new long[MaxRoundsBin + 1];

    /// <summary>Bytes completed migrations sent beyond the guest's memory (pages dirtied during pre-copy, sent again).</summary>
    public double BytesResentCompleted { get; private set; }

    internal const int MaxRoundsBin = 30;

    /// <summary>
    /// Completed migrations whose PVM left the target (moved again, suspended, destroyed) before any probe found its UE
    /// served there: moves that bought no time at the user's site (sent ahead of a user who went elsewhere, or overtaken).
    /// </summary>
    public long MovesNeverMet { get; set; }

    /// <summary>Completed migrations by <see cref="MoveTarget"/>, and of those, the ones whose target never met the UE.</summary>
    public long[] CompletedByTarget { get; } = new long[Enum.GetValues<MoveTarget>().Length];

    public long[] NeverMetByTarget { get; } = new long[Enum.GetValues<MoveTarget>().Length];

    /// <summary>Completed migrations whose PVM is still at the target at the end, where no probe has found its UE yet.</summary>
    public long MovesUnmetAtEnd { get; set; }

    /// <summary>Utilisation of each backhaul link per sample interval (migrations and user traffic).</summary>
    public List<float>[] LinkSamples { get; }

    /// <summary>Wang et al. cost slots: users and the histograms of x and y.</summary>
    public List<CostSlot> Slots { get; } = [];

    internal void MigrationCancelled(double bytes)
    {
        MigrationsCancelled++;
        BytesCancelled += bytes;
    }

    internal void MigrationFailed(double bytes)
    {
        MigrationsFailed++;
        BytesFailed += bytes;
    }

    public int SiteSlots { get; }

    public RttHistogram Rtt { get; } = new();

    public long ProbesSent { get; set; }

    public long[] Lost { get; } = new long[Enum.GetValues<LossCause>().Length];

    public long ProbesLost => Lost.Sum();

    public long PvmsCreated { get; set; }

    public long PvmsResumed { get; set; }

    public long PvmsSuspended { get; set; }

    public long MigrationsStarted { get; set; }

    public long MigrationsCompletedCount { get; set; }

    public long MigrationsFailed { get; set; }

    public long MigrationsCancelled { get; set; }

    public long MigrationsRefused { get; set; }

    public long SteeringInstalls { get; set; }

    public double BytesMoved { get; set; }

    public List<float> MigrationTimes { get; } = [];

    public List<float> Downtimes { get; } = [];

    public long[] Notifications { get; } = new long[Enum.GetValues<NotificationKind>().Length];

    public long InvariantViolations { get; private set; }

    public List<string> ViolationMessages { get; } = [];

    /// <summary>PVMs per site slot (edge sites then core), one row per sample time.</summary>
    public List<int[]> PvmsPerSite { get; } = [];

    public void Violation(TimeSpan at, string message)
    {
        InvariantViolations++;
        if (ViolationMessages.Count < MaxViolationMessages)
        {
            ViolationMessages.Add($"{at.TotalSeconds:0.000}s {message}");
        }
    }

    /// <summary>Carries the warm-up's invariant violations into the scored figures: a broken invariant is never left out.</summary>
    internal void KeepViolationsOf(LaneStats warmup)
    {
        InvariantViolations += warmup.InvariantViolations;
        ViolationMessages.InsertRange(0, warmup.ViolationMessages.Take(MaxViolationMessages - ViolationMessages.Count));
    }

    internal void MigrationCompleted(PreCopyResult r, TimeSpan started, long memoryBytes)
    {
        MigrationsCompletedCount++;
        BytesMoved += r.BytesSent;
        BytesResentCompleted += r.BytesSent - memoryBytes;
        RoundsOfCompleted[Math.Clamp(r.Rounds, 0, MaxRoundsBin)]++;
        MigrationTimes.Add((float)r.TotalTime.TotalSeconds);
        Downtimes.Add((float)r.Downtime.TotalSeconds);
        _ = started;
    }

    public static double Percentile(List<float> values, double q)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.ToArray();
        Array.Sort(sorted);
        var idx = (int)Math.Clamp(Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1);
        return sorted[idx];
    }
}

/// <summary>
/// One slot of Wang et al.'s cost: Q (users with a PVM) and how many of them had each migration distance x and
/// each user-to-service distance y (rings of cells). The cost itself needs R = 1.5 x the largest Q of the run, so it
/// is computed at the end from these.
/// </summary>
public sealed class CostSlot
{
    public const int MaxRings = 64;

    public int Users { get; private set; }

    public long[] X { get; } = new long[MaxRings + 1];

    public long[] Y { get; } = new long[MaxRings + 1];

    /// <summary>Per user, the rings from its cell to the nearest site a PVM may live at: the y no placement can beat.</summary>
    public long[] Floor { get; } = new long[MaxRings + 1];

    /// <summary>One user: x, y and the nearest site's rings (<paramref name="floor"/>; null: y, no better site known).</summary>
    public void Add(int x, int y, int? floor = null)
    {
        Users++;
        X[Math.Min(x, MaxRings)]++;
        Y[Math.Min(y, MaxRings)]++;
        Floor[Math.Min(floor ?? y, MaxRings)]++;
    }
}
