using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace MobiScud.Cloud.Net;

/// <summary>
/// Named network namespaces (/run/netns, as `ip netns` makes them): run iproute2 in them and open sockets inside
/// them from this process. A socket belongs to the namespace it was created in for its whole life, so one made on a
/// short-lived thread switched with setns(2) can then be used from anywhere.
/// </summary>
public static class NetNamespace
{
    private const int CloneNewNet = 0x40000000;
    private const int ORdOnly = 0;
    private const int OCloExec = 0x80000;

    public static string PathOf(string name) => Path.Combine("/run/netns", name);

    public static bool Exists(string name) => File.Exists(PathOf(name));

    /// <summary>A socket created inside namespace <paramref name="ns"/> (null: this process's own namespace).</summary>
    public static Socket OpenSocket(string? ns, AddressFamily family, SocketType type, ProtocolType protocol) =>
        ns is null ? new Socket(family, type, protocol) : Run(ns, () => new Socket(family, type, protocol));

    /// <summary>
    /// Runs <paramref name="action"/> inside namespace <paramref name="ns"/> on a dedicated thread that ends right
    /// after: setns changes only the calling thread, which is never reused. What it creates (sockets, packet captures,
    /// TUN devices) stays in that namespace for its whole life, whichever thread uses it later.
    /// </summary>
    public static T Run<T>(string ns, Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        T? result = default;
        Exception? error = null;
        var t = new Thread(() =>
        {
            try
            {
                Enter(ns);
                result = action();
            }
            catch (Exception e)
            {
                error = e;
            }
        })
        { IsBackground = true, Name = $"netns {ns}" };
        t.Start();
        t.Join();
        if (error is not null)
        {
            throw error is IOException or SocketException ? error : new IOException($"in network namespace {ns}: {error.Message}", error);
        }

        return result!;
    }

    /// <summary>Moves the calling thread into namespace <paramref name="ns"/> (for a thread that stays there).</summary>
    public static void Enter(string ns)
    {
        var fd = Open(PathOf(ns), ORdOnly | OCloExec);
        if (fd < 0)
        {
            throw new IOException($"cannot open network namespace {ns} ({PathOf(ns)}): errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (SetNs(fd, CloneNewNet) != 0)
            {
                throw new IOException($"setns into network namespace {ns} failed: errno {Marshal.GetLastPInvokeError()} (needs root / CAP_SYS_ADMIN)");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>A connected TCP stream from inside <paramref name="ns"/>.</summary>
    public static async Task<NetworkStream> ConnectTcpAsync(string? ns, IPEndPoint to, CancellationToken ct)
    {
        var s = OpenSocket(ns, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await s.ConnectAsync(to, ct);
            return new NetworkStream(s, ownsSocket: true);
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>Sends one line over TCP from <paramref name="ns"/> and returns the first reply line (the guest services' protocol).</summary>
    public static async Task<string?> RequestLineAsync(string? ns, IPEndPoint to, string line, TimeSpan timeout, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        await using var stream = await ConnectTcpAsync(ns, to, cts.Token);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), cts.Token);
        using var r = new StreamReader(stream, Encoding.ASCII);
        return await r.ReadLineAsync(cts.Token);
    }

    /// <summary>Runs `ip [-n ns] args`; throws with iproute2's message if it fails.</summary>
    public static string Ip(string? ns, params string[] args)
    {
        var (code, stdout, stderr) = TryIp(ns, args);
        return code == 0
            ? stdout
            : throw new InvalidOperationException($"`ip {(ns is null ? "" : $"-n {ns} ")}{string.Join(' ', args)}` failed ({code}): {stderr.Trim()}");
    }

    /// <summary>Runs `ip [-n ns] args` and returns its exit code and output.</summary>
    public static (int Code, string StdOut, string StdErr) TryIp(string? ns, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = ToolProcess.Start(psi, ns is null ? args : ["-n", ns, .. args], "`ip` (apt-get install -y iproute2)");
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(20)))
        {
            p.Kill(true);
            return (-1, "", $"ip {string.Join(' ', args)} did not finish within 20 s");
        }

        return (p.ExitCode, o.GetAwaiter().GetResult(), e.GetAwaiter().GetResult());
    }

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);

    [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
