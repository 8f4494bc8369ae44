using System.Net;
using System.Threading.Channels;
using MobiScud.Cloud.Simulated;
using MobiScud.Control;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Engine;

/// <summary>One lane to run: a strategy and, for mobiscud, the migration policy.</summary>
public sealed record LaneSpec(StrategyKind Kind, PolicyKind? Policy, string Name);

/// <summary>
/// One strategy's world: the MC (the real MobiScudControl, configured for the strategy), a simulated hypervisor
/// that executes PVM commands with boot/resume delays and pre-copy migrations, the steering each site's switch
/// holds, the MC's timers, and the measurements. All lanes see the same RAN events at the same virtual times.
/// </summary>
internal sealed class StrategyLane
{
    private readonly Simulator _sim;
    private readonly int _lane;
    private readonly SingleThreadedMc _controller;
    private readonly UeState?[] _mcStates;
    private readonly CommandDispatcher _dispatcher;
    private readonly (string Name, ChannelReader<UeEvent> Reader)[] _outcomeSources;
    private readonly SimPvmBackend _hypervisor;
    private readonly SimSteeringBackend _switches;
    private readonly SimTimers _timers;
    private readonly SimPvm[] _pvms;
    private readonly bool[] _attached;
    private readonly int _coreIndex;
    private readonly IPAddress[] _siteAddress;
    private readonly EventQueue _queue = new();
    private List<(TimeSpan At, int Ue, UeEvent Event)> _inbox = [];

    // Emptied inboxes the lane's worker hands back to the RAN (LanePipeline): the RAN fills one while the lane works
    // through another, and reusing them keeps each batch's list (tens of thousands of entries at 100k UEs) out of the
    // large-object heap, whose allocations would trigger gen2 collections.
    private readonly System.Collections.Concurrent.ConcurrentQueue<List<(TimeSpan At, int Ue, UeEvent Event)>> _spareInboxes = new();
    private readonly double _ueBytesPerSecond;
    private readonly double[] _linkBackground;
    private readonly double[] _lastLinkBytes;
    private readonly int[] _slotSite;
    private TimeSpan _lastLinkSample;
    private readonly Func<LaneStats> _newStats;
    private readonly LaneStats _warmupStats;
    private bool _measuring;
    private int _maxUsers;

    // The UE whose commands are being carried out: backends resolve a command's UeId to its index through it first
    // (one string comparison) before the dictionary.
    private int _currentUe = -1;
    private int[]? _nearestSiteRings;
    private LiveLinkMigrations? _liveLinkMigrations;

