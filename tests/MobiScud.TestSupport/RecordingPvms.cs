using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using MobiScud.Control.Host;
using MobiScud.Control.Model;

namespace MobiScud.TestSupport;

/// <summary>Records the MC's PVM commands; answers CreatePvm later, the way a hypervisor reports a booted PVM.</summary>
public sealed class RecordingPvms : IPvmBackend
{
    private readonly Channel<UeEvent> _outcomes = OutcomeChannel.Create();

    public ConcurrentQueue<ControlCommand> Executed { get; } = new();

    public ChannelReader<UeEvent> Outcomes => _outcomes.Reader;

    /// <summary>Reports an outcome as the hypervisor would (a migration's end, a failure).</summary>
    public void Report(UeEvent e)
    {
        if (!_outcomes.Writer.TryWrite(e))
        {
            throw new InvalidOperationException($"outcome {e} not accepted");
        }
    }

    public Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        Executed.Enqueue(command);
        if (command is CreatePvm c)
        {
            _outcomes.Writer.TryWrite(new PvmStarted(TimeSpan.Zero, c.Ue, c.Pvm, c.Site, IPAddress.Parse("192.168.77.10")));
        }

        return Task.FromResult<UeEvent?>(null);
    }

    public Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default) => Task.FromResult<IReadOnlyList<PvmInventoryItem>>([]);
}
