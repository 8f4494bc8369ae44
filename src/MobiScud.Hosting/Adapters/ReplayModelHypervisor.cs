using System.Collections.Concurrent;
using MobiScud.Control.Model;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// No VMs at all, the model `mobiscud replay` uses: a created or resumed PVM reports <see cref="PvmStarted"/> at once
/// (applied in the same UE turn), and a live migration stays in flight, since nothing copies memory. Serving a capture
/// with it shows the commands the MC would send to real adapters, exactly as `mobiscud replay` shows them. It keeps an
/// inventory so the restart reconciliation finds every PVM it was told about.
/// </summary>
public sealed class ReplayModelHypervisor(IServiceClock clock) : IHypervisorAdapter
{
    private static readonly Task<UeEvent?> NoOutcome = Task.FromResult<UeEvent?>(null);
    private readonly ConcurrentDictionary<PvmId, PvmInventoryItem> _pvms = new();

    public bool ImmediateOutcomes => true;

    public void Attach(IEventSink? sink)
    {
        // Nothing ever finishes later: there is nothing to report through a sink.
    }

    public Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        switch (command)
        {
            case CreatePvm c:
                // A PVM exists at one site at a time: creating it again reports where it already is.
                var pvm = _pvms.GetOrAdd(c.Pvm, _ => new PvmInventoryItem(c.Ue, c.Pvm, c.Site, true, null, null, null));
                _pvms[c.Pvm] = pvm with { Running = true };
                return Task.FromResult<UeEvent?>(new PvmStarted(clock.Now, c.Ue, c.Pvm, pvm.Site, null));
            case ResumePvm r:
                if (_pvms.TryGetValue(r.Pvm, out var resumed))
                {
                    _pvms[r.Pvm] = resumed with { Running = true };
                    return Task.FromResult<UeEvent?>(new PvmStarted(clock.Now, r.Ue, r.Pvm, resumed.Site, null));
                }

                return Task.FromResult<UeEvent?>(new PvmFailed(clock.Now, r.Ue, r.Pvm, r.Site, "no such PVM to resume"));
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

        return NoOutcome;
    }

    public Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<PvmInventoryItem>>([.. _pvms.Values]);
}