    public StrategyLane(Simulator sim, int lane, LaneSpec spec, ScenarioConfig scenario, NetworkTopology topology, int ues)
    {
        _sim = sim;
        _lane = lane;
        Kind = spec.Kind;
        Spec = spec;
        var strategy = spec.Kind switch
        {
            StrategyKind.CoreAnchored => Strategy.CoreAnchored,
            StrategyKind.StaticEdge => Strategy.StaticEdge,
            _ => Strategy.MobiScud,
        };
        var c = scenario.Control;
        Config = new McConfig(
            topology.EnbToSite(),
            NetworkTopology.CoreSite,
            strategy,
            c.IdleSuspend > TimeSpan.Zero ? c.IdleSuspend : null,
            c.MigrationDeadline > TimeSpan.Zero ? c.MigrationDeadline : null)
        {
            Policy = c.Policy.ToPolicyConfig(spec.Policy ?? PolicyKind.Always, scenario.Report, scenario.Pvm),
            Sites = sim.SiteGraph,
            Cells = sim.Cells,
        };
        _controller = new SingleThreadedMc(Config)
        {
            // The learning policies fold every handover they see into their statistics.
            LearnMobility = spec.Policy is PolicyKind.Predictive or PolicyKind.MdpThreshold,
        };
        var schedulerConfig = strategy == Strategy.MobiScud && (c.Scheduler.HasBudgets || c.SiteCapacity > 0)
            ? c.Scheduler.ToSchedulerConfig(sim.SiteGraph)
            : null;

        _attached = new bool[ues];
        _mcStates = new UeState?[ues];
        _slotSite = new int[ues];
        Array.Fill(_slotSite, -1);
        _coreIndex = topology.Sites.Count;
        _ueBytesPerSecond = scenario.Topology.Links.UeMbps * 1e6 / 8;
        _linkBackground = new double[topology.Transport.Links.Count];
        _lastLinkBytes = new double[topology.Transport.Links.Count];

        var p = scenario.Pvm;
        var preCopy = new PreCopyParameters(
            (long)(p.MemoryMiB * 1024 * 1024),
            p.DirtyRateMiBps * 1024 * 1024,
            (long)(p.WritableWorkingSetMiB * 1024 * 1024),
            p.DowntimeLimit,
            p.MaxRounds,
            p.MaxBandwidthMiBps * 1024 * 1024,
            p.Switchover);
        preCopy.Validate();
        _siteAddress = Enumerable.Range(0, _coreIndex + 1).Select(i => new IPAddress(new byte[] { 192, 168, (byte)(i / 256), (byte)(i % 256) })).ToArray();
        _newStats = () => new LaneStats(spec.Kind, _coreIndex + 1, spec.Name, spec.Policy is { } pk ? PolicyConfig.NameOf(pk) : null, topology.Transport.Links.Count);
        Stats = _newStats();
        _warmupStats = Stats;
        _measuring = sim.MeasuredFrom == TimeSpan.Zero;

        // The host layer's one dispatcher over this lane's backends, as replay, the testbed and serve have theirs.
        _hypervisor = new SimPvmBackend(this, sim, ues, preCopy, schedulerConfig, new SimRandom(scenario.Seed, 0x1A4E0000UL + (ulong)lane));
        _pvms = _hypervisor.Table;
        _switches = new SimSteeringBackend(this, ues);
        _timers = new SimTimers(this, sim);
        _dispatcher = new CommandDispatcher(_hypervisor, _switches, _timers, () => Now, new SimNotifications(this));
        _outcomeSources = [.. _dispatcher.OutcomeSources];
    }

    public StrategyKind Kind { get; }

    public LaneSpec Spec { get; }

    /// <summary>This lane's virtual clock: the time of the event it is handling.</summary>
    public TimeSpan Now => _queue.Now;

    public long EventsProcessed => _queue.Processed;

    public int Index => _lane;

    /// <summary>At the end: migrations still on the wire count as in flight, with the bytes they sent so far.</summary>
    public void Finish() => _hypervisor.Finish();

    public McConfig Config { get; }

    /// <summary>Bytes this lane allocated deciding (the MC) and carrying out (dispatcher, backends, migration model), per event delivered (profiling).</summary>
    public LaneAllocations Allocated { get; } = new();

    /// <summary>What the lane measured: in the warm-up a set that is not reported, from <see cref="Simulator.MeasuredFrom"/> on the scored one.</summary>
    public LaneStats Stats { get; private set; }

    /// <summary>
    /// Where the figures of a migration started at <paramref name="started"/> go, whenever it ends: one started in the
    /// warm-up (its completion, cancellation, failure, bytes, or a later move-never-met) is not scored.
    /// </summary>
    internal LaneStats StatsOf(TimeSpan started) => started >= _sim.MeasuredFrom ? Stats : _warmupStats;

    /// <summary>The scored window starts: from now on the lane counts into a fresh set of figures.</summary>
    private void StartMeasuring()
    {
        _measuring = true;
        Stats = _newStats();
        Stats.KeepViolationsOf(_warmupStats);
    }

    private NetworkTopology Topology => _sim.Topology;

    private ScenarioConfig Scenario => _sim.Scenario;

    internal int SiteIndex(SiteId site) =>
        site == NetworkTopology.CoreSite ? _coreIndex
        : Topology.SiteIndex.TryGetValue(site, out var i) ? i
        : throw new InvalidOperationException($"the MC named an unknown site '{site}'");

    /// <summary>A RAN event for this lane; it is handled at the next <see cref="RunUntil(TimeSpan)"/>.</summary>
    public void Post(TimeSpan at, int ue, UeEvent e) => _inbox.Add((at, ue, e));

    /// <summary>
    /// The RAN events posted so far, for the lane's worker to hand to its RunUntil;
    /// later posts go to a fresh inbox. Called on the RAN's thread.
    /// </summary>
    internal List<(TimeSpan At, int Ue, UeEvent Event)> TakeInbox()
    {
        var taken = _inbox;
        _inbox = _spareInboxes.TryDequeue(out var spare) ? spare : new List<(TimeSpan At, int Ue, UeEvent Event)>(taken.Capacity);
        return taken;
    }

