using System.Threading.Channels;
using MobiScud.Cloud.Simulated;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Simulation.Results;

namespace MobiScud.Simulation.Engine;

/// <summary>What the simulated hypervisor holds for one PVM.</summary>
internal enum SimPvmState : byte
{
    None,
    Booting,
    Running,
    Suspended,
    Resuming,
}

internal struct SimPvm
{
    public SimPvmState State;
    public int Site;
    public long Generation;
    public PreCopyMigration? Migration;
    public MigrationId MigrationId;
    public int MigrationTo;
    public TimeSpan MigrationStart;

    /// <summary>When the migration that put the PVM here started (Origin Migrated): whether its never-met is scored.</summary>
    public TimeSpan PlacedByStart;

    /// <summary>A migration the scheduler holds in its queue (not on the wire yet).</summary>
    public bool Queued;
    public MigrationId QueuedId;

    /// <summary>How the PVM came to its site (the away-by-cause statistic).</summary>
    public PvmOrigin Origin;

    /// <summary>A probe found the UE served at the PVM's site since the PVM got there (the away-by-cause statistic).</summary>
    public bool MetUser;

    /// <summary>Where the migration in flight (then the one that put the PVM here) was headed, against the UE's sites when it started.</summary>
    public MoveTarget Target;
}

/// <summary>How a PVM came to the site it is at: a create, a resume after an idle period, or a migration.</summary>
internal enum PvmOrigin : byte
{
    Created,
    Resumed,
    Migrated,
}

internal sealed record SwitchoverPayload(PreCopyMigration Migration, PreCopyResult Result);

/// <summary>
/// A lane's hypervisor in virtual time, behind the host layer's one PVM contract: PVM commands with boot/resume delays,
/// pre-copy migrations over the backhaul's shared links, and (with budgets or site capacities) the core's pure
/// <see cref="MigrationScheduler"/> in front of the wire and of placement. Outcomes are known only later in virtual
/// time: the lane's event queue holds them until they are due, then they go out on <see cref="Outcomes"/>, which the
/// lane drains into its MC. Commands are carried out synchronously (the returned tasks are complete).
/// </summary>
internal sealed class SimPvmBackend : IPvmBackend, IPreCopyHost
{
    private static readonly Task<UeEvent?> _noOutcome = Task.FromResult<UeEvent?>(null);

    private readonly StrategyLane _lane;
    private readonly Simulator _sim;
    private readonly SimPvm[] _pvms;
    private readonly PreCopyMigrationModel _migrations;
    private readonly PreCopyParameters _preCopy;
    private readonly SchedulerConfig? _schedulerConfig;
    private readonly Channel<UeEvent> _outcomes = OutcomeChannel.Create();
    private readonly object[] _boxedLinks;
    private SchedulerState _schedulerState = SchedulerState.Empty;
    private SimRandom _rng;

    public SimPvmBackend(StrategyLane lane, Simulator sim, int ues, PreCopyParameters preCopy, SchedulerConfig? schedulerConfig, SimRandom rng)
    {
        _lane = lane;
        _sim = sim;
        _preCopy = preCopy;
        _schedulerConfig = schedulerConfig;
        _rng = rng;
        _pvms = new SimPvm[ues];
        _migrations = new PreCopyMigrationModel(this);
        foreach (var link in sim.Topology.Transport.Links)
        {
            // Link i of the model is link i of the backhaul: a migration crosses its route's links.
            _migrations.AddLink(link.BytesPerSecond);
        }

        _boxedLinks = [.. Enumerable.Range(0, _migrations.LinkCount).Select(l => (object)l)];
    }

    public ChannelReader<UeEvent> Outcomes => _outcomes.Reader;

    /// <summary>The PVM table, one entry per UE index (the lane's probes and samples read it).</summary>
    internal SimPvm[] Table => _pvms;

    internal PreCopyMigrationModel Migrations => _migrations;

    private LaneStats Stats => _lane.Stats;

    private TimeSpan Now => _lane.Now;

