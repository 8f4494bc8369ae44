using Microsoft.Extensions.Logging;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Experiment;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Testbed.Tests;

/// <summary>
/// `testbed run` logs its diagnostics through the <see cref="ILoggerFactory"/> it is given (the CLI's console logger on
/// stderr), by category, while its progress stays on the writer and its results in records.
/// </summary>
[Collection("testbed")]
public sealed class TestbedLoggingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_run_logs_every_signalling_message_and_the_tap_summary_through_the_given_loggers()
    {
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var scenario = new Scenario
        {
            Pvm = PvmBackend.Netns,
            DurationSeconds = 4,
            Handovers = [new() { AtSeconds = 1, ToEnb = 2, Procedure = HandoverProcedure.X2 }],
        };
        using var loggers = new ListLoggerProvider();
        ExperimentResult result;
        try
        {
            (result, _) = await ExperimentRuns.RunAsync(scenario, output, TimeSpan.FromMinutes(3), loggers.Factory);
        }
        finally
        {
            output.WriteLine(string.Join("\n", loggers.Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}")));
        }

        Assert.Empty(result.Problems);

        // One debug entry per S1AP message the emulated EPC sent, under the emulator's category.
        var signalling = loggers.Entries.Where(e => e.Category == typeof(EpcEmulator).FullName).ToList();
        Assert.Equal(result.S1apMessagesSent, signalling.Count(e => e.Level == LogLevel.Debug));
        Assert.Contains(signalling, e => e.Message == "enb2 -> mme: PathSwitchRequest");

        // The tap's capture summary, and nothing logged as an error by any adapter of the run.
        Assert.Contains(loggers.Entries, e => e.Category == typeof(BackhaulTap).FullName && e.Level == LogLevel.Information);
        Assert.DoesNotContain(loggers.Entries, e => e.Level >= LogLevel.Error);
    }
}
