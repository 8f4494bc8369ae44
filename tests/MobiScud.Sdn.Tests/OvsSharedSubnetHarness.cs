using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using MobiScud.Control.Model;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;
using MobiScud.TestSupport;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// Two edge sites on ONE ovs-vswitchd whose tunnel endpoints share a subnet, as the testbed wires them
/// (10.60.0.250/24 on brA, 10.60.0.249/24 on brB, one L2 backhaul). Site a: eNB A, S-GW, PVM host A; site b:
/// eNB B, PVM host B; a veth pair links the bridges. ovs-router keeps one route for 10.60.0.0/24, so site a is marked
/// (pkt_mark route to brA) and site b has the unmarked route to brB (<see cref="OvsTunnelRouting"/>). Named with a per-process prefix, torn down by pid files.
/// </summary>
public sealed class OvsSharedSubnetHarness : IAsyncLifetime
{
    public static readonly SiteId SiteA = new("a");
    public static readonly SiteId SiteB = new("b");
    public const ulong DpidA = 0xa2;
    public const ulong DpidB = 0xb2;
    public const string BridgeA = "brA";
    public const string BridgeB = "brB";

    public static readonly IPNetwork Backhaul = IPNetwork.Parse("10.60.0.0/24");
    public static readonly IPAddress EnbA = IPAddress.Parse("10.60.0.1");
    public static readonly IPAddress Sgw = IPAddress.Parse("10.60.0.2");
    public static readonly IPAddress EnbB = IPAddress.Parse("10.60.0.3");
    public static readonly IPAddress EndpointA = IPAddress.Parse("10.60.0.250");
    public static readonly IPAddress EndpointB = IPAddress.Parse("10.60.0.249");
    public static readonly IPAddress Pvm = IPAddress.Parse("192.168.60.10");
    private static readonly IPAddress PvmGateway = IPAddress.Parse("192.168.60.1");

    private const string MacEnbA = "02:00:00:00:60:01";
    private const string MacSgw = "02:00:00:00:60:02";
    private const string MacEnbB = "02:00:00:00:60:03";
    private const string MacBrA = "02:00:00:00:60:fa";
    private const string MacBrB = "02:00:00:00:60:f9";

    /// <summary>Site b reaches the S-GW over the inter-site link (port 5), through site a's bridge.</summary>
    public static readonly SdnTopology Sites = new([
        new SiteTopology(SiteA, DpidA, EndpointA, OvsHarness.Mac(MacBrA), TunnelPort: 10, PvmPort: 3,
            Enbs: [new GtpPeer(EnbA, OvsHarness.Mac(MacEnbA), 1)],
            Sgws: [new GtpPeer(Sgw, OvsHarness.Mac(MacSgw), 2)],
            InterSitePorts: new Dictionary<SiteId, uint> { [SiteB] = 5 },
            TunnelMark: 1),
        new SiteTopology(SiteB, DpidB, EndpointB, OvsHarness.Mac(MacBrB), TunnelPort: 10, PvmPort: 3,
            Enbs: [new GtpPeer(EnbB, OvsHarness.Mac(MacEnbB), 1)],
            Sgws: [new GtpPeer(Sgw, OvsHarness.Mac(MacSgw), 5)],
            InterSitePorts: new Dictionary<SiteId, uint> { [SiteA] = 5 }),
    ]);

    private readonly string prefix = $"sdn{Environment.ProcessId}x{Random.Shared.Next(100, 999)}";
    private readonly List<string> namespaces = [];
    private readonly Dictionary<string, string> env = [];
    private string ip = "", vsctl = "", appctl = "", ofctl = "", ethtool = "";

    public string Dir { get; private set; } = "";

    public string OvsNs => $"{prefix}-ovs";

    public string Ns(string role) => $"{prefix}-{role}";

    public OpenFlowController Controller { get; private set; } = null!;

    public OpenFlowSteeringProgrammer Programmer { get; private set; } = null!;

    public OvsDatapathSync DatapathSync { get; private set; } = null!;

    private static int version;

    public static int NextVersion() => Interlocked.Increment(ref version);

