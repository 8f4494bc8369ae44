using System.Runtime.InteropServices;

namespace MobiScud.Testbed.Infrastructure;

/// <summary>
/// Runs code inside a named network namespace. setns(2) switches only the calling thread, so each call gets a
/// fresh thread that enters the namespace, runs the action and exits. Sockets, packet captures and TUN devices
/// created there stay bound to that namespace for their whole life, whichever thread uses them later: that is
/// what lets one process emulate eNBs, an MME and an S-GW in separate namespaces.
/// </summary>
public static partial class Netns
{
    private const int CloneNewNet = 0x40000000;

    public static string PathOf(string name) => Path.Combine("/var/run/netns", name);

    public static T Run<T>(string name, Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        T? result = default;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(name);
                result = action();
            }
            catch (Exception e)
            {
                error = e;
            }
        })
        {
            IsBackground = true,
            Name = $"netns:{name}",
        };
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw error is TestbedException ? error : new TestbedException($"in namespace {name}: {error.Message}", error);
        }

        return result!;
    }

    /// <summary>Starts a long-running loop on its own thread inside the namespace.</summary>
    public static Thread Start(string name, Action loop, string threadName)
    {
        var ready = new ManualResetEventSlim();
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(name);
            }
            catch (Exception e)
            {
                error = e;
                ready.Set();
                return;
            }

            ready.Set();
            loop();
        })
        {
            IsBackground = true,
            Name = threadName,
        };
        thread.Start();
        ready.Wait();
        if (error is not null)
        {
            throw new TestbedException($"cannot enter namespace {name}: {error.Message}", error);
        }

        return thread;
    }

    private static void Enter(string name)
    {
        var path = PathOf(name);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
        {
            throw new TestbedException($"setns({path}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}
