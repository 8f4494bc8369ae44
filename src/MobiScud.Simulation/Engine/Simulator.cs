using System.Net;
using MobiScud.Cloud.Simulated;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Simulation.Mobility;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Engine;

/// <summary>
/// The discrete-event simulator. One simulated RAN (mobility, A3/TTT handovers, attach/idle/service request)
/// drives every strategy lane with identical events at identical virtual times; each lane runs the real MC.
/// Measurement, probing and sampling are global ticks that sweep all UEs, so the future-event list holds
/// only per-UE control-plane events. The RAN runs alone up to the next probe, sample or cost-slot tick, posting its
/// events to every lane; then the lanes, which share nothing but the (now paused) RAN, catch up in parallel, each
/// with its own event queue, and take the tick. A lane's results do not depend on the others or on the threads.
/// </summary>
public sealed partial class Simulator
{
    private const byte DefaultERab = 5;

    private readonly EventQueue _queue = new();
    private readonly StrategyLane[] _lanes;

    // The lanes in the order the parallel catch-up hands them to workers (ForEachLane).
    private readonly StrategyLane[] _byWork;
    private readonly IMobilityModel _mobility;
    private readonly RanUe[] _ran;
    private readonly IPAddress[] _enbAddress;
    private readonly uint[] _nextTeid;
    private readonly double _a3DistanceRatioSquared;
    private readonly double _shadowing;
    private readonly double[] _safeRadiusSq;
    private readonly double _maxSpeed;
    private readonly IPAddress _sgw = IPAddress.Parse("10.255.0.1");
    private int _attachedCount;

    // Lanes on worker threads fed by the RAN (Parallel, no observer), else null: lanes catch up at each tick.
    private LanePipeline? _pipeline;
    private RanSnapshot? _syncSnapshot;
    private SimRandom _ranRng;
    private long _probeIndex;

    public Simulator(ScenarioConfig scenario, NetworkTopology? topology = null, IMobilityModel? mobilityModel = null)
    {
        ScenarioValidator.Validate(scenario);
        Scenario = scenario;
        Topology = topology ?? NetworkTopology.Build(scenario);
        _mobility = mobilityModel ?? MobilityFactory.Create(scenario, Topology);
        if (topology is null && scenario.Topology.SitePlacement == SitePlacement.Demand && scenario.Topology.SitesCsv is null && scenario.Topology.Backhaul != BackhaulKind.File)
        {
            // Sites where UEs spend their time: sample a fresh copy of the mobility model (same seed, same paths).
            var demand = Demand.PerEnb(scenario, Topology, MobilityFactory.Create(scenario, Topology));
            Topology = NetworkTopology.Build(scenario, demand);
            _mobility = mobilityModel ?? MobilityFactory.Create(scenario, Topology);
        }

        var ues = _mobility.UeCount;
        UeIds = Enumerable.Range(0, ues).Select(i => new UeId($"ue-{_mobility.Label(i)}")).ToArray();
        UeIndex = UeIds.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        _ran = new RanUe[ues];
        _ranRng = new SimRandom(scenario.Seed, 0xA11);
        _enbAddress = Topology.Enbs.Select(e => new IPAddress(new byte[] { 10, 1, (byte)(e.Index / 256), (byte)(e.Index % 256) })).ToArray();
        _nextTeid = new uint[Topology.Enbs.Count];
        // A3 with the log-distance model: 37.6 log10(d_s/d_t) > offset  <=>  (d_s/d_t)^2 > 10^(2 offset / 37.6).
        _a3DistanceRatioSquared = Math.Pow(10, 2 * scenario.Handover.A3OffsetDb / 37.6);
        _shadowing = scenario.Handover.ShadowingStdDb;

        // Any other eNB e is at least NN(s) - d_s away (triangle inequality), and A3 needs it closer than d_s / k
        // with k = 10^(offset/37.6). So while d_s <= NN(s) / (1 + 1/k) no handover can trigger. Shadowing breaks
        // the distance ordering, so then every measurement searches.
        var k = Math.Sqrt(_a3DistanceRatioSquared);
        _maxSpeed = Math.Max(1e-3, _mobility.MaxSpeed);
        _safeRadiusSq = new double[Topology.Enbs.Count];
        if (_shadowing <= 0 && Topology.Enbs.Count > 1)
        {
            foreach (var e in Topology.Enbs)
            {
                var nn = Topology.Enbs.Where(o => o.Index != e.Index).Min(o => NetworkTopology.Distance(o.X, o.Y, e.X, e.Y));
                var safe = nn / (1 + (1 / k)) * 0.999;
                _safeRadiusSq[e.Index] = Math.Max(0, (safe * safe) - 1);
            }
        }
        var links = Topology.Links;
        RadioSeconds = links.Radio.TotalSeconds;
        SwitchSeconds = links.Switch.TotalSeconds;
        PvmSeconds = links.PvmProcessing.TotalSeconds;
        GatewaySeconds = links.Gateway.TotalSeconds;
        SiteGraph = BuildSiteGraph(Topology, scenario.Control.SiteCapacity);
        Cells = Topology.ToCellGeometry();
        LaneSpecs = LanesOf(scenario);
        _lanes = LaneSpecs.Select((spec, i) => new StrategyLane(this, i, spec, scenario, Topology, ues)).ToArray();
        _byWork = [.. _lanes];
        Tracker = new UeProbeSeries(Math.Min(ues, 64), _lanes.Length, MeasuredFrom);
        Ran = new RanStats();
    }