    /// <summary>Gives a handled inbox back for reuse (on the lane's thread).</summary>
    internal void ReturnInbox(List<(TimeSpan At, int Ue, UeEvent Event)> inbox)
    {
        inbox.Clear();
        _spareInboxes.Enqueue(inbox);
    }

    internal void Enqueue(TimeSpan at, in SimEvent e) => _queue.Schedule(at, e);

    /// <summary>
    /// Handles the posted RAN events and this lane's own events (PVM boots, migration progress, timers) in time
    /// order up to <paramref name="until"/>; at equal times the RAN's event goes first. Lanes share nothing but the
    /// read-only RAN, so they run this in parallel.
    /// </summary>
    public void RunUntil(TimeSpan until) => RunUntil(until, _inbox);

    /// <summary><see cref="RunUntil(TimeSpan)"/> with the RAN events of <paramref name="inbox"/> (taken with <see cref="TakeInbox"/>).</summary>
    internal void RunUntil(TimeSpan until, List<(TimeSpan At, int Ue, UeEvent Event)> inbox)
    {
        var i = 0;
        while (true)
        {
            var inboxTicks = i < inbox.Count ? inbox[i].At.Ticks : long.MaxValue;
            if (!_measuring && Math.Min(_queue.TryPeekTicks(out var next) ? next : long.MaxValue, inboxTicks) >= _sim.MeasuredFrom.Ticks && until >= _sim.MeasuredFrom)
            {
                // The next event is in the scored window (or none is left before the tick at or after its start).
                StartMeasuring();
            }

            if (_queue.TryPeekTicks(out var ticks) && ticks < inboxTicks && ticks <= until.Ticks)
            {
                _queue.TryNext(until, out var e);
                Dispatch(e);
            }
            else if (inboxTicks <= until.Ticks)
            {
                var (at, ue, ev) = inbox[i++];
                _queue.AdvanceTo(at);
                Deliver(ue, ev);
            }
            else
            {
                break;
            }
        }

        inbox.RemoveRange(0, i);
        _queue.AdvanceTo(until);
    }

    private void Dispatch(in SimEvent e)
    {
        // Backends report what is due on their outcome channels; the lane drains them right away (below).
        _currentUe = e.Ue;
        switch (e.Kind)
        {
            case SimEventKind.TimerDue:
                _timers.Fire(e);
                break;
            case SimEventKind.LaneEvent when e.Payload is TimerFired t:
                _timers.Fire(t);
                break;
            case SimEventKind.LaneEvent:
                _hypervisor.Report(e.Ue, e.Arg, (UeEvent)e.Payload!);
                break;
            case SimEventKind.MigrationWake:
                _hypervisor.OnMigrationWake((int)e.Payload!, e.Arg);
                break;
            case SimEventKind.MigrationSwitchover:
                _hypervisor.OnSwitchover(e.Ue, (SwitchoverPayload)e.Payload!);
                break;
            case SimEventKind.MigrationFailureInjected:
                _hypervisor.OnFailureInjected(e.Ue, (PreCopyMigration)e.Payload!);
                break;
        }

        PumpOutcomes();
    }

    /// <summary>
    /// The lane's outcome pump: hands what the backends reported to the MC, in the order they reported it. The host
    /// layer's <see cref="OutcomePump"/> drains on tasks in wall time; a lane's time is virtual and its run must be
    /// deterministic, so it drains the same channels synchronously, at the virtual instant the outcome is due.
    /// </summary>
    private void PumpOutcomes()
    {
        foreach (var (_, reader) in _outcomeSources)
        {
            while (reader.TryRead(out var outcome))
            {
                Deliver(UeOf(outcome.Ue), outcome);
            }
        }
    }

    /// <summary>Feeds one event to the MC and carries out what it says through the dispatcher.</summary>
    public void Deliver(int ue, UeEvent e)
    {
        switch (e)
        {
            case UeAttached:
                _attached[ue] = true;
                break;
            case Detached:
                _attached[ue] = false;
                break;
        }

        _sim.Observer?.Event(_lane, e);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var commands = _controller.Handle(e, _mcStates, ue);
        var decided = GC.GetAllocatedBytesForCurrentThread();
        Execute(ue, commands);
        CheckInvariant(ue);
        Allocated.Mc += decided - before;
        Allocated.Backends += GC.GetAllocatedBytesForCurrentThread() - decided;
        Allocated.Events++;
    }

