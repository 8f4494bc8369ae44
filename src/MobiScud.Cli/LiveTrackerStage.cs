using MobiScud.Capture;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;
using MobiScud.Tracking;

namespace MobiScud.Cli;

/// <summary>One decoded message on its way from the capture thread to the tracker thread.</summary>
internal readonly record struct TrackerHandoff(TrackerInput Input, long Frame, long WireNanos);

/// <summary>
/// `replay --live --threads 2`: the capture thread reads and decodes (link, IP, SCTP, S1AP/NGAP/GTP into tracker
/// inputs); a second dedicated thread runs the UE tracker, the MC and the printing. Between them one bounded SPSC ring
/// of <see cref="TrackerHandoff"/>s (allocated once; the inputs themselves are what the tracker would allocate anyway).
/// Order: one producer and one FIFO, so the tracker sees messages in capture order, across associations too (an S1
/// handover spans two). When the ring is full the capture thread waits: the backlog then stays in the kernel's ring,
/// whose drops the kernel counts (PACKET_STATISTICS); nothing is dropped here. At the stop the ring is drained before
/// the summary.
/// </summary>
internal sealed class LiveTrackerStage : ISignallingSink, INgapSignallingSink, IDisposable
{
    private readonly SpscRing<TrackerHandoff> _ring;
    private readonly Action<TrackerHandoff> _consume;
    private readonly Action _idle;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread _thread;
    private SignallingPipeline? _pipeline;
    private long _firstNanos = -1;
    private int _consumerSleeping;
    private int _produced;
    private long _rejected;
    private volatile bool _completed;
    private volatile bool _abandon;
    private volatile Exception? _failure;

    /// <param name="consume">Runs on the tracker thread for each message, in capture order.</param>
    /// <param name="idle">Runs on the tracker thread when the ring is empty, before it waits (flush output there).</param>
    public LiveTrackerStage(int capacity, Action<TrackerHandoff> consume, Action idle)
    {
        _ring = new SpscRing<TrackerHandoff>(capacity);
        _consume = consume;
        _idle = idle;
        _thread = new Thread(Consume) { IsBackground = true, Name = "mobiscud tracker" };
    }

    public int Capacity => _ring.Capacity;

    /// <summary>Times the capture thread found the ring full and waited for the tracker thread.</summary>
    public long FullWaits { get; private set; }

    /// <summary>The deepest the ring was, seen by the capture thread after an enqueue.</summary>
    public long MaxDepth { get; private set; }

    /// <summary>Messages handed over (each one is tracked before <see cref="Complete"/> returns, unless the tracker failed).</summary>
    public long HandedOver { get; private set; }

    /// <summary>Messages the tracker thread took in without a fault.</summary>
    public long Tracked { get; private set; }

    /// <summary>
    /// After a fault of the tracker thread (from <see cref="Complete"/> on): the message it failed on, those still in
    /// the ring, and those decoded later. Not tracked, and said so.
    /// </summary>
    public long NotTrackedAfterFailure { get; private set; }

    /// <summary>What stopped the tracker thread (a fault in the tracker or the MC on some sequence), null if nothing.</summary>
    public Exception? Failure => _failure;

    /// <summary>The frame the tracker thread was at when it failed.</summary>
    public long FailedAtFrame { get; private set; }

    /// <summary>Called when the tracker thread fails, so that the capture stops too.</summary>
    public Action? OnFailure { get; init; }

    /// <summary>Runs first on the tracker thread (its scheduling, say).</summary>
    public Action? OnThreadStart { get; init; }

    /// <summary>The clock of <see cref="FlushInterval"/>.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Under a backlog the ring does not empty, so the idle action (the output's flush) also runs after at least this
    /// long with messages still queued: printed lines then leave in batches within about this time, not when the
    /// writer's buffer happens to fill.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>How often (in messages) the tracker thread looks at the clock while it works through a backlog.</summary>
    internal const int ClockCheckEvery = 64;

    /// <summary>CPU time the tracker thread used (tracker, MC, output), once <see cref="Complete"/> has returned; null where not measurable.</summary>
    public TimeSpan? TrackerCpu { get; private set; }

    public void Start(SignallingPipeline pipeline)
    {
        _pipeline = pipeline;
        _thread.Start();
    }

    /// <summary>Capture thread, after each frame: wakes the tracker thread if it sleeps and the frame gave it work.</summary>
    public void EndFrame()
    {
        if (_produced == 0)
        {
            return;
        }

        _produced = 0;

        // Full fence: the items' publication is ordered before the read of the sleeping flag (the consumer orders its
        // flag before its last look at the ring the same way), so a wake-up is never missed.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _consumerSleeping) != 0)
        {
            _wake.Set();
        }
    }