    public Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        var ue = _lane.UeOf(command.Ue);
        ref var pvm = ref _pvms[ue];
        var now = Now;
        var scenario = _sim.Scenario;
        switch (command)
        {
            case CreatePvm c:
                if (pvm.State != SimPvmState.None)
                {
                    Stats.Violation(now, $"{c.Ue}: CreatePvm at {c.Site} but a PVM already exists at {_lane.SiteName(pvm.Site)} (duplicate)");
                    break;
                }

                if (!Admit(ref c, now))
                {
                    break;
                }

                pvm = new SimPvm { State = SimPvmState.Booting, Site = _lane.SiteIndex(c.Site), Generation = pvm.Generation + 1 };
                Stats.PvmsCreated++;
                _sim.ScheduleLane(now + scenario.Pvm.CreateTime, _lane.Index, ue, pvm.Generation,
                    new PvmStarted(now + scenario.Pvm.CreateTime, c.Ue, c.Pvm, c.Site, _lane.SiteAddress(pvm.Site)));
                break;
            case ResumePvm r:
                if (pvm.State == SimPvmState.None)
                {
                    Stats.Violation(now, $"{r.Ue}: ResumePvm at {r.Site} but no PVM exists");
                    break;
                }

                if (_lane.SiteIndex(r.Site) != pvm.Site)
                {
                    Stats.Violation(now, $"{r.Ue}: ResumePvm at {r.Site} but the PVM is at {_lane.SiteName(pvm.Site)}");
                }

                pvm.State = SimPvmState.Resuming;
                LeavePlacement(in pvm);
                pvm.Origin = PvmOrigin.Resumed;
                pvm.MetUser = false;
                pvm.Generation++;
                Stats.PvmsResumed++;
                _sim.ScheduleLane(now + scenario.Pvm.ResumeTime, _lane.Index, ue, pvm.Generation,
                    new PvmStarted(now + scenario.Pvm.ResumeTime, r.Ue, r.Pvm, _lane.SiteId(pvm.Site), _lane.SiteAddress(pvm.Site)));
                break;
            case SuspendPvm s:
                if (pvm.State == SimPvmState.None)
                {
                    Stats.Violation(now, $"{s.Ue}: SuspendPvm but no PVM exists");
                    break;
                }

                AbortMigration(ref pvm, now);
                pvm.State = SimPvmState.Suspended;
                pvm.Generation++;
                Stats.PvmsSuspended++;
                break;
            case DestroyPvm d:
                AbortMigration(ref pvm, now);
                LeavePlacement(in pvm);
                pvm = new SimPvm { State = SimPvmState.None, Generation = pvm.Generation + 1 };
                ToScheduler(new PvmGone(now, d.Ue));
                break;
            case StartMigration m:
                StartMigration(ue, ref pvm, m, now);
                break;
            case CancelMigration cm:
                if (pvm.Migration is { } running && pvm.MigrationId == cm.Migration && _migrations.Cancel(now, running))
                {
                    pvm.Migration = null;
                    _lane.StatsOf(pvm.MigrationStart).MigrationCancelled(running.BytesSent);
                    _sim.ScheduleLane(now, _lane.Index, ue, 0, new MigrationFailed(now, cm.Migration, "cancelled"));
                    ToScheduler(new MigrationEnded(now, cm.Migration, false));
                }
                else if (pvm.Queued && pvm.QueuedId == cm.Migration)
                {
                    // Never on the wire: the scheduler drops it and the MC hears it failed.
                    ToScheduler(new MigrationWithdrawn(now, cm.Migration));
                }

                // Otherwise the last byte is already sent (switch-over): it completes and the MC hears MigrationCompleted.
                break;
            default:
                throw new ArgumentException($"the simulated hypervisor does not carry out {command.GetType().Name} (UE {command.Ue})", nameof(command));
        }

