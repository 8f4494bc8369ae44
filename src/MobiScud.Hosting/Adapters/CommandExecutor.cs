using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Sends a UE's commands to the adapters. Runs inside the UE grain's turn after the state is persisted; it never
/// waits on the event pipeline (the grain is what the pipeline waits on), so outcomes are posted in the background.
/// </summary>
public sealed class CommandExecutor(
    IHypervisorAdapter hypervisor,
    ISteeringAdapter steering,
    TimerService timers,
    NotificationHub notifications,
    SiteMembership sites,
    IEventSink sink,
    IServiceClock clock,
    ILogger<CommandExecutor> log) : ICommandExecutor
{
    private static readonly IReadOnlyList<UeEvent> None = [];

    public bool ImmediateOutcomes => hypervisor.ImmediateOutcomes;

    public async Task<IReadOnlyList<UeEvent>> ExecuteAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default)
    {
        List<UeEvent>? outcomes = null;
        foreach (var command in commands)
        {
            switch (command)
            {
                case StartMigration m:
                    if (await sites.TryAdmitAsync(m.To.Value, m.Ue.Value))
                    {
                        Collect(await hypervisor.ExecuteAsync(m, ct));
                    }
                    else
                    {
                        log.LogWarning("migration {Migration} refused: site {Site} is full", m.Migration, m.To);
                        var refused = new MigrationFailed(clock.Now, m.Migration, $"admission refused: {m.To} is full");
                        _ = Task.Run(() => sink.PostAsync(refused).AsTask(), CancellationToken.None);
                    }

                    break;
                case CreatePvm or ResumePvm or SuspendPvm or DestroyPvm or CancelMigration:
                    Collect(await hypervisor.ExecuteAsync(command, ct));
                    break;
                case InstallSteering i:
                    await steering.InstallAsync(i.Intent, ct);
                    break;
                case RemoveSteering r:
                    await steering.RemoveAsync(r.Ue, r.SwitchSite, ct);
                    break;
                case ScheduleTimer t:
                    timers.Schedule(t);
                    break;
                case Notify n:
                    await notifications.PublishAsync(before, after, n);
                    break;
            }
        }

        return outcomes ?? None;

        void Collect(UeEvent? outcome)
        {
            if (outcome is not null)
            {
                (outcomes ??= []).Add(outcome);
            }
        }
    }
}