    public ScenarioConfig Scenario { get; }

    /// <summary>Watches the run as it goes (live dashboard); null: the run goes as fast as it can, unobserved.</summary>
    public ISimulationObserver? Observer { get; init; }

    /// <summary>What an observer reads at <see cref="ISimulationObserver.Sampled"/>.</summary>
    public LiveView Live => _live ??= new LiveView(this);

    private LiveView? _live;

    internal LiveUe LiveUe(int ue)
    {
        ref readonly var r = ref _ran[ue];
        return new LiveUe(r.Attached, r.Connected, r.Enb, r.X, r.Y);
    }

    public NetworkTopology Topology { get; }

    public UeId[] UeIds { get; }

    internal IReadOnlyDictionary<UeId, int> UeIndex { get; }

    /// <summary>The backhaul as the core's policies and scheduler see it (every node a site, link i = backhaul link i).</summary>
    public SiteGraph SiteGraph { get; }

    /// <summary>The cells and sites as the policies see them: the ring distances the cost score charges.</summary>
    public CellGeometry Cells { get; }

    public IReadOnlyList<LaneSpec> LaneSpecs { get; }

    /// <summary>Run the lanes on several threads between ticks (results are the same either way).</summary>
    public bool Parallel { get; init; } = true;

    /// <summary>The lanes a scenario asks for: each strategy once, mobiscud once per policy when policies are listed.</summary>
    public static IReadOnlyList<LaneSpec> LanesOf(ScenarioConfig scenario)
    {
        var result = new List<LaneSpec>();
        foreach (var kind in scenario.Strategies)
        {
            if (kind == StrategyKind.MobiScud && scenario.Policies.Count > 0)
            {
                foreach (var name in scenario.Policies)
                {
                    var policy = PolicyConfig.Parse(name);
                    result.Add(new LaneSpec(kind, policy, $"mobiscud/{PolicyConfig.NameOf(policy)}"));
                }
            }
            else
            {
                result.Add(new LaneSpec(kind, kind == StrategyKind.MobiScud ? PolicyConfig.Parse(scenario.Control.Policy.Kind) : null, SimulationResult.Name(kind)));
            }
        }

        return result;
    }

    private static SiteGraph BuildSiteGraph(NetworkTopology topology, int siteCapacity)
    {
        var t = topology.Transport;
        var perKm = topology.Links.FibrePerKm.TotalSeconds;
        var ids = t.Nodes.Select(n => new SiteId(n.Id)).ToList();
        var links = t.Links.Select(l => new SiteLink(ids[l.A], ids[l.B], l.Delay(perKm) * 1000, l.Gbps)).ToList();
        var capacities = siteCapacity > 0 ? topology.Sites.ToDictionary(s => s.Id, _ => siteCapacity) : null;
        return SiteGraph.FromLinks(ids, links, capacities);
    }