    /// <summary>Carries out one UE's commands, in order, through the host layer's dispatcher.</summary>
    internal void Execute(int ue, IReadOnlyList<ControlCommand> commands)
    {
        if (commands.Count == 0)
        {
            return;
        }

        if (_sim.Observer is { } observer)
        {
            foreach (var command in commands)
            {
                observer.Command(_lane, Now, command);
            }
        }

        _currentUe = ue;
        var done = _dispatcher.DispatchAsync(null, null, commands);

        // The simulated backends never wait: the dispatch is over when it returns (and knows no outcome at once).
        if (!done.IsCompleted)
        {
            throw new InvalidOperationException($"lane {Spec.Name}: a simulated backend did not complete synchronously");
        }

        if (done.Exception?.InnerException is ArgumentException { ParamName: "commands" } unknown)
        {
            // A command no backend carries out: a broken invariant of the MC, counted like the others.
            Stats.Violation(Now, unknown.Message);
            return;
        }

        // Any other failure (an unknown site, say) is thrown as it was raised.
        done.GetAwaiter().GetResult();
    }

    internal void Execute(int ue, ControlCommand command) => Execute(ue, [command]);

    /// <summary>The UE index of <paramref name="id"/>: the UE being handled, else a dictionary lookup.</summary>
    internal int UeOf(UeId id) =>
        _currentUe >= 0 && _sim.UeIds[_currentUe] == id ? _currentUe
        : _sim.UeIndex.TryGetValue(id, out var ue) ? ue
        : throw new InvalidOperationException($"the MC named an unknown UE '{id}'");

    internal IPAddress SiteAddress(int site) => _siteAddress[site];

    /// <summary>The lane's PVM backend (tests read its inventory).</summary>
    internal IPvmBackend Hypervisor => _hypervisor;

    /// <summary>The lane's steering backend (tests read its inventory).</summary>
    internal ISteeringBackend Switches => _switches;

    /// <summary>What the lane's MC knows of a UE.</summary>
    internal UeState? McState(int ue) => _mcStates[ue];

    /// <summary>Every attached UE has exactly one PVM (duplicates are caught when a create finds one).</summary>
    public void CheckInvariant(int ue)
    {
        if (_attached[ue] && _pvms[ue].State == SimPvmState.None)
        {
            Stats.Violation(Now, $"{_sim.UeIds[ue]} is attached but has no PVM");
        }
    }

    public void CheckAll()
    {
        for (var ue = 0; ue < _pvms.Length; ue++)
        {
            CheckInvariant(ue);
        }
    }

    /// <summary>
    /// One probe from the UE at eNB <paramref name="enb"/> to its PVM and back, along the path the switches and
    /// the hypervisor really give it now. Returns the RTT in seconds, or a loss cause.
    /// </summary>
    public double Probe(int ue, int enb, uint downlinkTeid, double jitter, out LossCause cause)
    {
        cause = LossCause.None;
        ref var pvm = ref _pvms[ue];
        if (pvm.State != SimPvmState.Running)
        {
            cause = LossCause.NoPvm;
            return double.NaN;
        }

        if (pvm.Migration is { Phase: PreCopyPhase.StopAndCopy or PreCopyPhase.Done })
        {
            cause = LossCause.Downtime;
            return double.NaN;
        }

        var radioAndBackhaul = _sim.RadioSeconds + Topology.Backhaul(enb);
        var switchSite = Topology.Enbs[enb].Site;
        Stats.PvmProbeSamples++;
        if (pvm.Site != switchSite)
        {
            // The PVM is not at the site nearest the UE's cell (in the core, or left behind).
            Stats.PvmAwaySamples++;
            Stats.PvmAwayByCause[(int)AwayCauseOf(in pvm)]++;
        }
        else
        {
            pvm.MetUser = true;
        }

        if (_switches.Find(ue, switchSite) is { Site: >= 0 } intent)
        {
            if (intent.Enb != Topology.Enbs[enb].Id.Value || !intent.HasBearer || intent.Teid != downlinkTeid)
            {
                // The switch would wrap replies toward the wrong eNB or TEID.
                cause = LossCause.StaleSteering;
                return double.NaN;
            }

            var pvmSite = intent.PvmSite;
            if (pvmSite != pvm.Site)
            {
                cause = LossCause.Misrouted;
                return double.NaN;
            }

            var interSite = pvmSite == switchSite ? 0 : Topology.InterSite(switchSite, pvmSite);
            return (2 * (radioAndBackhaul + _sim.SwitchSeconds + interSite)) + _sim.PvmSeconds + jitter;
        }

        if (pvm.Site == _coreIndex)
        {
            // Not steered: through the edge site's transport to the S-GW/P-GW in the core, where the PVM sits.
            return (2 * (radioAndBackhaul + Topology.InterSite(switchSite, _coreIndex) + (2 * _sim.GatewaySeconds))) + _sim.PvmSeconds + jitter;
        }

        cause = LossCause.NoSteering;
        return double.NaN;
    }

