using System.ComponentModel;
using System.Diagnostics;

namespace MobiScud.Cloud;

/// <summary>Starts an external tool (iproute2, cpio, QEMU) with its arguments passed one by one, never through shell quoting.</summary>
internal static class ToolProcess
{
    /// <summary>
    /// Adds <paramref name="args"/> to <paramref name="psi"/> and starts it. A tool that is missing or not executable is
    /// an <see cref="InvalidOperationException"/> that names <paramref name="what"/> (and how to install it, when it says).
    /// </summary>
    public static Process Start(ProcessStartInfo psi, IEnumerable<string> args, string what)
    {
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {what}");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run {what}: {e.Message}", e);
        }
    }
}