    public TimeSpan Now => _queue.Now;

    /// <summary>
    /// Where the scored window starts (the end of the warm-up): every figure counts what happens from here on, a
    /// migration by its start time. Before it the lanes run and learn as usual, unscored.
    /// </summary>
    public TimeSpan MeasuredFrom => Scenario.Warmup;

    /// <summary>The end of the run: the warm-up, then the scored duration.</summary>
    public TimeSpan End => Scenario.Warmup + Scenario.Duration;

    public UeProbeSeries Tracker { get; }

    internal IReadOnlyList<StrategyLane> Lanes => _lanes;

    /// <summary>Per lane, what delivering events to its MC allocated (profiling).</summary>
    public IEnumerable<(string Name, LaneAllocations Allocated)> LaneAllocations => _lanes.Select(l => (l.Spec.Name, l.Allocated));

    public RanStats Ran { get; private set; }

    /// <summary>Wall time per phase of the run (profiling; not part of the results).</summary>
    public SimPhaseTimes Phases { get; } = new();

    internal double RadioSeconds { get; }

    internal double SwitchSeconds { get; }

    internal double PvmSeconds { get; }

    internal double GatewaySeconds { get; }

    /// <summary>Runs to the end of the scenario; progress gets the fraction of virtual time done.</summary>
    public SimulationResult Run(IProgress<double>? progress = null, CancellationToken cancel = default)
    {
        var wall = TimeProvider.System.GetTimestamp();
        var end = End;
        var measuring = MeasuredFrom == TimeSpan.Zero;
        for (var ue = 0; ue < _ran.Length; ue++)
        {
            var (from, to) = _mobility.Presence(ue);
            var jitter = _mobility is TraceMobility ? TimeSpan.Zero : TimeSpan.FromSeconds(_ranRng.NextDouble() * Scenario.Session.AttachWithin.TotalSeconds);
            var attachAt = from + jitter;
            if (attachAt < end)
            {
                _queue.Schedule(attachAt, new SimEvent(SimEventKind.UeAttach, ue, 0, 0, null));
                if (to < end)
                {
                    _queue.Schedule(to, new SimEvent(SimEventKind.UeDetach, ue, 0, 0, null));
                }
            }
        }

        _queue.Schedule(TimeSpan.Zero, new SimEvent(SimEventKind.MeasurementTick, 0, 0, 0, null));
        _queue.Schedule(Scenario.Probes.Interval, new SimEvent(SimEventKind.ProbeTick, 0, 0, 0, null));
        _queue.Schedule(TimeSpan.Zero, new SimEvent(SimEventKind.SampleTick, 0, 0, 0, null));
        _queue.Schedule(Scenario.Report.CostSlot, new SimEvent(SimEventKind.SlotTick, 0, 0, 0, null));
        var nextProgress = TimeSpan.Zero;
        var progressStep = TimeSpan.FromTicks(Math.Max(1, end.Ticks / 200));

        // An observer reads the lanes at every sample and paces the RAN: it gets the lanes caught up at every tick.
        using var pipeline = Parallel && Observer is null ? new LanePipeline(_lanes, _ran.Length, RunLaneWork) : null;
        _pipeline = pipeline;
        while (_queue.TryNext(end, out var e))
        {
            if (!measuring && _queue.Now >= MeasuredFrom)
            {
                // The scored window starts: what the RAN did in the warm-up is not reported.
                Ran = new RanStats();
                measuring = true;
            }

            Observer?.Pace(_queue.Now);
            Dispatch(e);
            if (_queue.Now >= nextProgress)
            {
                cancel.ThrowIfCancellationRequested();
                progress?.Report(_queue.Now.Ticks / (double)end.Ticks);
                nextProgress = _queue.Now + progressStep;
            }
        }

        if (pipeline is not null)
        {
            var last = pipeline.Snapshot();
            pipeline.Hand(LaneTick.Finish, end, last);
            Phases.Time(SimPhase.Lanes, pipeline, static p => p.Join());
        }
        else
        {
            Phases.Time(SimPhase.Lanes, this, static s => s.ForEachLane(l =>
            {
                l.RunUntil(s.End);
                l.Finish();
                l.CheckAll();
            }));
        }

        _pipeline = null;
        Phases.Total = TimeProvider.System.GetElapsedTime(wall);
        progress?.Report(1);
        return SimulationResult.From(this, _lanes.Select(l => l.Stats).ToList(), TimeProvider.System.GetElapsedTime(wall), _queue.Processed + _lanes.Sum(l => l.EventsProcessed));
    }

