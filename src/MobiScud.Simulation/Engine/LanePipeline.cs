using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using MobiScud.Control.Model;

namespace MobiScud.Simulation.Engine;

/// <summary>What the lanes read of one UE's RAN state at a tick (probes, samples, cost slots).</summary>
internal struct RanSlot
{
    public double Jitter;
    public int Enb;
    public uint DownlinkTeid;
    public bool Connected;
}

/// <summary>
/// The RAN as the lanes see it at one tick: a copy, so that the RAN can run on into the next interval while the lanes
/// take this tick. Shared by every lane of the tick; the last lane done with it gives it back to the pool.
/// </summary>
internal sealed class RanSnapshot(int ues, ConcurrentBag<RanSnapshot> pool)
{
    private int _readers;

    public RanSlot[] Ues { get; } = new RanSlot[ues];

    public int Attached { get; set; }

    public RanView View => new(Ues, Attached);

    public void Share(int readers) => _readers = readers;

    /// <summary>One reader is done; the last one returns the snapshot to the pool.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _readers) == 0)
        {
            pool.Add(this);
        }
    }
}

/// <summary>What a lane does at a tick after catching up to it.</summary>
internal enum LaneTick : byte
{
    Probe,
    Sample,
    Slot,
    Finish,
}

/// <summary>One tick for one lane: catch up to <paramref name="At"/> with the RAN events of the inbox, then take the tick.</summary>
internal readonly record struct LaneWork(LaneTick Tick, TimeSpan At, List<(TimeSpan At, int Ue, UeEvent Event)> Inbox, RanSnapshot Ran);

/// <summary>
/// Runs each lane on its own worker thread, fed by the RAN: the RAN hands every lane its events up to a tick and a
/// snapshot of the RAN at that tick, and runs on into the next interval while the lanes work. With two cores the RAN's
/// measurement sweep no longer runs while the lanes wait, and the lanes, which share nothing, do not wait for each
/// other at every tick (no barrier): each runs its own sequence of ticks, the same sequence as a serial run, so the
/// results are the same. The RAN runs at most <see cref="Depth"/> ticks ahead of the slowest lane (bounded memory).
/// </summary>
internal sealed class LanePipeline : IDisposable
{
    /// <summary>Ticks a lane may lag the RAN: enough to keep the workers fed, few so that queued events die young.</summary>
    public const int Depth = 2;

    private readonly StrategyLane[] _lanes;
    private readonly BlockingCollection<LaneWork>[] _work;
    private readonly Task[] _workers;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<RanSnapshot> _snapshots = [];
    private readonly int _ues;
    private bool _joined;

    public LanePipeline(StrategyLane[] lanes, int ues, Action<StrategyLane, LaneWork> run)
    {
        _lanes = lanes;
        _ues = ues;
        _work = [.. lanes.Select(_ => new BlockingCollection<LaneWork>(Depth))];
        _workers = new Task[lanes.Length];
        for (var i = 0; i < lanes.Length; i++)
        {
            var index = i;

            // A dedicated thread per lane: each is busy for the whole run, the thread pool would add them slowly.
            _workers[i] = Task.Factory.StartNew(() => Work(index, run), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>A snapshot to fill on the RAN's thread (from the pool when the lanes gave one back).</summary>
    public RanSnapshot Snapshot() => _snapshots.TryTake(out var s) ? s : new RanSnapshot(_ues, _snapshots);

    /// <summary>
    /// Hands every lane its posted RAN events and the tick. Blocks while a lane is <see cref="Depth"/> ticks behind; a
    /// lane's failure is thrown here (or at <see cref="Join"/>) as the lane raised it.
    /// </summary>
    public void Hand(LaneTick tick, TimeSpan at, RanSnapshot ran)
    {
        ran.Share(_lanes.Length);
        for (var i = 0; i < _lanes.Length; i++)
        {
            var work = new LaneWork(tick, at, _lanes[i].TakeInbox(), ran);
            try
            {
                _work[i].Add(work, _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // A lane failed and stopped taking work: its exception is the one to report.
                Join();
                throw;
            }
        }
    }

    /// <summary>No more work: waits for every lane to finish; rethrows the first failed lane's exception (by lane order).</summary>
    public void Join()
    {
        _joined = true;
        foreach (var queue in _work)
        {
            queue.CompleteAdding();
        }

        try
        {
            Task.WaitAll(_workers);
        }
        catch (AggregateException)
        {
            // Reported below, by lane order rather than by which thread failed first.
        }

        foreach (var worker in _workers)
        {
            if (worker.Exception?.InnerException is { } failure)
            {
                ExceptionDispatchInfo.Capture(failure).Throw();
            }
        }
    }

    /// <summary>The run ended early (cancelled, or the RAN failed): stops the workers and waits for them.</summary>
    public void Dispose()
    {
        if (!_joined)
        {
            _stop.Cancel();
            foreach (var queue in _work)
            {
                queue.CompleteAdding();
            }

            try
            {
                Task.WaitAll(_workers);
            }
            catch (AggregateException)
            {
                // The run is being abandoned with another exception; a lane's own failure would only hide it.
            }
        }

        foreach (var queue in _work)
        {
            queue.Dispose();
        }

        _stop.Dispose();
    }

    private void Work(int index, Action<StrategyLane, LaneWork> run)
    {
        var lane = _lanes[index];
        try
        {
            foreach (var work in _work[index].GetConsumingEnumerable(_stop.Token))
            {
                var start = TimeProvider.System.GetTimestamp();
                run(lane, work);
                lane.Allocated.Busy += TimeProvider.System.GetElapsedTime(start);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped: another lane failed or the run was abandoned.
        }
        catch
        {
            // Unblock the RAN (it may wait for room in this lane's queue) and the other lanes.
            _stop.Cancel();
            throw;
        }
    }
}
