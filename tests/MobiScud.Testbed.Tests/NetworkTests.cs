using System.Net;
using MobiScud.Protocols.Sctp;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;

namespace MobiScud.Testbed.Tests;

[Collection("testbed")]
public sealed class NetworkTests
{
    private static string NewRunDir() => Path.Combine(Path.GetTempPath(), $"msb-test-{Guid.NewGuid():N}");

    private static void RequireTools()
    {
        ExternalTool.Require("ip", "iproute2");
        ExternalTool.Require("tc", "iproute2");
        ExternalTool.Require("ethtool", "ethtool");
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        ExternalTool.Require("tshark", "tshark");
    }

    private static IReadOnlyList<string> Leftovers(string prefix)
    {
        var namespaces = Shell.Run("ip", "netns", "list").Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal));
        var links = Directory.GetDirectories("/sys/class/net").Select(Path.GetFileName).Where(n => n!.StartsWith(prefix, StringComparison.Ordinal));
        var daemons = Directory.GetDirectories("/proc")
            .Select(d => Path.Combine(d, "cmdline"))
            .Where(File.Exists)
            .Select(f =>
            {
                try
                {
                    return File.ReadAllText(f).Replace('\0', ' ');
                }
                catch (IOException)
                {
                    return string.Empty;
                }
            })
            .Where(c => c.Contains($"/{prefix}/", StringComparison.Ordinal) || c.Contains(prefix + "-", StringComparison.Ordinal));
        return namespaces.Concat(links!).Concat(daemons).ToList()!;
    }

    [Fact]
    public void Up_then_down_leaves_no_namespace_link_or_daemon()
    {
        RequireTools();
        var runDir = NewRunDir();
        var net = TestbedNetwork.Up(new Scenario(), runDir);
        var prefix = net.Plan.Prefix;
        try
        {
            Assert.Contains(net.Plan.EnbNs(2), Shell.Run("ip", "netns", "list"));
            Assert.Contains(net.Plan.SiteBridge(1), net.Vsctl(1, "list-br"));

            // netem delays are in place: eNB1 -> MME crosses eNB<->edge and edge<->core twice each way.
            var busybox = ExternalTool.Require("busybox", "busybox-static");
            var ping = Shell.Run("ip", "netns", "exec", net.Plan.EnbNs(1), busybox, "ping", "-c", "3", "-W", "5", TestbedPlan.MmeAddress.ToString());
            var rtt = ParseAvgRtt(ping);
            Assert.InRange(rtt, 2 * (2 + 20), 2 * (2 + 20) + 200);
        }
        finally
        {
            var problems = net.Down();
            Assert.Empty(problems);
        }

        Assert.Empty(Leftovers(prefix));
        Assert.False(File.Exists(TestbedState.FileIn(runDir)));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(9)]
    public void A_failed_step_tears_down_everything_made_so_far(int failAfter)
    {
        RequireTools();
        var runDir = NewRunDir();
        var prefix = TestbedNetwork.NewPrefix();
        TestbedNetwork.FailAfterSteps = failAfter;
        try
        {
            var e = Assert.Throws<TestbedException>(() => TestbedNetwork.Up(new Scenario(), runDir, prefix));
            Assert.Contains("injected failure", e.Message);
            Assert.Contains("everything torn down", e.Message);
        }
        finally
        {
            TestbedNetwork.FailAfterSteps = null;
        }

        Assert.Empty(Leftovers(prefix));
    }

    [Fact]
    public void Down_without_state_names_the_missing_file()
    {
        var e = Assert.Throws<TestbedException>(() => TestbedNetwork.Down(NewRunDir()));
        Assert.Contains("state.json", e.Message);
    }

    [Fact]
    public async Task Sctp_over_udp_between_namespaces_is_tapped_and_decodes_in_tshark()
    {
        RequireTools();
        var tshark = ExternalTool.Require("tshark", "tshark");
        var runDir = NewRunDir();
        var net = TestbedNetwork.Up(new Scenario(), runDir);
        try
        {
            var pcap = Path.Combine(runDir, "s1.pcap");
            using (var tap = BackhaulTap.Open(net.Plan.CoreNs, TestbedPlan.MirrorDevice, pcap))
            {
                await using var mme = SctpUdpEndpoint.Open(net.Plan.MmeNs, TestbedPlan.MmeAddress, SctpWellKnown.S1apPort);
                await using var enb = SctpUdpEndpoint.Open(net.Plan.EnbNs(1), TestbedPlan.EnbAddress(1), 36413);
                var assoc = await enb.ConnectAsync(TestbedPlan.MmeAddress, SctpWellKnown.S1apPort, TimeSpan.FromSeconds(20));
                for (var i = 0; i < 5; i++)
                {
                    await assoc.SendAsync(new byte[] { 1, 2, 3, (byte)i }, ppid: 0);
                }

                var received = new List<byte[]>();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                while (received.Count < 5)
                {
                    received.Add((await mme.Messages.ReadAsync(cts.Token)).Payload);
                }

                Assert.Equal([0, 1, 2, 3, 4], received.Select(r => (int)r[3]));
                while (assoc.Outstanding > 0)
                {
                    await Task.Delay(20, cts.Token);
                }

                // 4 handshake packets + 5 DATA + 5 SACK crossed the mirrored uplink.
                while (tap.Captured < 14)
                {
                    await Task.Delay(20, cts.Token);
                }
            }

            var r = await ExternalTool.RunAsync(tshark, ["-r", pcap, "-d", "udp.port==9899,sctp", "-o", "sctp.checksum:CRC-32C", "--disable-protocol", "s1ap", "-T", "fields", "-e", "sctp.chunk_type", "-e", "sctp.checksum.status", "-e", "_ws.malformed", "-e", "sctp.data_tsn"], TimeSpan.FromSeconds(60));
            Assert.Equal(0, r.ExitCode);
            var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();

            // A loaded machine may let the fixed 1 s RTO fire (T1-init or T3-rtx), so retransmitted
            // INITs, DATA and their SACKs are legitimate extra packets; what must hold is the order of
            // the handshake, five distinct TSNs, and that every packet is valid SCTP to tshark.
            Assert.True(lines.Count is >= 14 and <= 40, $"{lines.Count} packets in the capture:\n{r.StdOut}");
            Assert.All(lines, l => Assert.Equal("1", l[1]));
            Assert.All(lines, l => Assert.Equal(string.Empty, l[2]));
            var types = lines.Select(l => l[0]).ToList();
            Assert.Equal("1", types[0]);
            Assert.Equal(["1", "2", "10", "11"], types.Where(t => t is "1" or "2" or "10" or "11").Distinct());
            Assert.Equal(5, lines.Where(l => l[0] == "0").Select(l => l[3]).Distinct().Count());
            Assert.True(types.Count(t => t == "3") >= 5, $"expected a SACK for each DATA, got: {string.Join(' ', types)}");
        }
        finally
        {
            Assert.Empty(net.Down());
        }
    }

    private static double ParseAvgRtt(string pingOutput)
    {
        // busybox: "round-trip min/avg/max = 44.1/44.3/44.5 ms"
        var line = pingOutput.Split('\n').First(l => l.Contains("min/avg/max", StringComparison.Ordinal));
        var values = line.Split('=')[1].Trim().Split(' ')[0].Split('/');
        return double.Parse(values[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
