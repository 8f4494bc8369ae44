using System.Net;
using BenchmarkDotNet.Attributes;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Bench;

/// <summary>
/// What a migration policy adds to one decision: an inter-site handover of a UE whose PVM runs at the source, on a
/// ring of 64 edge sites (4 eNBs each) with the core off site 0, with mobility learned from 20,000 handovers.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    private McConfig _config = null!;
    private PolicyFacts _facts = null!;
    private UeState _state = null!;
    private PathSwitched _handover = null!;

    [Params(PolicyKind.Always, PolicyKind.Never, PolicyKind.Myopic, PolicyKind.Hysteresis, PolicyKind.MdpThreshold, PolicyKind.Predictive)]
    public PolicyKind Policy { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const int sites = 64;
        var siteIds = Enumerable.Range(0, sites).Select(i => new SiteId($"edge-{i}")).ToList();
        var core = new SiteId("core");
        var links = Enumerable.Range(0, sites).Select(i => new SiteLink(siteIds[i], siteIds[(i + 1) % sites])).Append(new SiteLink(siteIds[0], core, 2));
        var siteOfEnb = new Dictionary<EnbId, SiteId>();
        for (var i = 0; i < sites * 4; i++)
        {
            siteOfEnb[new EnbId((uint)i)] = siteIds[i / 4];
        }

        _config = new McConfig(siteOfEnb, core) { Policy = new PolicyConfig { Kind = Policy }, Sites = SiteGraph.FromLinks(siteIds.Append(core), links) };
        var stats = MobilityStats.Empty;
        var random = new Random(1);
        for (var i = 0; i < 20_000; i++)
        {
            var from = random.Next(sites * 4);
            var to = (from + random.Next(1, 8)) % (sites * 4);
            stats = MobilityStats.Observe(stats, new HandoverObservation(TimeSpan.FromSeconds(i * 3), new EnbId((uint)from), new EnbId((uint)to), TimeSpan.FromSeconds(random.Next(5, 600))));
        }

        _facts = new PolicyFacts { Mobility = stats, SiteOccupancy = siteIds.ToDictionary(s => s, _ => 10) };
        var ue = new UeId("imsi-1");
        var bearer = new Bearer(5, new GtpEndpoint(IPAddress.Parse("10.0.0.1"), 1), new GtpEndpoint(IPAddress.Parse("10.0.1.1"), 2));
        var s = MobiScudControl.Decide(_config, null, new UeAttached(TimeSpan.FromSeconds(1), ue, null, IPAddress.Parse("10.45.0.2"), new EnbId(0), null, [bearer]), _facts).State!;
        _state = MobiScudControl.Decide(_config, s, new PvmStarted(TimeSpan.FromSeconds(2), ue, PvmId.For(ue), siteIds[0], IPAddress.Parse("192.168.0.2")), _facts).State!;
        _handover = new PathSwitched(TimeSpan.FromSeconds(100), ue, new EnbId(9), [new BearerDownlink(5, new GtpEndpoint(IPAddress.Parse("10.0.1.9"), 3))]);
    }

    [Benchmark]
    public int InterSiteHandover() => MobiScudControl.Decide(_config, _state, _handover, _facts).Commands.Count;
}

/// <summary>Solving Wang et al.'s MDP (20 distances) by value iteration, uncached.</summary>
[ShortRunJob]
[MemoryDiagnoser]
public class MdpSolveBenchmarks
{
    [Benchmark]
    public int Solve() => MdpThresholdSolver.Solve(WangCostModel.Default, 20, 0.3, 0.3).Iterations;
}

/// <summary>One migration through the scheduler on a busy line of sites: request (queued behind 100 others) and end.</summary>
[ShortRunJob]
[MemoryDiagnoser]
public class SchedulerBenchmarks
{
    private SchedulerConfig _config = null!;
    private SchedulerState _state = null!;
    private StartMigration _move = null!;

    [GlobalSetup]
    public void Setup()
    {
        var a = new SiteId("a");
        var b = new SiteId("b");
        _config = new SchedulerConfig { Graph = SiteGraph.FromLinks([a, b], [new SiteLink(a, b)]), MaxConcurrentPerLink = 4 };
        _state = SchedulerState.Empty;
        for (var i = 0; i < 104; i++)
        {
            var ue = new UeId($"ue{i}");
            _state = MigrationScheduler.Step(_config, _state, new MigrationRequested(TimeSpan.Zero, new StartMigration(ue, new MigrationId(ue, 1), PvmId.For(ue), a, b, MigrationReason.Handover), i, TimeSpan.FromHours(1))).State;
        }

        var me = new UeId("me");
        _move = new StartMigration(me, new MigrationId(me, 1), PvmId.For(me), a, b, MigrationReason.Handover);
    }

    [Benchmark]
    public int RequestThenEnd()
    {
        var step = MigrationScheduler.Step(_config, _state, new MigrationRequested(TimeSpan.Zero, _move, 50, TimeSpan.FromHours(1)));
        var ended = MigrationScheduler.Step(_config, step.State, new MigrationEnded(TimeSpan.Zero, new MigrationId(new UeId("ue0"), 1), true));
        return ended.Grants.Count;
    }
}
