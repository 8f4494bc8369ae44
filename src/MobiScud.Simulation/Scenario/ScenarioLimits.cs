using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace MobiScud.Simulation.Scenario;

/// <summary>
/// Bounds checked before anything is allocated: a scenario file must not be able to exhaust the machine (a billion UEs
/// thrown as an OutOfMemoryException, a hundred million eNBs taking minutes and gigabytes before failing, nesting that
/// overflows the stack, a duration of 1e308 hours that never ends). Each error names the field and the limit.
/// </summary>
internal static class ScenarioLimits
{
    public const int MaxUes = 1_000_000;
    public const int MaxEnbs = 100_000;
    public const int MaxSites = 10_000;
    public const int MaxDepth = 64;
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(30);

    /// <summary>Rough live memory per simulated UE and strategy (mobility, session, MC state, probes, report samples).</summary>
    public const long BytesPerUePerStrategy = 16 * 1024;

    /// <summary>Rough memory per eNB (position, neighbours, site link, per-strategy counters).</summary>
    public const long BytesPerEnb = 4 * 1024;

    /// <summary>Rejects YAML nested deeper than <see cref="MaxDepth"/>, with the streaming parser (building the tree would overflow the stack first).</summary>
    public static void CheckDepth(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                if (parser.Current is MappingStart or SequenceStart)
                {
                    if (++depth > MaxDepth)
                    {
                        var line = (int)parser.Current.Start.Line;
                        throw new ScenarioException($"line {line}: YAML nested deeper than {MaxDepth} levels", line);
                    }
                }
                else if (parser.Current is MappingEnd or SequenceEnd)
                {
                    depth--;
                }
            }
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            // Not valid YAML: the loader reports it with its line.
        }
    }

    /// <summary>Checks sizes and the memory they need against this machine, before the simulation allocates anything.</summary>
    public static void Check(ScenarioConfig s) => Check(s, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    public static void Check(ScenarioConfig s, long availableBytes)
    {
        Limit(s.Ues <= MaxUes, "ues", $"is {s.Ues:N0}; at most {MaxUes:N0}");
        Limit(s.Topology.CellsCsv is not null || s.Topology.Enbs <= MaxEnbs, "topology.enbs", $"is {s.Topology.Enbs:N0}; at most {MaxEnbs:N0}");
        Limit(s.Topology.Sites <= MaxSites, "topology.sites", $"is {s.Topology.Sites:N0}; at most {MaxSites:N0}");
        Limit(s.Duration <= MaxDuration, "duration", $"is {Describe(s.Duration)}; at most {MaxDuration.TotalDays:0} days of simulated time");
        Limit(s.Warmup <= MaxDuration - s.Duration, "warmup", $"is {Describe(s.Warmup)}; warmup + duration at most {MaxDuration.TotalDays:0} days of simulated time");
        var strategies = Math.Max(1, s.Strategies.Count);
        var enbs = s.Topology.CellsCsv is null ? s.Topology.Enbs : 0;
        var needed = (long)s.Ues * strategies * BytesPerUePerStrategy + (long)enbs * BytesPerEnb;
        var usable = availableBytes / 4 * 3;
        Limit(needed <= usable, "ues", $"needs about {Gb(needed)} of memory ({s.Ues:N0} UEs x {strategies} strategies, {enbs:N0} eNBs); this machine has {Gb(usable)} usable");
    }

    private static string Gb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.#} GB");

    private static string Describe(TimeSpan t) => t == TimeSpan.MaxValue ? "beyond any calendar" : string.Create(CultureInfo.InvariantCulture, $"{t.TotalDays:0.#} days");

    private static void Limit(bool ok, string field, string message)
    {
        if (!ok)
        {
            throw new ScenarioException($"{field} {message}", null, field);
        }
    }
}
