using System.Runtime.InteropServices;

namespace MobiScud.Cli;

/// <summary>
/// CPU time from getrusage (Linux): of the calling thread (RUSAGE_THREAD), which the live view reports per thread so that
/// a run shows where its time went (capture and decode, or tracker and MC), and of reaped children (the bench's runs).
/// </summary>
internal static class ThreadCpu
{
    private const int RusageThread = 1;
    private const int RusageChildren = -1;

    /// <summary>User + system CPU time of the calling thread so far; null where the call is not available.</summary>
    public static TimeSpan? Current()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        if (GetRusage(RusageThread, out var usage) != 0)
        {
            return null;
        }

        return TimeSpan.FromSeconds(usage.UserSeconds + (usage.UserMicros / 1e6) + usage.SystemSeconds + (usage.SystemMicros / 1e6));
    }

    /// <summary>
    /// User + system CPU time of the reaped children so far (getrusage RUSAGE_CHILDREN): what `replay --bench` charges
    /// to each whole-process run it waited for.
    /// </summary>
    public static double Children()
    {
        if (GetRusage(RusageChildren, out var usage) != 0)
        {
            throw new InvalidOperationException($"getrusage failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return usage.UserSeconds + (usage.UserMicros / 1e6) + usage.SystemSeconds + (usage.SystemMicros / 1e6);
    }

    [DllImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static extern int GetRusage(int who, out Rusage usage);

    /// <summary>struct rusage on 64-bit Linux: two timevals, then 14 longs.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
    {
        public long UserSeconds;
        public long UserMicros;
        public long SystemSeconds;
        public long SystemMicros;
        public long MaxRss;
        public long IxRss;
        public long IdRss;
        public long IsRss;
        public long MinFlt;
        public long MajFlt;
        public long NSwap;
        public long InBlock;
        public long OuBlock;
        public long MsgSnd;
        public long MsgRcv;
        public long NSignals;
        public long NVcsw;
        public long NIvcsw;
    }
}
