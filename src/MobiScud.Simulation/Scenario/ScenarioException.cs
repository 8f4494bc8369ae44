namespace MobiScud.Simulation.Scenario;

/// <summary>A scenario (or a file it points to) is wrong; the message names the field or file, and the line when known.</summary>
public sealed class ScenarioException : Exception
{
    public ScenarioException(string message, int? line = null, string? field = null)
        : base(message)
    {
        Line = line;
        Field = field;
    }

    public int? Line { get; }

    public string? Field { get; }
}

/// <summary>Checks values that YAML parsing alone cannot (ranges, required companions).</summary>
internal static class ScenarioValidator
{
    public static void Validate(ScenarioConfig s)
    {
        Require(s.Duration > TimeSpan.Zero, "duration", "must be positive");
        Require(s.Warmup >= TimeSpan.Zero, "warmup", "must be >= 0");
        Require(
            s.Mobility.Model is not (MobilityKind.Trace or MobilityKind.Cabspotting) || s.Warmup <= s.Mobility.TraceStart,
            "warmup",
            $"is longer than mobility.traceStart ({s.Warmup.TotalSeconds:0.###} s > {s.Mobility.TraceStart.TotalSeconds:0.###} s): the replay would start before the trace does");
        Require(s.Strategies.Count > 0, "strategies", "needs at least one strategy");
        Require(s.Strategies.Distinct().Count() == s.Strategies.Count, "strategies", "lists a strategy twice");
        Require(s.Ues >= 1, "ues", "must be at least 1");
        Require(s.Topology.CellsCsv is not null || s.Topology.Enbs >= 1, "topology.enbs", "must be at least 1");
        Require(s.Topology.InterSiteDistance > 0, "topology.interSiteDistance", "must be positive");
        Require(s.Topology.Sites >= 1, "topology.sites", "must be at least 1");
        Require(s.Topology.Links.InterSiteGbps > 0, "topology.links.interSiteGbps", "must be positive");
        Require(s.Topology.Links.AggregationGbps > 0, "topology.links.aggregationGbps", "must be positive");
        Require(s.Topology.Links.CoreGbps > 0, "topology.links.coreGbps", "must be positive");
        Require(s.Topology.Links.UeMbps >= 0, "topology.links.ueMbps", "must be >= 0");
        Require(s.Topology.AggregationSites >= 0, "topology.aggregationSites", "must be >= 0");
        Require(s.Topology.Backhaul != Topology.BackhaulKind.File || !string.IsNullOrEmpty(s.Topology.BackhaulFile), "topology.backhaulFile", "is required with backhaul: file");
        Require(s.Topology.BackhaulFile is null || s.Topology.Backhaul == Topology.BackhaulKind.File, "topology.backhaul", "must be 'file' when backhaulFile is set");
        Require(s.Topology.TowersCsv is null || s.Topology.CellsCsv is null, "topology.towersCsv", "and cellsCsv are alternatives: set one");
        Require(s.Topology.SitesCsv is null || s.Topology.Backhaul != Topology.BackhaulKind.File, "topology.sitesCsv", "cannot be combined with a backhaul file (its edge nodes are the sites)");
        foreach (var (name, i) in s.Policies.Select((n, i) => (n, i)))
        {
            Require(IsPolicy(name), $"policies[{i}]", $"'{name}' is not a policy: always, never, myopic, hysteresis, mdp-threshold or predictive");
        }

        Require(s.Policies.Distinct(StringComparer.OrdinalIgnoreCase).Count() == s.Policies.Count, "policies", "lists a policy twice");
        Require(s.Policies.Count == 0 || s.Strategies.Contains(StrategyKind.MobiScud), "policies", "needs the mobiscud strategy (each policy is a mobiscud lane)");
        Require(IsPolicy(s.Control.Policy.Kind), "control.policy.kind", $"'{s.Control.Policy.Kind}' is not a policy: always, never, myopic, hysteresis, mdp-threshold or predictive");
        Require(s.Control.SiteCapacity >= 0, "control.siteCapacity", "must be >= 0");
        Require(s.Control.Scheduler.MaxConcurrentPerLink >= 0, "control.scheduler.maxConcurrentPerLink", "must be >= 0");
        Require(s.Control.Scheduler.MigrationShare is >= 0 and <= 1, "control.scheduler.migrationShare", "must be in [0, 1]");
        Require(s.Control.Scheduler.MigrationGbps > 0, "control.scheduler.migrationGbps", "must be positive");
        try
        {
            _ = s.Control.Policy.ToPolicyConfig(Control.Policies.PolicyKind.Always, s.Report);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new ScenarioException($"control.policy.{char.ToLowerInvariant(ex.ParamName![0])}{ex.ParamName[1..]} {ex.Message.Split(" (Parameter")[0]}", null, $"control.policy.{char.ToLowerInvariant(ex.ParamName[0])}{ex.ParamName[1..]}");
        }

        Require(s.Report.CostSlot > TimeSpan.Zero, "report.costSlot", "must be positive");
        Require(s.Report.CostMu is > 0 and < 1, "report.costMu", "must be in (0, 1)");
        Require(s.Mobility.SpeedMin > 0 && s.Mobility.SpeedMax >= s.Mobility.SpeedMin, "mobility.speedMin", "needs 0 < speedMin <= speedMax");
        Require(s.Mobility.Model is not (MobilityKind.Trace or MobilityKind.Cabspotting) || !string.IsNullOrEmpty(s.Mobility.TracePath), "mobility.tracePath", "is required for trace and cabspotting mobility");
        Require(s.Handover.MeasurementPeriod > TimeSpan.Zero, "handover.measurementPeriod", "must be positive");
        Require(s.Handover.A3OffsetDb >= 0, "handover.a3OffsetDb", "must be >= 0");
        Require(s.Handover.CancelProbability is >= 0 and <= 1, "handover.cancelProbability", "must be in [0, 1]");
        Require(s.Pvm.MigrationFailureProbability is >= 0 and <= 1, "pvm.migrationFailureProbability", "must be in [0, 1]");
        Require(s.Pvm.MemoryMiB > 0, "pvm.memoryMiB", "must be positive");
        Require(s.Pvm.MaxRounds >= 1, "pvm.maxRounds", "must be at least 1");
        Require(s.Pvm.MaxBandwidthMiBps > 0, "pvm.maxBandwidthMiBps", "must be positive");
        Require(s.Session.ActiveMean == TimeSpan.Zero || s.Session.IdleMean > TimeSpan.Zero, "session.idleMean", "must be positive when activeMean is set");
        Require(s.Probes.Interval > TimeSpan.Zero, "probes.interval", "must be positive");
        Require(s.Report.SampleInterval > TimeSpan.Zero, "report.sampleInterval", "must be positive");
    }

    private static bool IsPolicy(string name)
    {
        try
        {
            _ = Control.Policies.PolicyConfig.Parse(name);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void Require(bool ok, string field, string message)
    {
        if (!ok)
        {
            throw new ScenarioException($"{field} {message}", null, field);
        }
    }
}