    /// <summary>
    /// Why a PVM is away from its UE's serving site at a probe: a move is on the wire or queued; the UE was served at
    /// the PVM's site since the PVM got there and moved on (left behind); or, not seen there since, the PVM got there
    /// by a migration (sent ahead, or the UE moved on during the move), a resume after an idle period, or a create.
    /// "Seen" is judged by the probes (every probe interval), as the away share itself is.
    /// </summary>
    private static AwayCause AwayCauseOf(in SimPvm pvm) =>
        pvm.Migration is not null || pvm.Queued ? AwayCause.MoveInFlight
        : pvm.MetUser ? AwayCause.LeftBehind
        : pvm.Origin switch
        {
            PvmOrigin.Migrated => AwayCause.MovedNotThere,
            PvmOrigin.Resumed => AwayCause.ResumedAway,
            _ => AwayCause.CreatedAway,
        };

    /// <summary>PVMs per site (edge sites, then the core) for the time series.</summary>
    public void CountPvms(int[] perSite)
    {
        Array.Clear(perSite);
        foreach (ref readonly var p in _pvms.AsSpan())
        {
            if (p.State != SimPvmState.None)
            {
                perSite[p.Site]++;
            }
        }
    }

    /// <summary>Per UE the site of its PVM (-1: none), for a live observer.</summary>
    public void PvmSites(int[] site)
    {
        for (var ue = 0; ue < _pvms.Length && ue < site.Length; ue++)
        {
            site[ue] = _pvms[ue].State == SimPvmState.None ? -1 : _pvms[ue].Site;
        }
    }

    /// <summary>Migrations on the wire now, their bytes brought up to now.</summary>
    public List<LiveMigration> LiveMigrations()
    {
        _hypervisor.Migrations.Flush(Now);
        var result = new List<LiveMigration>();
        for (var ue = 0; ue < _pvms.Length; ue++)
        {
            if (_pvms[ue].Migration is { } m)
            {
                result.Add(new LiveMigration(ue, _pvms[ue].MigrationId, _pvms[ue].Site, _pvms[ue].MigrationTo, m.BytesSent, m.BytesRemaining, m.CurrentRate));
            }
        }

        return result;
    }

