using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;
using MobiScud.TestSupport;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// What every OVS fixture of this suite shares: a private Open vSwitch (ovsdb-server and ovs-vswitchd, userspace netdev
/// datapath) in a temporary run directory, ovs-vswitchd in a namespace of its own (its tunnel endpoints and routes stay
/// private) reaching our controller over a unix socket, and one namespace per emulated host, wired to a bridge by a veth
/// pair. A derived harness lays out its own bridges and hosts in <see cref="BuildAsync"/>. Names start with a tag per
/// harness plus the process id, so fixtures running side by side never collide; teardown goes by pid files, also after a
/// failed start-up. MOBISCUD_KEEP_OVS_LOGS keeps the run directory (daemon logs, database) for a post-mortem.
/// </summary>
public abstract class OvsHarnessBase : IAsyncLifetime
{
    private static readonly string[] _daemons = ["ovs-vswitchd", "ovsdb-server"];
    private static int _version;

    private readonly string _tag;
    private readonly string _prefix;
    private readonly List<string> _namespaces = [];
    private readonly Dictionary<string, string> _env = [];
    private string _ovsVsctl = "", _ovsVswitchd = "", _ovsdbServer = "", _ovsdbTool = "", _ovsAppctl = "";

    /// <param name="tag">Lower-case letters, different for every harness: the fixtures of two collections run in parallel.</param>
    protected OvsHarnessBase(string tag)
    {
        _tag = tag;
        _prefix = $"{tag}{Environment.ProcessId}x{Random.Shared.Next(100, 999)}";
    }

    /// <summary>The sites this harness wires: one bridge (datapath id, hwaddr = endpoint MAC) per site.</summary>
    public abstract SdnTopology Topology { get; }

    /// <summary>The emulated hosts; each gets a namespace named <see cref="Ns"/>(role).</summary>
    protected abstract IEnumerable<string> HostRoles { get; }

    public string Dir { get; private set; } = "";

    public string OvsNs => $"{_prefix}-ovs";

    public string Ns(string role) => $"{_prefix}-{role}";

    public OpenFlowController Controller { get; private set; } = null!;

    public OpenFlowSteeringProgrammer Programmer { get; private set; } = null!;

    public OvsDatapathSync DatapathSync { get; private set; } = null!;

    public string OvsOfctl { get; private set; } = "";

    protected string Ip { get; private set; } = "";

    protected string Ethtool { get; private set; } = "";

    /// <summary>Intent versions for every test sharing a harness (the programmer ignores older versions).</summary>
    public static int NextVersion() => Interlocked.Increment(ref _version);

    public static PhysicalAddress Mac(string s) => PhysicalAddress.Parse(s.Replace(':', '-'));

    protected static string MacText(PhysicalAddress mac) => string.Join(":", mac.GetAddressBytes().Select(b => b.ToString("x2")));

    /// <summary>Bridges, ports, host addresses and neighbours; runs once the daemons are up and the controller listens.</summary>
    protected abstract Task BuildAsync();

