using Microsoft.Extensions.Logging;
using MobiScud.Testbed.Experiment;
using MobiScud.Testbed.Topology;
using Xunit.Abstractions;

namespace MobiScud.Testbed.Tests;

/// <summary>One `testbed run` for a test: a fresh run directory, the progress lines in the test's output even when it fails.</summary>
internal static class ExperimentRuns
{
    /// <summary>Runs <paramref name="scenario"/> (torn down after), cancelled after <paramref name="cap"/>.</summary>
    public static async Task<(ExperimentResult Result, string RunDir)> RunAsync(Scenario scenario, ITestOutputHelper output, TimeSpan cap, ILoggerFactory? loggers = null)
    {
        var runDir = Path.Combine(Path.GetTempPath(), $"msb-test-{Guid.NewGuid():N}");
        var log = new StringWriter();
        try
        {
            using var cts = new CancellationTokenSource(cap);
            return (await TestbedExperiment.RunAsync(scenario, runDir, log, keep: false, cts.Token, loggers: loggers), runDir);
        }
        finally
        {
            output.WriteLine(log.ToString());
        }
    }
}
