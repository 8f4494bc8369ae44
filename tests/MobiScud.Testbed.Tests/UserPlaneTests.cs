using System.Diagnostics;
using System.Net;
using MobiScud.Control.Model;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Testbed.Tests;

/// <summary>
/// The whole loop without QEMU: real GTP-U from the emulated eNBs, the MC on the tap, OpenFlow on the sites' OVS
/// bridges, and namespace PVMs whose kernels answer the UE's pings.
/// </summary>
[Collection("testbed")]
public sealed class UserPlaneTests(ITestOutputHelper output)
{
    private static readonly TimeSpan _patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Pvm_traffic_is_steered_at_the_edge_and_follows_the_UE_across_handovers_while_other_traffic_crosses_the_EPC()
    {
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var tshark = ExternalTool.Require("tshark", "tshark");
        var runDir = Path.Combine(Path.GetTempPath(), $"msb-test-{Guid.NewGuid():N}");
        var net = TestbedNetwork.Up(new Scenario(), runDir);
        var pcap = Path.Combine(runDir, "s1.pcap");
        var lostPvm = 0;
        try
        {
            await using var controller = new OpenFlowController(new OpenFlowControllerOptions { TcpEndPoint = null, UnixSocketPath = net.Plan.ControllerSocket });
            controller.Start();
            var datapathSync = net.DatapathSync();
            await using var syncs = new AsyncDisposables(datapathSync.Values);
            var programmer = new OpenFlowSteeringProgrammer(controller, net.Plan.SdnTopology(), datapathSync);
            net.ConnectController(net.Plan.ControllerSocket);
            for (var site = 0; site < 2; site++)
            {
                await controller.WaitForSwitchAsync(TestbedPlan.DatapathId(site)).WaitAsync(_patience);
            }

            var epoch = DateTime.UtcNow;
            var epochTicks = Stopwatch.GetTimestamp();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            using var tap = BackhaulTap.Open(net.Plan.CoreNs, TestbedPlan.MirrorDevice, pcap);
            await using var pvms = new NetnsPvmHost(net, () => DateTime.UtcNow - epoch);
            var topology = net.Plan.SdnTopology();
            var steering = new ProgrammerSteeringBackend(
                programmer, topology, async (site, _) => [.. (await controller.DumpFlowsAsync(topology[site].DatapathId)).Select(FlowEntry.FromStats)], () => DateTime.UtcNow - epoch);
            await using var pvmBackend = new MobiScud.Cloud.HypervisorBackend(pvms);
            await using var mc = new TestbedMc(tap.Frames, net.Plan.McConfig(), pvmBackend, steering, epoch);
            await using var epc = await EpcEmulator.StartAsync(net.Plan);
            var pvm = new PingTarget("pvm");
            var internet = new PingTarget("internet", TestbedPlan.InternetServerAddress);
            using var up = UserPlane.Start(net.Plan, epc.Ues, [pvm, internet], epochTicks);
            var ue = epc.Ues[0];

            async Task Until(Func<bool> condition, string what)
            {
                while (!condition())
                {
                    if (cts.IsCancellationRequested)
                    {
                        for (var site = 0; site < 2; site++)
                        {
                            output.WriteLine(net.OvsCtl(site, "ovs-ofctl", "-O", "OpenFlow13", "dump-flows", net.Plan.SiteBridge(site)));
                            output.WriteLine(net.OvsCtl(site, "ovs-appctl", "dpctl/dump-flows"));
                        }

                        Assert.Fail($"timed out waiting for: {what}; {up.Counters}; problems: {string.Join("; ", mc.Problems.Select(p => p.ToString()).Concat(steering.Results.Select(r => r.Problem).OfType<string>()))}");
                    }

                    await Task.Delay(20);
                }
            }

            int Answered(string target, int enb, double after) =>
                up.Samples(TimeSpan.FromSeconds(1)).Count(s => s.Target == target && s.ServingEnb == enb && s.RttMs is not null && s.SentAtSeconds > after);
            double Now() => Stopwatch.GetElapsedTime(epochTicks).TotalSeconds;
            bool FinalSteering(string site) => steering.Results.Any(s => s.Confirmed && s.Install?.Intent is { } i && i.SwitchSite.Value == site && i.PvmSite.Value == site && i.PvmAddress is not null);
            long TowardPvm(int site) => long.Parse(Shell.Run("ip", "netns", "exec", net.Plan.SiteNs(site), "cat", $"/sys/class/net/{net.Plan.PvmSwitchPort(site)}/statistics/tx_packets").Trim(), System.Globalization.CultureInfo.InvariantCulture);

            await epc.AttachAsync(ue, 1);
            await Until(() => mc.Timeline.Any(e => e.Event is PvmStarted { Address: not null }), "PVM started");
            pvm.Address = mc.Timeline.Select(e => e.Event).OfType<PvmStarted>().First().Address;
            await Until(() => FinalSteering("a"), "steering at site a");
            up.StartPinging(TimeSpan.FromMilliseconds(20));
            await Until(() => Answered("pvm", 1, 0) >= 10 && Answered("internet", 1, 0) >= 10, "pings answered at eNB 1");
            var towardA = TowardPvm(0);

            // X2 handover to eNB 2 (site b): redirected at once over the inter-site link, then moved with the PVM.
            await epc.X2HandoverAsync(ue, 2);
            await Until(() => mc.Timeline.Any(e => e.Event is MigrationCompleted) && FinalSteering("b"), "migration to site b and its steering");
            var afterMove = Now();
            var towardB = TowardPvm(1);
            await Until(() => Answered("pvm", 2, afterMove) >= 10 && Answered("internet", 2, afterMove) >= 10, "pings answered at eNB 2 after the migration");
            Assert.True(TowardPvm(1) - towardB >= 10, "site b's switch delivers the PVM's traffic after the migration");
            Assert.True(TowardPvm(0) > towardA, "site a's switch delivered PVM traffic before the migration");

            // S1 handover back to eNB 1: the PVM follows back to site a.
            await epc.S1HandoverAsync(ue, 1);
            await Until(() => mc.Timeline.Count(e => e.Event is MigrationCompleted) >= 2 && steering.Results.Count(s => s.Install?.Intent is { SwitchSite.Value: "a", PvmSite.Value: "a" }) >= 2, "migration back to site a");
            var back = Now();
            await Until(() => Answered("pvm", 1, back) >= 10, "pings answered at eNB 1 after coming back");

            // A ping unanswered one second after it was sent counts as lost: stop, then give the last ones that second.
            up.StopPinging();
            await Task.Delay(TimeSpan.FromSeconds(1));
            var samples = up.Samples(TimeSpan.FromSeconds(1));
            var lost = samples.Where(s => s.Target == "pvm" && s.RttMs is null).ToList();
            lostPvm = lost.Count;
            output.WriteLine($"pvm pings: {samples.Count(s => s.Target == "pvm")} sent, {lost.Count} lost at {string.Join(", ", lost.Select(l => $"{l.SentAtSeconds:0.000}s"))}");
            output.WriteLine($"internet pings: {samples.Count(s => s.Target == "internet")} sent, {samples.Count(s => s.Target == "internet" && s.RttMs is null)} lost");
            output.WriteLine(up.Counters);
            foreach (var s in steering.Results)
            {
                output.WriteLine($"steering {(s.Install is { } i ? $"install at {i.Intent.SwitchSite} pvm@{i.Intent.PvmSite}" : "remove")}: {(s.Finished - s.Started).TotalMilliseconds:0.0} ms confirmed={s.Confirmed}");
            }

            Assert.Empty(mc.Problems);
            Assert.Empty(steering.Results.Select(r => r.Problem).OfType<string>());
        }
        finally
        {
            Assert.Empty(net.Down());
        }

        // The edge terminates the PVM's traffic: the core uplinks (where the tap sits) carry only the PVM pings sent in
        // a handover's window before the new site's flows were confirmed (each of those was lost), while every internet
        // ping crosses them inside GTP-U with the UE's uplink TEID, which tshark decodes. (ICMP errors quote the echo
        // they answer, so they are left out.)
        var r = await ExternalTool.RunAsync(tshark, ["-r", pcap, "-Y", "icmp.type == 8 && !(icmp.type == 3)", "-T", "fields", "-e", "ip.dst", "-e", "gtp.teid"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, r.ExitCode);
        var echoes = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        var pvmOnCore = echoes.Count(f => f[0].EndsWith(",10.64.0.10", StringComparison.Ordinal));
        output.WriteLine($"echo requests on the core uplinks: {echoes.Count}, of which to the PVM: {pvmOnCore}");
        Assert.InRange(pvmOnCore, 0, lostPvm);
        Assert.True(echoes.Count(f => f[0].EndsWith("," + TestbedPlan.InternetServerAddress, StringComparison.Ordinal) && f[1] == "0x00001001") >= 30, "internet pings cross the core in GTP-U");
    }
}