    public async Task InitializeAsync()
    {
        Ip = ExternalTool.Require("ip", "iproute2");
        _ovsVsctl = ExternalTool.Require("ovs-vsctl", "openvswitch-switch");
        _ovsVswitchd = ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        _ovsdbServer = ExternalTool.Require("ovsdb-server", "openvswitch-switch");
        _ovsdbTool = ExternalTool.Require("ovsdb-tool", "openvswitch-switch");
        _ovsAppctl = ExternalTool.Require("ovs-appctl", "openvswitch-switch");
        OvsOfctl = ExternalTool.Require("ovs-ofctl", "openvswitch-switch");
        Ethtool = ExternalTool.Require("ethtool", "ethtool");
        Dir = Directory.CreateTempSubdirectory($"mobiscud-{_prefix}-").FullName;
        foreach (var v in new[] { "OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR" })
        {
            _env[v] = Dir;
        }

        try
        {
            await RemoveStaleNamespacesAsync();
            Controller = new OpenFlowController(new OpenFlowControllerOptions
            {
                TcpEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                UnixSocketPath = ControllerSocket,
            });

            // All bridges live in one ovs-vswitchd: one datapath sync serves every site, so a confirmed change holds for
            // the very next packet (see OvsDatapathSync for why the barrier alone does not).
            DatapathSync = new OvsDatapathSync(() => OvsUnixctl.SocketIn(Dir), DatapathSyncMode.Flush);
            Programmer = new OpenFlowSteeringProgrammer(Controller, Topology, Topology.Sites.ToDictionary(s => s.Site, _ => DatapathSync));
            Controller.Start();

            foreach (var role in HostRoles.Prepend("ovs"))
            {
                await RunAsync(Ip, "netns", "add", Ns(role));
                _namespaces.Add(Ns(role));
                await RunAsync(Ip, "-n", Ns(role), "link", "set", "lo", "up");
            }

            var db = Path.Combine(Dir, "conf.db");
            await RunAsync(_ovsdbTool, "create", db, "/usr/share/openvswitch/vswitch.ovsschema");
            await RunAsync(_ovsdbServer, db, $"--remote=punix:{DbSock}", $"--pidfile={PidFile("ovsdb-server")}", "--detach",
                $"--log-file={Path.Combine(Dir, "ovsdb-server.log")}");
            await Vsctl("--no-wait", "init");
            await StartVswitchdAsync();

            await BuildAsync();
            await Task.WhenAll(Topology.Sites.Select(s => Controller.WaitForSwitchAsync(s.DatapathId))).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private string DbSock => Path.Combine(Dir, "db.sock");

    private string ControllerSocket => Path.Combine(Dir, "controller.sock");

    private string PidFile(string daemon) => Path.Combine(Dir, $"{daemon}.pid");

    protected Task StartVswitchdAsync() =>
        RunAsync(Ip, "netns", "exec", OvsNs, _ovsVswitchd, $"unix:{DbSock}", $"--pidfile={PidFile("ovs-vswitchd")}", "--detach",
            $"--log-file={Path.Combine(Dir, "ovs-vswitchd.log")}");

    /// <summary>Kills a daemon (SIGKILL, by its pid file); false when it was not running.</summary>
    protected async Task<bool> KillDaemonAsync(string daemon)
    {
        if (!File.Exists(PidFile(daemon)) || !int.TryParse(File.ReadAllText(PidFile(daemon)).Trim(), out var pid))
        {
            return false;
        }

        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (ArgumentException)
        {
            return false; // already gone
        }

        File.Delete(PidFile(daemon));
        return true;
    }

    /// <summary>
    /// A netdev bridge for <paramref name="site"/>: its datapath id, its endpoint MAC, OpenFlow 1.3 only, fail-secure, our
    /// controller. The controller goes in before any flow: adding the first controller wipes the tables.
    /// </summary>
    protected Task AddBridgeAsync(string bridge, SiteTopology site) =>
        Vsctl("add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
            $"other-config:datapath-id={site.DatapathId:x16}", $"other-config:hwaddr={MacText(site.EndpointMac)}",
            "--", "set-controller", bridge, $"unix:{ControllerSocket}");

    /// <summary>A host namespace's eth0, veth-paired to port <paramref name="ofport"/> of <paramref name="bridge"/>.</summary>
    protected async Task VethAsync(string bridge, string role, int ofport, string mac, string address)
    {
        var outside = $"v{role}";
        await RunAsync(Ip, "link", "add", "name", outside, "netns", OvsNs, "type", "veth", "peer", "name", "eth0", "netns", Ns(role));
        await RunAsync(Ip, "-n", Ns(role), "link", "set", "eth0", "address", mac);
        await RunAsync(Ip, "-n", Ns(role), "addr", "add", address, "dev", "eth0");
        await RunAsync(Ip, "-n", Ns(role), "link", "set", "eth0", "up");
        await RunAsync(Ip, "-n", OvsNs, "link", "set", outside, "up");

        // Checksum offload off on both ends, otherwise OVS drops every GTP-U packet as a tunnel-pop error.
        await RunAsync(Ip, "netns", "exec", Ns(role), Ethtool, "-K", "eth0", "tx", "off");
        await RunAsync(Ip, "netns", "exec", OvsNs, Ethtool, "-K", outside, "tx", "off");
        await Vsctl("add-port", bridge, outside, "--", "set", "interface", outside, $"ofport_request={ofport}");
    }

    /// <summary>Static neighbours: the emulated eNBs, S-GW and PVMs do not depend on ARP through the switch.</summary>
    protected Task Neigh(string role, IPAddress addr, string mac) =>
        RunAsync(Ip, "-n", Ns(role), "neigh", "replace", addr.ToString(), "lladdr", mac, "dev", "eth0", "nud", "permanent");

    /// <summary>A PVM host's default route via the bridge it hangs off (the gateway's MAC is the bridge's).</summary>
    protected async Task DefaultRouteAsync(string role, IPAddress gateway, string gatewayMac)
    {
        await Neigh(role, gateway, gatewayMac);
        await RunAsync(Ip, "-n", Ns(role), "route", "add", "default", "via", gateway.ToString());
    }

    /// <summary>Makes a bridge's own interface a tunnel endpoint: waits until OVS created it, then addresses it and brings it up.</summary>
    protected async Task BridgeAddressAsync(string bridge, IPAddress address, int prefixLength = 24)
    {
        var sw = Stopwatch.StartNew();
        while ((await ExternalTool.RunAsync(Ip, ["-n", OvsNs, "link", "show", bridge], TimeSpan.FromSeconds(10))).ExitCode != 0)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"OVS did not create {bridge} in {OvsNs}; see {Dir}/ovs-vswitchd.log");
            }

            await Task.Delay(20);
        }

