using System.Net;
using MobiScud.Cloud.Simulated;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

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

    /// <summary>A migration the scheduler holds in its queue (not on the wire yet).</summary>
    public bool Queued;
    public MigrationId QueuedId;
}

/// <summary>One lane to run: a strategy and, for mobiscud, the migration policy.</summary>
public sealed record LaneSpec(StrategyKind Kind, PolicyKind? Policy, string Name);

/// <summary>
/// One strategy's world: the MC (the real MobiScudControl, configured for the strategy), a simulated hypervisor
/// that executes PVM commands with boot/resume delays and pre-copy migrations, the steering each site's switch
/// holds, the MC's timers, and the measurements. All lanes see the same RAN events at the same virtual times.
/// </summary>
internal sealed class StrategyLane : IPreCopyHost
{
    private readonly Simulator sim;
    private readonly int lane;
    private readonly MobiScudController controller;
    private readonly SimPvm[] pvms;
    private readonly bool[] attached;

    // Steering per UE, flattened to what a probe checks: a UE has an intent at one site (rarely two), so the first
    // sits in a struct array the probe sweep reads in order, the rest in a small overflow array. Chasing a
    // dictionary bucket and the intent's bearer list per probe cost a cache miss each, which grew with the UEs.
    private readonly SteerSlot[] steering;
    private readonly SteerSlot[]?[] moreSteering;
    private readonly PreCopyMigrationModel migrations;
    private readonly PreCopyParameters preCopy;
    private readonly int coreIndex;
    private readonly IPAddress[] siteAddress;
    private readonly EventQueue queue = new();
    private readonly List<(TimeSpan At, int Ue, UeEvent Event)> inbox = [];
    private readonly double ueBytesPerSecond;
    private readonly double[] linkBackground;
    private readonly double[] lastLinkBytes;
    private readonly int[] slotSite;
    private readonly SchedulerConfig? schedulerConfig;
    private SchedulerState schedulerState = SchedulerState.Empty;
    private TimeSpan lastLinkSample;
    private int maxUsers;
    private int[]? nearestSiteRings;
    private SimRandom rng;

    public StrategyLane(Simulator sim, int lane, LaneSpec spec, ScenarioConfig scenario, NetworkTopology topology, int ues)
    {
        this.sim = sim;
        this.lane = lane;
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
            Policy = c.Policy.ToPolicyConfig(spec.Policy ?? PolicyKind.Always, scenario.Report),
            Sites = sim.SiteGraph,
            Cells = sim.Cells,
        };
        controller = new MobiScudController(Config)
        {
            // The learning policies fold every handover they see into their statistics.
            LearnMobility = spec.Policy is PolicyKind.Predictive or PolicyKind.MdpThreshold,
        };
        if (strategy == Strategy.MobiScud && (c.Scheduler.HasBudgets || c.SiteCapacity > 0))
        {
            schedulerConfig = c.Scheduler.ToSchedulerConfig(sim.SiteGraph);
        }

        pvms = new SimPvm[ues];
        attached = new bool[ues];
        steering = new SteerSlot[ues];
        Array.Fill(steering, SteerSlot.Empty);
        moreSteering = new SteerSlot[]?[ues];
        slotSite = new int[ues];
        Array.Fill(slotSite, -1);
        coreIndex = topology.Sites.Count;
        rng = new SimRandom(scenario.Seed, 0x1A4E0000UL + (ulong)lane);
        migrations = new PreCopyMigrationModel(this);
        foreach (var link in topology.Transport.Links)
        {
            // Link i of the model is link i of the backhaul: a migration crosses its route's links.
            migrations.AddLink(link.BytesPerSecond);
        }

        ueBytesPerSecond = scenario.Topology.Links.UeMbps * 1e6 / 8;
        linkBackground = new double[topology.Transport.Links.Count];
        lastLinkBytes = new double[topology.Transport.Links.Count];