        return _noOutcome;
    }

    public Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default)
    {
        var items = new List<PvmInventoryItem>();
        for (var ue = 0; ue < _pvms.Length; ue++)
        {
            ref readonly var p = ref _pvms[ue];
            if (p.State != SimPvmState.None)
            {
                var id = _sim.UeIds[ue];
                items.Add(new PvmInventoryItem(
                    id, PvmId.For(id), _lane.SiteId(p.Site), p.State == SimPvmState.Running, _lane.SiteAddress(p.Site),
                    p.Migration is null ? null : p.MigrationId, p.Migration is null ? null : _lane.SiteId(p.MigrationTo)));
            }
        }

        return Task.FromResult<IReadOnlyList<PvmInventoryItem>>(items);
    }

    /// <summary>
    /// A delayed outcome the lane's queue says is due: a PVM start of an old generation (the PVM was suspended or
    /// destroyed meanwhile) is dropped, the rest go out on <see cref="Outcomes"/>.
    /// </summary>
    public void Report(int ue, long generation, UeEvent e)
    {
        if (e is PvmStarted)
        {
            ref var pvm = ref _pvms[ue];
            if (generation != pvm.Generation || pvm.State is not (SimPvmState.Booting or SimPvmState.Resuming))
            {
                return;
            }

            pvm.State = SimPvmState.Running;
        }

        _outcomes.Writer.TryWrite(e);
    }

    /// <summary>At the end: migrations still on the wire count as in flight, with the bytes they sent so far.</summary>
    public void Finish()
    {
        _migrations.Flush(Now);
        foreach (ref readonly var p in _pvms.AsSpan())
        {
            if (p.Migration is { } m)
            {
                var stats = _lane.StatsOf(p.MigrationStart);
                stats.MigrationsInFlight++;
                stats.BytesInFlight += m.BytesSent;
            }

            if (p.State != SimPvmState.None && p.Origin == PvmOrigin.Migrated && !p.MetUser)
            {
                _lane.StatsOf(p.PlacedByStart).MovesUnmetAtEnd++;
            }
        }
    }

    /// <summary>A PVM leaves the site a completed migration put it at: counted if no probe found its UE there meanwhile.</summary>
    private void LeavePlacement(in SimPvm pvm)
    {
        if (pvm.State != SimPvmState.None && pvm.Origin == PvmOrigin.Migrated && !pvm.MetUser)
        {
            var stats = _lane.StatsOf(pvm.PlacedByStart);
            stats.MovesNeverMet++;
            stats.NeverMetByTarget[(int)pvm.Target]++;
        }
    }

    /// <summary>A move's target against the MC's view of the UE when it decided: its serving site, its handover's target site, or elsewhere.</summary>
    private MoveTarget TargetOf(int ue, SiteId to)
    {
        var s = _lane.McState(ue);
        var config = _lane.Config;
        return s?.ServingEnb is { } serving && config.SwitchSiteFor(serving) == to ? MoveTarget.ServingSite
            : s?.PendingHandover is { } pending && config.SwitchSiteFor(pending.Target) == to ? MoveTarget.HandoverTargetSite
            : MoveTarget.Elsewhere;
    }

    private void StartMigration(int ue, ref SimPvm pvm, StartMigration m, TimeSpan now)
    {
        var refusal = Refusal(ref pvm, m);
        if (refusal is not null)
        {
            Stats.MigrationsRefused++;
            _sim.ScheduleLane(now, _lane.Index, ue, 0, new MigrationFailed(now, m.Migration, refusal));
            return;
        }

        if (_schedulerConfig is null)
        {
            Begin(ue, ref pvm, m, now);
            return;
        }

        // The core decided; the scheduler says when (per-link budgets, queue by benefit with a deadline).
        var deadline = now + (_sim.Scenario.Control.MigrationDeadline > TimeSpan.Zero ? _sim.Scenario.Control.MigrationDeadline : TimeSpan.FromSeconds(60));
        pvm.Queued = true;
        pvm.QueuedId = m.Migration;
        ToScheduler(new MigrationRequested(now, m, m.ExpectedBenefit, deadline));
    }

    private string? Refusal(ref SimPvm pvm, StartMigration m)
    {
        var from = _lane.SiteIndex(m.From);
        var to = _lane.SiteIndex(m.To);
        return pvm.State != SimPvmState.Running ? $"PVM is {pvm.State}, not running"
            : pvm.Site != from ? $"PVM is at {_lane.SiteName(pvm.Site)}, not {m.From}"
            : pvm.Migration is not null || pvm.Queued ? "another migration is running"
            : from == to ? "source and destination are the same" : null;
    }

    private void Begin(int ue, ref SimPvm pvm, StartMigration m, TimeSpan now)
    {
        var from = _lane.SiteIndex(m.From);
        var to = _lane.SiteIndex(m.To);
        var path = _sim.Topology.Transport.Path(from, to);
        pvm.Migration = _migrations.Start(now, path, _preCopy, ue);
        foreach (var l in path)
        {
            Stats.MaxConcurrentOnLink = Math.Max(Stats.MaxConcurrentOnLink, _migrations.ActiveOn(l));
        }

        pvm.MigrationId = m.Migration;
        pvm.MigrationTo = to;
        pvm.Target = TargetOf(ue, m.To);
        pvm.MigrationStart = now;
        Stats.MigrationsStarted++;
        if (_sim.Scenario.Pvm.MigrationFailureProbability > 0 && _rng.NextDouble() < _sim.Scenario.Pvm.MigrationFailureProbability)
        {
            // Fails somewhere in its first seconds, as a broken connection would.
            var at = now + TimeSpan.FromSeconds(_rng.Uniform(0.05, 2.0));
            _lane.Enqueue(at, new SimEvent(SimEventKind.MigrationFailureInjected, ue, _lane.Index, pvm.Migration.Id, pvm.Migration));
        }
    }

    /// <summary>Placement admission: with site capacities the scheduler may put the PVM on a fallback site.</summary>
    private bool Admit(ref CreatePvm create, TimeSpan now)
    {
        if (_schedulerConfig?.Graph is not { Capacities.Count: > 0 })
        {
            ToScheduler(new PvmAdopted(now, create.Ue, create.Site));
            return true;
        }

        var topology = _sim.Topology;
        var site = _lane.SiteIndex(create.Site);
        var fallbacks = Enumerable.Range(0, topology.Sites.Count).Where(s => s != site).OrderBy(s => topology.InterSite(site, s)).ThenBy(s => s).Select(_lane.SiteId).ToList();
        var step = MigrationScheduler.Step(_schedulerConfig, _schedulerState, new PlacementRequested(now, create, fallbacks));
        _schedulerState = step.State;
        foreach (var grant in step.Grants)
        {
            switch (grant)
            {
                case PlacementGranted g:
                    if (g.Create.Site != create.Site)
                    {
                        Stats.PlacementFallbacks++;
                    }

                    create = g.Create;
                    return true;
                case PlacementRefused r:
                    Stats.PlacementsRefused++;
                    _sim.ScheduleLane(now, _lane.Index, _sim.UeIndex[create.Ue], 0, new PvmFailed(now, create.Ue, create.Pvm, create.Site, r.Reason));
                    return false;
            }
        }

        return true;
    }

    internal void ToScheduler(SchedulerRequest request)
    {
        if (_schedulerConfig is null)
        {
            return;
        }

        var step = MigrationScheduler.Step(_schedulerConfig, _schedulerState, request);
        _schedulerState = step.State;
        var now = Now;
        foreach (var grant in step.Grants)
        {
            switch (grant)
            {
                case MigrationGranted g:
                    {
                        var ue = _sim.UeIndex[g.Start.Ue];
                        ref var pvm = ref _pvms[ue];
                        if (!pvm.Queued || pvm.QueuedId != g.Start.Migration)
                        {
                            // The PVM went away while queued: let the scheduler free the budget again.
                            ToScheduler(new MigrationEnded(now, g.Start.Migration, false));
                            break;
                        }

                        pvm.Queued = false;
                        var refusal = Refusal(ref pvm, g.Start);
                        if (refusal is not null)
                        {
                            Stats.MigrationsRefused++;
                            _sim.ScheduleLane(now, _lane.Index, ue, 0, new MigrationFailed(now, g.Start.Migration, refusal));
                            ToScheduler(new MigrationEnded(now, g.Start.Migration, false));
                            break;
                        }

                        Begin(ue, ref pvm, g.Start, now);
                        break;
                    }

                case MigrationQueued:
                    Stats.MigrationsQueued++;
                    break;
                case MigrationRefused:
                case MigrationDropped:
                    {
                        var start = grant is MigrationRefused rr ? rr.Start : ((MigrationDropped)grant).Start;
                        var ue = _sim.UeIndex[start.Ue];
                        ref var pvm = ref _pvms[ue];
                        if (pvm.Queued && pvm.QueuedId == start.Migration)
                        {
                            pvm.Queued = false;
                        }

                        if (grant is MigrationRefused refused)
                        {
                            Stats.MigrationsRefused++;
                            _sim.ScheduleLane(now, _lane.Index, ue, 0, new MigrationFailed(now, start.Migration, $"scheduler: {refused.Reason}"));
                        }
                        else
                        {
                            Stats.QueuedDropped++;
                            _sim.ScheduleLane(now, _lane.Index, ue, 0, new MigrationFailed(now, start.Migration, "cancelled"));
                        }

                        break;
                    }
            }
        }
    }

    private void AbortMigration(ref SimPvm pvm, TimeSpan now)
    {
        if (pvm.Migration is { } m)
        {
            _migrations.Cancel(now, m);
            pvm.Migration = null;
            _lane.StatsOf(pvm.MigrationStart).MigrationCancelled(m.BytesSent);
            ToScheduler(new MigrationEnded(now, pvm.MigrationId, false));
        }

        if (pvm.Queued)
        {
            pvm.Queued = false;
            ToScheduler(new MigrationWithdrawn(now, pvm.QueuedId));
        }
    }

    public void OnMigrationWake(int link, long version) => _migrations.OnWake(Now, link, version);

    public void OnFailureInjected(int ue, PreCopyMigration m)
    {
        ref var pvm = ref _pvms[ue];
        if (pvm.Migration == m && m.Phase == PreCopyPhase.PreCopy && _migrations.Cancel(Now, m))
        {
            pvm.Migration = null;
            _lane.StatsOf(pvm.MigrationStart).MigrationFailed(m.BytesSent);
            ToScheduler(new MigrationEnded(Now, pvm.MigrationId, false));
            _outcomes.Writer.TryWrite(new MigrationFailed(Now, pvm.MigrationId, "injected failure: connection to the destination lost"));
        }
    }

    // The link of a wake-up travels boxed in the event's payload: one box per link, made once, not one per wake-up.
    void IPreCopyHost.WakeAt(TimeSpan at, int link, long version) =>
        _lane.Enqueue(at, new SimEvent(SimEventKind.MigrationWake, 0, _lane.Index, version, _boxedLinks[link]));

    void IPreCopyHost.Finished(PreCopyMigration migration, PreCopyResult result) =>
        _lane.Enqueue(result.CompletesAt, new SimEvent(SimEventKind.MigrationSwitchover, (int)migration.Tag!, _lane.Index, 0, new SwitchoverPayload(migration, result)));

    public void OnSwitchover(int ue, SwitchoverPayload done)
    {
        ref var pvm = ref _pvms[ue];
        if (pvm.Migration != done.Migration)
        {
            return;
        }

        LeavePlacement(in pvm);

        // Counted by its start time: a migration started in the warm-up is not scored when it completes after it.
        var stats = _lane.StatsOf(pvm.MigrationStart);
        stats.CompletedByTarget[(int)pvm.Target]++;
        pvm.Site = pvm.MigrationTo;
        pvm.Migration = null;
        pvm.Origin = PvmOrigin.Migrated;
        pvm.PlacedByStart = pvm.MigrationStart;
        pvm.MetUser = false;
        var r = done.Result;
        stats.MigrationCompleted(r, pvm.MigrationStart, _preCopy.MemoryBytes);
        if (pvm.MigrationStart >= _sim.MeasuredFrom)
        {
            _sim.Tracker.MigrationWindow(_lane.Index, ue, pvm.MigrationStart, r.CompletesAt - r.Downtime, r.CompletesAt);
        }
        ToScheduler(new MigrationEnded(Now, pvm.MigrationId, true));
        _outcomes.Writer.TryWrite(new MigrationCompleted(Now, pvm.MigrationId, new MigrationStats(r.TotalTime, r.Downtime, r.BytesSent, r.Rounds)));
    }
}
