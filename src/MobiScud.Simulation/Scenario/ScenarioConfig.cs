using MobiScud.Control.Policies;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Scenario;

/// <summary>Placement strategies compared side by side (all run through the same MC with a different McConfig).</summary>
public enum StrategyKind
{
    CoreAnchored,
    StaticEdge,
    MobiScud,
}

public enum MobilityKind
{
    RandomWaypoint,
    Highway,
    Trace,
    Cabspotting,
}

/// <summary>Where edge sites go when they are not read from a file.</summary>
public enum SitePlacement
{
    /// <summary>k-means over the eNB positions (every eNB counts once).</summary>
    Enbs,

    /// <summary>k-means over the eNB positions weighted by the time UEs spend at each (sampled from the mobility model).</summary>
    Demand,
}

public enum X2Policy
{
    /// <summary>X2 between eNBs served by the same edge site, S1 across sites.</summary>
    SameSite,

    /// <summary>X2 between eNBs closer than <see cref="HandoverConfig.X2MaxDistance"/>.</summary>
    WithinDistance,
    All,
    None,
}

/// <summary>A whole simulation run. Every field is documented in docs/scenario.md; defaults are the demo's.</summary>
public sealed class ScenarioConfig
{
    public string Name { get; set; } = "default";

    public ulong Seed { get; set; } = 42;

    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Simulated before <see cref="Duration"/> and not scored: every lane runs and learns through it, the figures
    /// cover only the <see cref="Duration"/> after it. With a trace, the replay starts this much before traceStart.
    /// </summary>
    public TimeSpan Warmup { get; set; }

    public List<StrategyKind> Strategies { get; set; } = [StrategyKind.CoreAnchored, StrategyKind.StaticEdge, StrategyKind.MobiScud];

    /// <summary>Migration policies: each runs as its own lane of the mobiscud strategy (empty: one lane, control.policy.kind).</summary>
    public List<string> Policies { get; set; } = [];

    public TopologyConfig Topology { get; set; } = new();

    public int Ues { get; set; } = 100;

    public MobilityConfig Mobility { get; set; } = new();

    public SessionConfig Session { get; set; } = new();

    public HandoverConfig Handover { get; set; } = new();

    public ControlConfig Control { get; set; } = new();

    public PvmConfig Pvm { get; set; } = new();

    public ProbeConfig Probes { get; set; } = new();

    public ReportConfig Report { get; set; } = new();

    /// <summary>Directory relative paths in the file are resolved against (the scenario file's folder).</summary>
    public string BaseDirectory { get; set; } = Directory.GetCurrentDirectory();