    public async Task InitializeAsync()
    {
        ip = ExternalTool.Require("ip", "iproute2");
        vsctl = ExternalTool.Require("ovs-vsctl", "openvswitch-switch");
        appctl = ExternalTool.Require("ovs-appctl", "openvswitch-switch");
        ofctl = ExternalTool.Require("ovs-ofctl", "openvswitch-switch");
        ethtool = ExternalTool.Require("ethtool", "ethtool");
        var vswitchd = ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var ovsdbServer = ExternalTool.Require("ovsdb-server", "openvswitch-switch");
        var ovsdbTool = ExternalTool.Require("ovsdb-tool", "openvswitch-switch");
        Dir = Directory.CreateTempSubdirectory($"mobiscud-{prefix}-").FullName;
        foreach (var v in new[] { "OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR" })
        {
            env[v] = Dir;
        }

        try
        {
            Controller = new OpenFlowController(new OpenFlowControllerOptions { UnixSocketPath = Path.Combine(Dir, "controller.sock") });
            DatapathSync = new OvsDatapathSync(() => OvsUnixctl.SocketIn(Dir), DatapathSyncMode.Flush);
            Programmer = new OpenFlowSteeringProgrammer(Controller, Sites, new Dictionary<SiteId, OvsDatapathSync> { [SiteA] = DatapathSync, [SiteB] = DatapathSync });
            Controller.Start();
            foreach (var role in new[] { "ovs", "enba", "enbb", "sgw", "pvma", "pvmb" })
            {
                await RunAsync(ip, "netns", "add", Ns(role));
                namespaces.Add(Ns(role));
                await RunAsync(ip, "-n", Ns(role), "link", "set", "lo", "up");
            }

            var db = Path.Combine(Dir, "conf.db");
            await RunAsync(ovsdbTool, "create", db, "/usr/share/openvswitch/vswitch.ovsschema");
            await RunAsync(ovsdbServer, db, $"--remote=punix:{DbSock}", $"--pidfile={Path.Combine(Dir, "ovsdb-server.pid")}", "--detach",
                $"--log-file={Path.Combine(Dir, "ovsdb-server.log")}");
            await Vsctl("--no-wait", "init");
            await RunAsync(ip, "netns", "exec", OvsNs, vswitchd, $"unix:{DbSock}", $"--pidfile={Path.Combine(Dir, "ovs-vswitchd.pid")}", "--detach",
                $"--log-file={Path.Combine(Dir, "ovs-vswitchd.log")}");

            foreach (var (br, dpid, mac) in new[] { (BridgeA, DpidA, MacBrA), (BridgeB, DpidB, MacBrB) })
            {
                await Vsctl("add-br", br, "--", "set", "bridge", br, "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
                    $"other-config:datapath-id={dpid:x16}", $"other-config:hwaddr={mac}",
                    "--", "set-controller", br, $"unix:{Path.Combine(Dir, "controller.sock")}");
            }

            // Two flow-keyed gtpu ports on one ovs-vswitchd must differ (local_ip on the unmarked site only): OvsTunnelRouting.
            OvsTunnelRouting.CheckSharedSubnet(Sites.Sites);
            foreach (var (br, port, site) in new[] { (BridgeA, "gtpA", SiteA), (BridgeB, "gtpB", SiteB) })
            {
                await Vsctl(["add-port", br, port, "--", "set", "interface", port, .. OvsTunnelRouting.GtpuInterfaceOptions(Sites[site]), "ofport_request=10"]);
            }

            await VethAsync(BridgeA, "enba", 1, MacEnbA, $"{EnbA}/24");
            await VethAsync(BridgeA, "sgw", 2, MacSgw, $"{Sgw}/24");
            await VethAsync(BridgeA, "pvma", 3, PvmMacText, $"{Pvm}/24");
            await VethAsync(BridgeB, "enbb", 1, MacEnbB, $"{EnbB}/24");
            await VethAsync(BridgeB, "pvmb", 3, PvmMacText, $"{Pvm}/24");

            // The inter-site link: a veth pair between the two bridges (an L2 backhaul, not an OVS patch port).
            await RunAsync(ip, "-n", OvsNs, "link", "add", "xab", "type", "veth", "peer", "name", "xba");
            foreach (var (dev, br) in new[] { ("xab", BridgeA), ("xba", BridgeB) })
            {
                await RunAsync(ip, "-n", OvsNs, "link", "set", dev, "up");
                await RunAsync(ip, "netns", "exec", OvsNs, ethtool, "-K", dev, "tx", "off");
                await Vsctl("add-port", br, dev, "--", "set", "interface", dev, "ofport_request=5");
            }

            await Neigh("enba", Sgw, MacSgw);
            await Neigh("enbb", Sgw, MacSgw);
            await Neigh("sgw", EnbA, MacEnbA);
            await Neigh("sgw", EnbB, MacEnbB);
            foreach (var (pvmNs, gwMac) in new[] { ("pvma", MacBrA), ("pvmb", MacBrB) })
            {
                await Neigh(pvmNs, PvmGateway, gwMac);
                await RunAsync(ip, "-n", Ns(pvmNs), "route", "add", "default", "via", PvmGateway.ToString());
            }

            foreach (var (br, local) in new[] { (BridgeA, EndpointA), (BridgeB, EndpointB) })
            {
                await WaitForLinkAsync(br);
                await RunAsync(ip, "-n", OvsNs, "addr", "replace", $"{local}/24", "dev", br);
                await RunAsync(ip, "-n", OvsNs, "link", "set", br, "up");
            }

            await OvsTunnelRouting.SeedAsync(Sites[SiteA], BridgeA, Backhaul, args => Appctl(args));
            await OvsTunnelRouting.SeedAsync(Sites[SiteB], BridgeB, Backhaul, args => Appctl(args));
            await Task.WhenAll(Controller.WaitForSwitchAsync(DpidA), Controller.WaitForSwitchAsync(DpidB)).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private static string PvmMacText => string.Join(":", SiteTopology.PvmMac(Pvm).GetAddressBytes().Select(b => b.ToString("x2")));

    private string DbSock => Path.Combine(Dir, "db.sock");

    private async Task WaitForLinkAsync(string dev)
    {
        var sw = Stopwatch.StartNew();
        while ((await ExternalTool.RunAsync(ip, ["-n", OvsNs, "link", "show", dev], TimeSpan.FromSeconds(10))).ExitCode != 0)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"OVS did not create {dev} in {OvsNs}; see {Dir}/ovs-vswitchd.log");
            }

            await Task.Delay(20);
        }
    }

    private async Task VethAsync(string bridge, string role, int ofport, string mac, string address)
    {
        var outside = $"v{role}";
        await RunAsync(ip, "link", "add", "name", outside, "netns", OvsNs, "type", "veth", "peer", "name", "eth0", "netns", Ns(role));
        await RunAsync(ip, "-n", Ns(role), "link", "set", "eth0", "address", mac);
        await RunAsync(ip, "-n", Ns(role), "addr", "add", address, "dev", "eth0");
        await RunAsync(ip, "-n", Ns(role), "link", "set", "eth0", "up");
        await RunAsync(ip, "-n", OvsNs, "link", "set", outside, "up");

        // Checksum offload off on both ends, otherwise OVS drops every GTP-U packet as a tunnel-pop error.
        await RunAsync(ip, "netns", "exec", Ns(role), ethtool, "-K", "eth0", "tx", "off");
        await RunAsync(ip, "netns", "exec", OvsNs, ethtool, "-K", outside, "tx", "off");
        await Vsctl("add-port", bridge, outside, "--", "set", "interface", outside, $"ofport_request={ofport}");
    }

    private Task Neigh(string role, IPAddress addr, string mac) =>
        RunAsync(ip, "-n", Ns(role), "neigh", "replace", addr.ToString(), "lladdr", mac, "dev", "eth0", "nud", "permanent");

    public Task Vsctl(params string[] args) => RunAsync(vsctl, [$"--db=unix:{DbSock}", "--timeout=20", .. args]);

    public Task<string> Appctl(params string[] args) =>
        RunAsync(appctl, [$"--target={Path.Combine(Dir, $"ovs-vswitchd.{File.ReadAllText(Path.Combine(Dir, "ovs-vswitchd.pid")).Trim()}.ctl")}", .. args]);

    public Task<string> DumpFlowsAsync(string bridge) =>
        RunAsync(ofctl, "-O", "OpenFlow13", "--no-stats", "dump-flows", $"unix:{Path.Combine(Dir, $"{bridge}.mgmt")}");

    public Socket Socket(string role, SocketType type, ProtocolType protocol) =>
        NetnsSocket.Create(Ns(role), AddressFamily.InterNetwork, type, protocol);

    public async Task<string> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return p.ExitCode == 0
            ? await stdout
            : throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` exited {p.ExitCode}: {(await stderr).Trim()} (logs in {Dir})");
    }

    public async Task DisposeAsync()
    {
        if (Controller is not null)
        {
            await Controller.DisposeAsync();
        }

        if (DatapathSync is not null)
        {
            await DatapathSync.DisposeAsync();
        }

        foreach (var daemon in new[] { "ovs-vswitchd", "ovsdb-server" })
        {
            var pidFile = Path.Combine(Dir, $"{daemon}.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
            {
                try
                {
                    using var p = Process.GetProcessById(pid);
                    p.Kill();
                    await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (ArgumentException)
                {
                    // already gone
                }
            }
        }

        foreach (var ns in namespaces)
        {
            await ExternalTool.RunAsync(ip, ["netns", "del", ns], TimeSpan.FromSeconds(10));
        }

        if (Dir.Length > 0 && Environment.GetEnvironmentVariable("MOBISCUD_KEEP_OVS_LOGS") is null)
        {
            try
            {
                Directory.Delete(Dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class OvsSharedSubnetCollection : ICollectionFixture<OvsSharedSubnetHarness>
{
    public const string Name = "ovs-shared-subnet";
}
