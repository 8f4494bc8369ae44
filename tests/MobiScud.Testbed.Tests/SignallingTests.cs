using Microsoft.Extensions.Logging;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;

namespace MobiScud.Testbed.Tests;

[Collection("testbed")]
public sealed class SignallingTests
{
    [Fact]
    public async Task Every_procedure_crosses_the_backhaul_and_tshark_decodes_each_S1AP_message_without_malformed_packets()
    {
        var tshark = ExternalTool.Require("tshark", "tshark");
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var runDir = Path.Combine(Path.GetTempPath(), $"msb-test-{Guid.NewGuid():N}");
        var net = TestbedNetwork.Up(new Scenario(), runDir);
        var pcap = Path.Combine(runDir, "s1.pcap");
        List<SignallingRecord> sent;
        using var loggers = new ListLoggerProvider();
        try
        {
            using (var tap = BackhaulTap.Open(net.Plan.CoreNs, TestbedPlan.MirrorDevice, pcap))
            {
                await using var epc = await EpcEmulator.StartAsync(net.Plan, loggers.Factory.CreateLogger<EpcEmulator>());
                var ue = epc.Ues[0];
                await epc.AttachAsync(ue, 1);
                await epc.X2HandoverAsync(ue, 2);
                await epc.S1HandoverAsync(ue, 1);
                await epc.S1HandoverAsync(ue, 2, cancel: true);
                await epc.ReleaseToIdleAsync(ue);
                await epc.ServiceRequestAsync(ue, 1);
                Assert.Equal(1, ue.Enb);
                Assert.True(ue.Connected);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while (epc.OutstandingData > 0)
                {
                    await Task.Delay(20, cts.Token);
                }

                sent = epc.Signalling.Where(e => e.Sent).ToList();
                Assert.Empty(epc.Problems);

                // Every message sent was received, and each went through the emulator's ILogger (its diagnostics channel).
                Assert.Equal(sent.Count, epc.Signalling.Count(e => !e.Sent));
                Assert.Equal(sent.Select(e => $"{e.From} -> {e.To}: {e.Message}"), loggers.Entries.Where(e => e.Category == typeof(EpcEmulator).FullName).Select(e => e.Message));

                // Wait until the tap has seen every DATA chunk.
                var expected = sent.Count;
                // Each message is one DATA and one SACK; plus four handshake packets per eNB.
                while (tap.Captured < (2 * expected) + (4 * net.Plan.Scenario.Enbs))
                {
                    await Task.Delay(100, cts.Token);
                }
            }

            var r = await ExternalTool.RunAsync(tshark, ["-r", pcap, "-d", "udp.port==9899,sctp", "-o", "sctp.checksum:CRC-32C", "-Y", "s1ap || _ws.malformed || _ws.expert.severity >= warning", "-T", "fields", "-e", "s1ap.procedureCode", "-e", "_ws.malformed", "-e", "_ws.expert.message", "-e", "sctp.checksum.status"], TimeSpan.FromSeconds(60));
            Assert.Equal(0, r.ExitCode);
            var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(lines, l => Assert.Equal(string.Empty, l.Split('\t')[1]));
            Assert.All(lines, l => Assert.Equal("1", l.Split('\t')[3]));
            Assert.Equal(sent.Count, lines.Length);
            var procedures = lines.Select(l => int.Parse(l.Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
            Assert.Superset(new HashSet<int> { 17, 12, 9, 3, 0, 1, 2, 4, 18, 23 }, procedures);
        }
        finally
        {
            Assert.Empty(net.Down());
        }
    }
}