    private void Dispatch(in SimEvent e)
    {
        switch (e.Kind)
        {
            case SimEventKind.MeasurementTick:
                Phases.Time(SimPhase.Measure, this, static s => s.Measure());
                _queue.Schedule(Now + Scenario.Handover.MeasurementPeriod, e);
                break;
            case SimEventKind.ProbeTick:
                LaneTickNow(LaneTick.Probe);
                _queue.Schedule(Now + Scenario.Probes.Interval, e);
                break;
            case SimEventKind.SampleTick:
                LaneTickNow(LaneTick.Sample);
                Observer?.Sampled(this);
                _queue.Schedule(Now + Scenario.Report.SampleInterval, e);
                break;
            case SimEventKind.SlotTick:
                LaneTickNow(LaneTick.Slot);
                _queue.Schedule(Now + Scenario.Report.CostSlot, e);
                break;
            case SimEventKind.UeAttach:
                Attach(e.Ue);
                break;
            case SimEventKind.UeIdle:
                Idle(e.Ue, e.Arg);
                break;
            case SimEventKind.UeServiceRequest:
                ServiceRequest(e.Ue, e.Arg);
                break;
            case SimEventKind.UeDetach:
                Detach(e.Ue);
                break;
            case SimEventKind.HandoverExecute:
                ExecuteHandover(e.Ue, e.Arg);
                break;
        }
    }

    private void DeliverAll(int ue, UeEvent e)
    {
        Observer?.Signal(e);
        foreach (var lane in _lanes)
        {
            lane.Post(Now, ue, e);
        }
    }

    private Bearer NewBearer(int ue, int enb) =>
        new(DefaultERab, new GtpEndpoint(_sgw, 0x10000u + (uint)ue), new GtpEndpoint(_enbAddress[enb], AllocateTeid(ue, enb)));

    private uint AllocateTeid(int ue, int enb)
    {
        var teid = ++_nextTeid[enb];
        _ran[ue].DownlinkTeid = teid;
        return teid;
    }

    private int NearestEnb(int ue)
    {
        _mobility.Position(ue, Now.TotalSeconds, out var x, out var y);
        _ran[ue].X = x;
        _ran[ue].Y = y;
        return Topology.Grid.Nearest(x, y, out _);
    }

    private void Attach(int ue)
    {
        ref var r = ref _ran[ue];
        if (r.Attached)
        {
            return;
        }

        var enb = NearestEnb(ue);
        r = r with { Attached = true, Connected = true, Enb = enb, Session = r.Session + 1, Candidate = -1, NextCheck = 0 };
        Ran.Attaches++;
        _attachedCount++;
        var address = new IPAddress(new byte[] { 10, 45, (byte)(ue >> 8), (byte)ue });
        DeliverAll(ue, new UeAttached(Now, UeIds[ue], $"00101{ue:D10}", address, Topology.Enbs[enb].Id, ((ulong)Topology.Enbs[enb].Id.Value << 8) | 1, [NewBearer(ue, enb)]));
        ScheduleIdle(ue);
    }

    private void ScheduleIdle(int ue)
    {
        if (Scenario.Session.ActiveMean > TimeSpan.Zero)
        {
            var at = Now + TimeSpan.FromSeconds(_ranRng.Exponential(Scenario.Session.ActiveMean.TotalSeconds));
            _queue.Schedule(at, new SimEvent(SimEventKind.UeIdle, ue, 0, _ran[ue].Session, null));
        }
    }

