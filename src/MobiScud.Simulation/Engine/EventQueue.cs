namespace MobiScud.Simulation.Engine;

/// <summary>Kinds of simulation events. Global ticks cover all UEs at once, so the queue holds few entries per UE.</summary>
internal enum SimEventKind : byte
{
    MeasurementTick,
    ProbeTick,
    SampleTick,
    UeAttach,
    UeIdle,
    UeServiceRequest,
    UeDetach,
    HandoverExecute,
    LaneEvent,
    MigrationWake,
    MigrationSwitchover,
    MigrationFailureInjected,
    SlotTick,

    /// <summary>An MC timer due in a lane: the kind in <see cref="SimEvent.Lane"/>, the token in <see cref="SimEvent.Arg"/>.</summary>
    TimerDue,
}

/// <summary>A queued event: a small struct, so scheduling one allocates nothing beyond its optional payload.</summary>
internal readonly record struct SimEvent(SimEventKind Kind, int Ue, int Lane, long Arg, object? Payload);

/// <summary>
/// Virtual clock and future-event list. Ties at the same instant run in scheduling order (the sequence number),
/// which, with a seeded RNG, makes a run a pure function of the scenario. Only events of the current time bucket
/// sit in the binary heap; later ones wait in per-bucket lists, so the heap stays small however many UEs have an
/// idle or service-request event pending (with every UE's far-future event in one heap, each operation paid
/// log(UEs) cache-missing levels: part of the superlinear cost per event at scale).
/// </summary>
internal sealed class EventQueue
{
    private const long BucketTicks = TimeSpan.TicksPerSecond;

    private readonly PriorityQueue<SimEvent, (long Ticks, long Seq)> _heap = new(1024);
    private readonly Dictionary<long, List<(SimEvent Event, long Ticks, long Seq)>> _buckets = [];
    private readonly PriorityQueue<long, long> _bucketOrder = new();
    private readonly Stack<List<(SimEvent, long, long)>> _spare = new();
    private long _seq;
    private long _heapEnd = BucketTicks;

    public TimeSpan Now { get; private set; }

    public long Processed { get; private set; }

    public int Count { get; private set; }

    public void Schedule(TimeSpan at, in SimEvent e)
    {
        if (at < Now)
        {
            // An adapter asked for the past: run it now rather than reorder history.
            at = Now;
        }

        Count++;
        var ticks = at.Ticks;
        if (ticks < _heapEnd)
        {
            _heap.Enqueue(e, (ticks, _seq++));
            return;
        }

        var bucket = ticks / BucketTicks;
        if (!_buckets.TryGetValue(bucket, out var list))
        {
            list = _spare.Count > 0 ? _spare.Pop() : [];
            _buckets[bucket] = list;
            _bucketOrder.Enqueue(bucket, bucket);
        }

        list.Add((e, ticks, _seq++));
    }

    /// <summary>The time of the next event, if any.</summary>
    public bool TryPeekTicks(out long ticks)
    {
        while (_heap.Count == 0)
        {
            if (!_bucketOrder.TryDequeue(out var bucket, out _))
            {
                ticks = 0;
                return false;
            }

            // Everything left in the heap is earlier than this bucket: load it whole, sequence numbers keep ties.
            var list = _buckets[bucket];
            _buckets.Remove(bucket);
            foreach (var (e, t, s) in list)
            {
                _heap.Enqueue(e, (t, s));
            }

            list.Clear();
            _spare.Push(list);
            _heapEnd = (bucket + 1) * BucketTicks;
        }

        _heap.TryPeek(out _, out var p);
        ticks = p.Ticks;
        return true;
    }

    public bool TryNext(TimeSpan until, out SimEvent e)
    {
        if (TryPeekTicks(out var ticks) && ticks <= until.Ticks)
        {
            _heap.TryDequeue(out e, out _);
            Count--;
            Now = TimeSpan.FromTicks(ticks);
            Processed++;
            return true;
        }

        e = default;
        return false;
    }

    /// <summary>Moves the clock forward to an event delivered from outside the queue (the RAN's, in a lane).</summary>
    public void AdvanceTo(TimeSpan t)
    {
        if (t > Now)
        {
            Now = t;
        }
    }
}

/// <summary>
/// SplitMix64: tiny, fast and identical on every runtime (System.Random's seeded algorithm is not a contract).
/// Each UE and each strategy lane gets its own stream so one part's draws never shift another's.
/// </summary>
internal struct SimRandom
{
    private ulong _state;

    public SimRandom(ulong seed, ulong stream) => _state = Mix(seed ^ Mix(stream + 0x9E3779B97F4A7C15UL));

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextULong()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double min, double max) => min + ((max - min) * NextDouble());

    public double Exponential(double mean) => -mean * Math.Log(1 - NextDouble());

    public double Normal(double std)
    {
        var u1 = 1 - NextDouble();
        var u2 = NextDouble();
        return std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A value derived from coordinates without any stream state (same probe, same jitter in every lane).</summary>
    public static double Hash01(ulong seed, ulong a, ulong b) =>
        (Mix(seed ^ Mix(a * 0x9E3779B97F4A7C15UL ^ Mix(b + 0x632BE59BD9B4E019UL))) >> 11) * (1.0 / (1UL << 53));
}
