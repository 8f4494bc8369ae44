using System.Net;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Experiment;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;
using MobiScud.Tracking;
using Xunit.Abstractions;

namespace MobiScud.Testbed.Tests;

/// <summary>
/// The 5G testbed (`testbed run --rat nr`): gNBs and an AMF in namespaces speaking NGAP over RFC 6951 UDP-encapsulated
/// SCTP, the MC on the tap of the backhaul. tshark, not our decoder, reads the NGAP back from the tap's pcap.
/// </summary>
[Collection("testbed")]
public sealed class NrTestbedTests(ITestOutputHelper output)
{
    private static Scenario Nr() => new() { Rat = TestbedRat.Nr };

    [Fact]
    public async Task The_MC_follows_registration_Xn_N2_cancelled_N2_idle_and_service_request_from_the_N2_tap_and_tshark_reads_every_NGAP_message()
    {
        var tshark = ExternalTool.Require("tshark", "tshark");
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var runDir = Path.Combine(Path.GetTempPath(), $"msb-test-{Guid.NewGuid():N}");
        var net = TestbedNetwork.Up(Nr(), runDir);
        var pcap = Path.Combine(runDir, "n2.pcap");
        int sent;
        try
        {
            using (var tap = BackhaulTap.Open(net.Plan.CoreNs, TestbedPlan.MirrorDevice, pcap))
            {
                var pvms = new RecordingPvms();
                await using var mc = new TestbedMc(tap.Frames, net.Plan.McConfig(), pvms, new InMemorySteering(), DateTime.UtcNow);
                await using var ngc = await NgcEmulator.StartAsync(net.Plan);
                var ue = ngc.Ues[0];
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

                async Task Until(Func<bool> condition)
                {
                    while (!condition())
                    {
                        await Task.Delay(20, cts.Token);
                    }
                }

                bool Has<T>()
                    where T : UeEvent => mc.Timeline.Any(e => e.FromTap && e.Event is T);
                T Seen<T>()
                    where T : UeEvent => mc.Timeline.Select(e => e.Event).OfType<T>().First();
                var gnb1 = new EnbId(NgcEmulator.GnbIdOf(1), Rat.Nr);
                var gnb2 = new EnbId(NgcEmulator.GnbIdOf(2), Rat.Nr);

                await ngc.AttachAsync(ue, 1);
                await Until(Has<UeAttached>);
                var attached = Seen<UeAttached>();
                Assert.Equal("001010000000001", attached.Imsi); // from the SUCI (null scheme) of the Registration Request
                Assert.Equal(IPAddress.Parse("172.16.0.11"), attached.UeAddress); // from the PDU Session Establishment Accept
                Assert.Equal(gnb1, attached.Enb);
                var session = Assert.Single(attached.Bearers);
                Assert.Equal(NgapMessages.PduSessionId, session.ERabId);
                Assert.Equal(new GtpEndpoint(IPAddress.Parse("10.60.0.3"), 0x1001), session.Uplink);
                Assert.Equal(IPAddress.Parse("10.60.0.11"), session.Downlink.Address);
                await Until(() => pvms.Executed.Any(c => c is CreatePvm { Site.Value: "a" }));

                await ngc.X2HandoverAsync(ue, 2); // Xn: PathSwitchRequest from gNB 2
                await Until(Has<PathSwitched>);
                Assert.Equal(gnb2, Seen<PathSwitched>().Target);
                await Until(() => pvms.Executed.Any(c => c is StartMigration { From.Value: "a", To.Value: "b" }));

                await ngc.S1HandoverAsync(ue, 1); // N2: Required, Request, Ack, Command, Notify
                await Until(Has<HandoverCompleted>);
                var prepared = Seen<HandoverPrepared>();
                Assert.Equal((gnb2, gnb1), (prepared.Source, prepared.Target));
                Assert.Equal(gnb1, Seen<HandoverCompleted>().Target);
                Assert.Equal(IPAddress.Parse("10.60.0.11"), Assert.Single(Seen<HandoverCompleted>().Downlinks).Downlink.Address);

                await ngc.S1HandoverAsync(ue, 2, cancel: true);
                await Until(Has<HandoverCancelled>);
                await ngc.ReleaseToIdleAsync(ue);
                await Until(Has<UeReleasedToIdle>);
                await ngc.ServiceRequestAsync(ue, 2);
                await Until(Has<ServiceRequested>);
                Assert.Equal(gnb2, Seen<ServiceRequested>().Enb);

                // One UE throughout (identity kept across AMF-UE-NGAP-ID changes and the 5G-S-TMSI). The tracker notes
                // the cancelled handover (a failed procedure, on the HandoverCancel's frame), and the AMF's release of
                // the target's prepared context after it, which the tracker dropped at the cancel (unplaced, as on
                // LTE); nothing else.
                Assert.Single(mc.Timeline.Select(e => e.Event.Ue).Distinct());
                output.WriteLine(string.Join("\n", mc.Problems));
                var cancelled = Assert.Single(mc.Timeline, e => e.FromTap && e.Event is HandoverCancelled);
                Assert.Contains(mc.Problems, p => p.Note?.Kind == TrackerNoteKind.Failed && p.Frame == cancelled.Frame);
                Assert.All(mc.Problems, p => Assert.True(
                    p.Source == TestbedProblemSource.Tracker
                        && ((p.Note?.Kind == TrackerNoteKind.Failed && p.Frame == cancelled.Frame) || (p.Note?.Kind == TrackerNoteKind.Unplaced && p.Frame > cancelled.Frame)),
                    p.ToString()));
                Assert.True(mc.Statistics.NgapMessages > 0);
                Assert.Equal(0, mc.Statistics.S1apMessages);

                while (ngc.OutstandingData > 0)
                {
                    await Task.Delay(20, cts.Token);
                }

                sent = ngc.Signalling.Count(e => e.Sent);
                await Until(() => tap.Captured >= sent);
                await Task.Delay(200, cts.Token);
            }

            // Every NGAP message is in the tap's pcap once (the emulator's retransmissions aside) and decodes in tshark
            // with no malformed packet.
            var ngap = await ExternalTool.RunAsync(tshark, ["-r", pcap, "-d", "udp.port==9899,sctp", "-o", "sctp.checksum:CRC-32C", "-Y", "ngap", "-T", "fields", "-e", "ngap.procedureCode", "-e", "_ws.malformed", "-e", "_ws.expert.severity"], TimeSpan.FromSeconds(60));
            Assert.Equal(0, ngap.ExitCode);
            var lines = ngap.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            output.WriteLine(ngap.StdOut);
            Assert.True(lines.Length >= sent, $"{lines.Length} NGAP messages in the pcap, {sent} sent");
            Assert.All(lines, l => Assert.Equal(string.Empty, l.Split('\t')[1]));
            var codes = lines.Select(l => int.Parse(l.Split('\t')[0].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
            foreach (var code in new[] { 21, 15, 4, 46, 14, 29, 25, 12, 13, 11, 10, 41, 42 })
            {
                Assert.Contains(code, codes); // NGSetup, InitialUEMessage, DL/UL NAS, ICS, PDU session setup, path switch, HO prep/alloc/notify/cancel, release
            }
        }
        finally
        {
            Assert.Empty(net.Down());
        }
    }

    [Fact]
    public async Task A_5G_UE_reaches_its_netns_PVM_at_site_a_then_site_b_after_Xn_and_back_after_N2_with_the_PDU_Session_Container_on_N3()
    {
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var tshark = ExternalTool.Require("tshark", "tshark");
        var scenario = new Scenario
        {
            Rat = TestbedRat.Nr,
            Pvm = PvmBackend.Netns,
            DurationSeconds = 9,
            Handovers =
            [
                new() { AtSeconds = 2, ToEnb = 2, Procedure = HandoverProcedure.Xn },
                new() { AtSeconds = 5, ToEnb = 1, Procedure = HandoverProcedure.N2 },
            ],
        };
        var (result, runDir) = await ExperimentRuns.RunAsync(scenario, output, TimeSpan.FromMinutes(3));
        output.WriteLine(result.Summary());
        Assert.Empty(result.Problems);
        Assert.EndsWith("n2.pcap", result.Pcap, StringComparison.Ordinal);

        // The MC's records: the PVM follows the UE a -> b (Xn path switch) and b -> a (N2 handover).
        Assert.Equal(2, result.Migrations.Count);
        Assert.Equal(("a", "b"), (result.Migrations[0].From, result.Migrations[0].To));
        Assert.Equal(("b", "a"), (result.Migrations[1].From, result.Migrations[1].To));
        // The handover steps on the tap: the Xn path switch, then the N2 handover's preparation, execution and
        // completion; each completion re-steered (flows confirmed on OVS).
        Assert.Equal(
            [(HandoverStage.Completed, HandoverInterface.Xn), (HandoverStage.Prepared, HandoverInterface.N2), (HandoverStage.Executing, HandoverInterface.N2), (HandoverStage.Completed, HandoverInterface.N2)],
            result.Handovers.Select(h => (h.Stage, h.Interface)));
        Assert.Contains(result.Handovers, h => h is { Stage: HandoverStage.Completed, Event: PathSwitched, WireToFlowsConfirmedMs: not null });
        Assert.Contains(result.Handovers, h => h is { Stage: HandoverStage.Completed, Event: HandoverCompleted, WireToFlowsConfirmedMs: not null });

        // The run's records name its steps as 5G does: an Xn then an N2 handover between gNBs.
        Assert.Equal(TestbedRat.Nr, result.Rat);
        Assert.Equal([(HandoverProcedure.Xn, "gNB", (int?)1, (int?)2), (HandoverProcedure.N2, "gNB", 2, 1)], result.Steps!.Select(s => (s.Procedure, s.Node, s.From, s.To)));

        // The uplink G-PDUs carry the PDU Session Container, yet the edge PVM answers at gNB 1, then at gNB 2 once the
        // PVM is at b, then at gNB 1 again: the N3 uplink step hands OVS what it can decapsulate.
        var edge = result.Samples.Where(s => s.Target == TestbedExperiment.EdgePvm).ToList();
        Assert.True(edge.Count(s => s.RttMs is not null && s.ServingEnb == 1 && s.SentAtSeconds < result.Migrations[0].StartedSeconds) >= 10);
        Assert.True(edge.Count(s => s.RttMs is not null && s.ServingEnb == 2 && s.SentAtSeconds > result.Migrations[0].CompletedSeconds + 0.3) >= 10);
        Assert.True(edge.Count(s => s.RttMs is not null && s.ServingEnb == 1 && s.SentAtSeconds > result.Migrations[1].CompletedSeconds + 0.3) >= 10);
        var (bound, why) = result.PvmLossBound(scenario.PingIntervalMs);
        Assert.True(result.Ping(TestbedExperiment.EdgePvm).Lost <= bound, $"lost {result.Ping(TestbedExperiment.EdgePvm).Lost} > bound {bound}: {why}");
        Assert.True(result.Ping(TestbedExperiment.EdgePvm).MedianMs < result.Ping(TestbedExperiment.CorePvmTarget).MedianMs, "the edge PVM is closer than the core one");
        Assert.True(result.Ping(TestbedExperiment.Internet).Sent - result.Ping(TestbedExperiment.Internet).Lost > 100, "the rest of the uplink still reaches the UPF");

        // tshark: every NGAP message in the pcap without a malformed packet; the uplink the edge does not serve goes on
        // to the UPF with its container (UL PDU SESSION INFORMATION, QFI 1) as the gNB sent it.
        var ngap = await ExternalTool.RunAsync(tshark, ["-r", result.Pcap, "-d", "udp.port==9899,sctp", "-o", "sctp.checksum:CRC-32C", "-Y", "ngap", "-T", "fields", "-e", "ngap.procedureCode", "-e", "_ws.malformed"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, ngap.ExitCode);
        var lines = ngap.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= result.S1apMessagesSent, $"{lines.Length} NGAP messages in the pcap, {result.S1apMessagesSent} sent");
        Assert.All(lines, l => Assert.Equal(string.Empty, l.Split('\t')[1]));
        var ul = await ExternalTool.RunAsync(tshark, ["-r", result.Pcap, "-Y", "gtp.ext_hdr.pdu_ses_con.pdu_type == 1 && gtp.ext_hdr.pdu_ses_con.qos_flow_id == 1 && gtp.teid == 0x1001 && ip.dst == 10.60.0.3", "-T", "fields", "-e", "frame.number"], TimeSpan.FromSeconds(60));
        Assert.NotEmpty(ul.StdOut.Trim());
        Assert.False(File.Exists(TestbedState.FileIn(runDir)), "teardown left objects behind");
    }
}
