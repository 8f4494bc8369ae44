using System.Diagnostics;

namespace MobiScud.Sdn.OpenFlow;

/// <summary>
/// A private Open vSwitch for benchmarks and demos: ovsdb-server and ovs-vswitchd (userspace netdev datapath) in a
/// temporary run directory, ovs-vswitchd inside its own network namespace, bridges pointed at a controller's unix
/// socket. Stopped by pid file; the namespace and directory are removed on dispose.
/// </summary>
public sealed class OvsSandbox : IAsyncDisposable
{
    private readonly Dictionary<string, string> _env = [];

    private OvsSandbox(string dir, string netns)
    {
        Dir = dir;
        Netns = netns;
        foreach (var v in new[] { "OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR" })
        {
            _env[v] = dir;
        }
    }

    public string Dir { get; }

    public string Netns { get; }

    /// <summary>Starts the daemons; the caller then adds bridges with <see cref="AddBridgeAsync"/>.</summary>
    public static async Task<OvsSandbox> StartAsync(string prefix)
    {
        foreach (var tool in new[] { "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovsdb-tool", "ip" })
        {
            if (Which(tool) is null)
            {
                throw new InvalidOperationException($"'{tool}' is not installed: apt-get install -y openvswitch-switch iproute2");
            }
        }

        var name = $"{prefix}{Environment.ProcessId}";
        var sandbox = new OvsSandbox(Directory.CreateTempSubdirectory($"mobiscud-{name}-").FullName, $"{name}-ovs");
        try
        {
            await sandbox.RunAsync("ip", "netns", "add", sandbox.Netns);
            var db = Path.Combine(sandbox.Dir, "conf.db");
            await sandbox.RunAsync("ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema");
            await sandbox.RunAsync("ovsdb-server", db, $"--remote=punix:{sandbox.DbSock}", $"--pidfile={sandbox.PidFile("ovsdb-server")}", "--detach",
                $"--log-file={Path.Combine(sandbox.Dir, "ovsdb-server.log")}");
            await sandbox.Vsctl("--no-wait", "init");
            await sandbox.RunAsync("ip", "netns", "exec", sandbox.Netns, Which("ovs-vswitchd")!, $"unix:{sandbox.DbSock}",
                $"--pidfile={sandbox.PidFile("ovs-vswitchd")}", "--detach", $"--log-file={Path.Combine(sandbox.Dir, "ovs-vswitchd.log")}");
            return sandbox;
        }
        catch
        {
            await sandbox.DisposeAsync();
            throw;
        }
    }

    private string DbSock => Path.Combine(Dir, "db.sock");

    private string PidFile(string daemon) => Path.Combine(Dir, $"{daemon}.pid");

    public string MgmtSocket(string bridge) => $"unix:{Path.Combine(Dir, $"{bridge}.mgmt")}";

    /// <summary>A netdev bridge with a fixed datapath id, OpenFlow 1.3 only, fail-secure, controlled through <paramref name="controllerTarget"/>.</summary>
    public Task AddBridgeAsync(string bridge, ulong datapathId, string controllerTarget) =>
        Vsctl("add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
            $"other-config:datapath-id={datapathId:x16}", "--", "set-controller", bridge, controllerTarget);

    public Task<string> Vsctl(params string[] args) => RunAsync("ovs-vsctl", [$"--db=unix:{DbSock}", "--timeout=20", .. args]);

    public async Task<string> RunAsync(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(Which(tool) ?? tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in _env)
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{tool} {string.Join(' ', args)}` exited {p.ExitCode}: {(await stderr).Trim()} (logs in {Dir})");
        }

        return await stdout;
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin"])
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    public async ValueTask DisposeAsync()
    {
        foreach (var daemon in new[] { "ovs-vswitchd", "ovsdb-server" })
        {
            if (File.Exists(PidFile(daemon)) && int.TryParse(File.ReadAllText(PidFile(daemon)).Trim(), out var pid))
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

        try
        {
            await RunAsync("ip", "netns", "del", Netns);
        }
        catch (InvalidOperationException)
        {
            // never created
        }

        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
