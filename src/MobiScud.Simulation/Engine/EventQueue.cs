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
}

/// <summary>A queued event: a small struct, so scheduling one allocates nothing beyond its optional payload.</summary>
internal readonly record struct SimEvent(SimEventKind Kind, int Ue, int Lane, long Arg, object? Payload);

/// <summary>
/// Virtual clock and future-event list. Ties at the same instant run in scheduling order (the sequence number),
/// which, with a seeded RNG, makes a run a pure function of the scenario.
/// </summary>
internal sealed class EventQueue
{
    private readonly PriorityQueue<SimEvent, (long Ticks, long Seq)> queue = new(1024);
    private long seq;

    public TimeSpan Now { get; private set; }

    public long Processed { get; private set; }

    public int Count => queue.Count;

    public void Schedule(TimeSpan at, in SimEvent e)
    {
        if (at < Now)
        {
            // An adapter asked for the past: run it now rather than reorder history.
            at = Now;
        }

        queue.Enqueue(e, (at.Ticks, seq++));
    }

    public bool TryNext(TimeSpan until, out SimEvent e)
    {
        if (queue.TryPeek(out e, out var p) && p.Ticks <= until.Ticks)
        {
            queue.Dequeue();
            Now = TimeSpan.FromTicks(p.Ticks);
            Processed++;
            return true;
        }

        e = default;
        return false;
    }
}

/// <summary>
/// SplitMix64: tiny, fast and identical on every runtime (System.Random's seeded algorithm is not a contract).
/// Each UE and each strategy lane gets its own stream so one part's draws never shift another's.
/// </summary>
internal struct SimRandom
{
    private ulong state;

    public SimRandom(ulong seed, ulong stream) => state = Mix(seed ^ Mix(stream + 0x9E3779B97F4A7C15UL));

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextULong()
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
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