        await RunAsync(Ip, "-n", OvsNs, "addr", "replace", $"{address}/{prefixLength}", "dev", bridge);
        await RunAsync(Ip, "-n", OvsNs, "link", "set", bridge, "up");
    }

    public Task Vsctl(params string[] args) => RunAsync(_ovsVsctl, [$"--db=unix:{DbSock}", "--timeout=20", .. args]);

    public Task<string> Appctl(params string[] args) =>
        RunAsync(_ovsAppctl, [$"--target={Path.Combine(Dir, $"ovs-vswitchd.{File.ReadAllText(PidFile("ovs-vswitchd")).Trim()}.ctl")}", .. args]);

    /// <summary>`ovs-ofctl -O OpenFlow13 dump-flows` of a bridge, without statistics.</summary>
    public Task<string> DumpFlowsAsync(string bridge) => RunAsync(OvsOfctl, "-O", "OpenFlow13", "--no-stats", "dump-flows", MgmtSocket(bridge));

    public Task<string> OfctlAsync(params string[] args) => RunAsync(OvsOfctl, args);

    public string MgmtSocket(string bridge) => $"unix:{Path.Combine(Dir, $"{bridge}.mgmt")}";

    public Socket Socket(string role, SocketType type, ProtocolType protocol) =>
        NetnsSocket.Create(Ns(role), AddressFamily.InterNetwork, type, protocol);

    /// <summary>Runs a tool with the OVS_* directories pointing at our run directory; a non-zero exit throws with its stderr.</summary>
    public async Task<string> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in _env)
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

    /// <summary>Namespaces left by a run of this harness that was killed (its process is gone): remove them.</summary>
    private async Task RemoveStaleNamespacesAsync()
    {
        var ours = new Regex($@"^{Regex.Escape(_tag)}(\d+)x\d+-");
        var list = await ExternalTool.RunAsync(Ip, ["netns", "list"], TimeSpan.FromSeconds(10));
        foreach (var line in list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            var m = ours.Match(name);
            if (m.Success && !Directory.Exists($"/proc/{m.Groups[1].Value}"))
            {
                await ExternalTool.RunAsync(Ip, ["netns", "del", name], TimeSpan.FromSeconds(10));
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

        foreach (var daemon in _daemons)
        {
            await KillDaemonAsync(daemon);
        }

        foreach (var ns in _namespaces)
        {
            await ExternalTool.RunAsync(Ip, ["netns", "del", ns], TimeSpan.FromSeconds(10));
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