    private void Idle(int ue, long session)
    {
        ref var r = ref _ran[ue];
        if (session != r.Session || !r.Connected)
        {
            return;
        }

        if (r.InHandover)
        {
            // Release waits for the handover to end.
            _queue.Schedule(Now + TimeSpan.FromSeconds(1), new SimEvent(SimEventKind.UeIdle, ue, 0, session, null));
            return;
        }

        r.Connected = false;
        r.Candidate = -1;
        Ran.Releases++;
        DeliverAll(ue, new UeReleasedToIdle(Now, UeIds[ue]));
        var back = Now + TimeSpan.FromSeconds(_ranRng.Exponential(Scenario.Session.IdleMean.TotalSeconds));
        _queue.Schedule(back, new SimEvent(SimEventKind.UeServiceRequest, ue, 0, session, null));
    }

    private void ServiceRequest(int ue, long session)
    {
        ref var r = ref _ran[ue];
        if (session != r.Session || r.Connected || !r.Attached)
        {
            return;
        }

        // Idle-mode reselection: the UE comes back on the nearest cell.
        var enb = NearestEnb(ue);
        r.Enb = enb;
        r.Connected = true;
        r.NextCheck = 0;
        Ran.ServiceRequests++;
        DeliverAll(ue, new ServiceRequested(Now, UeIds[ue], Topology.Enbs[enb].Id, [NewBearer(ue, enb)]));
        ScheduleIdle(ue);
    }

    private void Detach(int ue)
    {
        ref var r = ref _ran[ue];
        if (!r.Attached)
        {
            return;
        }

        r = r with { Attached = false, Connected = false, InHandover = false, Session = r.Session + 1, Candidate = -1 };
        Ran.Detaches++;
        _attachedCount--;
        DeliverAll(ue, new Detached(Now, UeIds[ue]));
    }

    /// <summary>Every connected UE measures; the strongest neighbour past the A3 offset for TTT triggers a handover.</summary>
    private void Measure()
    {
        var t = Now.TotalSeconds;
        var grid = Topology.Grid;
        var ttt = Scenario.Handover.TimeToTrigger;
        var period = Scenario.Handover.MeasurementPeriod.TotalSeconds;
        for (var ue = 0; ue < _ran.Length; ue++)
        {
            ref var r = ref _ran[ue];
            if (!r.Connected)
            {
                continue;
            }

            Ran.ConnectedSeconds += period;
            if (r.InHandover)
            {
                continue;
            }

            if (t < r.NextCheck)
            {
                continue;
            }

            _mobility.Position(ue, t, out var x, out var y);
            r.X = x;
            r.Y = y;
            var dServing = grid.DistanceSquared(r.Enb, x, y);
            if (dServing <= _safeRadiusSq[r.Enb])
            {
                // No other eNB can be A3-better this close to the serving one, and at top speed the UE cannot
                // leave that circle before NextCheck: skip the search until then.
                r.Candidate = -1;
                r.NextCheck = t + ((Math.Sqrt(_safeRadiusSq[r.Enb]) - Math.Sqrt(dServing)) / _maxSpeed) - period;
                continue;
            }

            var best = grid.Nearest(x, y, out var dBest);
            if (best == r.Enb)
            {
                r.Candidate = -1;
                continue;
            }

            if (!A3(dServing, dBest))
            {
                r.Candidate = -1;
                continue;
            }

            if (r.Candidate != best)
            {
                r.Candidate = best;
                r.CandidateSince = Now;
            }

            if (Now - r.CandidateSince >= ttt)
            {
                PrepareHandover(ue, best);
            }
        }
    }

    private bool A3(double dServingSq, double dTargetSq)
    {
        const double minSq = 100; // 10 m: the model is not meant for the near field
        dServingSq = Math.Max(dServingSq, minSq);
        dTargetSq = Math.Max(dTargetSq, minSq);
        if (_shadowing <= 0)
        {
            return dServingSq > dTargetSq * _a3DistanceRatioSquared;
        }

        // RSRP = P - (128.1 + 37.6 log10 d_km) + N(0, sigma) per measurement (TR 36.814 macro, i.i.d. shadowing).
        var serving = -18.8 * Math.Log10(dServingSq / 1e6) + _ranRng.Normal(_shadowing);
        var target = -18.8 * Math.Log10(dTargetSq / 1e6) + _ranRng.Normal(_shadowing);
        return target > serving + Scenario.Handover.A3OffsetDb;
    }

