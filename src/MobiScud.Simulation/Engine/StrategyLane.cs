using System.Net;
using MobiScud.Cloud.Simulated;
using MobiScud.Control;
using MobiScud.Control.Model;
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
}

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
    private readonly Dictionary<long, SteeringIntent> steering = [];
    private readonly PreCopyMigrationModel migrations;
    private readonly int[,] linkOf;
    private readonly PreCopyParameters preCopy;
    private readonly int coreIndex;
    private readonly IPAddress[] siteAddress;
    private SimRandom rng;

    public StrategyLane(Simulator sim, int lane, StrategyKind kind, ScenarioConfig scenario, NetworkTopology topology, int ues)
    {
        this.sim = sim;
        this.lane = lane;
        Kind = kind;
        var strategy = kind switch
        {
            StrategyKind.CoreAnchored => Strategy.CoreAnchored,
            StrategyKind.StaticEdge => Strategy.StaticEdge,
            _ => Strategy.MobiScud,
        };
        Config = new McConfig(
            topology.EnbToSite(),
            NetworkTopology.CoreSite,
            strategy,
            scenario.Control.IdleSuspend > TimeSpan.Zero ? scenario.Control.IdleSuspend : null,
            scenario.Control.MigrationDeadline > TimeSpan.Zero ? scenario.Control.MigrationDeadline : null);
        controller = new MobiScudController(Config);
        pvms = new SimPvm[ues];
        attached = new bool[ues];
        coreIndex = topology.Sites.Count;
        rng = new SimRandom(scenario.Seed, 0x1A4E0000UL + (ulong)lane);
        migrations = new PreCopyMigrationModel(this);
        linkOf = new int[topology.Sites.Count + 1, topology.Sites.Count + 1];
        var bandwidth = scenario.Topology.Links.InterSiteGbps * 1e9 / 8;
        for (var a = 0; a <= topology.Sites.Count; a++)
        {
            for (var b = 0; b <= topology.Sites.Count; b++)
            {
                // One link per unordered pair: migrations both ways share it.
                linkOf[a, b] = a < b ? migrations.AddLink(bandwidth) : a > b ? linkOf[b, a] : -1;
            }
        }

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
        Stats = new LaneStats(kind, coreIndex + 1);
    }

    public StrategyKind Kind { get; }

    public McConfig Config { get; }

    public LaneStats Stats { get; }

    private NetworkTopology Topology => sim.Topology;

    private ScenarioConfig Scenario => sim.Scenario;

    private int SiteIndex(SiteId site) =>
        site == NetworkTopology.CoreSite ? coreIndex
        : Topology.SiteIndex.TryGetValue(site, out var i) ? i
        : throw new InvalidOperationException($"the MC named an unknown site '{site}'");

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
            Stats.Violation(sim.Now, $"{sim.UeIds[ue]} is attached but has no PVM");
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
        var now = sim.Now;
        switch (command)
        {
            case CreatePvm c:
                if (pvm.State != SimPvmState.None)
                {
                    Stats.Violation(now, $"{c.Ue}: CreatePvm at {c.Site} but a PVM already exists at {SiteName(pvm.Site)} (duplicate)");
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

                AbortMigration(ref pvm, now);
                pvm.State = SimPvmState.Suspended;
                pvm.Generation++;
                Stats.PvmsSuspended++;
                break;
            case DestroyPvm:
                AbortMigration(ref pvm, now);
                pvm = new SimPvm { State = SimPvmState.None, Generation = pvm.Generation + 1 };
                break;
            case StartMigration m:
                StartMigration(ue, ref pvm, m, now);
                break;
            case CancelMigration cm:
                if (pvm.Migration is { } running && pvm.MigrationId == cm.Migration && migrations.Cancel(now, running))
                {
                    pvm.Migration = null;
                    Stats.MigrationsCancelled++;
                    sim.ScheduleLane(now, lane, ue, 0, new MigrationFailed(now, cm.Migration, "cancelled"));
                }

                // Otherwise the last byte is already sent (switch-over): it completes and the MC hears MigrationCompleted.
                break;
            case InstallSteering install:
                steering[Key(ue, SiteIndex(install.Intent.SwitchSite))] = install.Intent;
                Stats.SteeringInstalls++;
                break;
            case RemoveSteering remove:
                steering.Remove(Key(ue, SiteIndex(remove.SwitchSite)));
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
        var from = SiteIndex(m.From);
        var to = SiteIndex(m.To);
        string? refusal = pvm.State != SimPvmState.Running ? $"PVM is {pvm.State}, not running"
            : pvm.Site != from ? $"PVM is at {SiteName(pvm.Site)}, not {m.From}"
            : pvm.Migration is not null ? "another migration is running"
            : from == to ? "source and destination are the same" : null;
        if (refusal is not null)
        {
            Stats.MigrationsRefused++;
            sim.ScheduleLane(now, lane, ue, 0, new MigrationFailed(now, m.Migration, refusal));
            return;
        }

        pvm.Migration = migrations.Start(now, linkOf[from, to], preCopy, ue);
        pvm.MigrationId = m.Migration;
        pvm.MigrationTo = to;
        pvm.MigrationStart = now;
        Stats.MigrationsStarted++;
        if (Scenario.Pvm.MigrationFailureProbability > 0 && rng.NextDouble() < Scenario.Pvm.MigrationFailureProbability)
        {
            // Fails somewhere in its first seconds, as a broken connection would.
            var at = now + TimeSpan.FromSeconds(rng.Uniform(0.05, 2.0));
            sim.Schedule(at, new SimEvent(SimEventKind.MigrationFailureInjected, ue, lane, pvm.Migration.Id, pvm.Migration));
        }
    }

    private void AbortMigration(ref SimPvm pvm, TimeSpan now)
    {
        if (pvm.Migration is { } m)
        {
            migrations.Cancel(now, m);
            pvm.Migration = null;
            Stats.MigrationsCancelled++;
        }
    }

    public void OnMigrationWake(int link, long version) => migrations.OnWake(sim.Now, link, version);

    public void OnFailureInjected(int ue, PreCopyMigration m)
    {
        ref var pvm = ref pvms[ue];
        if (pvm.Migration == m && m.Phase == PreCopyPhase.PreCopy && migrations.Cancel(sim.Now, m))
        {
            pvm.Migration = null;
            Stats.MigrationsFailed++;
            Deliver(ue, new MigrationFailed(sim.Now, pvm.MigrationId, "injected failure: connection to the destination lost"));
        }
    }

    void IPreCopyHost.WakeAt(TimeSpan at, int link, long version) =>
        sim.Schedule(at, new SimEvent(SimEventKind.MigrationWake, 0, lane, version, link));

    void IPreCopyHost.Finished(PreCopyMigration migration, PreCopyResult result) =>
        sim.Schedule(result.CompletesAt, new SimEvent(SimEventKind.MigrationSwitchover, (int)migration.Tag!, lane, 0, new SwitchoverPayload(migration, result)));

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
        Deliver(ue, new MigrationCompleted(sim.Now, pvm.MigrationId, new MigrationStats(r.TotalTime, r.Downtime, r.BytesSent, r.Rounds)));
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

        var links = Topology.Links;
        var radioAndBackhaul = sim.RadioSeconds + Topology.Backhaul(enb);
        var switchSite = Topology.Enbs[enb].Site;
        if (steering.TryGetValue(Key(ue, switchSite), out var intent))
        {
            if (intent.Enb != Topology.Enbs[enb].Id || intent.Bearers.Count == 0 || intent.Bearers[0].Downlink.Teid != downlinkTeid)
            {
                // The switch would wrap replies toward the wrong eNB or TEID.
                cause = LossCause.StaleSteering;
                return double.NaN;
            }

            var pvmSite = SiteIndex(intent.PvmSite);
            if (pvmSite != pvm.Site)
            {
                cause = LossCause.Misrouted;
                return double.NaN;
            }

            var interSite = pvmSite == switchSite ? 0 : pvmSite == coreIndex ? links.Core.TotalSeconds : Topology.InterSite(switchSite, pvmSite);
            return (2 * (radioAndBackhaul + sim.SwitchSeconds + interSite)) + sim.PvmSeconds + jitter;
        }

        if (pvm.Site == coreIndex)
        {
            // Not steered: through the edge site's transport to the S-GW/P-GW in the core, where the PVM sits.
            return (2 * (radioAndBackhaul + links.Core.TotalSeconds + (2 * sim.GatewaySeconds))) + sim.PvmSeconds + jitter;
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

    private string SiteName(int site) => site == coreIndex ? NetworkTopology.CoreSite.Value : Topology.Sites[site].Id.Value;

    private SiteId SiteId(int site) => site == coreIndex ? NetworkTopology.CoreSite : Topology.Sites[site].Id;

    private static long Key(int ue, int site) => ((long)ue << 20) | (uint)site;
}

internal sealed record SwitchoverPayload(PreCopyMigration Migration, PreCopyResult Result);

public enum LossCause
{
    None,
    NoPvm,
    Downtime,
    NoSteering,
    StaleSteering,
    Misrouted,
}
