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
/// A private Open vSwitch (userspace netdev datapath) with two edge sites, built in network namespaces:
/// site A: eNB1, eNB2, S-GW, PVM host A, gtpu port, inter-site patch to B; site B: PVM host B, patch to A.
/// ovs-vswitchd runs in its own namespace (its tunnel endpoints and routes stay private) and reaches our
/// controller over a unix socket. Everything is named with a per-process prefix and torn down by pid files.
/// </summary>
public sealed class OvsHarness : IAsyncLifetime
{
    public static readonly SiteId SiteA = new("site-a");
    public static readonly SiteId SiteB = new("site-b");
    public const ulong DpidA = 0xa1;
    public const ulong DpidB = 0xb1;

    public static readonly IPAddress Enb1 = IPAddress.Parse("10.77.0.1");
    public static readonly IPAddress Sgw = IPAddress.Parse("10.77.0.2");
    public static readonly IPAddress Enb2 = IPAddress.Parse("10.77.0.3");
    public static readonly IPAddress EndpointA = IPAddress.Parse("10.77.0.254");
    public static readonly IPAddress EndpointB = IPAddress.Parse("10.78.0.254");
    public static readonly IPAddress Pvm = IPAddress.Parse("192.168.77.10");
    public static readonly IPAddress PvmGateway = IPAddress.Parse("192.168.77.1");

    private const string MacEnb1 = "02:00:00:00:00:01";
    private const string MacSgw = "02:00:00:00:00:02";
    private const string MacEnb2 = "02:00:00:00:00:03";
    private const string MacBrA = "02:00:00:00:00:fe";
    private const string MacBrB = "02:00:00:00:01:fe";

    private readonly string prefix = $"sdn{Environment.ProcessId}x{Random.Shared.Next(100, 999)}";
    private readonly List<string> namespaces = [];
    private readonly Dictionary<string, string> env = [];

    public string Dir { get; private set; } = "";

    public string OvsNs => $"{prefix}-ovs";

    public string Ns(string role) => $"{prefix}-{role}";

    public OpenFlowController Controller { get; private set; } = null!;

    public OpenFlowSteeringProgrammer Programmer { get; private set; } = null!;

    public OvsDatapathSync DatapathSync { get; private set; } = null!;

    public SdnTopology Topology => TwoSites;

    private static int version;

    /// <summary>Intent versions for every test sharing this harness (the programmer ignores older versions).</summary>
    public static int NextVersion() => Interlocked.Increment(ref version);

    /// <summary>The harness wiring as a topology record (also used by the pure tests).</summary>
    public static readonly SdnTopology TwoSites = new([
        new SiteTopology(SiteA, DpidA, EndpointA, Mac(MacBrA), TunnelPort: 10, PvmPort: 3,
            Enbs: [new GtpPeer(Enb1, Mac(MacEnb1), 1), new GtpPeer(Enb2, Mac(MacEnb2), 4)],
            Sgws: [new GtpPeer(Sgw, Mac(MacSgw), 2)],
            InterSitePorts: new Dictionary<SiteId, uint> { [SiteB] = 5 }),
        new SiteTopology(SiteB, DpidB, EndpointB, Mac(MacBrB), TunnelPort: 10, PvmPort: 3,
            Enbs: [],
            Sgws: [new GtpPeer(Sgw, Mac(MacSgw), 5)],
            InterSitePorts: new Dictionary<SiteId, uint> { [SiteA] = 5 }),
    ]);

    public static PhysicalAddress Mac(string s) => PhysicalAddress.Parse(s.Replace(':', '-'));

    private string ip = "", ovsVsctl = "", ovsVswitchd = "", ovsdbServer = "", ovsdbTool = "", ovsAppctl = "", ethtool = "";

    public string OvsOfctl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ip = ExternalTool.Require("ip", "iproute2");
        ovsVsctl = ExternalTool.Require("ovs-vsctl", "openvswitch-switch");
        ovsVswitchd = ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        ovsdbServer = ExternalTool.Require("ovsdb-server", "openvswitch-switch");
        ovsdbTool = ExternalTool.Require("ovsdb-tool", "openvswitch-switch");
        ovsAppctl = ExternalTool.Require("ovs-appctl", "openvswitch-switch");
        OvsOfctl = ExternalTool.Require("ovs-ofctl", "openvswitch-switch");
        ethtool = ExternalTool.Require("ethtool", "ethtool");
        Dir = Directory.CreateTempSubdirectory($"mobiscud-{prefix}-").FullName;
        foreach (var v in new[] { "OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR" })
        {
            env[v] = Dir;
        }

