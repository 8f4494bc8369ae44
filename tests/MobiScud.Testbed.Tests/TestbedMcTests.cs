using System.Net;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;
using MobiScud.Tracking;

namespace MobiScud.Testbed.Tests;

[Collection("testbed")]
public sealed class TestbedMcTests
{
    [Fact]
    public async Task The_MC_learns_every_procedure_from_the_tap_alone_and_decides_on_it()
    {
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var runDir = Path.Combine(Path.GetTempPath(), $"msb-test-{Guid.NewGuid():N}");
        var net = TestbedNetwork.Up(new Scenario(), runDir);
        try
        {
            using var tap = BackhaulTap.Open(net.Plan.CoreNs, TestbedPlan.MirrorDevice, Path.Combine(runDir, "s1.pcap"));
            var pvms = new RecordingPvms();
            await using var mc = new TestbedMc(tap.Frames, net.Plan.McConfig(), pvms, new InMemorySteering(), DateTime.UtcNow);
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

            T Seen<T>()
                where T : UeEvent => mc.Timeline.Select(e => e.Event).OfType<T>().First();
            bool Has<T>()
                where T : UeEvent => mc.Timeline.Any(e => e.FromTap && e.Event is T);
            IEnumerable<ControlCommand> Commands() => mc.Timeline.SelectMany(e => e.Commands);

            await epc.AttachAsync(ue, 1);
            await Until(_ => Has<UeAttached>());
            var attached = Seen<UeAttached>();
            Assert.Equal("001010000000001", attached.Imsi);
            Assert.Equal(IPAddress.Parse("172.16.0.11"), attached.UeAddress);
            var bearer = Assert.Single(attached.Bearers);
            Assert.Equal(new GtpEndpoint(IPAddress.Parse("10.60.0.3"), 0x1001), bearer.Uplink);
            Assert.Equal(IPAddress.Parse("10.60.0.11"), bearer.Downlink.Address);
            await Until(_ => pvms.Executed.Any(c => c is CreatePvm { Site.Value: "a" }));

            await epc.X2HandoverAsync(ue, 2);
            await Until(_ => Has<PathSwitched>());
            var switched = Seen<PathSwitched>();
            Assert.Equal(new EnbId(TestbedPlan.EnbIdOf(2)), switched.Target);
            Assert.Equal(IPAddress.Parse("10.60.0.12"), Assert.Single(switched.Downlinks).Downlink.Address);
            await Until(_ => pvms.Executed.Any(c => c is StartMigration { From.Value: "a", To.Value: "b" }));
            Assert.Contains(Commands(), c => c is InstallSteering i && i.Intent.Enb == new EnbId(TestbedPlan.EnbIdOf(2)));

            // The PVM's start came back through the outcome pump and is in the timeline as an outcome, with the steering it caused.
            var started = Assert.Single(mc.Timeline, e => e.Event is PvmStarted);
            Assert.False(started.FromTap);
            Assert.Contains(started.Commands, c => c is InstallSteering { Intent.PvmAddress: not null });

            await epc.S1HandoverAsync(ue, 1);
            await Until(_ => Has<HandoverCompleted>());
            await epc.S1HandoverAsync(ue, 2, cancel: true);
            await Until(_ => Has<HandoverCancelled>());
            await epc.ReleaseToIdleAsync(ue);
            await Until(_ => Has<UeReleasedToIdle>());
            await epc.ServiceRequestAsync(ue, 1);
            await Until(_ => Has<ServiceRequested>());

            // Every step has its decision time, between the frame on the wire and the end of its backends' work.
            Assert.All(mc.Timeline.Where(e => e.FromTap), e => Assert.True(e.DecidedAt is { } d && d >= e.WireTime && d <= e.HandledAt, $"{e.Event}: wire {e.WireTime:O}, decided {e.DecidedAt:O}, handled {e.HandledAt:O}"));

            // ... and its stages, in order: the tap read the frame, the MC's loop took it, tracked it, had its turn, decided.
            Assert.All(mc.Timeline.Where(e => e.FromTap), e => Assert.True(
                e.Stages is { Read: { } read } s && e.WireTime <= read && read <= s.Dequeued && s.Dequeued <= s.Tracked && s.Tracked <= s.Turn && s.Turn <= e.DecidedAt,
                $"{e.Event}: wire {e.WireTime:O}, stages {e.Stages}, decided {e.DecidedAt:O}"));

            // One UE throughout: every event names the same UE, and nothing was undecodable.
            Assert.Single(mc.Timeline.Select(e => e.Event.Ue).Distinct());
            // The tracker notes the cancelled handover (a failed procedure, on the HandoverCancel's frame); nothing
            // but the tracker's notes went wrong.
            var cancelled = Assert.Single(mc.Timeline, e => e.FromTap && e.Event is HandoverCancelled);
            Assert.Contains(mc.Problems, p => p.Note?.Kind == TrackerNoteKind.Failed && p.Frame == cancelled.Frame);
            Assert.All(mc.Problems, p => Assert.Equal(TestbedProblemSource.Tracker, p.Source));
            // Retransmitted DATA (the emulator's 1 s RTO can fire on a loaded machine) is the only drop allowed.
            Assert.DoesNotContain(mc.Statistics.Dropped.Keys, d => d.Layer != MobiScud.Capture.DropLayer.Ignored && d.Reason != nameof(MobiScud.Protocols.Link.TransportError.SctpDuplicateTsn));
        }
        finally
        {
            Assert.Empty(net.Down());
        }
    }
}
