using System.Diagnostics;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Cli;

/// <summary>
/// A large simulation runs with a 1 GiB gen0 budget. Each UE's MC state lives until the UE's next event; with 50,000 UEs
/// and more that spans several default gen0 budgets, so the states are promoted and gen1/gen2 trace a heap that grows
/// with the UEs (docs/simulation.md#scale: 100k UEs x 1 h, -18% CPU and the us/event 1.13x that of 10k instead of
/// 1.37x). .NET 10 reads the budget only from the environment (not from runtimeconfig), so `mobiscud run` starts itself
/// again with <c>DOTNET_GCgen0size</c> set, unless the caller set it (to any value: theirs wins).
/// </summary>
internal static class SimulationGcBudget
{
    public const string Variable = "DOTNET_GCgen0size";

    /// <summary>1 GiB: measured against 256 MiB and the default in docs/simulation.md.</summary>
    public const string Budget = "0x40000000";

    /// <summary>From this many UEs the larger budget pays (at 10k it costs a few % in page faults and 1.5 GiB more).</summary>
    public const int MinUes = 50_000;

    public static bool Wanted(ScenarioConfig scenario) =>
        scenario.Ues >= MinUes && Environment.GetEnvironmentVariable(Variable) is null && Environment.GetEnvironmentVariable("COMPlus_GCgen0size") is null;

    /// <summary>
    /// Runs this same command line again in a child with the budget set, on the same console, and returns its exit code.
    /// Null when this process cannot start itself (no path of its own): the caller runs in process.
    /// </summary>
    public static int? RunInChild(CancellationToken ct)
    {
        var self = Environment.ProcessPath;
        var args = Environment.GetCommandLineArgs();
        if (self is null || args.Length == 0)
        {
            return null;
        }

        var start = new ProcessStartInfo(self) { UseShellExecute = false };

        // Under `dotnet mobiscud.dll ...` the process is the dotnet host and args[0] the assembly it runs; under the
        // apphost args[0] names the app itself.
        var host = Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        foreach (var arg in host ? args : args.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[Variable] = Budget;
        using var child = Process.Start(start);
        if (child is null)
        {
            return null;
        }

        // Ctrl+C reaches the child too (same process group) and it stops the run itself; a cancel that reaches only this
        // process (SIGTERM to it) is passed on.
        using var passOn = ct.Register(() =>
        {
            if (!child.HasExited)
            {
                child.Kill(entireProcessTree: true);
            }
        });
        child.WaitForExit();
        return child.ExitCode;
    }
}
