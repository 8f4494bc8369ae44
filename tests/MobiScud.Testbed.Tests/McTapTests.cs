using System.Collections.Concurrent;
using System.Net;
using MobiScud.Control.Model;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;

namespace MobiScud.Testbed.Tests;

[Collection("testbed")]
public sealed class McTapTests
{
    /// <summary>Records the MC's commands; answers CreatePvm the way a hypervisor adapter reports a booted PVM.</summary>
    private sealed class RecordingExecutor : ICommandExecutor
    {
        public McTap? Tap { get; set; }

        public ConcurrentQueue<ControlCommand> Executed { get; } = new();

        public Task ExecuteAsync(ControlCommand command, CancellationToken cancellation)
        {
            Executed.Enqueue(command);
            if (command is CreatePvm c)
            {
                Tap!.Report(new PvmStarted(TimeSpan.Zero, c.Ue, c.Pvm, c.Site, IPAddress.Parse("192.168.77.10")));
            }

            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task The_MC_learns_every_procedure_from_the_tap_alone_and_decides_on_it()
    {
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var runDir = Path.Combine(Path.GetTempPath(), $"msb-test-{Guid.NewGuid():N}");
        var net = TestbedNetwork.Up(new Scenario(), runDir);
        try
        {
            using var tap = BackhaulTap.Open(net.Plan.CoreNs, TestbedPlan.MirrorDevice, Path.Combine(runDir, "s1.pcap"));
            var executor = new RecordingExecutor();
            await using var mc = new McTap(tap, net.Plan.McConfig(), executor, DateTime.UtcNow);
            executor.Tap = mc;
            await using var epc = await EpcEmulator.StartAsync(net.Plan);
            var ue = epc.Ues[0];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

            async Task Until(Func<IEnumerable<McTimelineEntry>, bool> condition)
            {
                while (!condition(mc.Timeline))
                {
                    await Task.Delay(20, cts.Token);
                }
            }

            await epc.AttachAsync(ue, 1);
            await Until(t => t.Any(e => e.Event?.StartsWith("UeAttached", StringComparison.Ordinal) == true));
            var attached = mc.Timeline.First(e => e.Event?.StartsWith("UeAttached", StringComparison.Ordinal) == true);
            Assert.Contains("imsi=001010000000001", attached.Event);
            Assert.Contains("ip=172.16.0.11", attached.Event);
            Assert.Contains("ul 10.60.0.3/0x00001001", attached.Event);
            Assert.Contains("dl 10.60.0.11/", attached.Event);
            await Until(_ => executor.Executed.Any(c => c is CreatePvm { Site.Value: "a" }));

            await epc.X2HandoverAsync(ue, 2);
            await Until(t => t.Any(e => e.Event?.StartsWith("PathSwitched", StringComparison.Ordinal) == true));
            Assert.Contains(mc.Timeline, e => e.Event?.StartsWith("PathSwitched", StringComparison.Ordinal) == true && e.Event.Contains($"to enb-{TestbedPlan.EnbIdOf(2)}", StringComparison.Ordinal) && e.Event.Contains("10.60.0.12/", StringComparison.Ordinal));
            await Until(_ => executor.Executed.Any(c => c is StartMigration { From.Value: "a", To.Value: "b" }));
            Assert.Contains(executor.Executed, c => c is InstallSteering i && i.Intent.Enb == new EnbId(TestbedPlan.EnbIdOf(2)));

            await epc.S1HandoverAsync(ue, 1);
            await Until(t => t.Any(e => e.Event?.StartsWith("HandoverCompleted", StringComparison.Ordinal) == true));
            await epc.S1HandoverAsync(ue, 2, cancel: true);
            await Until(t => t.Any(e => e.Event?.StartsWith("HandoverCancelled", StringComparison.Ordinal) == true));
            await epc.ReleaseToIdleAsync(ue);
            await Until(t => t.Any(e => e.Event?.StartsWith("UeReleasedToIdle", StringComparison.Ordinal) == true));
            await epc.ServiceRequestAsync(ue, 1);
            await Until(t => t.Any(e => e.Event?.StartsWith("ServiceRequested", StringComparison.Ordinal) == true));

            // One UE throughout: every event names the same UE, and nothing was undecodable.
            var ues = mc.Timeline.Where(e => e.Event is not null && e.Message != "(adapter)").Select(e => e.Event!.Split(' ')[1]).Distinct().ToList();
            Assert.Single(ues);
            // Retransmitted DATA (the emulator's 1 s RTO can fire on a loaded machine) is the only drop allowed.
            Assert.DoesNotContain(mc.Statistics.Dropped.Keys, d => d.Layer != MobiScud.Capture.DropLayer.Ignored && d.Reason != nameof(MobiScud.Protocols.Link.TransportError.SctpDuplicateTsn));
        }
        finally
        {
            Assert.Empty(net.Down());
        }
    }
}
