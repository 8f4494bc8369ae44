using System.Diagnostics;
using System.Threading.Channels;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace MobiScud.Hosting.Pipeline;

/// <summary>
/// Feeds events to UE grains in order per UE, with backpressure. Each UE maps to one of N lanes (a bounded
/// channel with one reader); producers wait when their lane is full, so a burst costs at most N x capacity
/// events of memory. A lane hands a batch to the grains (one call per UE, UEs in parallel), waits for all, then
/// takes the next batch, which keeps each UE's order. A failed call (silo gone) is retried with the same
/// sequence numbers, and the grain skips what it already applied.
/// </summary>
public sealed class EventPipeline : IEventSink, IHostedService
{
    private readonly IGrainFactory _grains;
    private readonly PipelineOptions _options;
    private readonly ILogger _log;
    private readonly Channel<(UeEvent Event, long Enqueued)>[] _lanes;
    private readonly Task[] _readers;
    private readonly CancellationTokenSource _stop = new();
    private readonly string _source = Guid.NewGuid().ToString("N");
    private const int MaxAttempts = 60;
    private long _posted;
    private long _delivered;
    private long _seq;
    private long _retries;

    public EventPipeline(IGrainFactory grains, PipelineOptions options, ILogger<EventPipeline> log)
    {
        _grains = grains;
        _options = options;
        _log = log;
        _lanes = new Channel<(UeEvent, long)>[options.Partitions];
        for (var i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = Channel.CreateBounded<(UeEvent, long)>(new BoundedChannelOptions(options.Capacity)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = true,
            });
        }

        _readers = new Task[_lanes.Length];
    }

    /// <summary>Events waiting in the lanes right now (bounded by partitions x capacity).</summary>
    public long Pending => Interlocked.Read(ref _posted) - Interlocked.Read(ref _delivered);

    public bool Running { get; private set; }

    /// <summary>Deliveries that failed and were tried again (a silo died, storage was unreachable).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public async ValueTask PostAsync(UeEvent e, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(e);
        var lane = _lanes[(uint)UeIndex.StableHash(e.Ue.Value) % (uint)_lanes.Length];
        Interlocked.Increment(ref _posted);
        try
        {
            await lane.Writer.WriteAsync((e, Stopwatch.GetTimestamp()), ct);
        }
        catch
        {
            Interlocked.Decrement(ref _posted);
            throw;
        }
    }

    /// <summary>Waits until everything posted so far has been applied by the grains.</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        var target = Interlocked.Read(ref _posted);
        while (Interlocked.Read(ref _delivered) < target)
        {
            await Task.Delay(5, ct);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _seq = DateTime.UtcNow.Ticks;
        for (var i = 0; i < _lanes.Length; i++)
        {
            var lane = _lanes[i];
            _readers[i] = Task.Run(() => RunLane(lane), CancellationToken.None);
        }

        Running = true;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Running = false;
        foreach (var lane in _lanes)
        {
            lane.Writer.TryComplete();
        }

        // Drain what was accepted, unless the host gives up waiting.
        var drained = Task.WhenAll(_readers.Where(r => r is not null));
        var finished = await Task.WhenAny(drained, Task.Delay(Timeout.Infinite, cancellationToken));
        if (finished != drained)
        {
            _stop.Cancel();
            _log.LogWarning("pipeline stopped with {Pending} events not applied", Pending);
        }
    }

    private async Task RunLane(Channel<(UeEvent Event, long Enqueued)> lane)
    {
        var reader = lane.Reader;
        var batch = new List<(UeEvent Event, long Enqueued)>(_options.MaxBatch);
        var byUe = new Dictionary<UeId, List<EventEnvelope>>();
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                batch.Clear();
                while (batch.Count < _options.MaxBatch && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                byUe.Clear();
                foreach (var (e, enqueued) in batch)
                {
                    if (!byUe.TryGetValue(e.Ue, out var list))
                    {
                        byUe[e.Ue] = list = [];
                    }

                    // Sequence numbers are taken in lane order, so they rise along each UE's events.
                    list.Add(new EventEnvelope(_source, Interlocked.Increment(ref _seq), e, enqueued));
                }

                await Task.WhenAll(byUe.Select(kv => Deliver(kv.Key, [.. kv.Value])));
                Interlocked.Add(ref _delivered, batch.Count);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Host shutdown timed out.
        }
    }

    private async Task Deliver(UeId ue, EventEnvelope[] envelopes)
    {
        var grain = GrainRefs.Ue(_grains, ue.Value);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await grain.Handle(new Immutable<EventEnvelope[]>(envelopes));
                return;
            }
            catch (Exception e) when (attempt >= MaxAttempts)
            {
                // A poison batch must not block the lane forever; the UE is re-checked by the next reconcile.
                _log.LogError(e, "gave up delivering {Count} event(s) to {Ue} after {Attempts} attempts", envelopes.Length, ue, attempt);
                return;
            }
            catch (Exception e) when (!_stop.IsCancellationRequested && e is not OperationCanceledException && attempt < MaxAttempts)
            {
                // A silo died or the grain failed to persist: nothing was acknowledged, so try again.
                Interlocked.Increment(ref _retries);
                var wait = TimeSpan.FromMilliseconds(Math.Min(2000, 50 * attempt));
                _log.LogWarning("delivery of {Count} event(s) to {Ue} failed (attempt {Attempt}), retrying in {Wait}: {Error}", envelopes.Length, ue, attempt, wait, e.Message);
                await Task.Delay(wait, _stop.Token);
            }
        }
    }
}
