using System.Globalization;
using MobiScud.Testbed.Infrastructure;

namespace MobiScud.Testbed.Topology;

/// <summary>
/// Builds and tears down the testbed's network on this machine: namespaces, veths, the core bridge, the per-site
/// OVS bridges (netdev datapath, private OVS run directory), tc netem delays, and the mirror port for the MC's tap.
/// Every object is recorded in the state file before it is created; any failure tears down what was made.
/// </summary>
public sealed class TestbedNetwork
{
    private readonly TestbedState _state;

    private TestbedNetwork(TestbedPlan plan, TestbedState state)
    {
        Plan = plan;
        _state = state;
    }

    public TestbedPlan Plan { get; }

    public TestbedState State => _state;

    /// <summary>Test hook: throw after this many build steps, to prove that a failed step leaks nothing.</summary>
    public static int? FailAfterSteps { get; set; }

    public static string NewPrefix() => $"msb{Environment.ProcessId % 100000}{Random.Shared.Next(10, 99)}";

    public static TestbedNetwork Up(Scenario scenario, string runDir, string? prefix = null, bool startLinks = true)
    {
        scenario.Validated();
        RequireTools();
        prefix ??= NewPrefix();
        Directory.CreateDirectory(runDir);
        if (File.Exists(TestbedState.FileIn(runDir)))
        {
            throw new TestbedException($"{runDir} already holds a testbed (state.json): run `mobiscud testbed down --run-dir {runDir}` first");
        }

        var plan = new TestbedPlan(prefix, scenario) { RunDirHint = runDir };
        var state = new TestbedState { Prefix = prefix, RunDir = runDir, Scenario = scenario };
        state.Save();
        var net = new TestbedNetwork(plan, state);
        try
        {
            net.Build();
            if (startLinks)
            {
                net.StartLinks();
            }

            return net;
        }
        catch (Exception e)
        {
            net.StopLinks();
            var leftovers = Down(state);
            throw new TestbedException(
                $"testbed up failed: {e.Message}" + (leftovers.Count == 0 ? " (everything torn down)" : $" (teardown problems: {string.Join("; ", leftovers)})"),
                e);
        }
    }

    public static void RequireTools()
    {
        Shell.Require("ip", "iproute2");
        Shell.Require("tc", "iproute2");
        Shell.Require("ethtool", "ethtool");
        Shell.Require("ovs-vswitchd", "openvswitch-switch");
        Shell.Require("ovsdb-server", "openvswitch-switch");
        Shell.Require("ovs-vsctl", "openvswitch-switch");
        Shell.Require("ovs-ofctl", "openvswitch-switch");
    }

    private int _steps;

    private void Step()
    {
        _steps++;
        if (FailAfterSteps is { } n && _steps > n)
        {
            throw new TestbedException($"injected failure after {n} steps");
        }
    }

