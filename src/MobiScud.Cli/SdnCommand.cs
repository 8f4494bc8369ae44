using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Logging;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Protocols.OpenFlow;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;

namespace MobiScud.Cli;

/// <summary>`mobiscud sdn bench`: handover-to-barrier latency through the real MC and a real Open vSwitch, and flow-mod throughput.</summary>
internal static class SdnCommand
{
    public static Command Create()
    {
        var sdn = new Command("sdn", "OpenFlow steering on Open vSwitch");
        var bench = new Command("bench", "Benchmark: MC handover event -> flow-mods -> OVS barrier reply (p50/p99), and flow-mods/s to one OVS");
        var handovers = new Option<int>("--handovers") { Description = "X2 handovers to time", DefaultValueFactory = _ => 2000 };
        var ues = new Option<int>("--ues") { Description = "UEs with steering installed (table size)", DefaultValueFactory = _ => 200 };
        var flowMods = new Option<int>("--flow-mods") { Description = "flow-mods for the throughput run", DefaultValueFactory = _ => 50_000 };
        var batch = new Option<int>("--batch") { Description = "flow-mods per barrier in the throughput run", DefaultValueFactory = _ => 1000 };
        var datapathSync = new Option<DatapathSyncMode>("--datapath-sync")
        {
            Description = "also time handovers confirmed in OVS's datapath (Flush: dpctl/del-flows after the barrier); None: barrier only",
            DefaultValueFactory = _ => DatapathSyncMode.Flush,
        };
        bench.Options.Add(handovers);
        bench.Options.Add(ues);
        bench.Options.Add(flowMods);
        bench.Options.Add(batch);
        bench.Options.Add(datapathSync);
        bench.Options.Add(CliLogging.Level);
        bench.SetAction(async (parse, ct) =>
        {
            using var loggers = CliLogging.Create(parse);
            return await RunBenchAsync(parse.GetValue(handovers), parse.GetValue(ues), parse.GetValue(flowMods), parse.GetValue(batch), parse.GetValue(datapathSync), loggers, ct);
        });
        sdn.Subcommands.Add(bench);
        return sdn;
    }

    private static readonly SiteId _siteA = new("site-a");
    private static readonly EnbId _enb1 = new(1);
    private static readonly EnbId _enb2 = new(2);
    private static readonly IPAddress _enb1Address = IPAddress.Parse("10.77.0.1");
    private static readonly IPAddress _enb2Address = IPAddress.Parse("10.77.0.3");
    private static readonly IPAddress _sgw = IPAddress.Parse("10.77.0.2");