    public int ActiveMigrations()
    {
        var n = 0;
        foreach (ref readonly var p in _pvms.AsSpan())
        {
            if (p.Migration is not null)
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>
    /// Every sample tick: link utilisation over the last interval (migrations and user traffic), then the user traffic
    /// the current placements put on each link (a connected UE whose PVM is away from its serving site sends through
    /// the route between them), then the facts the policies read.
    /// </summary>
    public void SampleLinks(RanView ran)
    {
        var now = Now;
        _hypervisor.Migrations.Flush(now);
        var dt = (now - _lastLinkSample).TotalSeconds;
        var links = Topology.Transport.Links;
        var utilisation = new double[links.Count];
        for (var l = 0; l < links.Count; l++)
        {
            var bytes = _hypervisor.Migrations.MigrationBytes(l) + _hypervisor.Migrations.BackgroundBytes(l);
            if (dt > 0)
            {
                utilisation[l] = Math.Min(1, (bytes - _lastLinkBytes[l]) / (links[l].BytesPerSecond * dt));
                Stats.LinkSamples[l].Add((float)utilisation[l]);
            }

            _lastLinkBytes[l] = bytes;
        }

        _lastLinkSample = now;
        if (_ueBytesPerSecond > 0)
        {
            Array.Clear(_linkBackground);
            for (var ue = 0; ue < _pvms.Length; ue++)
            {
                ref readonly var p = ref _pvms[ue];
                if (p.State != SimPvmState.Running || !ran.Connected(ue))
                {
                    continue;
                }

                var serving = Topology.Enbs[ran.Enb(ue)].Site;
                if (p.Site != serving)
                {
                    foreach (var l in Topology.Transport.Path(serving, p.Site))
                    {
                        _linkBackground[l] += _ueBytesPerSecond;
                    }
                }
            }

            for (var l = 0; l < links.Count; l++)
            {
                _hypervisor.Migrations.SetBackground(now, l, _linkBackground[l]);
            }
        }

        if (Config.Strategy == Strategy.MobiScud && Config.Policy.Kind != PolicyKind.Always)
        {
            var occupancy = new int[_coreIndex + 1];
            CountPvms(occupancy);
            var perSite = new Dictionary<SiteId, int>(_coreIndex + 1);
            for (var s = 0; s <= _coreIndex; s++)
            {
                perSite[SiteId(s)] = occupancy[s];
            }

            _controller.Facts = _controller.Facts with
            {
                SiteOccupancy = perSite,
                LinkUtilisation = utilisation.Select(u => Math.Min(u, 0.99)).ToArray(),
                LinkBackground = _ueBytesPerSecond > 0 ? _linkBackground.Select((b, l) => Math.Min(1, b / links[l].BytesPerSecond)).ToArray() : null,
                LinkMigrations = _liveLinkMigrations ??= new LiveLinkMigrations(_hypervisor.Migrations),
                LoadRatio = _maxUsers > 0 ? WangCostModel.LoadRatio(Math.Min(ran.Attached, _maxUsers), _maxUsers) : 0,
            };
        }

        _hypervisor.ToScheduler(new SchedulerTick(now));
    }

    /// <summary>
    /// A slot boundary of Wang et al.'s cost: for each attached UE with a PVM, x = rings the PVM moved since the last
    /// boundary, y = rings between the UE's cell and the PVM's site now; Q = such UEs.
    /// </summary>
    public void SlotTick(RanView ran)
    {
        var slot = new CostSlot();
        for (var ue = 0; ue < _pvms.Length; ue++)
        {
            ref readonly var p = ref _pvms[ue];
            if (!_attached[ue] || p.State == SimPvmState.None)
            {
                _slotSite[ue] = -1;
                continue;
            }

            var cell = Topology.SiteCell(p.Site);
            var x = _slotSite[ue] >= 0 ? Topology.Rings(Topology.SiteCell(_slotSite[ue]), cell) : 0;
            var y = Topology.Rings(ran.Enb(ue), cell);
            slot.Add(x, y, NearestSiteRings(ran.Enb(ue)));
            _slotSite[ue] = p.Site;
        }

        _maxUsers = Math.Max(_maxUsers, slot.Users);
        if (Now - Scenario.Report.CostSlot >= _sim.MeasuredFrom)
        {
            // A slot is scored when it lies in the scored window; the policies' load ratio learns from every slot.
            Stats.Slots.Add(slot);
        }
    }

    /// <summary>Rings from an eNB to the nearest site a PVM may live at (edge sites and the core DC), computed once.</summary>
    private int NearestSiteRings(int enb)
    {
        if (_nearestSiteRings is null)
        {
            var table = new int[Topology.Enbs.Count];
            for (var e = 0; e < table.Length; e++)
            {
                table[e] = Enumerable.Range(0, _coreIndex + 1).Min(site => Topology.Rings(e, Topology.SiteCell(site)));
            }

            _nearestSiteRings = table;
        }

        return _nearestSiteRings[enb];
    }

    internal string SiteName(int site) => site == _coreIndex ? NetworkTopology.CoreSite.Value : Topology.Sites[site].Id.Value;

    internal SiteId SiteId(int site) => site == _coreIndex ? NetworkTopology.CoreSite : Topology.Sites[site].Id;

}

public enum LossCause
{
    None,
    NoPvm,
    Downtime,
    NoSteering,
    StaleSteering,
    Misrouted,
}
