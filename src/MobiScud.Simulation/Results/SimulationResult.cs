using System.Text.Json;
using System.Text.Json.Serialization;
using MobiScud.Control.Policies;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Results;

public sealed record StrategyResult(
    string Strategy,
    double RttP50Ms,
    double RttP95Ms,
    double RttP99Ms,
    double RttMeanMs,
    long ProbesSent,
    long ProbesLost,
    IReadOnlyDictionary<string, long> LossByCause,
    long MigrationsStarted,
    long MigrationsCompleted,
    long MigrationsFailed,
    long MigrationsCancelled,
    long MigrationsRefused,
    double MigrationTimeP50S,
    double MigrationTimeP95S,
    double DowntimeP50Ms,
    double DowntimeP95Ms,
    double GbMoved,
    long PvmsCreated,
    long PvmsResumed,
    long PvmsSuspended,
    long SteeringInstalls,
    long InvariantViolations,
    IReadOnlyList<string> Violations,
    IReadOnlyList<double[]> RttCdf,
    IReadOnlyDictionary<string, int[]> PvmsPerSite);

/// <summary>RTT percentiles of one lane, milliseconds.</summary>
public sealed record RttSummary(double P50Ms, double P95Ms, double P99Ms, double MeanMs);

/// <summary>
/// What became of the migrations a lane started: started = completed + cancelled + failed + inFlight (at the end).
/// Refused ones never started (the hypervisor or the scheduler said no); queued ones waited for a link budget.
/// </summary>
public sealed record MigrationCounts(long Started, long Completed, long Cancelled, long Failed, long InFlight, long Refused, long Queued, long QueuedDropped, int MaxConcurrentOnLink);

/// <summary>Migration bytes by outcome (bytesOnWire is their sum).</summary>
public sealed record BytesByOutcome(double Completed, double Cancelled, double Failed, double InFlight)
{
    /// <summary>Of Completed, the bytes beyond the guest's memory: pages dirtied during pre-copy and sent again.</summary>
    public double CompletedResent { get; init; }

    /// <summary>Completed migrations whose PVM left the target before any probe found its UE there (+ those still unmet at the end).</summary>
    public long CompletedNeverMet { get; init; }

    public long CompletedUnmetAtEnd { get; init; }

    /// <summary>Completed migrations by where they were headed when the MC started them (<see cref="MoveTarget"/>: serving site, handover target's site, elsewhere), and of those, the ones never met.</summary>
    public IReadOnlyList<long> CompletedByTarget { get; init; } = [];

    public IReadOnlyList<long> NeverMetByTarget { get; init; } = [];

    /// <summary>Completed migrations by pre-copy rounds (index = rounds, the first full copy included; the last bin is that many or more).</summary>
    public IReadOnlyList<long> CompletedByRounds { get; init; } = [];
}

/// <summary>One backhaul link's utilisation (migrations + user traffic) over the sample intervals, fractions of capacity.</summary>
public sealed record LinkUtilisation(string Link, double Mean, double P50, double P95);

/// <summary>The busiest links by mean utilisation, and p50/p95 over all their samples pooled.</summary>
public sealed record UtilisationSummary(double P50, double P95, IReadOnlyList<LinkUtilisation> Busiest);

/// <summary>Probes of UEs with a running PVM, and the fraction where the PVM was not at the UE's serving (nearest) site.</summary>
public sealed record AwaySummary(double Fraction, double UeHours)
{
    /// <summary>The away share split by cause (fractions of all probes of UEs with a running PVM; they sum to Fraction).</summary>
    public AwayByCause? ByCause { get; init; }
}

/// <summary>The away share by <see cref="AwayCause"/>, each a fraction of all probes of UEs with a running PVM.</summary>
public sealed record AwayByCause(double MoveInFlight, double LeftBehind, double MovedNotThere, double ResumedAway, double CreatedAway)
{
    internal static AwayByCause? Of(long[] byCause, long probes)
    {
        if (probes == 0)
        {
            return null;
        }

        double F(AwayCause c) => byCause[(int)c] / (double)probes;
        return new AwayByCause(F(AwayCause.MoveInFlight), F(AwayCause.LeftBehind), F(AwayCause.MovedNotThere), F(AwayCause.ResumedAway), F(AwayCause.CreatedAway));
    }
}

