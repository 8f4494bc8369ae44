using System.Text.Json;
using System.Text.Json.Serialization;
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

public sealed record TrackedUe(string Ue, float[] HandoverTimes, string[] HandoverKinds, IReadOnlyList<TrackedLane> Lanes);

/// <summary>A run's results: what the demo prints, plots and writes as JSON.</summary>
public sealed record SimulationResult(
    string Scenario,
    ulong Seed,
    double DurationSeconds,
    int Ues,
    int Enbs,
    int Sites,
    RanSummary Ran,
    IReadOnlyList<StrategyResult> Strategies,
    float[] SampleTimes,
    IReadOnlyList<string> SiteNames,
    TrackedUe? Tracked,
    double WallSeconds,
    long EventsProcessed)
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public StrategyResult this[StrategyKind kind] => Strategies.Single(s => s.Strategy == Name(kind));

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
                Name(l.Kind),
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
            new RanSummary(ran.Attaches, ran.Detaches, ran.Releases, ran.ServiceRequests, ran.X2, ran.S1, ran.Cancelled, ran.InterSite, ran.ConnectedSeconds / 3600, ran.HandoversPerUeHour),
            strategies,
            [.. ran.SampleTimes],
            siteNames,
            Track(sim, lanes),
            wall.TotalSeconds,
            events);
    }

    private static TrackedUe? Track(Simulator sim, IReadOnlyList<LaneStats> lanes)
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
            Name(l.Kind),
            tracker.SeriesOf(ue, i).Select(p => p.T).ToArray(),
            tracker.SeriesOf(ue, i).Select(p => p.RttMs).ToArray(),
            tracker.WindowsOf(ue, i).Select(w => new[] { w.Start, w.Pause, w.End }).ToArray())).ToList();
        return new TrackedUe(sim.UeIds[ue].Value, tracker.Handovers[ue].Select(h => h.T).ToArray(), tracker.Handovers[ue].Select(h => h.Kind).ToArray(), laneResults);
    }
}
