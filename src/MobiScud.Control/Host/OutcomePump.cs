using System.Threading.Channels;
using MobiScud.Control.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MobiScud.Control.Host;

/// <summary>
/// Drains backends' outcome channels into the host's event sink: one tracked task per channel, stopped and awaited by
/// <see cref="StopAsync"/>; a failure is logged, never lost silently. Outcomes are posted in the order
/// each backend wrote them.
/// </summary>
public sealed class OutcomePump(IEventSink sink, ILogger? log = null) : IAsyncDisposable
{
    private readonly ILogger _log = log ?? NullLogger.Instance;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];

    /// <summary>
    /// Starts draining <paramref name="outcomes"/>. With <paramref name="dropBacklog"/>, what the channel already holds is
    /// dropped first (logged): outcomes a backend reported while no MC listened, which a restart reconciliation reads
    /// from the inventory instead.
    /// </summary>
    public void Start(string name, ChannelReader<UeEvent> outcomes, bool dropBacklog = false)
    {
        if (dropBacklog)
        {
            while (outcomes.TryRead(out var stale))
            {
                _log.LogInformation("{Source} outcome {Event} for {Ue} dropped: it came while no MC listened", name, stale.GetType().Name, stale.Ue);
            }
        }

        lock (_pumps)
        {
            _pumps.Add(Task.Run(() => RunAsync(name, outcomes), CancellationToken.None));
        }
    }

    private async Task RunAsync(string name, ChannelReader<UeEvent> outcomes)
    {
        var ct = _stop.Token;
        try
        {
            while (await outcomes.WaitToReadAsync(ct))
            {
                while (outcomes.TryRead(out var e))
                {
                    try
                    {
                        await sink.PostAsync(e, ct);
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or ChannelClosedException or ObjectDisposedException
                                                   || (ex is OperationCanceledException && !ct.IsCancellationRequested))
                    {
                        _log.LogWarning("{Source} outcome {Event} for {Ue} lost: the MC is stopping ({Error})", name, e.GetType().Name, e.Ue, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The sink failed in a way nobody planned for: say so, since every later outcome of this backend is lost.
            _log.LogError(e, "{Source} outcome pump failed", name);
            throw;
        }
    }

    /// <summary>Stops every pump and waits for it; outcomes still in the channels stay there.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        Task[] pumps;
        lock (_pumps)
        {
            pumps = [.. _pumps];
        }

        try
        {
            await Task.WhenAll(pumps);
        }
        catch (Exception e)
        {
            _log.LogError(e, "an outcome pump had failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
