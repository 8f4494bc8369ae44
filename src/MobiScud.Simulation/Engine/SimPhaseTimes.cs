
namespace MobiScud.Simulation.Engine;

/// <summary>The phases of a run whose wall time <see cref="SimPhaseTimes"/> keeps.</summary>
public enum SimPhase
{
    /// <summary>The RAN's measurement sweep (A3 checks of every connected UE).</summary>
    Measure,

    /// <summary>Lanes catching up to a tick: the MC, the backends and the migration model (in parallel).</summary>
    Lanes,

    /// <summary>The probe sweep of every lane.</summary>
    Probes,

    /// <summary>Sample ticks: PVMs per site, invariants, link utilisation, policy facts.</summary>
    Samples,

    /// <summary>Cost-slot ticks.</summary>
    Slots,
}

/// <summary>Wall time spent per <see cref="SimPhase"/>; the rest of <see cref="Total"/> is the RAN's own events.</summary>
public sealed class SimPhaseTimes
{
    private readonly long[] _ticks = new long[Enum.GetValues<SimPhase>().Length];
    private readonly long[] _bytes = new long[Enum.GetValues<SimPhase>().Length];

    public TimeSpan Total { get; internal set; }

    public TimeSpan this[SimPhase phase] => TimeProvider.System.GetElapsedTime(0, _ticks[(int)phase]);

    /// <summary>The RAN's own events (attach, idle, handovers): what no phase covers.</summary>
    public TimeSpan Ran => Total - Enum.GetValues<SimPhase>().Aggregate(TimeSpan.Zero, (sum, p) => sum + this[p]);

    internal void Time<T>(SimPhase phase, T state, Action<T> action)
    {
        var start = TimeProvider.System.GetTimestamp();
        var allocated = GC.GetTotalAllocatedBytes();
        action(state);
        _ticks[(int)phase] += TimeProvider.System.GetTimestamp() - start;
        _bytes[(int)phase] += GC.GetTotalAllocatedBytes() - allocated;
    }

    public override string ToString() =>
        string.Join(", ", Enum.GetValues<SimPhase>().Select(p => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{p.ToString().ToLowerInvariant()} {this[p].TotalSeconds:0.0} ({_bytes[(int)p] / 1e9:0.00} GB)")))
        + string.Create(System.Globalization.CultureInfo.InvariantCulture, $", ran events {Ran.TotalSeconds:0.0} s");
}

/// <summary>What a lane allocated while delivering events to its MC (the MC's decisions, then the commands carried out).</summary>
public sealed class LaneAllocations
{
    public long Mc { get; set; }

    public long Backends { get; set; }

    public long Events { get; set; }

    /// <summary>Wall time the lane's worker thread spent working (pipelined runs; its waits for the RAN excluded).</summary>
    public TimeSpan Busy { get; set; }
}