/// <summary>
/// Wang et al.'s cost per UE per slot (mu, R = 1.5 max Q): the mean over all UE-slots, and its migration and
/// transmission parts; ueSlots = sum of Q over the slots.
/// </summary>
public sealed record CostSummary(double MeanPerUeSlot, double MigrationPerUeSlot, double TransmissionPerUeSlot, long UeSlots, int Slots, int MaxUsers, double Mu, double SlotSeconds)
{
    /// <summary>The cost if every PVM sat at the site nearest its user's cell and never paid for moving: a bound no policy beats.</summary>
    public double FloorPerUeSlot { get; init; } = double.NaN;
}

/// <summary>One lane in results.json `lanes[]`: the stable, documented summary (docs/scenario.md).</summary>
public sealed record LaneResult(
    string Name,
    string Strategy,
    string? Policy,
    RttSummary Rtt,
    long ProbesSent,
    long ProbesLost,
    MigrationCounts Migrations,
    double BytesOnWire,
    BytesByOutcome Bytes,
    UtilisationSummary LinkUtilisation,
    AwaySummary PvmAway,
    CostSummary Cost,
    long InvariantViolations);

public sealed record RanSummary(
    long Attaches,
    long Detaches,
    long ReleasesToIdle,
    long ServiceRequests,
    long HandoversX2,
    long HandoversS1,
    long HandoversCancelled,
    long InterSiteHandovers,
    double ConnectedUeHours,
    double HandoversPerUeHour);

public sealed record TrackedLane(string Strategy, float[] Times, float[] RttMs, float[][] MigrationWindows);

public sealed record ProbedUe(string Ue, float[] HandoverTimes, string[] HandoverKinds, IReadOnlyList<TrackedLane> Lanes);