        var p = scenario.Pvm;
        preCopy = new PreCopyParameters(
            (long)(p.MemoryMiB * 1024 * 1024),
            p.DirtyRateMiBps * 1024 * 1024,
            (long)(p.WritableWorkingSetMiB * 1024 * 1024),
            p.DowntimeLimit,
            p.MaxRounds,
            p.MaxBandwidthMiBps * 1024 * 1024,
            p.Switchover);
        preCopy.Validate();
        siteAddress = Enumerable.Range(0, coreIndex + 1).Select(i => new IPAddress(new byte[] { 192, 168, (byte)(i / 256), (byte)(i % 256) })).ToArray();
        Stats = new LaneStats(spec.Kind, coreIndex + 1, spec.Name, spec.Policy is { } pk ? PolicyConfig.NameOf(pk) : null, topology.Transport.Links.Count);
    }

    public StrategyKind Kind { get; }

    public LaneSpec Spec { get; }

    /// <summary>This lane's virtual clock: the time of the event it is handling.</summary>
    public TimeSpan Now => queue.Now;

    public long EventsProcessed => queue.Processed;

    public int Index => lane;

    /// <summary>At the end: migrations still on the wire count as in flight, with the bytes they sent so far.</summary>
    public void Finish()
    {
        migrations.Flush(Now);
        foreach (ref readonly var p in pvms.AsSpan())
        {
            if (p.Migration is { } m)
            {
                Stats.MigrationsInFlight++;
                Stats.BytesInFlight += m.BytesSent;
            }
        }
    }

    public McConfig Config { get; }

    public LaneStats Stats { get; }

    private NetworkTopology Topology => sim.Topology;

    private ScenarioConfig Scenario => sim.Scenario;

    private int SiteIndex(SiteId site) =>
        site == NetworkTopology.CoreSite ? coreIndex
        : Topology.SiteIndex.TryGetValue(site, out var i) ? i
        : throw new InvalidOperationException($"the MC named an unknown site '{site}'");

    /// <summary>A RAN event for this lane; it is handled at the next <see cref="RunUntil"/>.</summary>
    public void Post(TimeSpan at, int ue, UeEvent e) => inbox.Add((at, ue, e));

    internal void Enqueue(TimeSpan at, in SimEvent e) => queue.Schedule(at, e);

    /// <summary>
    /// Handles the posted RAN events and this lane's own events (PVM boots, migration progress, timers) in time
    /// order up to <paramref name="until"/>; at equal times the RAN's event goes first. Lanes share nothing but the
    /// read-only RAN, so they run this in parallel.
    /// </summary>
    public void RunUntil(TimeSpan until)
    {
        var i = 0;
        while (true)
        {
            var inboxTicks = i < inbox.Count ? inbox[i].At.Ticks : long.MaxValue;
            if (queue.TryPeekTicks(out var ticks) && ticks < inboxTicks && ticks <= until.Ticks)
            {
                queue.TryNext(until, out var e);
                Dispatch(e);
            }
            else if (inboxTicks <= until.Ticks)
            {
                var (at, ue, ev) = inbox[i++];
                queue.AdvanceTo(at);
                Deliver(ue, ev);
            }
            else
            {
                break;
            }
        }

        inbox.RemoveRange(0, i);
        queue.AdvanceTo(until);
    }

    private void Dispatch(in SimEvent e)
    {
        switch (e.Kind)
        {
            case SimEventKind.LaneEvent:
                OnLaneEvent(e.Ue, e.Arg, (UeEvent)e.Payload!);
                break;
            case SimEventKind.MigrationWake:
                OnMigrationWake((int)e.Payload!, e.Arg);
                break;
            case SimEventKind.MigrationSwitchover:
                OnSwitchover(e.Ue, (SwitchoverPayload)e.Payload!);
                break;
            case SimEventKind.MigrationFailureInjected:
                OnFailureInjected(e.Ue, (PreCopyMigration)e.Payload!);
                break;
        }
    }

    /// <summary>Feeds one event to the MC and carries out what it says.</summary>
    public void Deliver(int ue, UeEvent e)
    {
        switch (e)
        {
            case UeAttached:
                attached[ue] = true;
                break;
            case Detached:
                attached[ue] = false;
                break;
        }

        var commands = controller.Handle(e);
        foreach (var command in commands)
        {
            Execute(ue, command);
        }

        CheckInvariant(ue);
    }

    /// <summary>Every attached UE has exactly one PVM (duplicates are caught when a create finds one).</summary>
    public void CheckInvariant(int ue)
    {
        if (attached[ue] && pvms[ue].State == SimPvmState.None)
        {
            Stats.Violation(Now, $"{sim.UeIds[ue]} is attached but has no PVM");
        }
    }

    public void CheckAll()
    {
        for (var ue = 0; ue < pvms.Length; ue++)
        {
            CheckInvariant(ue);
        }
    }

    internal void Execute(int ue, ControlCommand command)
    {
        ref var pvm = ref pvms[ue];
        var now = Now;
        switch (command)
        {
            case CreatePvm c:
                if (pvm.State != SimPvmState.None)
                {
                    Stats.Violation(now, $"{c.Ue}: CreatePvm at {c.Site} but a PVM already exists at {SiteName(pvm.Site)} (duplicate)");
                    return;
                }

                if (!Admit(ref c, now))
                {
                    return;
                }

                pvm = new SimPvm { State = SimPvmState.Booting, Site = SiteIndex(c.Site), Generation = pvm.Generation + 1 };
                Stats.PvmsCreated++;
                sim.ScheduleLane(now + Scenario.Pvm.CreateTime, lane, ue, pvm.Generation,
                    new PvmStarted(now + Scenario.Pvm.CreateTime, c.Ue, c.Pvm, c.Site, siteAddress[pvm.Site]));
                break;
            case ResumePvm r:
                if (pvm.State == SimPvmState.None)
                {
                    Stats.Violation(now, $"{r.Ue}: ResumePvm at {r.Site} but no PVM exists");
                    return;
                }

                if (SiteIndex(r.Site) != pvm.Site)
                {
                    Stats.Violation(now, $"{r.Ue}: ResumePvm at {r.Site} but the PVM is at {SiteName(pvm.Site)}");
                }

                pvm.State = SimPvmState.Resuming;
                pvm.Generation++;
                Stats.PvmsResumed++;
                sim.ScheduleLane(now + Scenario.Pvm.ResumeTime, lane, ue, pvm.Generation,
                    new PvmStarted(now + Scenario.Pvm.ResumeTime, r.Ue, r.Pvm, SiteId(pvm.Site), siteAddress[pvm.Site]));
                break;
            case SuspendPvm s:
                if (pvm.State == SimPvmState.None)
                {
                    Stats.Violation(now, $"{s.Ue}: SuspendPvm but no PVM exists");
                    return;
                }

                AbortMigration(ue, ref pvm, now);
                pvm.State = SimPvmState.Suspended;
                pvm.Generation++;
                Stats.PvmsSuspended++;
                break;
            case DestroyPvm d:
                AbortMigration(ue, ref pvm, now);
                pvm = new SimPvm { State = SimPvmState.None, Generation = pvm.Generation + 1 };
                ToScheduler(new PvmGone(now, d.Ue));
                break;
            case StartMigration m:
                StartMigration(ue, ref pvm, m, now);
                break;
            case CancelMigration cm:
                if (pvm.Migration is { } running && pvm.MigrationId == cm.Migration && migrations.Cancel(now, running))
                {
                    pvm.Migration = null;
                    Stats.MigrationCancelled(running.BytesSent);
                    sim.ScheduleLane(now, lane, ue, 0, new MigrationFailed(now, cm.Migration, "cancelled"));
                    ToScheduler(new MigrationEnded(now, cm.Migration, false));
                }
                else if (pvm.Queued && pvm.QueuedId == cm.Migration)
                {
                    // Never on the wire: the scheduler drops it and the MC hears it failed.
                    ToScheduler(new MigrationWithdrawn(now, cm.Migration));
                }

                // Otherwise the last byte is already sent (switch-over): it completes and the MC hears MigrationCompleted.
                break;
            case InstallSteering install:
                SetSteering(ue, SiteIndex(install.Intent.SwitchSite), install.Intent);
                Stats.SteeringInstalls++;
                break;
            case RemoveSteering remove:
                SetSteering(ue, SiteIndex(remove.SwitchSite), null);
                break;
            case ScheduleTimer timer:
                sim.ScheduleLane(timer.Due, lane, ue, 0, new TimerFired(timer.Due, timer.Ue, timer.Kind, timer.Token));
                break;
            case Notify n:
                Stats.Notifications[(int)n.Kind]++;
                break;
            default:
                Stats.Violation(now, $"{command.Ue}: the simulator cannot execute {command.GetType().Name}");
                break;
        }
    }

    private void StartMigration(int ue, ref SimPvm pvm, StartMigration m, TimeSpan now)
    {
        var refusal = Refusal(ref pvm, m);
        if (refusal is not null)
        {
            Stats.MigrationsRefused++;
            sim.ScheduleLane(now, lane, ue, 0, new MigrationFailed(now, m.Migration, refusal));
            return;
        }

        if (schedulerConfig is null)
        {
            Begin(ue, ref pvm, m, now);
            return;
        }

        // The core decided; the scheduler says when (per-link budgets, queue by benefit with a deadline).
        var deadline = now + (Scenario.Control.MigrationDeadline > TimeSpan.Zero ? Scenario.Control.MigrationDeadline : TimeSpan.FromSeconds(60));
        pvm.Queued = true;
        pvm.QueuedId = m.Migration;
        ToScheduler(new MigrationRequested(now, m, m.ExpectedBenefit, deadline));
    }

    private string? Refusal(ref SimPvm pvm, StartMigration m)
    {
        var from = SiteIndex(m.From);
        var to = SiteIndex(m.To);
        return pvm.State != SimPvmState.Running ? $"PVM is {pvm.State}, not running"
            : pvm.Site != from ? $"PVM is at {SiteName(pvm.Site)}, not {m.From}"
            : pvm.Migration is not null || pvm.Queued ? "another migration is running"
            : from == to ? "source and destination are the same" : null;
    }

    private void Begin(int ue, ref SimPvm pvm, StartMigration m, TimeSpan now)
    {
        var from = SiteIndex(m.From);
        var to = SiteIndex(m.To);
        var path = Topology.Transport.Path(from, to);
        pvm.Migration = migrations.Start(now, path, preCopy, ue);
        foreach (var l in path)
        {
            Stats.MaxConcurrentOnLink = Math.Max(Stats.MaxConcurrentOnLink, migrations.ActiveOn(l));
        }

        pvm.MigrationId = m.Migration;
        pvm.MigrationTo = to;
        pvm.MigrationStart = now;
        Stats.MigrationsStarted++;
        if (Scenario.Pvm.MigrationFailureProbability > 0 && rng.NextDouble() < Scenario.Pvm.MigrationFailureProbability)
        {
            // Fails somewhere in its first seconds, as a broken connection would.
            var at = now + TimeSpan.FromSeconds(rng.Uniform(0.05, 2.0));
            queue.Schedule(at, new SimEvent(SimEventKind.MigrationFailureInjected, ue, lane, pvm.Migration.Id, pvm.Migration));
        }
    }

    /// <summary>Placement admission: with site capacities the scheduler may put the PVM on a fallback site.</summary>
    private bool Admit(ref CreatePvm create, TimeSpan now)
    {
        if (schedulerConfig?.Graph is not { Capacities.Count: > 0 })
        {
            ToScheduler(new PvmAdopted(now, create.Ue, create.Site));
            return true;
        }

        var site = SiteIndex(create.Site);
        var fallbacks = Enumerable.Range(0, coreIndex).Where(s => s != site).OrderBy(s => Topology.InterSite(site, s)).ThenBy(s => s).Select(SiteId).ToList();
        var step = MigrationScheduler.Step(schedulerConfig, schedulerState, new PlacementRequested(now, create, fallbacks));
        schedulerState = step.State;
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
                    sim.ScheduleLane(now, lane, sim.UeIndex[create.Ue], 0, new PvmFailed(now, create.Ue, create.Pvm, create.Site, r.Reason));
                    return false;
            }
        }

        return true;
    }

    private void ToScheduler(SchedulerRequest request)
    {
        if (schedulerConfig is null)
        {
            return;
        }

        var step = MigrationScheduler.Step(schedulerConfig, schedulerState, request);
        schedulerState = step.State;
        var now = Now;
        foreach (var grant in step.Grants)
        {
            switch (grant)
            {
                case MigrationGranted g:
                    {
                        var ue = sim.UeIndex[g.Start.Ue];
                        ref var pvm = ref pvms[ue];
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
                            sim.ScheduleLane(now, lane, ue, 0, new MigrationFailed(now, g.Start.Migration, refusal));
                            ToScheduler(new MigrationEnded(now, g.Start.Migration, false));
                            break;
                        }

                        Begin(ue, ref pvm, g.Start, now);
                        break;
                    }

                case MigrationQueued:
                    Stats.MigrationsQueued++;
                    break;
                case MigrationRefused r:
                case MigrationDropped:
                    {
                        var start = grant is MigrationRefused rr ? rr.Start : ((MigrationDropped)grant).Start;
                        var ue = sim.UeIndex[start.Ue];
                        ref var pvm = ref pvms[ue];
                        if (pvm.Queued && pvm.QueuedId == start.Migration)
                        {
                            pvm.Queued = false;
                        }

                        if (grant is MigrationRefused refused)
                        {
                            Stats.MigrationsRefused++;
                            sim.ScheduleLane(now, lane, ue, 0, new MigrationFailed(now, start.Migration, $"scheduler: {refused.Reason}"));
                        }
                        else
                        {
                            Stats.QueuedDropped++;
                            sim.ScheduleLane(now, lane, ue, 0, new MigrationFailed(now, start.Migration, "cancelled"));
                        }

                        break;
                    }
            }
        }
    }

    private void AbortMigration(int ue, ref SimPvm pvm, TimeSpan now)
    {
        if (pvm.Migration is { } m)
        {
            migrations.Cancel(now, m);
            pvm.Migration = null;
            Stats.MigrationCancelled(m.BytesSent);
            ToScheduler(new MigrationEnded(now, pvm.MigrationId, false));
        }

        if (pvm.Queued)
        {
            pvm.Queued = false;
            ToScheduler(new MigrationWithdrawn(now, pvm.QueuedId));
        }

        _ = ue;
    }

    public void OnMigrationWake(int link, long version) => migrations.OnWake(Now, link, version);

    public void OnFailureInjected(int ue, PreCopyMigration m)
    {
        ref var pvm = ref pvms[ue];
        if (pvm.Migration == m && m.Phase == PreCopyPhase.PreCopy && migrations.Cancel(Now, m))
        {
            pvm.Migration = null;
            Stats.MigrationFailed(m.BytesSent);
            ToScheduler(new MigrationEnded(Now, pvm.MigrationId, false));
            Deliver(ue, new MigrationFailed(Now, pvm.MigrationId, "injected failure: connection to the destination lost"));
        }
    }

    void IPreCopyHost.WakeAt(TimeSpan at, int link, long version) =>
        queue.Schedule(at, new SimEvent(SimEventKind.MigrationWake, 0, lane, version, link));

    void IPreCopyHost.Finished(PreCopyMigration migration, PreCopyResult result) =>
        queue.Schedule(result.CompletesAt, new SimEvent(SimEventKind.MigrationSwitchover, (int)migration.Tag!, lane, 0, new SwitchoverPayload(migration, result)));

    public void OnSwitchover(int ue, SwitchoverPayload done)
    {
        ref var pvm = ref pvms[ue];
        if (pvm.Migration != done.Migration)
        {
            return;
        }

        pvm.Site = pvm.MigrationTo;
        pvm.Migration = null;
        var r = done.Result;
        Stats.MigrationCompleted(r, pvm.MigrationStart);
        sim.Tracker.MigrationWindow(lane, ue, pvm.MigrationStart, r.CompletesAt - r.Downtime, r.CompletesAt);
        ToScheduler(new MigrationEnded(Now, pvm.MigrationId, true));
        Deliver(ue, new MigrationCompleted(Now, pvm.MigrationId, new MigrationStats(r.TotalTime, r.Downtime, r.BytesSent, r.Rounds)));
    }

    /// <summary>A PvmStarted (or other delayed outcome) due now; stale generations are dropped.</summary>
    public void OnLaneEvent(int ue, long generation, UeEvent e)
    {
        if (e is PvmStarted)
        {
            ref var pvm = ref pvms[ue];
            if (generation != pvm.Generation || pvm.State is not (SimPvmState.Booting or SimPvmState.Resuming))
            {
                return;
            }

            pvm.State = SimPvmState.Running;
        }

        Deliver(ue, e);
    }

    /// <summary>
    /// One probe from the UE at eNB <paramref name="enb"/> to its PVM and back, along the path the switches and
    /// the hypervisor really give it now. Returns the RTT in seconds, or a loss cause.
    /// </summary>
    public double Probe(int ue, int enb, uint downlinkTeid, double jitter, out LossCause cause)
    {
        cause = LossCause.None;
        ref var pvm = ref pvms[ue];
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

        var radioAndBackhaul = sim.RadioSeconds + Topology.Backhaul(enb);
        var switchSite = Topology.Enbs[enb].Site;
        Stats.PvmProbeSamples++;
        if (pvm.Site != switchSite)
        {
            // The PVM is not at the site nearest the UE's cell (in the core, or left behind).
            Stats.PvmAwaySamples++;
        }

        if (FindSteering(ue, switchSite) is { Site: >= 0 } intent)
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
            return (2 * (radioAndBackhaul + sim.SwitchSeconds + interSite)) + sim.PvmSeconds + jitter;
        }

        if (pvm.Site == coreIndex)
        {
            // Not steered: through the edge site's transport to the S-GW/P-GW in the core, where the PVM sits.
            return (2 * (radioAndBackhaul + Topology.InterSite(switchSite, coreIndex) + (2 * sim.GatewaySeconds))) + sim.PvmSeconds + jitter;
        }

        cause = LossCause.NoSteering;
        return double.NaN;
    }

    /// <summary>PVMs per site (edge sites, then the core) for the time series.</summary>
    public void CountPvms(int[] perSite)
    {
        Array.Clear(perSite);
        foreach (ref readonly var p in pvms.AsSpan())
        {
            if (p.State != SimPvmState.None)
            {
                perSite[p.Site]++;
            }
        }
    }

    public int ActiveMigrations()
    {
        var n = 0;
        foreach (ref readonly var p in pvms.AsSpan())
        {
            if (p.Migration is not null)
            {
                n++;
            }
        }

        return n;
    }

    private SteerSlot FindSteering(int ue, int site)
    {
        var first = steering[ue];
        if (first.Site == site)
        {
            return first;
        }

        if (moreSteering[ue] is { } more)
        {
            foreach (var slot in more)
            {
                if (slot.Site == site)
                {
                    return slot;
                }
            }
        }

        return SteerSlot.Empty;
    }

    private void SetSteering(int ue, int site, SteeringIntent? intent)
    {
        var more = moreSteering[ue];
        var i = more is null ? -1 : Array.FindIndex(more, x => x.Site == site);
        if (intent is null)
        {
            if (steering[ue].Site == site)
            {
                // The next one, if any, takes the first place.
                steering[ue] = more is null ? SteerSlot.Empty : more[0];
                moreSteering[ue] = more is null || more.Length == 1 ? null : more[1..];
            }
            else if (i >= 0)
            {
                moreSteering[ue] = more!.Length == 1 ? null : [.. more[..i], .. more[(i + 1)..]];
            }

            return;
        }

        var slot = SteerSlot.Of(site, intent, SiteIndex(intent.PvmSite));
        if (steering[ue].Site == site || (steering[ue].Site < 0 && i < 0))
        {
            steering[ue] = slot;
        }
        else if (i >= 0)
        {
            more![i] = slot;
        }
        else
        {
            moreSteering[ue] = more is null ? [slot] : [.. more, slot];
        }
    }

    /// <summary>
    /// Every sample tick: link utilisation over the last interval (migrations and user traffic), then the user traffic
    /// the current placements put on each link (a connected UE whose PVM is away from its serving site sends through
    /// the route between them), then the facts the policies read.
    /// </summary>
    public void SampleLinks(RanView ran)
    {
        var now = Now;
        migrations.Flush(now);
        var dt = (now - lastLinkSample).TotalSeconds;
        var links = Topology.Transport.Links;
        var utilisation = new double[links.Count];
        for (var l = 0; l < links.Count; l++)
        {
            var bytes = migrations.MigrationBytes(l) + migrations.BackgroundBytes(l);
            if (dt > 0)
            {
                utilisation[l] = Math.Min(1, (bytes - lastLinkBytes[l]) / (links[l].BytesPerSecond * dt));
                Stats.LinkSamples[l].Add((float)utilisation[l]);
            }

            lastLinkBytes[l] = bytes;
        }

        lastLinkSample = now;
        if (ueBytesPerSecond > 0)
        {
            Array.Clear(linkBackground);
            for (var ue = 0; ue < pvms.Length; ue++)
            {
                ref readonly var p = ref pvms[ue];
                if (p.State != SimPvmState.Running || !ran.Connected(ue))
                {
                    continue;
                }

                var serving = Topology.Enbs[ran.Enb(ue)].Site;
                if (p.Site != serving)
                {
                    foreach (var l in Topology.Transport.Path(serving, p.Site))
                    {
                        linkBackground[l] += ueBytesPerSecond;
                    }
                }
            }

            for (var l = 0; l < links.Count; l++)
            {
                migrations.SetBackground(now, l, linkBackground[l]);
            }
        }

        if (Config.Strategy == Strategy.MobiScud && Config.Policy.Kind != PolicyKind.Always)
        {
            var occupancy = new int[coreIndex + 1];
            CountPvms(occupancy);
            var perSite = new Dictionary<SiteId, int>(coreIndex + 1);
            for (var s = 0; s <= coreIndex; s++)
            {
                perSite[SiteId(s)] = occupancy[s];
            }

            controller.Facts = controller.Facts with
            {
                SiteOccupancy = perSite,
                LinkUtilisation = utilisation.Select(u => Math.Min(u, 0.99)).ToArray(),
                LoadRatio = maxUsers > 0 ? WangCostModel.LoadRatio(Math.Min(ran.Attached, maxUsers), maxUsers) : 0,
            };
        }

        ToScheduler(new SchedulerTick(now));
    }

    /// <summary>
    /// A slot boundary of Wang et al.'s cost: for each attached UE with a PVM, x = rings the PVM moved since the last
    /// boundary, y = rings between the UE's cell and the PVM's site now; Q = such UEs.
    /// </summary>
    public void SlotTick(RanView ran)
    {
        var slot = new CostSlot();
        for (var ue = 0; ue < pvms.Length; ue++)
        {
            ref readonly var p = ref pvms[ue];
            if (!attached[ue] || p.State == SimPvmState.None)
            {
                slotSite[ue] = -1;
                continue;
            }

            var cell = Topology.SiteCell(p.Site);
            var x = slotSite[ue] >= 0 ? Topology.Rings(Topology.SiteCell(slotSite[ue]), cell) : 0;
            var y = Topology.Rings(ran.Enb(ue), cell);
            slot.Add(x, y, NearestSiteRings(ran.Enb(ue)));
            slotSite[ue] = p.Site;
        }

        maxUsers = Math.Max(maxUsers, slot.Users);
        Stats.Slots.Add(slot);
    }

    /// <summary>Rings from an eNB to the nearest site a PVM may live at (edge sites and the core DC), computed once.</summary>
    private int NearestSiteRings(int enb)
    {
        if (nearestSiteRings is null)
        {
            var table = new int[Topology.Enbs.Count];
            for (var e = 0; e < table.Length; e++)
            {
                table[e] = Enumerable.Range(0, coreIndex + 1).Min(site => Topology.Rings(e, Topology.SiteCell(site)));
            }

            nearestSiteRings = table;
        }

        return nearestSiteRings[enb];
    }

    private string SiteName(int site) => site == coreIndex ? NetworkTopology.CoreSite.Value : Topology.Sites[site].Id.Value;

    private SiteId SiteId(int site) => site == coreIndex ? NetworkTopology.CoreSite : Topology.Sites[site].Id;

}

internal sealed record SwitchoverPayload(PreCopyMigration Migration, PreCopyResult Result);

/// <summary>What a switch's steering entry for one UE says, as much as a probe needs (Site -1: none).</summary>
internal readonly record struct SteerSlot(int Site, int PvmSite, uint Enb, uint Teid, bool HasBearer)
{
    public static readonly SteerSlot Empty = new(-1, -1, 0, 0, false);

    public static SteerSlot Of(int site, SteeringIntent intent, int pvmSite) =>
        intent.Bearers.Count > 0
            ? new(site, pvmSite, intent.Enb.Value, intent.Bearers[0].Downlink.Teid, true)
            : new(site, pvmSite, intent.Enb.Value, 0, false);
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
