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
/// takes the next batch, which keeps each UE's order. A failed call (silo gone, storage down) is retried with the
/// same sequence numbers until it succeeds, and the grain skips what it already persisted.
/// </summary>
public sealed class EventPipeline : IEventSink, IHostedService
{
    private readonly IGrainFactory _grains;
    private readonly EventPipelineOptions _options;
    private readonly ILogger _log;
    private readonly Channel<(UeEvent Event, long Enqueued, TaskCompletionSource? Applied)>[] _lanes;
    private readonly Task[] _readers;
    private readonly CancellationTokenSource _stop = new();
    private readonly string _source = Guid.NewGuid().ToString("N");
    private long _posted;
    private long _delivered;
    private long _seq;
    private long _retries;

    /// <summary>Attempts for a failure that is not storage or the cluster being away (those are retried until they return).</summary>
    private const int MaxAttemptsUnlessTransient = 60;

    public EventPipeline(IGrainFactory grains, EventPipelineOptions options, ILogger<EventPipeline> log)
    {
        _grains = grains;
        _options = options;
        _log = log;
        _lanes = new Channel<(UeEvent, long, TaskCompletionSource?)>[options.Partitions];
        for (var i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = Channel.CreateBounded<(UeEvent, long, TaskCompletionSource?)>(new BoundedChannelOptions(options.Capacity)
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

    public ValueTask PostAsync(UeEvent e, CancellationToken ct = default) => PostAsync(e, null, ct);

    /// <summary>
    /// Posts the event and waits until its UE grain has persisted it (persist, then acknowledge). False when that did not
    /// happen within <paramref name="deadline"/>: the event may still be applied later, so the caller's retry must be
    /// idempotent (pin, move and drain are).
    /// </summary>
    public async Task<bool> SubmitAsync(UeEvent e, TimeSpan deadline, CancellationToken ct = default)
    {
        var applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(deadline);
        try
        {
            await PostAsync(e, applied, timeout.Token);
            await applied.Task.WaitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private async ValueTask PostAsync(UeEvent e, TaskCompletionSource? applied, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(e);
        var lane = _lanes[(uint)UePartitions.StableHash(e.Ue.Value) % (uint)_lanes.Length];
        Interlocked.Increment(ref _posted);
        try
        {
            await lane.Writer.WriteAsync((e, TimeProvider.System.GetTimestamp(), applied), ct);
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
        _seq = TimeProvider.System.GetUtcNow().UtcDateTime.Ticks;
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

    private async Task RunLane(Channel<(UeEvent Event, long Enqueued, TaskCompletionSource? Applied)> lane)
    {
        var reader = lane.Reader;
        var batch = new List<(UeEvent Event, long Enqueued, TaskCompletionSource? Applied)>(_options.MaxBatch);
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
                foreach (var (e, enqueued, _) in batch)
                {
                    if (!byUe.TryGetValue(e.Ue, out var list))
                    {
                        byUe[e.Ue] = list = [];
                    }

                    // Sequence numbers are taken in lane order, so they rise along each UE's events.
                    list.Add(new EventEnvelope(_source, Interlocked.Increment(ref _seq), e, enqueued));
                }

                var failed = new HashSet<UeId>();
                await Task.WhenAll(byUe.Select(async kv =>
                {
                    try
                    {
                        await Deliver(kv.Key, [.. kv.Value]);
                    }
                    catch (EventNotAppliedException)
                    {
                        lock (failed)
                        {
                            failed.Add(kv.Key);
                        }
                    }
                }));
                Interlocked.Add(ref _delivered, batch.Count);
                foreach (var (e, _, applied) in batch)
                {
                    if (failed.Contains(e.Ue))
                    {
                        applied?.TrySetException(new EventNotAppliedException(e.Ue, null));
                    }
                    else
                    {
                        applied?.TrySetResult();
                    }
                }
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
            catch (Exception e) when (attempt >= MaxAttemptsUnlessTransient && !TransientFaults.Is(e))
            {
                // Not storage nor the cluster (those are retried until they come back): a bug, which retrying will not
                // fix. The lane must not stop for it; the UE is re-checked by the next reconcile.
                _log.LogError(e, "gave up delivering {Count} event(s) to {Ue} after {Attempts} attempts", envelopes.Length, ue, attempt);
                throw new EventNotAppliedException(ue, e);
            }
            catch (Exception e) when (!_stop.IsCancellationRequested && e is not OperationCanceledException)
            {
                // A silo died or storage did not take the write: nothing was persisted, so try again until it is. An event
                // the MC itself throws on never gets here (its UE is quarantined), so waiting is right: the lane holds
                // back its taps meanwhile, and REST writes on it answer 503 after their deadline.
                Interlocked.Increment(ref _retries);
                var wait = TimeSpan.FromMilliseconds(Math.Min(2000, 50 * attempt));
                if (attempt <= 5 || attempt % 30 == 0)
                {
                    _log.LogWarning("delivery of {Count} event(s) to {Ue} failed (attempt {Attempt}), retrying in {Wait}: {Error}", envelopes.Length, ue, attempt, wait, e.Message);
                }

                await Task.Delay(wait, _stop.Token);
            }
        }
    }
}

/// <summary>An event the pipeline gave up on (a failure that retrying does not fix); it was not applied.</summary>
internal sealed class EventNotAppliedException(UeId ue, Exception? inner) : Exception($"event(s) for {ue} were not applied", inner);
