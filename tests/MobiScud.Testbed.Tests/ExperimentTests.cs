using MobiScud.Testbed.Experiment;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Testbed.Tests;

/// <summary>The paper's experiment end to end: 2 sites, 2 eNBs, 1 UE, QEMU PVMs live-migrated, OVS steering from the tap.</summary>
[Collection("testbed")]
public sealed class ExperimentTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_UE_reaches_its_PVM_at_site_a_then_at_site_b_after_handover_and_migration_and_back_with_its_state_intact()
    {
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        ExternalTool.Require("qemu-system-x86_64", "qemu-system-x86");
        var tshark = ExternalTool.Require("tshark", "tshark");
        var scenario = new Scenario
        {
            DurationSeconds = 12,
            Handovers =
            [
                new() { AtSeconds = 3, ToEnb = 2, Procedure = HandoverProcedure.X2 },
                new() { AtSeconds = 8, ToEnb = 1, Procedure = HandoverProcedure.S1 },
            ],
        };
        var (result, runDir) = await ExperimentRuns.RunAsync(scenario, output, TimeSpan.FromMinutes(5));
        output.WriteLine(result.Summary());
        Assert.Empty(result.Problems);

        // Where the UE's pings were answered: eNB 1 (PVM at a), eNB 2 after the move to b, eNB 1 after the move back.
        Assert.Equal(2, result.Migrations.Count);
        Assert.Equal(("a", "b"), (result.Migrations[0].From, result.Migrations[0].To));
        Assert.Equal(("b", "a"), (result.Migrations[1].From, result.Migrations[1].To));
        var edge = result.Samples.Where(s => s.Target == TestbedExperiment.EdgePvm).ToList();
        Assert.True(edge.Count(s => s.RttMs is not null && s.ServingEnb == 1 && s.SentAtSeconds < result.Migrations[0].StartedSeconds) >= 20);
        Assert.True(edge.Count(s => s.RttMs is not null && s.ServingEnb == 2 && s.SentAtSeconds > result.Migrations[0].CompletedSeconds + 0.5) >= 20);
        Assert.True(edge.Count(s => s.RttMs is not null && s.ServingEnb == 1 && s.SentAtSeconds > result.Migrations[1].CompletedSeconds + 0.5) >= 20);
        Assert.True(result.PvmStatePreserved, result.PvmState);

        var (bound, why) = result.PvmLossBound(scenario.PingIntervalMs);
        Assert.True(result.Ping(TestbedExperiment.EdgePvm).Lost <= bound, $"lost {result.Ping(TestbedExperiment.EdgePvm).Lost} > bound {bound}: {why}");
        Assert.True(result.Ping(TestbedExperiment.EdgePvm).MedianMs < result.Ping(TestbedExperiment.CorePvmTarget).MedianMs, "the edge PVM is closer than the core one");

        // The handover steps the MC saw on the tap: the X2 path switch, then the S1 handover's preparation, execution and
        // completion; each completion re-steered (flows confirmed on OVS).
        Assert.Equal(
            [(HandoverStage.Completed, HandoverInterface.X2), (HandoverStage.Prepared, HandoverInterface.S1), (HandoverStage.Executing, HandoverInterface.S1), (HandoverStage.Completed, HandoverInterface.S1)],
            result.Handovers.Select(h => (h.Stage, h.Interface)));
        Assert.All(result.Handovers.Where(h => h.Stage == HandoverStage.Completed), h => Assert.NotNull(h.WireToFlowsConfirmedMs));

        // The UE was at the target before the message the MC re-steers on was on the wire (the target sends it from
        // there), so no delay of the core's answer can hold it at a source whose steering the MC already removed.
        var completed = result.Handovers.Where(h => h.Stage == HandoverStage.Completed).ToList();
        var moves = result.Steps!.Where(s => s.Procedure is HandoverProcedure.X2 or HandoverProcedure.S1).ToList();
        Assert.Equal(2, moves.Count);
        Assert.All(moves.Zip(completed), m => Assert.True(m.First.MovedSeconds < m.Second.WireSeconds, $"{m.First} moved at {m.First.MovedSeconds}, {m.Second.Name} on the wire at {m.Second.WireSeconds}"));

        // Every S1AP message the emulated EPC sent is in the pcap and decodes in tshark without a malformed packet;
        // S1-U is there too, as GTP-U with the UE's uplink TEID.
        var s1ap = await ExternalTool.RunAsync(tshark, ["-r", result.Pcap, "-d", "udp.port==9899,sctp", "-o", "sctp.checksum:CRC-32C", "-Y", "s1ap", "-T", "fields", "-e", "s1ap.procedureCode", "-e", "_ws.malformed"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, s1ap.ExitCode);
        var lines = s1ap.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(result.S1apMessagesSent, lines.Length);
        Assert.All(lines, l => Assert.Equal(string.Empty, l.Split('\t')[1]));
        var gtp = await ExternalTool.RunAsync(tshark, ["-r", result.Pcap, "-Y", "gtp.teid == 0x1001", "-T", "fields", "-e", "frame.number"], TimeSpan.FromSeconds(60));
        Assert.NotEmpty(gtp.StdOut.Trim());

        // Nothing is left behind: teardown removes the state file only when every object it names is gone, and no
        // QEMU process of the run is alive.
        Assert.False(File.Exists(TestbedState.FileIn(runDir)), "teardown left objects behind");
        Assert.DoesNotContain(Directory.GetFiles(runDir, "qemu.pid", SearchOption.AllDirectories), f => File.Exists($"/proc/{File.ReadAllText(f).Trim()}/cmdline"));
    }
}