    private static async Task<int> RunBenchAsync(int handovers, int ueCount, int flowModCount, int batch, DatapathSyncMode datapathSync, ILoggerFactory loggers, CancellationToken ct)
    {
        if (handovers < 1 || ueCount < 1 || flowModCount < 1 || batch < 1)
        {
            Console.Error.WriteLine("--handovers, --ues, --flow-mods and --batch must be positive");
            return 2;
        }

        const ulong dpid = 0xa1;
        var topology = new SdnTopology([
            new SiteTopology(_siteA, dpid, IPAddress.Parse("10.77.0.254"), Mac("02:00:00:00:00:fe"), 10, 3,
                [new GtpPeer(_enb1Address, Mac("02:00:00:00:00:01"), 1), new GtpPeer(_enb2Address, Mac("02:00:00:00:00:03"), 4)],
                [new GtpPeer(_sgw, Mac("02:00:00:00:00:02"), 2)], new Dictionary<SiteId, uint>()),
        ]);
        // OVS accepts a unix controller socket only inside its own run directory.
        await using var ovs = await OvsSandbox.StartAsync("sdnb");
        var sock = Path.Combine(ovs.Dir, "controller.sock");
        await using var controller = new OpenFlowController(new OpenFlowControllerOptions { TcpEndPoint = null, UnixSocketPath = sock }, loggers.CreateLogger<OpenFlowController>());
        var programmer = new OpenFlowSteeringProgrammer(controller, topology);
        controller.Start();
        await ovs.AddBridgeAsync("brA", dpid, $"unix:{sock}");
        var ready = await controller.WaitForSwitchAsync(dpid, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Console.WriteLine($"switch 0x{dpid:x} connected and reconciled in {ready.SinceConnect.TotalMilliseconds:F1} ms ({ready.Added} flows)");

        // The real MC decides: attach, PVM up, then X2 path switches back and forth between two eNBs of site A.
        var config = new McConfig(new Dictionary<EnbId, SiteId> { [_enb1] = _siteA, [_enb2] = _siteA }, new SiteId("core"));
        var states = new UeState?[ueCount];
        var clock = TimeSpan.Zero;
        for (var i = 0; i < ueCount; i++)
        {
            var ue = new UeId($"bench-{i}");
            var ueAddress = new IPAddress([172, 16, (byte)(i >> 8), (byte)i]);
            var pvm = new IPAddress([192, 168, (byte)(64 + (i >> 8)), (byte)i]);
            var bearer = new Bearer(5, new GtpEndpoint(_sgw, (uint)(0x10000 + i)), new GtpEndpoint(_enb1Address, (uint)(0x20000 + i)));
            foreach (var e in new UeEvent[] { new UeAttached(clock, ue, null, ueAddress, _enb1, null, [bearer]), new PvmStarted(clock, ue, PvmId.For(ue), _siteA, pvm) })
            {
                var d = MobiScudControl.Decide(config, states[i], e);
                states[i] = d.State;
                await ExecuteAsync(programmer, d.Commands, ct);
            }
        }

        Console.WriteLine($"{ueCount} UEs steered; {controller.DesiredFlows(dpid).Count} flows on the switch");
        // With a datapath sync, handovers alternate between a barrier-only programmer and a synced one, so both
        // series see the same load. No traffic crosses this bridge, so there is little to flush: the synced series
        // times the mechanism (a unixctl round trip), not the slow-path refill that follows under traffic.
        await using var sync = new OvsDatapathSync(() => OvsUnixctl.SocketIn(ovs.Dir), datapathSync);
        var synced = new OpenFlowSteeringProgrammer(controller, topology, new Dictionary<SiteId, OvsDatapathSync> { [_siteA] = sync });
        var series = datapathSync == DatapathSyncMode.None
            ? new[] { (By: programmer, What: "barrier-confirmed flows on OVS", Total: new List<double>(), Pure: new List<double>()) }
            : [(programmer, "barrier-confirmed flows on OVS", new List<double>(), new List<double>()),
               (synced, $"datapath-confirmed ({datapathSync}: barrier, then dpctl/del-flows)", new List<double>(), new List<double>())];
        for (var h = 0; h < handovers; h++)
        {
            var (by, _, total, decideCompile) = series[h % series.Length];
            var i = h % ueCount;
            clock += TimeSpan.FromMilliseconds(10);
            var toEnb2 = states[i]!.ServingEnb == _enb1;
            var downlink = new BearerDownlink(5, new GtpEndpoint(toEnb2 ? _enb2Address : _enb1Address, (uint)(0x30000 + h)));
            var started = TimeProvider.System.GetTimestamp();
            var decision = MobiScudControl.Decide(config, states[i], new PathSwitched(clock, new UeId($"bench-{i}"), toEnb2 ? _enb2 : _enb1, [downlink]));
            var install = decision.Commands.OfType<InstallSteering>().SingleOrDefault()
                ?? throw new InvalidOperationException($"handover {h}: the MC issued no InstallSteering ({string.Join(", ", decision.Commands)})");
            _ = SteeringCompiler.Compile(install.Intent, topology); // the pure part alone, timed for the breakdown
            var pure = TimeProvider.System.GetElapsedTime(started);
            var result = await by.ExecuteAsync(install, ct);
            var elapsed = TimeProvider.System.GetElapsedTime(started);
            if (!result.Confirmed || result.Rejections.Any() || (by == synced && !result.DatapathSynced))
            {
                throw new InvalidOperationException($"handover {h}: steering not confirmed: {string.Join("; ", result.Rejections)}");
            }

            states[i] = decision.State;
            total.Add(elapsed.TotalMilliseconds);
            decideCompile.Add(pure.TotalMilliseconds);
        }

        foreach (var (_, what, total, decideCompile) in series)
        {
            Console.WriteLine($"handover -> {what}, {total.Count} X2 handovers over {ueCount} UEs:");
            Console.WriteLine($"  total     p50 {Percentile(total, 50):F3} ms  p99 {Percentile(total, 99):F3} ms  max {total.Max():F3} ms");
            Console.WriteLine($"  MC decide + compile (pure part)  p50 {Percentile(decideCompile, 50):F3} ms  p99 {Percentile(decideCompile, 99):F3} ms");
        }

        var dump = await ovs.RunAsync("ovs-ofctl", "-O", "OpenFlow13", "--no-stats", "dump-flows", ovs.MgmtSocket("brA"));
        Console.WriteLine($"  check: OVS holds {dump.Split('\n').Count(l => l.Contains("cookie=", StringComparison.Ordinal))} flows, controller desires {controller.DesiredFlows(dpid).Count}");

        // Throughput: distinct ADD flow-mods in barrier-confirmed batches, then the same flows through ovs-ofctl as the peer.
        var sw = TimeProvider.System.GetTimestamp();
        for (var sent = 0; sent < flowModCount; sent += batch)
        {
            var n = Math.Min(batch, flowModCount - sent);
            var first = sent;
            var r = await controller.SendRawBatchAsync(dpid, xid => Enumerable.Range(first, n).Select(k => ThroughputFlow(xid(), k, FlowModCommand.Add)).ToList());
            if (!r.Ok)
            {
                throw new InvalidOperationException($"throughput batch rejected: {r.Rejections[0]}");
            }
        }

        var ours = TimeProvider.System.GetElapsedTime(sw);
        await controller.SendRawBatchAsync(dpid, xid => [new FlowMod(xid(), 0xbe00_0000_0000_0000, 0xff00_0000_0000_0000, 5, FlowModCommand.Delete, 0, 0, 0, FlowMod.NoBuffer, OfpPort.Any, 0xffffffff, FlowModFlags.None, OfpMatch.Any, [])]);

        var file = Path.Combine(ovs.Dir, "flows.txt");
        await File.WriteAllLinesAsync(file, Enumerable.Range(0, flowModCount).Select(k => $"table=5,priority=100,cookie=0xbe00000000000000,udp,nw_dst={Ip(k)},tp_dst=2152,actions=output:2"), ct);
        sw = TimeProvider.System.GetTimestamp();
        await ovs.RunAsync("ovs-ofctl", "-O", "OpenFlow13", "add-flows", ovs.MgmtSocket("brA"), file);
        var peer = TimeProvider.System.GetElapsedTime(sw);
        Console.WriteLine($"flow-mods/s to one OVS ({flowModCount} ADDs, {batch} per barrier): {flowModCount / ours.TotalSeconds:F0} ({ours.TotalMilliseconds:F0} ms)");
        Console.WriteLine($"  peer: ovs-ofctl add-flows of the same {flowModCount} flows: {flowModCount / peer.TotalSeconds:F0} flow-mods/s ({peer.TotalMilliseconds:F0} ms, includes its process start)");
        return 0;
    }

    private static FlowMod ThroughputFlow(uint xid, int k, FlowModCommand command) => new(
        xid, 0xbe00_0000_0000_0000, 0, 5, command, 0, 0, 100, FlowMod.NoBuffer, OfpPort.Any, 0xffffffff, FlowModFlags.None,
        new OfpMatch([OxmField.EthType(0x0800), OxmField.IpProto(17), OxmField.Ipv4Dst(Ip(k)), OxmField.UdpDst(2152)]),
        [new ApplyActionsInstruction([new OutputAction(2)])]);

    private static IPAddress Ip(int k) => new([10, (byte)(100 + (k >> 16)), (byte)(k >> 8), (byte)k]);

    private static async Task ExecuteAsync(IFlowProgrammer programmer, IEnumerable<ControlCommand> commands, CancellationToken ct)
    {
        foreach (var c in commands.Where(c => c is InstallSteering or RemoveSteering))
        {
            var r = await programmer.ExecuteAsync(c, ct);
            if (!r.Confirmed)
            {
                throw new InvalidOperationException($"{c} not confirmed");
            }
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    private static System.Net.NetworkInformation.PhysicalAddress Mac(string s) =>
        System.Net.NetworkInformation.PhysicalAddress.Parse(s.Replace(':', '-'));
}