    private void PrepareHandover(int ue, int target)
    {
        ref var r = ref _ran[ue];
        var kind = IsX2(r.Enb, target) ? HandoverKind.X2 : HandoverKind.S1;
        r.InHandover = true;
        r.Candidate = -1;
        r.Target = target;
        r.TargetKind = kind;
        DeliverAll(ue, new HandoverPrepared(Now, UeIds[ue], Topology.Enbs[r.Enb].Id, Topology.Enbs[target].Id, kind));
        var duration = kind == HandoverKind.X2 ? Scenario.Handover.X2Duration : Scenario.Handover.S1Duration;
        _queue.Schedule(Now + duration, new SimEvent(SimEventKind.HandoverExecute, ue, 0, r.Session, null));
    }

    private bool IsX2(int a, int b)
    {
        var h = Scenario.Handover;
        var ea = Topology.Enbs[a];
        var eb = Topology.Enbs[b];
        return h.X2 switch
        {
            X2Policy.All => true,
            X2Policy.None => false,
            X2Policy.SameSite => ea.Site == eb.Site,
            _ => NetworkTopology.Distance(ea.X, ea.Y, eb.X, eb.Y) <= h.X2MaxDistance,
        };
    }

    private void ExecuteHandover(int ue, long session)
    {
        ref var r = ref _ran[ue];
        if (session != r.Session || !r.InHandover)
        {
            return;
        }

        r.InHandover = false;
        r.NextCheck = 0;
        if (Scenario.Handover.CancelProbability > 0 && _ranRng.NextDouble() < Scenario.Handover.CancelProbability)
        {
            Ran.Cancelled++;
            DeliverAll(ue, new HandoverCancelled(Now, UeIds[ue]));
            return;
        }

        var from = r.Enb;
        var target = r.Target;
        r.Enb = target;
        var downlink = new BearerDownlink(DefaultERab, new GtpEndpoint(_enbAddress[target], AllocateTeid(ue, target)));
        var interSite = Topology.Enbs[from].Site != Topology.Enbs[target].Site;
        if (r.TargetKind == HandoverKind.X2)
        {
            Ran.X2++;
        }
        else
        {
            Ran.S1++;
        }

        if (interSite)
        {
            Ran.InterSite++;
        }

        if (Now >= MeasuredFrom)
        {
            Tracker.Handover(ue, Now, (r.TargetKind == HandoverKind.X2 ? "X2" : "S1") + (interSite ? " inter-site" : string.Empty));
        }

        UeEvent done = r.TargetKind == HandoverKind.X2
            ? new PathSwitched(Now, UeIds[ue], Topology.Enbs[target].Id, [downlink])
            : new HandoverCompleted(Now, UeIds[ue], Topology.Enbs[target].Id, [downlink]);
        DeliverAll(ue, done);
    }

    internal record struct RanUe
    {
        public bool Attached;
        public bool Connected;
        public bool InHandover;
        public int Enb;
        public int Target;
        public HandoverKind TargetKind;
        public int Candidate;
        public TimeSpan CandidateSince;
        public long Session;
        public uint DownlinkTeid;
        public double X;
        public double Y;
        public double NextCheck;
    }
}

/// <summary>What a lane may read of the RAN at a tick (a snapshot: the RAN may have run on).</summary>
internal readonly struct RanView(RanSlot[] ran, int attached)
{
    public int Attached => attached;

    public bool Connected(int ue) => ran[ue].Connected;

    public int Enb(int ue) => ran[ue].Enb;
}

/// <summary>What the simulated RAN did (the same for every strategy).</summary>
public sealed class RanStats
{
    public long Attaches { get; set; }

    public long Detaches { get; set; }

    public long Releases { get; set; }

    public long ServiceRequests { get; set; }

    public long X2 { get; set; }

    public long S1 { get; set; }

    public long Cancelled { get; set; }

    public long InterSite { get; set; }

    public double ConnectedSeconds { get; set; }

    public List<float> SampleTimes { get; } = [];

    public long Handovers => X2 + S1;

    /// <summary>Completed handovers per connected UE-hour.</summary>
    public double HandoversPerUeHour => ConnectedSeconds > 0 ? Handovers / (ConnectedSeconds / 3600) : 0;
}