    private void Build()
    {
        var p = Plan;
        var s = p.Scenario;
        foreach (var ns in p.Namespaces)
        {
            _state.Record(new CreatedObject(CreatedKind.Namespace, ns));
            Shell.Run("ip", "netns", "add", ns);
            Ns(ns, "link", "set", "lo", "up");
            Step();
        }

        StartOvs();

        // Core: one Linux bridge joining the site uplinks, the MME and the S-GW, plus the mirror port.
        Ns(p.CoreNs, "link", "add", "br0", "type", "bridge");
        Ns(p.CoreNs, "link", "set", "br0", "up");
        // The mirror is a veth pair: tc mirrors into mon0, the tap listens on its peer (no dummy module here).
        Ns(p.CoreNs, "link", "add", "mon0", "type", "veth", "peer", "name", TestbedPlan.MirrorDevice);
        Ns(p.CoreNs, "link", "set", "mon0", "up");
        Ns(p.CoreNs, "link", "set", TestbedPlan.MirrorDevice, "up");
        CoreHost(p.MmeNs, "mme", TestbedPlan.MmeAddress.ToString(), TestbedPlan.MmeMac);
        CoreHost(p.SgwNs, "sgw", TestbedPlan.SgwAddress.ToString(), TestbedPlan.SgwMac);
        Step();

        // S-GW/P-GW <-> internet server; the P-GW forwards between its GTP-U side and the SGi side.
        Shell.Run("ip", "-n", p.SgwNs, "link", "add", "sgi0", "type", "veth", "peer", "name", "eth0", "netns", p.InetNs);
        Ns(p.SgwNs, "addr", "add", $"{TestbedPlan.PgwSgiAddress}/24", "dev", "sgi0");
        Ns(p.SgwNs, "link", "set", "sgi0", "up");
        Ns(p.InetNs, "addr", "add", $"{TestbedPlan.InternetServerAddress}/24", "dev", "eth0");
        Ns(p.InetNs, "link", "set", "eth0", "up");
        Ns(p.InetNs, "route", "add", TestbedPlan.UePool, "via", TestbedPlan.PgwSgiAddress.ToString());
        Shell.Run("ip", "netns", "exec", p.SgwNs, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        NoOffload(p.SgwNs, "sgi0");
        NoOffload(p.InetNs, "eth0");
        Step();

        for (var site = 0; site < s.Sites; site++)
        {
            var br = p.SiteBridge(site);
            Vsctl("add-br", br, "--", "set", "bridge", br, "datapath_type=netdev", "protocols=OpenFlow13",
                $"other-config:hwaddr={TestbedPlan.SiteMac(site)}");
            Shell.Run("ip", "addr", "add", $"{TestbedPlan.SiteEndpoint(site)}/24", "dev", br);
            Shell.Run("ip", "link", "set", br, "up");
            _state.Record(new CreatedObject(CreatedKind.Link, br, Detail: "ovs bridge"));

            // Uplink: site bridge <-> (delay relay in the WAN namespace) <-> core bridge.
            var up = p.SiteUplinkPort(site);
            var coreUp = TestbedPlan.CoreUplink(site);
            _state.Record(new CreatedObject(CreatedKind.Link, up));
            Shell.Run("ip", "link", "add", up, "type", "veth", "peer", "name", $"us{site}", "netns", p.WanNs);
            Shell.Run("ip", "link", "set", up, "up");
            NoOffload(null, up);
            Shell.Run("ip", "-n", p.CoreNs, "link", "add", coreUp, "type", "veth", "peer", "name", $"uc{site}", "netns", p.WanNs);
            Ns(p.CoreNs, "link", "set", coreUp, "master", "br0", "up");
            NoOffload(p.CoreNs, coreUp);
            WanEnds($"us{site}", $"uc{site}");
            Mirror(p.CoreNs, coreUp);
            Vsctl("add-port", br, up);
            Step();
        }

        for (var enb = 1; enb <= s.Enbs; enb++)
        {
            var ns = p.EnbNs(enb);
            var port = p.EnbPort(enb);
            _state.Record(new CreatedObject(CreatedKind.Link, port));
            Shell.Run("ip", "link", "add", port, "type", "veth", "peer", "name", $"es{enb}", "netns", p.WanNs);
            Shell.Run("ip", "link", "set", port, "up");
            NoOffload(null, port);
            Shell.Run("ip", "-n", ns, "link", "add", "bh0", "type", "veth", "peer", "name", $"en{enb}", "netns", p.WanNs);
            Ns(ns, "link", "set", "bh0", "address", TestbedPlan.EnbMac(enb));
            Ns(ns, "addr", "add", $"{TestbedPlan.EnbAddress(enb)}/24", "dev", "bh0");
            Ns(ns, "link", "set", "bh0", "up");
            NoOffload(ns, "bh0");
            WanEnds($"en{enb}", $"es{enb}");
            Vsctl("add-port", p.SiteBridge(s.SiteOf(enb)), port);
            Step();
        }
    }

    /// <summary>A core host (MME, S-GW) on the core bridge, with a fixed MAC so switch flows can name it.</summary>
    private void CoreHost(string ns, string coreEnd, string address, string mac)
    {
        var p = Plan;
        Shell.Run("ip", "-n", p.CoreNs, "link", "add", coreEnd, "type", "veth", "peer", "name", "bh0", "netns", ns);
        Ns(p.CoreNs, "link", "set", coreEnd, "master", "br0", "up");
        NoOffload(p.CoreNs, coreEnd);
        Ns(ns, "link", "set", "bh0", "address", mac);
        Ns(ns, "addr", "add", $"{address}/24", "dev", "bh0");
        Ns(ns, "link", "set", "bh0", "up");
        NoOffload(ns, "bh0");
    }

    private void StartOvs()
    {
        var dir = Plan.OvsDir;
        Directory.CreateDirectory(dir);
        _state.Record(new CreatedObject(CreatedKind.OvsDaemons, dir));
        var schema = "/usr/share/openvswitch/vswitch.ovsschema";
        if (!File.Exists(schema))
        {
            throw new TestbedException($"{schema} missing: run `apt-get install -y openvswitch-switch`");
        }

        Ovs("ovsdb-tool", "create", Path.Combine(dir, "conf.db"), schema);
        Ovs("ovsdb-server", Path.Combine(dir, "conf.db"), $"--remote=punix:{Path.Combine(dir, "db.sock")}",
            $"--pidfile={Path.Combine(dir, "ovsdb-server.pid")}", "--detach", $"--log-file={Path.Combine(dir, "ovsdb-server.log")}");
        Vsctl("--no-wait", "init");
        Ovs("ovs-vswitchd", $"unix:{Path.Combine(dir, "db.sock")}", $"--pidfile={Path.Combine(dir, "ovs-vswitchd.pid")}",
            "--detach", $"--log-file={Path.Combine(dir, "ovs-vswitchd.log")}");
        Step();
    }

    public string Vsctl(params string[] args) => Ovs("ovs-vsctl", [$"--db=unix:{Path.Combine(Plan.OvsDir, "db.sock")}", "--timeout=20", .. args]);

    /// <summary>ovs-ofctl/appctl against this testbed's private vswitchd.</summary>
    public string OvsCtl(string tool, params string[] args) => Ovs(tool, args);

    private string Ovs(string tool, params string[] args)
    {
        var dir = Plan.OvsDir;
        var psi = new System.Diagnostics.ProcessStartInfo(Shell.Find(tool) ?? tool)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // Keep OVS away from the system's /var/run/openvswitch: other helpers run their own daemons.
        psi.Environment["OVS_RUNDIR"] = dir;
        psi.Environment["OVS_LOGDIR"] = dir;
        psi.Environment["OVS_DBDIR"] = dir;
        using var proc = System.Diagnostics.Process.Start(psi) ?? throw new TestbedException($"cannot start {tool}");
        var err = proc.StandardError.ReadToEndAsync();
        var output = proc.StandardOutput.ReadToEnd();
        if (!proc.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            proc.Kill(true);
            throw new TestbedException($"{tool} {string.Join(' ', args)} did not finish in 30 s");
        }

        if (proc.ExitCode != 0)
        {
            throw new TestbedException($"`{tool} {string.Join(' ', args)}` failed (exit {proc.ExitCode}): {err.Result.Trim()}");
        }

        return output;
    }

    private static void Ns(string ns, params string[] args) => Shell.Run("ip", ["-n", ns, .. args]);

    private static void NoOffload(string? ns, string dev)
    {
        // Checksum offload on veths leaves partial checksums that OVS's tunnel pop and pcap readers reject.
        if (ns is null)
        {
            Shell.Run("ethtool", "-K", dev, "tx", "off", "rx", "off");
        }
        else
        {
            Shell.Run("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "rx", "off");
        }
    }

    /// <summary>The two inner ends of a delayed link: up, promiscuous, no offloads, no IPv6 chatter.</summary>
    private void WanEnds(params string[] devs)
    {
        foreach (var dev in devs)
        {
            Shell.Run("ip", "netns", "exec", Plan.WanNs, "sysctl", "-q", "-w", $"net.ipv6.conf.{dev}.disable_ipv6=1");
            Ns(Plan.WanNs, "link", "set", dev, "promisc", "on", "up");
            NoOffload(Plan.WanNs, dev);
        }
    }

    /// <summary>Copies both directions of a core uplink to the mirror port (the MC's AF_PACKET tap).</summary>
    private static void Mirror(string ns, string dev)
    {
        Shell.Run("tc", "-n", ns, "qdisc", "add", "dev", dev, "clsact");
        foreach (var dir in new[] { "ingress", "egress" })
        {
            // u32 "match u32 0 0" matches every frame (no cls_matchall in this kernel).
            Shell.Run("tc", "-n", ns, "filter", "add", "dev", dev, dir, "protocol", "all", "prio", "1", "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "mon0");
        }
    }

    private readonly List<DelayLink> _links = [];

    /// <summary>Starts the user-space delay relays of every backhaul link in this process.</summary>
    public void StartLinks()
    {
        foreach (var l in Plan.Links)
        {
            _links.Add(DelayLink.Start(l.Name, Plan.WanNs, l.DevA, Plan.WanNs, l.DevB, TimeSpan.FromMilliseconds(l.DelayMs)));
        }
    }

    public void StopLinks()
    {
        foreach (var l in _links)
        {
            l.Dispose();
        }

        _links.Clear();
    }

    /// <summary>Re-opens a testbed built by another process (the link daemon of `testbed up`).</summary>
    public static TestbedNetwork Attach(string runDir)
    {
        var state = TestbedState.Load(runDir);
        var scenario = state.Scenario ?? throw new TestbedException($"{state.FilePath} has no scenario");
        return new TestbedNetwork(new TestbedPlan(state.Prefix, scenario) { RunDirHint = runDir }, state);
    }

    /// <summary>Records a process this testbed started, so that `down` stops it.</summary>
    public void RecordProcess(int pid, string program)
    {
        // /proc/PID/comm holds at most 15 characters of the program name.
        var comm = program.Length > 15 ? program[..15] : program;
        _state.Record(new CreatedObject(CreatedKind.Process, program, pid, comm));
    }

    public IReadOnlyList<string> Down()
    {
        StopLinks();
        return Down(_state);
    }

    /// <summary>Removes everything a state names, newest first; returns the problems it could not fix.</summary>
    public static IReadOnlyList<string> Down(TestbedState state)
    {
        var problems = new List<string>();
        foreach (var o in Enumerable.Reverse(state.Objects).ToList())
        {
            try
            {
                Remove(o);
            }
            catch (Exception e)
            {
                problems.Add($"{o.Kind} {o.Name}: {e.Message}");
            }
        }

        if (problems.Count == 0 && File.Exists(state.FilePath))
        {
            File.Delete(state.FilePath);
        }

        return problems;
    }

    public static IReadOnlyList<string> Down(string runDir) => Down(TestbedState.Load(runDir));

    private static void Remove(CreatedObject o)
    {
        switch (o.Kind)
        {
            case CreatedKind.Process:
                if (o.Pid is { } pid)
                {
                    KillIfOurs(pid, o.Detail);
                }

                break;
            case CreatedKind.OvsDaemons:
                foreach (var daemon in new[] { "ovs-vswitchd", "ovsdb-server" })
                {
                    var pidFile = Path.Combine(o.Name, daemon + ".pid");
                    if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var dpid))
                    {
                        KillIfOurs(dpid, daemon);
                    }
                }

                break;
            case CreatedKind.Namespace:
                if (File.Exists(Netns.PathOf(o.Name)))
                {
                    var pids = Shell.TryRun("ip", "netns", "pids", o.Name).StdOut
                        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    foreach (var p in pids)
                    {
                        if (int.TryParse(p, out var nsPid) && nsPid != Environment.ProcessId)
                        {
                            KillIfOurs(nsPid, null);
                        }
                    }

                    Shell.Run("ip", "netns", "del", o.Name);
                }

                break;
            case CreatedKind.Link:
                if (Directory.Exists(Path.Combine("/sys/class/net", o.Name)))
                {
                    Shell.Run("ip", "link", "del", o.Name);
                }

                break;
        }
    }

    /// <summary>Kills a pid only if it still runs the program we started (pids get reused).</summary>
    private static void KillIfOurs(int pid, string? expectedComm)
    {
        var comm = Path.Combine("/proc", pid.ToString(CultureInfo.InvariantCulture), "comm");
        if (!File.Exists(comm))
        {
            return;
        }

        var name = File.ReadAllText(comm).Trim();
        if (expectedComm is not null && !expectedComm.StartsWith(name, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            using var proc = System.Diagnostics.Process.GetProcessById(pid);
            proc.Kill();
            proc.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (ArgumentException)
        {
            // exited meanwhile
        }
    }
}
