using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Tracking.Tests.WholePath;

/// <summary>The MC core broke one of its guarantees (a command that contradicts what the backends hold).</summary>
internal sealed class McInvariantException(string message) : Exception(message);

/// <summary>
/// The MC core (<see cref="MobiScudControl.Decide"/>) for every UE a tracker reports, against a model of the hypervisor
/// and the switches that holds the truth, as ConvergenceTests does for one UE: no duplicate PVM, resume and suspend only
/// of a PVM in that state, never a destroy, one migration at a time from where the PVM runs, steering only toward the
/// PVM's real site, at one switch, with rising versions, removed only where installed. Outcomes come back at once
/// (a quarter of the migrations fail); due timers fire before the UE's next event.
/// </summary>
internal sealed class McModel(McConfig config, int seed)
{
    private static readonly IPAddress _pvmIp = IPAddress.Parse("192.168.77.10");
    private readonly Dictionary<UeId, Ue> _ues = [];
    private readonly Random _random = new(seed);

    public int Ues => _ues.Count;

    /// <summary>Drops every UE state (after a run, to measure what the rest of the path retains without the model's).</summary>
    public void Clear() => _ues.Clear();

    public long Decisions { get; private set; }

    public long Events { get; private set; }

    public void Handle(UeEvent e)
    {
        Events++;
        var ue = Get(e.Ue);
        foreach (var t in ue.Timers.Where(t => t.Due <= e.At).OrderBy(t => t.Due).ToList())
        {
            ue.Timers.Remove(t);
            Decide(ue, new TimerFired(e.At, e.Ue, t.Kind, t.Token));
        }

        Decide(ue, e);
        while (ue.Outcomes.Count > 0)
        {
            var outcome = ue.Outcomes.Dequeue();
            Deliver(ue, outcome);
            Decide(ue, outcome with { At = e.At });
        }
    }

    /// <summary>The backends change before the MC hears of it, as in a real host.</summary>
    private static void Deliver(Ue ue, UeEvent outcome)
    {
        switch (outcome)
        {
            case PvmStarted started:
                ue.Creating = false;
                ue.Instance = (started.Site, true);
                break;
            case MigrationCompleted done when ue.Migrations.Remove(done.Migration, out var m):
                ue.Instance = (m.To, ue.Instance?.Running ?? true);
                break;
            case MigrationFailed failed:
                ue.Migrations.Remove(failed.Migration);
                break;
        }
    }

    private Ue Get(UeId id)
    {
        if (!_ues.TryGetValue(id, out var ue))
        {
            ue = new Ue(id);
            _ues[id] = ue;
        }

        return ue;
    }

    private void Decide(Ue ue, UeEvent e)
    {
        var decision = MobiScudControl.Decide(config, ue.State, e);
        Decisions++;
        ue.State = decision.State;
        foreach (var c in decision.Commands)
        {
            Execute(ue, c);
        }
    }

    private void Execute(Ue ue, ControlCommand command)
    {
        switch (command)
        {
            case CreatePvm create:
                Require(!ue.Creating && ue.Instance is null, ue, $"duplicate PVM: create at {create.Site} while one exists at {ue.Instance?.Site}");
                ue.Creating = true;
                ue.Outcomes.Enqueue(new PvmStarted(TimeSpan.Zero, ue.Id, create.Pvm, create.Site, _pvmIp));
                break;
            case ResumePvm resume:
                Require(ue.Instance == (resume.Site, false), ue, $"resume at {resume.Site} of {ue.Instance}");
                ue.Outcomes.Enqueue(new PvmStarted(TimeSpan.Zero, ue.Id, resume.Pvm, resume.Site, _pvmIp));
                break;
            case SuspendPvm suspend:
                Require(ue.Instance == (suspend.Site, true) && ue.Migrations.Count == 0, ue, $"suspend at {suspend.Site} of {ue.Instance}, {ue.Migrations.Count} migrations");
                ue.Instance = (suspend.Site, false);
                break;
            case DestroyPvm:
                Require(false, ue, "the MC never destroys a user's PVM on its own");
                break;
            case StartMigration start:
                Require(ue.Instance == (start.From, true) && ue.Migrations.Count == 0, ue, $"migration from {start.From} of {ue.Instance}, {ue.Migrations.Count} running");
                ue.Migrations[start.Migration] = (start.From, start.To);
                ue.Outcomes.Enqueue(_random.Next(4) == 0
                    ? new MigrationFailed(TimeSpan.Zero, start.Migration, "link down")
                    : new MigrationCompleted(TimeSpan.Zero, start.Migration, new MigrationStats(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(30), 1, 3)));
                break;
            case CancelMigration cancel:
                Require(ue.Migrations.ContainsKey(cancel.Migration), ue, "cancel for a migration that is not running");
                break;
            case InstallSteering install:
                Require(ue.Instance is { } i && i.Site == install.Intent.PvmSite, ue, $"steering toward {install.Intent.PvmSite} while the PVM is {ue.Instance}");
                ue.Switches[install.Intent.SwitchSite] = install.Intent;
                Require(ue.Switches.Count == 1, ue, $"steering at {ue.Switches.Count} switches");
                Require(install.Intent.Version > ue.LastInstall, ue, $"steering version {install.Intent.Version} after {ue.LastInstall}");
                ue.LastInstall = install.Intent.Version;
                break;
            case RemoveSteering remove:
                Require(ue.Switches.Remove(remove.SwitchSite), ue, $"remove at {remove.SwitchSite} where nothing is installed");
                break;
            case ScheduleTimer timer:
                ue.Timers.Add(timer);
                break;
        }
    }

    private static void Require(bool condition, Ue ue, string what)
    {
        if (!condition)
        {
            throw new McInvariantException($"{ue.Id}: {what} (state {ue.State?.Connection} at {ue.State?.ServingEnb}, PVM {ue.State?.PvmStatus} at {ue.State?.PvmSite})");
        }
    }

    private sealed class Ue(UeId id)
    {
        public UeId Id { get; } = id;

        public UeState? State { get; set; }

        public (SiteId Site, bool Running)? Instance { get; set; }

        public bool Creating { get; set; }

        public Dictionary<MigrationId, (SiteId From, SiteId To)> Migrations { get; } = [];

        public Dictionary<SiteId, SteeringIntent> Switches { get; } = [];

        public int LastInstall { get; set; } = -1;

        public List<ScheduleTimer> Timers { get; } = [];

        public Queue<UeEvent> Outcomes { get; } = [];
    }
}
