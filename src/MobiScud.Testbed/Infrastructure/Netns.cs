using MobiScud.Cloud.Net;

namespace MobiScud.Testbed.Infrastructure;

/// <summary>
/// Runs code inside a named network namespace (through <see cref="NetNamespace"/>: setns on a thread of its own).
/// Sockets, packet captures and TUN devices created there stay bound to that namespace for their whole life,
/// whichever thread uses them later: that is what lets one process emulate eNBs, an MME and an S-GW in separate
/// namespaces. Failures come back as <see cref="TestbedException"/>.
/// </summary>
public static class Netns
{
    public static string PathOf(string name) => NetNamespace.PathOf(name);

    public static T Run<T>(string name, Func<T> action)
    {
        try
        {
            return NetNamespace.Run(name, action);
        }
        catch (Exception e) when (e is not TestbedException)
        {
            if (e.InnerException is TestbedException inner)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(inner).Throw();
            }

            throw new TestbedException($"in namespace {name}: {e.Message}", e);
        }
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
                NetNamespace.Enter(name);
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
}