/// <summary>A run's results: what the demo prints, plots and writes as JSON.</summary>
public sealed record SimulationResult(
    string Scenario,
    ulong Seed,
    double DurationSeconds,
    int Ues,
    int Enbs,
    int Sites,
    string Backhaul,
    RanSummary Ran,
    IReadOnlyList<LaneResult> Lanes,
    IReadOnlyList<StrategyResult> Strategies,
    float[] SampleTimes,
    IReadOnlyList<string> SiteNames,
    ProbedUe? Tracked,
    double WallSeconds,
    long EventsProcessed)
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Simulated before the scored <see cref="DurationSeconds"/> and not reported (scenario key warmup).</summary>
    public double WarmupSeconds { get; init; }

    public StrategyResult this[StrategyKind kind] => Strategies.Single(s => s.Strategy == Name(kind));

    /// <summary>A lane by name (a strategy, or mobiscud/policy).</summary>
    public LaneResult Lane(string name) => Lanes.Single(l => l.Name == name);

    public static string Name(StrategyKind kind) => kind switch
    {
        StrategyKind.CoreAnchored => "core-anchored",
        StrategyKind.StaticEdge => "static-edge",
        _ => "mobiscud",
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The JSON without wall-clock figures: equal for equal scenarios and seeds.</summary>
    public string DeterministicJson() => (this with { WallSeconds = 0 }).ToJson();

    internal static SimulationResult From(Simulator sim, IReadOnlyList<LaneStats> lanes, TimeSpan wall, long events)
    {
        var topo = sim.Topology;
        var siteNames = topo.Sites.Select(s => s.Id.Value).Append("core").ToList();
        var strategies = lanes.Select(l =>
        {
            var perSite = new Dictionary<string, int[]>();
            for (var s = 0; s < l.SiteSlots; s++)
            {
                perSite[siteNames[s]] = l.PvmsPerSite.Select(row => row[s]).ToArray();
            }

            return new StrategyResult(
                l.Name,
                l.Rtt.Quantile(0.50) * 1000,
                l.Rtt.Quantile(0.95) * 1000,
                l.Rtt.Quantile(0.99) * 1000,
                l.Rtt.Count > 0 ? l.Rtt.Sum / l.Rtt.Count * 1000 : double.NaN,
                l.ProbesSent,
                l.ProbesLost,
                Enum.GetValues<LossCause>().Where(c => c != LossCause.None).ToDictionary(c => c.ToString(), c => l.Lost[(int)c]),
                l.MigrationsStarted,
                l.MigrationsCompletedCount,
                l.MigrationsFailed,
                l.MigrationsCancelled,
                l.MigrationsRefused,
                LaneStats.Percentile(l.MigrationTimes, 0.50),
                LaneStats.Percentile(l.MigrationTimes, 0.95),
                LaneStats.Percentile(l.Downtimes, 0.50) * 1000,
                LaneStats.Percentile(l.Downtimes, 0.95) * 1000,
                l.BytesMoved / 1e9,
                l.PvmsCreated,
                l.PvmsResumed,
                l.PvmsSuspended,
                l.SteeringInstalls,
                l.InvariantViolations,
                l.ViolationMessages,
                l.Rtt.Cdf().Select(p => new[] { p.RttMs, p.Fraction }).ToList(),
                perSite);
        }).ToList();
        var ran = sim.Ran;
        return new SimulationResult(
            sim.Scenario.Name,
            sim.Scenario.Seed,
            sim.Scenario.Duration.TotalSeconds,
            sim.UeIds.Length,
            topo.Enbs.Count,
            topo.Sites.Count,
            ReportName(topo.Transport.Kind),
            new RanSummary(ran.Attaches, ran.Detaches, ran.Releases, ran.ServiceRequests, ran.X2, ran.S1, ran.Cancelled, ran.InterSite, ran.ConnectedSeconds / 3600, ran.HandoversPerUeHour),
            lanes.Select(l => LaneOf(l, sim.Topology, sim.Scenario)).ToList(),
            strategies,
            [.. ran.SampleTimes],
            siteNames,
            Track(sim, lanes),
            wall.TotalSeconds,
            events)
        {
            WarmupSeconds = sim.Scenario.Warmup.TotalSeconds,
        };
    }

    private static string ReportName(Topology.BackhaulKind kind) => kind.ToString().ToLowerInvariant();

    private static LaneResult LaneOf(LaneStats l, Topology.NetworkTopology topo, ScenarioConfig scenario)
    {
        var links = Enumerable.Range(0, l.LinkSamples.Length)
            .Select(i => (Index: i, Mean: l.LinkSamples[i].Count > 0 ? l.LinkSamples[i].Average(v => (double)v) : 0))
            .OrderByDescending(x => x.Mean).ThenBy(x => x.Index).Take(5).ToList();
        var busiest = links.Select(x => new LinkUtilisation(topo.Transport.LinkName(x.Index), x.Mean, LaneStats.Percentile(l.LinkSamples[x.Index], 0.50), LaneStats.Percentile(l.LinkSamples[x.Index], 0.95))).ToList();
        var pooled = links.SelectMany(x => l.LinkSamples[x.Index]).ToList();
        var probeHours = scenario.Probes.Interval.TotalHours;
        return new LaneResult(
            l.Name,
            Name(l.Kind),
            l.Policy,
            new RttSummary(l.Rtt.Quantile(0.50) * 1000, l.Rtt.Quantile(0.95) * 1000, l.Rtt.Quantile(0.99) * 1000, l.Rtt.Count > 0 ? l.Rtt.Sum / l.Rtt.Count * 1000 : double.NaN),
            l.ProbesSent,
            l.ProbesLost,
            new MigrationCounts(l.MigrationsStarted, l.MigrationsCompletedCount, l.MigrationsCancelled, l.MigrationsFailed, l.MigrationsInFlight, l.MigrationsRefused, l.MigrationsQueued, l.QueuedDropped, l.MaxConcurrentOnLink),
            l.BytesOnWire,
            new BytesByOutcome(l.BytesCompleted, l.BytesCancelled, l.BytesFailed, l.BytesInFlight)
            {
                CompletedResent = l.BytesResentCompleted,
                CompletedNeverMet = l.MovesNeverMet,
                CompletedUnmetAtEnd = l.MovesUnmetAtEnd,
                CompletedByTarget = [.. l.CompletedByTarget],
                NeverMetByTarget = [.. l.NeverMetByTarget],
                CompletedByRounds = TrimmedRounds(l.RoundsOfCompleted),
            },
            new UtilisationSummary(LaneStats.Percentile(pooled, 0.50), LaneStats.Percentile(pooled, 0.95), busiest),
            new AwaySummary(l.PvmProbeSamples > 0 ? l.PvmAwaySamples / (double)l.PvmProbeSamples : double.NaN, l.PvmAwaySamples * probeHours)
            {
                ByCause = AwayByCause.Of(l.PvmAwayByCause, l.PvmProbeSamples),
            },
            Cost(l.Slots, scenario.Report),
            l.InvariantViolations);
    }

    // The histogram up to its last non-empty bin (JSON stays short: most migrations take 2-3 rounds).
    private static long[] TrimmedRounds(long[] rounds)
    {
        var last = Array.FindLastIndex(rounds, n => n > 0);
        return rounds[..(last + 1)];
    }

    /// <summary>Wang et al.'s cost over the slots: R = 1.5 x the largest Q, each slot at its own Q/R.</summary>
    internal static CostSummary Cost(IReadOnlyList<CostSlot> slots, ReportConfig report)
    {
        var model = new WangCostModel(report.CostMu);
        var maxQ = slots.Count > 0 ? slots.Max(s => s.Users) : 0;
        double migration = 0, transmission = 0, floor = 0;
        long ueSlots = 0;
        foreach (var slot in slots)
        {
            var load = WangCostModel.LoadRatio(slot.Users, maxQ);
            for (var r = 1; r <= CostSlot.MaxRings; r++)
            {
                migration += slot.X[r] * model.MigrationCost(r, load);
                transmission += slot.Y[r] * model.TransmissionCost(r, load);
                floor += slot.Floor[r] * model.TransmissionCost(r, load);
            }

            ueSlots += slot.Users;
        }

        return ueSlots == 0
            ? new CostSummary(double.NaN, double.NaN, double.NaN, 0, slots.Count, maxQ, model.Mu, report.CostSlot.TotalSeconds)
            : new CostSummary((migration + transmission) / ueSlots, migration / ueSlots, transmission / ueSlots, ueSlots, slots.Count, maxQ, model.Mu, report.CostSlot.TotalSeconds) { FloorPerUeSlot = floor / ueSlots };
    }

    private static ProbedUe? Track(Simulator sim, IReadOnlyList<LaneStats> lanes)
    {
        var tracker = sim.Tracker;
        if (tracker.Candidates == 0)
        {
            return null;
        }

        var ue = sim.Scenario.Report.TrackUe;
        if (ue < 0 || ue >= tracker.Candidates)
        {
            // The candidate with the most inter-site handovers shows migrations best.
            ue = Enumerable.Range(0, tracker.Candidates)
                .OrderByDescending(i => tracker.Handovers[i].Count(h => h.Kind.EndsWith("inter-site", StringComparison.Ordinal)))
                .ThenByDescending(i => tracker.Handovers[i].Count)
                .ThenBy(i => i)
                .First();
        }

        var laneResults = lanes.Select((l, i) => new TrackedLane(
            l.Name,
            tracker.SeriesOf(ue, i).Select(p => p.T).ToArray(),
            tracker.SeriesOf(ue, i).Select(p => p.RttMs).ToArray(),
            tracker.WindowsOf(ue, i).Select(w => new[] { w.Start, w.Pause, w.End }).ToArray())).ToList();
        return new ProbedUe(sim.UeIds[ue].Value, tracker.Handovers[ue].Select(h => h.T).ToArray(), tracker.Handovers[ue].Select(h => h.Kind).ToArray(), laneResults);
    }
}
