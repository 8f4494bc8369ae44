using MobiScud.Testbed.Experiment;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Testbed.Tests;

/// <summary>
/// A migration policy live on the testbed (issue 12): the UE hands over A -> B and back within 3 s (the example
/// scenarios, netns PVMs, ~10 s each). `always` follows it; `hysteresis` and `predictive` leave the PVM where it is.
/// </summary>
[Collection("testbed")]
public sealed class PingPongPolicyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("testbed-pingpong-always.yaml", true)]
    [InlineData("testbed-pingpong-hysteresis.yaml", false)]
    [InlineData("testbed-pingpong-predictive.yaml", false)]
    public async Task Ping_pong_handovers_start_migrations_only_under_always(string example, bool follows)
    {
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var scenario = Scenario.Load(Path.Combine(TestData.RepoRoot, "examples", example));
        Assert.Equal(PvmBackend.Netns, scenario.Pvm);
        Assert.Equal(2, scenario.Handovers.Count);
        var runDir = Path.Combine(Path.GetTempPath(), $"msb-pingpong-{Guid.NewGuid():N}");
        var log = new StringWriter();
        ExperimentResult result;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            result = await TestbedExperiment.RunAsync(scenario, runDir, log, keep: false, cts.Token);
        }
        finally
        {
            output.WriteLine(log.ToString());
        }

        output.WriteLine(result.Summary());
        Assert.Empty(result.Problems);

        // The MC saw both handovers on the tap and acted on them (steering at least), whatever the policy.
        Assert.True(result.Handovers.Count(h => h.WireToFlowsConfirmedMs is not null) >= 2, $"handovers applied: {result.Handovers.Count}");

        // What the MC did, read from its own timeline (every event and its commands), not only from the measurements.
        var timeline = File.ReadAllText(result.TimelineCsv);
        var started = CountOf(timeline, "StartMigration");
        if (follows)
        {
            Assert.True(started >= 1, $"{scenario.Policy}: no StartMigration in the MC's timeline");
            Assert.Contains("StartMigration pvm-", timeline, StringComparison.Ordinal);
            Assert.Contains(" a->b", timeline, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(result.Migrations);
            Assert.Equal(0, started);
        }

        // Ping loss is reported, not asserted: its bound is a wall-clock figure (flows confirmed within a few ms), which a
        // loaded CI machine misses (7 lost against a bound of 4 once), and this test is about what the policy decided.
        var (bound, why) = result.PvmLossBound(scenario.PingIntervalMs);
        output.WriteLine($"edge PVM pings lost {result.Ping(TestbedExperiment.EdgePvm).Lost}, bound {bound}: {why}");
        Assert.False(File.Exists(TestbedState.FileIn(runDir)), "teardown left objects behind");
    }

    private static int CountOf(string text, string word)
    {
        var n = 0;
        for (var i = text.IndexOf(word, StringComparison.Ordinal); i >= 0; i = text.IndexOf(word, i + word.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