    /// <summary>
    /// Capture thread, at the end: lets the tracker thread drain the ring and waits for it, at most
    /// <paramref name="drainLimit"/> (a stop by Ctrl+C must print its summary before the command line's termination
    /// timeout); what is still in the ring then is counted in <see cref="LeftAtStop"/>, not tracked.
    /// </summary>
    public void Complete(TimeSpan? drainLimit = null)
    {
        _completed = true;
        Interlocked.MemoryBarrier();
        _wake.Set();
        if (drainLimit is { } limit && !_thread.Join(limit))
        {
            _abandon = true;
        }

        _thread.Join();
        if (_failure is not null)
        {
            NotTrackedAfterFailure = HandedOver - Tracked + _rejected;
        }
        else
        {
            LeftAtStop = HandedOver - Tracked;
        }
    }

    /// <summary>Messages handed over but still in the ring when the drain limit of a stop ran out: not tracked, and said so.</summary>
    public long LeftAtStop { get; private set; }

    public void Dispose() => _wake.Dispose();

    void ISignallingSink.OnS1ap(in PayloadContext context, S1apSummary summary) =>
        Hand(S1apSignalFactory.From(summary, At(context), context.Source, context.Destination), context);

    void INgapSignallingSink.OnNgap(in PayloadContext context, NgapSummary summary) =>
        Hand(NgapSignalFactory.From(summary, At(context), context.Source, context.Destination), context);

    void ISignallingSink.OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
    {
        // As TrackerFeed does it on one thread: undecodable payloads counted by reason, the rest tracked.
        var input = kind == UdpPayloadKind.Gtpu
            ? GtpSignalFactory.FromGtpu(payload, At(context), context.Source, context.Destination, out var error)
            : GtpSignalFactory.FromGtpc(payload, At(context), context.Source, context.Destination, out error);
        if (error is not null)
        {
            _pipeline!.CountDropped(new DropReason(kind == UdpPayloadKind.Gtpu ? DropLayer.Gtpu : DropLayer.Gtpc, error));
        }

        if (input is not null)
        {
            Hand(input, context);
        }
    }

    private void Hand(TrackerInput input, in PayloadContext context)
    {
        if (_failure is not null)
        {
            _rejected++;
            return;
        }

        var item = new TrackerHandoff(input, context.FrameNumber, context.TimestampNanos);
        if (!_ring.TryEnqueue(item))
        {
            FullWaits++;
            var spin = new SpinWait();
            while (!_ring.TryEnqueue(item))
            {
                if (_failure is not null)
                {
                    _rejected++;
                    return;
                }

                // The tracker is behind: make sure it is awake, then give it the core. SpinWait sleeps 1 ms now and
                // then: a real-time capture thread only yields to its own priority, so it must sleep to leave a core to
                // the rest (the sender's softirq, say); the backlog waits in the kernel's ring meanwhile.
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref _consumerSleeping) != 0)
                {
                    _wake.Set();
                }

                spin.SpinOnce();
            }
        }

        HandedOver++;
        _produced++;
        var depth = _ring.Count;
        if (depth > MaxDepth)
        {
            MaxDepth = depth;
        }
    }

    /// <summary>Event times relative to the first message, as <see cref="TrackerFeed"/> counts them.</summary>
    private TimeSpan At(in PayloadContext context)
    {
        if (_firstNanos < 0)
        {
            _firstNanos = context.TimestampNanos;
        }

        return TimeSpan.FromTicks((context.TimestampNanos - _firstNanos) / 100);
    }

    private void Consume()
    {
        var item = default(TrackerHandoff);
        var lastIdle = Time.GetTimestamp();
        var sinceCheck = 0;
        OnThreadStart?.Invoke();
        try
        {
            while (!_abandon)
            {
                if (_ring.TryDequeue(out item))
                {
                    _consume(item);
                    Tracked++;
                    if (++sinceCheck >= ClockCheckEvery)
                    {
                        sinceCheck = 0;
                        if (Time.GetElapsedTime(lastIdle) >= FlushInterval)
                        {
                            _idle();
                            lastIdle = Time.GetTimestamp();
                        }
                    }

                    continue;
                }

                _idle();
                lastIdle = Time.GetTimestamp();
                sinceCheck = 0;
                var spin = new SpinWait();
                while (spin.Count < 10 && _ring.Count == 0 && !_completed)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                if (_ring.Count > 0)
                {
                    continue;
                }

                _wake.Reset();
                Volatile.Write(ref _consumerSleeping, 1);
                Interlocked.MemoryBarrier();
                var completed = _completed;
                if (_ring.Count == 0)
                {
                    if (completed)
                    {
                        return;
                    }

                    // Woken by EndFrame or Complete; the timeout only bounds a wait should a wake-up ever be lost.
                    _wake.Wait(100);
                }

                Volatile.Write(ref _consumerSleeping, 0);
            }
        }
        catch (Exception e)
        {
            // Reported by the caller with the frame; the capture is stopped so that nothing waits on a dead consumer.
            FailedAtFrame = item.Frame;
            _failure = e;
            OnFailure?.Invoke();
        }
        finally
        {
            TrackerCpu = ThreadCpu.Current();
        }
    }
}