    /// <summary>
    /// A relative path is looked up from the scenario's folder, then from each parent folder in turn, so
    /// `../data/datasets/...` works from examples/.
    /// </summary>
    public string Resolve(string path)
    {
        if (Path.IsPathRooted(path))
        {
            return path;
        }

        for (var dir = new DirectoryInfo(BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.GetFullPath(Path.Combine(dir.FullName, path));
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.GetFullPath(Path.Combine(BaseDirectory, path));
    }
}

public sealed class TopologyConfig
{
    /// <summary>eNBs on a hexagonal grid (used unless <see cref="CellsCsv"/> is set).</summary>
    public int Enbs { get; set; } = 20;

    public double InterSiteDistance { get; set; } = 500;

    /// <summary>OpenCelliD-style CSV of cells; cells are grouped into eNBs by cell >> 8 at their centroid.</summary>
    public string? CellsCsv { get; set; }

    /// <summary>A plain tower/site list (`id,lat,lon`): one eNB per row, no cell-id grouping.</summary>
    public string? TowersCsv { get; set; }

    public int Sites { get; set; } = 4;

    public SitePlacement SitePlacement { get; set; } = SitePlacement.Enbs;

    /// <summary>Edge sites read from a file (`id,lat,lon` or `id,x,y`) instead of k-means.</summary>
    public string? SitesCsv { get; set; }

    /// <summary>The transport network between edge sites and the core (docs/simulation.md).</summary>
    public BackhaulKind Backhaul { get; set; } = BackhaulKind.Mesh;

    /// <summary>Backhaul nodes and links: a YAML file, or a nodes CSV with <see cref="BackhaulLinksCsv"/>.</summary>
    public string? BackhaulFile { get; set; }

    public string? BackhaulLinksCsv { get; set; }

    /// <summary>Aggregation nodes of the tree preset (0: ceil(sqrt(sites))).</summary>
    public int AggregationSites { get; set; }

    public LinkConfig Links { get; set; } = new();
}

/// <summary>Delays are one-way. Sources and reasoning in docs/simulation.md.</summary>
public sealed class LinkConfig
{
    public TimeSpan Radio { get; set; } = TimeSpan.FromMilliseconds(5);

    public TimeSpan BackhaulFixed { get; set; } = TimeSpan.FromMilliseconds(0.5);

    public TimeSpan FibrePerKm { get; set; } = TimeSpan.FromMicroseconds(5);

    public double RouteFactor { get; set; } = 1.5;

    public TimeSpan InterSiteFixed { get; set; } = TimeSpan.FromMilliseconds(1);

    public TimeSpan Core { get; set; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan Gateway { get; set; } = TimeSpan.FromMilliseconds(0.25);

    public TimeSpan Switch { get; set; } = TimeSpan.FromMilliseconds(0.05);

    public TimeSpan PvmProcessing { get; set; } = TimeSpan.FromMilliseconds(0.2);

    public TimeSpan JitterMean { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Capacity of each edge-level backhaul link (mesh and ring links, edge -> aggregation), in Gbit/s.</summary>
    public double InterSiteGbps { get; set; } = 1;

    /// <summary>Tree: edge site -> aggregation node, fixed part (one-way).</summary>
    public TimeSpan AggregationFixed { get; set; } = TimeSpan.FromMilliseconds(0.5);

    /// <summary>Tree: aggregation node -> metro core node, fixed part (one-way).</summary>
    public TimeSpan MetroCoreFixed { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Tree: aggregation -> metro core capacity, Gbit/s.</summary>
    public double AggregationGbps { get; set; } = 10;

    /// <summary>Tree and ring: link to the core DC, Gbit/s.</summary>
    public double CoreGbps { get; set; } = 40;

    /// <summary>User-plane rate of each connected UE whose traffic crosses backhaul links (PVM away or in the core), Mbit/s.</summary>
    public double UeMbps { get; set; } = 1;
}

public sealed class MobilityConfig
{
    public MobilityKind Model { get; set; } = MobilityKind.RandomWaypoint;

    public double SpeedMin { get; set; } = 5;

    public double SpeedMax { get; set; } = 20;

    public TimeSpan PauseMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Highway length in metres (0: across the topology).</summary>
    public double RoadLength { get; set; }

    /// <summary>CSV trace (time,ue,x,y) or the Cabspotting file.</summary>
    public string? TracePath { get; set; }

    /// <summary>Offset into the trace where the scored window starts (the replay starts a warm-up earlier).</summary>
    public TimeSpan TraceStart { get; set; }
}

public sealed class SessionConfig
{
    /// <summary>UEs attach at uniform random times in [0, AttachWithin).</summary>
    public TimeSpan AttachWithin { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Mean connected period before release to idle (exponential); zero: always connected.</summary>
    public TimeSpan ActiveMean { get; set; } = TimeSpan.FromSeconds(240);

    /// <summary>Mean idle period before the next service request (exponential).</summary>
    public TimeSpan IdleMean { get; set; } = TimeSpan.FromSeconds(45);
}

public sealed class HandoverConfig
{
    public TimeSpan MeasurementPeriod { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A3 offset plus hysteresis, in dB.</summary>
    public double A3OffsetDb { get; set; } = 3;

    public TimeSpan TimeToTrigger { get; set; } = TimeSpan.FromMilliseconds(320);

    public double ShadowingStdDb { get; set; }

    public double TxPowerDbm { get; set; } = 46;

    public X2Policy X2 { get; set; } = X2Policy.SameSite;

    public double X2MaxDistance { get; set; } = 2000;

    public TimeSpan X2Duration { get; set; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan S1Duration { get; set; } = TimeSpan.FromMilliseconds(100);

    public double CancelProbability { get; set; }
}

public sealed class ControlConfig
{
    public TimeSpan IdleSuspend { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MigrationDeadline { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>PVMs each edge site can hold (0: no limit); enforced at creation and migration by the scheduler.</summary>
    public int SiteCapacity { get; set; }

    public PolicyParameters Policy { get; set; } = new();

    public SchedulerParameters Scheduler { get; set; } = new();
}

/// <summary>`control.policy` of a scenario, in the simulator's terms.</summary>
public static class ScenarioPolicy
{
    /// <summary>
    /// The core's PolicyConfig for one lane; the cost model's mu and slot are the report's (one model scores and
    /// decides), and the size of a migration predictive's admission assumes is the PVM's (memory plus a round of its
    /// writable working set).
    /// </summary>
    public static PolicyConfig ToPolicyConfig(this PolicyParameters policy, PolicyKind kind, ReportConfig report, PvmConfig? pvm = null) =>
        policy.ToPolicyConfig(
            kind,
            report.CostMu,
            report.CostSlot,
            pvm is null ? 0 : (pvm.MemoryMiB + pvm.WritableWorkingSetMiB) * 1024 * 1024,
            pvm is null ? 0 : pvm.MaxBandwidthMiBps * 1024 * 1024);
}

/// <summary>`control.scheduler`: per-link migration budgets (0: none). Any budget, or control.siteCapacity, turns the scheduler on.</summary>
public sealed class SchedulerParameters
{
    public int MaxConcurrentPerLink { get; set; }

    /// <summary>Share of each link migrations may use, each counted at <see cref="MigrationGbps"/> (0: no limit).</summary>
    public double MigrationShare { get; set; }

    public double MigrationGbps { get; set; } = 1;

    public bool HasBudgets => MaxConcurrentPerLink > 0 || MigrationShare > 0;

    public SchedulerConfig ToSchedulerConfig(SiteGraph graph)
    {
        var c = new SchedulerConfig
        {
            Graph = graph,
            MaxConcurrentPerLink = MaxConcurrentPerLink > 0 ? MaxConcurrentPerLink : null,
            MigrationShare = MigrationShare > 0 ? MigrationShare : null,
            MigrationGbps = MigrationGbps,
        };
        c.Validate();
        return c;
    }
}

public sealed class PvmConfig
{
    public double MemoryMiB { get; set; } = 256;

    public double DirtyRateMiBps { get; set; } = 8;

    public double WritableWorkingSetMiB { get; set; } = 32;

    public TimeSpan DowntimeLimit { get; set; } = TimeSpan.FromMilliseconds(300);

    public int MaxRounds { get; set; } = 30;

    public double MaxBandwidthMiBps { get; set; } = 128;

    public TimeSpan Switchover { get; set; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan CreateTime { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan ResumeTime { get; set; } = TimeSpan.FromMilliseconds(300);

    public double MigrationFailureProbability { get; set; }
}

public sealed class ProbeConfig
{
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);
}

public sealed class ReportConfig
{
    /// <summary>The UE whose RTT is plotted over time; -1 picks the one with the most handovers.</summary>
    public int TrackUe { get; set; } = -1;

    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Slot of the Wang et al. cost score (their traces use 60 s).</summary>
    public TimeSpan CostSlot { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Wang et al.'s mu: cost of distance saturates as 1 - mu^rings.</summary>
    public double CostMu { get; set; } = 0.8;
}
