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
}
