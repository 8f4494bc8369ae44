using System.Diagnostics;
using System.Globalization;

namespace MobiScud.Cli;

/// <summary>
/// What a simulation run cost the process: CPU time (on a shared machine wall time says more about the neighbours than
/// about the simulator), garbage collections and bytes allocated. Printed beside the wall time by `mobiscud run`.
/// </summary>
internal readonly record struct SimulationCost(TimeSpan Cpu, int Gen0, int Gen1, int Gen2, TimeSpan GcPause, long Allocated)
{
    public static SimulationCost Start() => Now();

    /// <summary>The cost since <see cref="Start"/>.</summary>
    public SimulationCost Stop()
    {
        var end = Now();
        return new(end.Cpu - Cpu, end.Gen0 - Gen0, end.Gen1 - Gen1, end.Gen2 - Gen2, end.GcPause - GcPause, end.Allocated - Allocated);
    }

    public string Describe(double wallSeconds, long events)
    {
        var perEvent = events > 0 ? 1e6 / events : 0;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{wallSeconds * perEvent:0.00} us/event wall, CPU {Cpu.TotalSeconds:0.00} s = {Cpu.TotalSeconds * perEvent:0.00} us/event, GC {Gen0}/{Gen1}/{Gen2} (gen0/1/2) paused {GcPause.TotalSeconds:0.00} s, {Allocated / 1e9:0.00} GB allocated");
    }

    private static SimulationCost Now()
    {
        using var self = Process.GetCurrentProcess();
        return new(self.TotalProcessorTime, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());
    }
}
