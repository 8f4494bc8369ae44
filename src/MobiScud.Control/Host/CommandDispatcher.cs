using System.Threading.Channels;
using MobiScud.Control.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MobiScud.Control.Host;

/// <summary>Carries out one UE's commands, in order, against the backends. Every host (replay, testbed, serve) goes through one.</summary>
public interface ICommandDispatcher
{
    /// <summary>Whether a backend knows the outcome of one of <paramref name="commands"/> at once (see <see cref="IPvmBackend.ReportsAtOnce"/>).</summary>
    bool ReportsAtOnce(IReadOnlyList<ControlCommand> commands);

    /// <summary>
    /// Executes the commands in order and returns the outcomes known at once, in command order (the caller applies them
    /// before the UE's next event). <paramref name="before"/>/<paramref name="after"/>: the UE's state around the decision
    /// (notifications carry both).
    /// </summary>
    Task<IReadOnlyList<UeEvent>> DispatchAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default);
}

/// <summary>
/// The one place that switches on the command type: PVM commands to the PVM backend, steering to the steering backend,
/// timers to the scheduler, notifications to the publisher (when the host has one). A migration the admission refuses
/// fails with the reason on <see cref="Outcomes"/> (later, as a backend's failure would: never inside the caller's turn).
/// </summary>
/// <param name="now">The host's MC time (the time refusals carry).</param>
/// <param name="notifications">Where Notify commands go; null: the host has no subscribers, and they are only in its timeline.</param>
/// <param name="admission">Site capacity for migration targets; null admits every migration.</param>
public sealed class CommandDispatcher(
    IPvmBackend pvms, ISteeringBackend steering, ITimerScheduler timers, Func<TimeSpan> now,
    INotificationPublisher? notifications = null, IMigrationAdmission? admission = null, ILogger? log = null) : ICommandDispatcher
{
    private static readonly IReadOnlyList<UeEvent> _noOutcomes = [];
    private readonly ILogger _log = log ?? NullLogger.Instance;
    private readonly Channel<UeEvent> _outcomes = OutcomeChannel.Create();

    /// <summary>Site capacity for new PVMs, with fallback to the next best site; null places every PVM where the MC asks.</summary>
    public IPlacementAdmission? Placement { get; init; }

    /// <summary>Per-link budgets and queueing of migrations; null starts every admitted migration at once.</summary>
    public IMigrationGate? Gate { get; init; }

    /// <summary>Migrations the admission refused (MigrationFailed), creations the placement refused (PvmFailed).</summary>
    public ChannelReader<UeEvent> Outcomes => _outcomes.Reader;

    public IPvmBackend Pvms { get; } = pvms;

    public ISteeringBackend Steering { get; } = steering;

    public ITimerScheduler Timers { get; } = timers;

    /// <summary>Every outcome channel behind this dispatcher, for the host's <see cref="OutcomePump"/>: name, reader.</summary>
    public IReadOnlyList<(string Name, ChannelReader<UeEvent> Reader)> OutcomeSources =>
        [("pvm", Pvms.Outcomes), ("steering", Steering.Outcomes), ("timers", Timers.Outcomes), ("admission", _outcomes.Reader)];

    public bool ReportsAtOnce(IReadOnlyList<ControlCommand> commands)
    {
        foreach (var c in commands)
        {
            if (Pvms.ReportsAtOnce(c))
            {
                return true;
            }
        }

        return false;
    }

    public async Task<IReadOnlyList<UeEvent>> DispatchAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default)
    {
        List<UeEvent>? outcomes = null;
        if (Gate is not null && before?.Migration is { } ended && after?.Migration?.Id != ended.Id)
        {
            // The decision let go of a migration (it ended, or the PVM was observed elsewhere): its budget is free.
            await Gate.EndedAsync(ended.Id, after?.PvmSite == ended.To, ct);
        }

        foreach (var command in commands)
        {
            switch (command)
            {
                case StartMigration m:
                    if (admission is null || await admission.TryAdmitAsync(m.To.Value, m.Ue.Value))
                    {
                        if (Gate is null || await Gate.RequestAsync(m, ct))
                        {
                            Collect(await Pvms.ExecuteAsync(m, ct));
                        }
                    }
                    else
                    {
                        _log.LogWarning("migration {Migration} refused: site {Site} is full", m.Migration, m.To);
                        _outcomes.Writer.TryWrite(new MigrationFailed(now(), m.Migration, $"admission refused: {m.To} is full"));
                    }

                    break;
                case CreatePvm c when Placement is not null:
                    if (await Placement.PlaceAsync(c) is { } site)
                    {
                        if (site != c.Site)
                        {
                            _log.LogInformation("PVM {Pvm} placed at {Site}: {Asked} is full", c.Pvm, site, c.Site);
                        }

                        // The MC adopts the site PvmStarted reports.
                        Collect(await Pvms.ExecuteAsync(site == c.Site ? c : c with { Site = site }, ct));
                    }
                    else
                    {
                        _log.LogWarning("PVM {Pvm} refused: {Site} and every other site are full", c.Pvm, c.Site);
                        _outcomes.Writer.TryWrite(new PvmFailed(now(), c.Ue, c.Pvm, c.Site, $"admission refused: {c.Site} and every other site are full"));
                    }

                    break;
                case CancelMigration cancel when Gate is not null && await Gate.WithdrawAsync(cancel, ct):
                    // Never on the wire: the gate dropped it and reports it cancelled.
                    break;
                case CreatePvm or ResumePvm or SuspendPvm or DestroyPvm or CancelMigration:
                    Collect(await Pvms.ExecuteAsync(command, ct));
                    break;
                case InstallSteering i:
                    await Steering.InstallAsync(i.Intent, ct);
                    break;
                case RemoveSteering r:
                    await Steering.RemoveAsync(r.Ue, r.SwitchSite, ct);
                    break;
                case ScheduleTimer t:
                    Timers.Schedule(t);
                    break;
                case Notify n:
                    if (notifications is not null)
                    {
                        await notifications.PublishAsync(before, after, n);
                    }

                    break;
                default:
                    throw new ArgumentException($"no backend carries out {command.GetType().Name} (UE {command.Ue})", nameof(commands));
            }
        }

        return outcomes ?? _noOutcomes;

        void Collect(UeEvent? outcome)
        {
            if (outcome is not null)
            {
                (outcomes ??= []).Add(outcome);
            }
        }
    }
}
