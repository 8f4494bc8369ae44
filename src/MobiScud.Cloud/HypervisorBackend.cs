using System.Threading.Channels;
using MobiScud.Control.Host;
using MobiScud.Control.Model;

namespace MobiScud.Cloud;

/// <summary>
/// Any <see cref="IHypervisor"/> (QEMU, network-namespace PVMs) as the host layer's PVM backend: commands go straight
/// through, and the hypervisor's events are forwarded, in order, to <see cref="Outcomes"/> by one task that
/// <see cref="DisposeAsync"/> stops and awaits. The hypervisor is the caller's: it is not disposed here.
/// </summary>
public sealed class HypervisorBackend : IPvmBackend, IAsyncDisposable
{
    private readonly Task<IHypervisor> _hypervisor;
    private readonly Action<UeEvent>? _observe;
    private readonly Channel<UeEvent> _outcomes = OutcomeChannel.Create();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _forward;

    public HypervisorBackend(IHypervisor hypervisor)
        : this(Task.FromResult(hypervisor), null)
    {
    }

    /// <param name="hypervisor">The hypervisor once it is up (one built when its service starts): commands and the inventory wait for it.</param>
    /// <param name="observe">Sees every outcome as it is forwarded (e.g. the dashboard's migration progress).</param>
    public HypervisorBackend(Task<IHypervisor> hypervisor, Action<UeEvent>? observe)
    {
        _hypervisor = hypervisor;
        _observe = observe;
        _forward = Task.Run(ForwardAsync, CancellationToken.None);
    }

    public ChannelReader<UeEvent> Outcomes => _outcomes.Reader;

    public async Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        await (await _hypervisor.WaitAsync(ct)).ExecuteAsync(command, ct);
        return null;
    }

    public async Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default) =>
    [
        .. (await _hypervisor.WaitAsync(ct)).Query().Select(p => new PvmInventoryItem(p.Ue, p.Pvm, p.Site, p.State is PvmState.Running or PvmState.Migrating, p.Address, p.Migration, p.MigrationTarget)),
    ];

    private async Task ForwardAsync()
    {
        try
        {
            var hypervisor = await _hypervisor.WaitAsync(_stop.Token);
            await foreach (var e in hypervisor.Events.ReadAllAsync(_stop.Token))
            {
                // Every outcome a hypervisor reports concerns one UE's PVM.
                var outcome = e as UeEvent ?? throw new InvalidOperationException($"the hypervisor reported {e.GetType().Name}, which concerns no UE");
                _observe?.Invoke(outcome);
                _outcomes.Writer.TryWrite(outcome);
            }

            _outcomes.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            _outcomes.Writer.TryComplete();
        }
        catch (Exception e)
        {
            // The reader (the host's pump) sees the failure instead of waiting forever for outcomes that will not come.
            _outcomes.Writer.TryComplete(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _forward;
        _stop.Dispose();
    }
}