        try
        {
            await BuildAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync()
    {
        await RemoveStaleNamespacesAsync();
        Controller = new OpenFlowController(new OpenFlowControllerOptions
        {
            TcpEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            UnixSocketPath = Path.Combine(Dir, "controller.sock"),
        });
        // Both bridges live in one ovs-vswitchd: one datapath sync serves both sites, so a confirmed change holds for
        // the very next packet (see OvsDatapathSync for why the barrier alone does not).
        DatapathSync = new OvsDatapathSync(() => OvsUnixctl.SocketIn(Dir), DatapathSyncMode.Flush);
        Programmer = new OpenFlowSteeringProgrammer(Controller, Topology, new Dictionary<SiteId, OvsDatapathSync> { [SiteA] = DatapathSync, [SiteB] = DatapathSync });
        Controller.Start();

        foreach (var role in new[] { "ovs", "enb1", "enb2", "sgw", "pvma", "pvmb" })
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
        await StartVswitchdAsync();

        foreach (var (br, dpid, mac) in new[] { ("brA", DpidA, MacBrA), ("brB", DpidB, MacBrB) })
        {
            // The controller goes in before any flow: adding the first controller wipes the tables.
            await Vsctl("add-br", br, "--", "set", "bridge", br, "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
                $"other-config:datapath-id={dpid:x16}", $"other-config:hwaddr={mac}",
                "--", "set-controller", br, $"unix:{Path.Combine(Dir, "controller.sock")}");
        }

        await Vsctl("add-port", "brA", "gtpA", "--", "set", "interface", "gtpA", "type=gtpu", "options:remote_ip=flow", "options:key=flow", "ofport_request=10");
        await Vsctl("add-port", "brB", "gtpB", "--", "set", "interface", "gtpB", "type=gtpu", "options:remote_ip=flow", "options:key=flow",
            $"options:local_ip={EndpointB}", "ofport_request=10");
        await Vsctl("add-port", "brA", "pAB", "--", "set", "interface", "pAB", "type=patch", "options:peer=pBA", "ofport_request=5");
        await Vsctl("add-port", "brB", "pBA", "--", "set", "interface", "pBA", "type=patch", "options:peer=pAB", "ofport_request=5");

        await VethAsync("brA", "enb1", 1, MacEnb1, $"{Enb1}/24");
        await VethAsync("brA", "sgw", 2, MacSgw, $"{Sgw}/24");
        await VethAsync("brA", "enb2", 4, MacEnb2, $"{Enb2}/24");
        await VethAsync("brA", "pvma", 3, string.Join(":", SiteTopology.PvmMac(Pvm).GetAddressBytes().Select(b => b.ToString("x2"))), $"{Pvm}/24");
        await VethAsync("brB", "pvmb", 3, string.Join(":", SiteTopology.PvmMac(Pvm).GetAddressBytes().Select(b => b.ToString("x2"))), $"{Pvm}/24");

        // Static neighbours: the emulated eNBs/S-GW and PVMs do not depend on ARP through the switch.
        await Neigh("enb1", Sgw, MacSgw);
        await Neigh("enb2", Sgw, MacSgw);
        await Neigh("sgw", Enb1, MacEnb1);
        await Neigh("sgw", Enb2, MacEnb2);
        foreach (var (pvmNs, gwMac) in new[] { ("pvma", MacBrA), ("pvmb", MacBrB) })
        {
            await Neigh(pvmNs, PvmGateway, gwMac);
            await RunAsync(ip, "-n", Ns(pvmNs), "route", "add", "default", "via", PvmGateway.ToString());
        }

        await ConfigureEndpointsAsync();
        await Task.WhenAll(Controller.WaitForSwitchAsync(DpidA), Controller.WaitForSwitchAsync(DpidB)).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private string DbSock => Path.Combine(Dir, "db.sock");

    private Task StartVswitchdAsync() =>
        RunAsync(ip, "netns", "exec", OvsNs, ovsVswitchd, $"unix:{DbSock}", $"--pidfile={Path.Combine(Dir, "ovs-vswitchd.pid")}", "--detach",
            $"--log-file={Path.Combine(Dir, "ovs-vswitchd.log")}");

    /// <summary>The bridges' own interfaces are the tunnel endpoints; OVS must know the peers' MACs to send encapsulated packets.</summary>
    private async Task ConfigureEndpointsAsync()
    {
        await WaitForLinkAsync("brA");
        await WaitForLinkAsync("brB");
        await RunAsync(ip, "-n", OvsNs, "addr", "replace", $"{EndpointA}/24", "dev", "brA");
        await RunAsync(ip, "-n", OvsNs, "link", "set", "brA", "up");
        await RunAsync(ip, "-n", OvsNs, "addr", "replace", $"{EndpointB}/24", "dev", "brB");
        await RunAsync(ip, "-n", OvsNs, "link", "set", "brB", "up");
        await Appctl("tnl/neigh/set", "brA", Enb1.ToString(), MacEnb1);
        await Appctl("tnl/neigh/set", "brA", Enb2.ToString(), MacEnb2);
        await Appctl("tnl/neigh/set", "brA", Sgw.ToString(), MacSgw);
    }

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

    public Task Vsctl(params string[] args) => RunAsync(ovsVsctl, [$"--db=unix:{DbSock}", "--timeout=20", .. args]);

    public Task<string> Appctl(params string[] args) => RunAsync(ovsAppctl, [$"--target={Path.Combine(Dir, $"ovs-vswitchd.{ReadPid("ovs-vswitchd")}.ctl")}", .. args]);

    /// <summary>`ovs-ofctl -O OpenFlow13 dump-flows` of a bridge, without statistics.</summary>
    public Task<string> DumpFlowsAsync(string bridge) =>
        RunAsync(OvsOfctl, "-O", "OpenFlow13", "--no-stats", "dump-flows", $"unix:{Path.Combine(Dir, $"{bridge}.mgmt")}");

    public Task<string> OfctlAsync(params string[] args) => RunAsync(OvsOfctl, args);

    public string MgmtSocket(string bridge) => $"unix:{Path.Combine(Dir, $"{bridge}.mgmt")}";

    /// <summary>Kills ovs-vswitchd (SIGKILL, by its pid file) and starts it again; returns when it is running.</summary>
    public async Task RestartVswitchdAsync()
    {
        var pid = ReadPid("ovs-vswitchd");
        using (var p = Process.GetProcessById(pid))
        {
            p.Kill();
            await p.WaitForExitAsync();
        }

        File.Delete(Path.Combine(Dir, "ovs-vswitchd.pid"));
        await StartVswitchdAsync();
        await ConfigureEndpointsAsync();
    }

    public Socket Socket(string role, SocketType type, ProtocolType protocol) =>
        NetnsSocket.Create(Ns(role), AddressFamily.InterNetwork, type, protocol);

    private int ReadPid(string daemon) => int.Parse(File.ReadAllText(Path.Combine(Dir, $"{daemon}.pid")).Trim());

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
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` exited {p.ExitCode}: {(await stderr).Trim()} (logs in {Dir})");
        }

        return await stdout;
    }

    /// <summary>Namespaces left by a run of ours that was killed (its process is gone): remove them.</summary>
    private async Task RemoveStaleNamespacesAsync()
    {
        var list = await ExternalTool.RunAsync(ip, ["netns", "list"], TimeSpan.FromSeconds(10));
        foreach (var line in list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            var m = System.Text.RegularExpressions.Regex.Match(name, @"^sdn(\d+)x\d+-");
            if (m.Success && !Directory.Exists($"/proc/{m.Groups[1].Value}"))
            {
                await ExternalTool.RunAsync(ip, ["netns", "del", name], TimeSpan.FromSeconds(10));
            }
        }
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
public sealed class OvsCollection : ICollectionFixture<OvsHarness>
{
    public const string Name = "ovs";
}
