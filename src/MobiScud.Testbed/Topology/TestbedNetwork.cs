using System.Globalization;
using MobiScud.Control.Model;
using MobiScud.Sdn.OpenFlow;
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

        // The core data centre: a bridge behind the P-GW where the core-anchored PVM's tap is enslaved.
        Ns(p.SgwNs, "link", "add", TestbedPlan.CoreDcBridge, "type", "bridge");
        Ns(p.SgwNs, "link", "set", TestbedPlan.CoreDcBridge, "address", TestbedPlan.CoreDcGatewayMac);
        Ns(p.SgwNs, "addr", "add", $"{TestbedPlan.CoreDcGateway}/24", "dev", TestbedPlan.CoreDcBridge);
        Ns(p.SgwNs, "link", "set", TestbedPlan.CoreDcBridge, "up");
        Step();

        // Each edge site is a host of its own (namespace) with its own OVS, so tunnel routing and GTP-U termination
        // are per site, as on separate machines (one ovs-vswitchd shares one netdev datapath, and with it one gtpu
        // termination per UDP port, among all its bridges). Links made in a site namespace go away with it.
        for (var site = 0; site < s.Sites; site++)
        {
            var ns = p.SiteNs(site);
            StartOvs(site);
            var br = p.SiteBridge(site);
            Vsctl(site, "add-br", br, "--", "set", "bridge", br, "datapath_type=netdev", "protocols=OpenFlow13",
                $"other-config:hwaddr={TestbedPlan.SiteMac(site)}", $"other-config:datapath-id={TestbedPlan.DatapathId(site):x16}");
            Ns(ns, "addr", "add", $"{TestbedPlan.SiteEndpoint(site)}/24", "dev", br);
            Ns(ns, "link", "set", br, "up");

            // Uplink: site bridge <-> (delay relay in the WAN namespace) <-> core bridge.
            var up = p.SiteUplinkPort(site);
            var coreUp = TestbedPlan.CoreUplink(site);
            Ns(ns, "link", "add", up, "type", "veth", "peer", "name", $"us{site}", "netns", p.WanNs);
            Ns(ns, "link", "set", up, "up");
            NoOffload(ns, up);
            Shell.Run("ip", "-n", p.CoreNs, "link", "add", coreUp, "type", "veth", "peer", "name", $"uc{site}", "netns", p.WanNs);
            Ns(p.CoreNs, "link", "set", coreUp, "master", "br0", "up");
            NoOffload(p.CoreNs, coreUp);
            WanEnds($"us{site}", $"uc{site}");
            Mirror(p.CoreNs, coreUp);
            Vsctl(site, "add-port", br, up, "--", "set", "interface", up, $"ofport_request={TestbedPlan.UplinkOfPort}");
            Step();
        }

        for (var enb = 1; enb <= s.Enbs; enb++)
        {
            var ns = p.EnbNs(enb);
            var site = s.SiteOf(enb);
            var siteNs = p.SiteNs(site);
            var port = p.EnbPort(enb);
            Ns(siteNs, "link", "add", port, "type", "veth", "peer", "name", $"es{enb}", "netns", p.WanNs);
            Ns(siteNs, "link", "set", port, "up");
            NoOffload(siteNs, port);
            Shell.Run("ip", "-n", ns, "link", "add", "bh0", "type", "veth", "peer", "name", $"en{enb}", "netns", p.WanNs);
            Ns(ns, "link", "set", "bh0", "address", TestbedPlan.EnbMac(enb));
            Ns(ns, "addr", "add", $"{TestbedPlan.EnbAddress(enb)}/24", "dev", "bh0");
            Ns(ns, "link", "set", "bh0", "up");
            NoOffload(ns, "bh0");
            WanEnds($"en{enb}", $"es{enb}");
            Vsctl(site, "add-port", p.SiteBridge(site), port, "--", "set", "interface", port, $"ofport_request={TestbedPlan.EnbOfPort(enb)}");
            Step();
        }

        for (var site = 0; site < s.Sites; site++)
        {
            BuildEdgeHost(site);
        }

        foreach (var (a, b) in p.SitePairs)
        {
            InterSiteEnd(a, b);
            InterSiteEnd(b, a);
            WanEnds(TestbedPlan.InterSiteWanEnd(a, b), TestbedPlan.InterSiteWanEnd(b, a));
            Step();
        }
    }

    /// <summary>
    /// A site's compute side: the PVM host bridge (PVM taps join it) behind one OVS port, and the OVS gtpu port that
    /// terminates GTP-U at the bridge's own address. OVS encapsulates only toward neighbours it knows: seed them.
    /// </summary>
    private void BuildEdgeHost(int site)
    {
        var p = Plan;
        var ns = p.SiteNs(site);
        var br = p.SiteBridge(site);
        var host = p.PvmHostBridge(site);
        Ns(ns, "link", "add", host, "type", "bridge");
        Ns(ns, "link", "set", host, "up");
        var sw = p.PvmSwitchPort(site);
        Ns(ns, "link", "add", sw, "type", "veth", "peer", "name", p.PvmHostPort(site));
        Ns(ns, "link", "set", p.PvmHostPort(site), "master", host, "up");
        Ns(ns, "link", "set", sw, "up");
        NoOffload(ns, sw);
        NoOffload(ns, p.PvmHostPort(site));
        Vsctl(site, "add-port", br, sw, $"tag={IsolatedVlan(TestbedPlan.PvmOfPort)}", "--", "set", "interface", sw, $"ofport_request={TestbedPlan.PvmOfPort}");
        if (p.Scenario.Rat == TestbedRat.Nr)
        {
            // 5G: the N3 uplink step's port (OVS 3.1 does not decapsulate G-PDUs with extension headers; docs/sdn.md).
            var strip = p.N3StripPort(site);
            var stripEnd = p.N3StripHostEnd(site);
            Ns(ns, "link", "add", strip, "type", "veth", "peer", "name", stripEnd);
            foreach (var dev in new[] { strip, stripEnd })
            {
                Shell.Run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", $"net.ipv6.conf.{dev}.disable_ipv6=1");
                Ns(ns, "link", "set", dev, "up");
                NoOffload(ns, dev);
            }

            Vsctl(site, "add-port", br, strip, $"tag={IsolatedVlan(TestbedPlan.N3StripOfPort)}", "--", "set", "interface", strip, $"ofport_request={TestbedPlan.N3StripOfPort}");
        }

        var gtp = p.TunnelPortName(site);
        Vsctl(site, "add-port", br, gtp, "--", "set", "interface", gtp, "type=gtpu", "options:remote_ip=flow", "options:key=flow", $"ofport_request={TestbedPlan.TunnelOfPort}");
        OvsCtl(site, "ovs-appctl", "tnl/neigh/set", br, TestbedPlan.SgwAddress.ToString(), TestbedPlan.SgwMac);
        for (var enb = 1; enb <= p.Scenario.Enbs; enb++)
        {
            OvsCtl(site, "ovs-appctl", "tnl/neigh/set", br, TestbedPlan.EnbAddress(enb).ToString(), TestbedPlan.EnbMac(enb));
        }

        Step();
    }

    private void InterSiteEnd(int from, int to)
    {
        var ns = Plan.SiteNs(from);
        var port = Plan.InterSitePort(from, to);
        Ns(ns, "link", "add", port, "type", "veth", "peer", "name", TestbedPlan.InterSiteWanEnd(from, to), "netns", Plan.WanNs);
        Ns(ns, "link", "set", port, "up");
        NoOffload(ns, port);
        Vsctl(from, "add-port", Plan.SiteBridge(from), port, $"tag={IsolatedVlan(TestbedPlan.InterSiteOfPort(to))}", "--", "set", "interface", port, $"ofport_request={TestbedPlan.InterSiteOfPort(to)}");
    }

    /// <summary>
    /// A VLAN of its own for a PVM or inter-site port. The tag matters only to the NORMAL action: the backhaul's
    /// broadcasts are not flooded into the PVM host or across sites (the inter-site links close a loop with the core
    /// bridge), while the steering flows' explicit outputs use these ports untagged.
    /// </summary>
    private static uint IsolatedVlan(uint ofport) => 3000 + ofport;

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

    /// <summary>Starts a site's ovsdb-server and ovs-vswitchd inside the site namespace, with a private run directory.</summary>
    private void StartOvs(int site)
    {
        var dir = Plan.OvsDir(site);
        Directory.CreateDirectory(dir);
        _state.Record(new CreatedObject(CreatedKind.OvsDaemons, dir));
        var schema = "/usr/share/openvswitch/vswitch.ovsschema";
        if (!File.Exists(schema))
        {
            throw new TestbedException($"{schema} missing: run `apt-get install -y openvswitch-switch`");
        }

        var ns = Plan.SiteNs(site);
        Ovs(site, null, "ovsdb-tool", "create", Path.Combine(dir, "conf.db"), schema);
        Ovs(site, ns, "ovsdb-server", Path.Combine(dir, "conf.db"), $"--remote=punix:{Path.Combine(dir, "db.sock")}",
            $"--pidfile={Path.Combine(dir, "ovsdb-server.pid")}", "--detach", $"--log-file={Path.Combine(dir, "ovsdb-server.log")}");
        Vsctl(site, "--no-wait", "init");
        string[] vswitchd = ["ovs-vswitchd", $"unix:{Path.Combine(dir, "db.sock")}", $"--pidfile={Path.Combine(dir, "ovs-vswitchd.pid")}",
            "--detach", $"--log-file={Path.Combine(dir, "ovs-vswitchd.log")}"];
        if (Plan.Scenario.SwitchRealtimePriority > 0)
        {
            // chrt execs ovs-vswitchd; its daemon child and threads inherit SCHED_RR.
            Shell.Require("chrt", "util-linux");
            Ovs(site, ns, "chrt", ["-r", Plan.Scenario.SwitchRealtimePriority.ToString(CultureInfo.InvariantCulture), Shell.Find("ovs-vswitchd") ?? "ovs-vswitchd", .. vswitchd[1..]]);
        }
        else
        {
            Ovs(site, ns, vswitchd[0], vswitchd[1..]);
        }

        Step();
    }

    /// <summary>ovs-vsctl against site <paramref name="site"/>'s database.</summary>
    public string Vsctl(int site, params string[] args) => Ovs(site, null, "ovs-vsctl", [$"--db=unix:{Path.Combine(Plan.OvsDir(site), "db.sock")}", "--timeout=20", .. args]);

    /// <summary>ovs-ofctl/appctl against site <paramref name="site"/>'s private vswitchd (its control sockets are files, reachable from here).</summary>
    public string OvsCtl(int site, string tool, params string[] args) => Ovs(site, null, tool, args);

    private string Ovs(int site, string? netns, string tool, params string[] args)
    {
        var dir = Plan.OvsDir(site);
        var binary = Shell.Find(tool) ?? tool;
        var psi = new System.Diagnostics.ProcessStartInfo(netns is null ? binary : Shell.Find("ip") ?? "ip")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            foreach (var a in new[] { "netns", "exec", netns, binary })
            {
                psi.ArgumentList.Add(a);
            }
        }

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

    /// <summary>
    /// Hands every site bridge to the OpenFlow controller listening on <paramref name="unixSocket"/>, in secure fail mode: from
    /// here on the controller's flows alone forward traffic (it installs each site's base flows on connect).
    /// </summary>
    public void ConnectController(string unixSocket)
    {
        for (var site = 0; site < Plan.Scenario.Sites; site++)
        {
            // OVS connects only to sockets inside its own run directory: link the controller's socket in.
            var link = Path.Combine(Plan.OvsDir(site), "controller.sock");
            File.Delete(link);
            File.CreateSymbolicLink(link, unixSocket);
            var br = Plan.SiteBridge(site);
            Vsctl(site, "set-controller", br, $"unix:{link}", "--", "set", "bridge", br, "fail_mode=secure");
        }
    }

    /// <summary>
    /// Per site, the confirmation of steering changes in that site's OVS datapath (a flush over its control socket
    /// after the barrier): OVS 3.1 revalidates its datapath cache only after the barrier reply (docs/sdn.md).
    /// </summary>
    public IReadOnlyDictionary<SiteId, OvsDatapathSync> DatapathSync() =>
        Enumerable.Range(0, Plan.Scenario.Sites).ToDictionary(
            s => new SiteId(Scenario.SiteName(s)),
            s => new OvsDatapathSync(() => OvsUnixctl.SocketIn(Plan.OvsDir(s)), DatapathSyncMode.Flush));

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

    /// <summary>Records a namespace made outside <see cref="Up"/> (namespace PVMs), so that `down` removes it.</summary>
    public void RecordNamespace(string name) => _state.Record(new CreatedObject(CreatedKind.Namespace, name));

    public IReadOnlyList<string> Down()
    {
        StopLinks();
        return Down(_state);
    }

    /// <summary>Removes everything a state names, newest first; returns the problems it could not fix.</summary>
    public static IReadOnlyList<string> Down(TestbedState state)
    {
        var problems = new List<string>();

        // PVMs of a kept testbed whose process is gone: QEMU processes still running from its site directories.
        if (Directory.Exists(state.RunDir))
        {
            foreach (var dir in Directory.GetDirectories(state.RunDir, "pvm-*"))
            {
                MobiScud.Cloud.Qemu.QemuInstance.KillLeftovers(dir);
            }
        }

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
