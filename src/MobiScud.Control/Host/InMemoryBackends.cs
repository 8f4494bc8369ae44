using System.Collections.Concurrent;
using System.Threading.Channels;
using MobiScud.Control.Model;

namespace MobiScud.Control.Host;

/// <summary>
/// No VMs at all, the model `mobiscud replay` uses (and serve with `Hypervisor:Kind: Replay`): a created or resumed PVM
/// is reported started at once (<see cref="ReportsAtOnce"/>: applied before the UE's next event), and a live migration
/// stays in flight, since nothing copies memory. It keeps an inventory so a restart reconciliation finds every PVM it
/// was told about.
/// </summary>
/// <param name="now">The MC time its outcomes carry.</param>
public sealed class ImmediatePvmModel(Func<TimeSpan> now) : IPvmBackend
{
    private readonly ConcurrentDictionary<PvmId, PvmInventoryItem> _pvms = new();

    /// <summary>Nothing ever finishes later.</summary>
    public ChannelReader<UeEvent> Outcomes { get; } = OutcomeChannel.None();

    public bool ReportsAtOnce(ControlCommand command) => command is CreatePvm or ResumePvm;

    public Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        switch (command)
        {
            case CreatePvm c:
                // A PVM exists at one site at a time: creating it again reports where it already is.
                var pvm = _pvms.GetOrAdd(c.Pvm, _ => new PvmInventoryItem(c.Ue, c.Pvm, c.Site, true, null, null, null));
                _pvms[c.Pvm] = pvm with { Running = true };
                return Task.FromResult<UeEvent?>(new PvmStarted(now(), c.Ue, c.Pvm, pvm.Site, null));
            case ResumePvm r:
                if (_pvms.TryGetValue(r.Pvm, out var resumed))
                {
                    _pvms[r.Pvm] = resumed with { Running = true };
                    return Task.FromResult<UeEvent?>(new PvmStarted(now(), r.Ue, r.Pvm, resumed.Site, null));
                }

                return Task.FromResult<UeEvent?>(new PvmFailed(now(), r.Ue, r.Pvm, r.Site, "no such PVM to resume"));
            case SuspendPvm s when _pvms.TryGetValue(s.Pvm, out var suspended):
                _pvms[s.Pvm] = suspended with { Running = false };
                break;
            case DestroyPvm d:
                _pvms.TryRemove(d.Pvm, out _);
                break;
            case StartMigration m when _pvms.TryGetValue(m.Pvm, out var moving):
                _pvms[m.Pvm] = moving with { Migrating = m.Migration, MigratingTo = m.To };
                break;
            case CancelMigration m when _pvms.TryGetValue(m.Pvm, out var staying) && staying.Migrating == m.Migration:
                _pvms[m.Pvm] = staying with { Migrating = null, MigratingTo = null };
                break;
        }

        return Task.FromResult<UeEvent?>(null);
    }

    public Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<PvmInventoryItem>>([.. _pvms.Values]);
}

/// <summary>
/// Edge switches held in memory, one rule per (site, UE), replaced atomically per UE as the OpenFlow backend does with
/// its per-UE cookie. Its switches cannot refuse: it never reports a failure.
/// </summary>
public sealed class InMemorySteering : ISteeringBackend
{
    private readonly ConcurrentDictionary<(SiteId Site, UeId Ue), SteeringIntent> _rules = new();

    public ChannelReader<UeEvent> Outcomes { get; } = OutcomeChannel.None();

    public Task InstallAsync(SteeringIntent intent, CancellationToken ct = default)
    {
        // An older version arriving late (a retried delivery) must not overwrite a newer one.
        _rules.AddOrUpdate((intent.SwitchSite, intent.Ue), intent, (_, old) => old.Version > intent.Version ? old : intent);
        return Task.CompletedTask;
    }

    public Task RemoveAsync(UeId ue, SiteId switchSite, CancellationToken ct = default)
    {
        _rules.TryRemove((switchSite, ue), out _);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SteeringIntent>> InventoryAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<SteeringIntent>>([.. _rules.Values]);
}

/// <summary>
/// Timers for a host without a clock past its input (replay: a capture ends at its last frame): it keeps what the MC
/// asked for, and fires nothing, so the replay shows exactly the commands the capture caused.
/// </summary>
public sealed class RecordedTimers : ITimerScheduler
{
    private readonly ConcurrentQueue<ScheduleTimer> _scheduled = new();

    public ChannelReader<UeEvent> Outcomes { get; } = OutcomeChannel.None();

    /// <summary>Every timer the MC asked for, in order.</summary>
    public IReadOnlyCollection<ScheduleTimer> Scheduled => _scheduled;

    public void Schedule(ScheduleTimer timer) => _scheduled.Enqueue(timer);
}
