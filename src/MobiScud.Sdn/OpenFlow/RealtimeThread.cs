using System.Runtime.InteropServices;

namespace MobiScud.Sdn.OpenFlow;

/// <summary>
/// Linux real-time scheduling for one thread (SCHED_RR). On a loaded host a woken thread queues behind every runnable
/// thread; a real-time one runs at once. Reset on fork, so processes this thread starts run at normal priority.
/// </summary>
internal static class RealtimeThread
{
    private const int SchedRr = 2;
    private const int SchedResetOnFork = 0x40000000;

    /// <summary>Makes the calling thread SCHED_RR at <paramref name="priority"/> (1-99); null on success, else why not.</summary>
    public static string? TrySetCurrent(int priority)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "real-time priority is only implemented on Linux";
        }

        var param = new SchedParam { Priority = priority };

        // pid 0: the calling thread (Linux schedules threads, not processes).
        return SchedSetScheduler(0, SchedRr | SchedResetOnFork, ref param) == 0
            ? null
            : $"sched_setscheduler(SCHED_RR, {priority}) failed: errno {Marshal.GetLastPInvokeError()} (needs CAP_SYS_NICE and real-time budget)";
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedParam
    {
        public int Priority;
    }

    // DllImport, not LibraryImport: the project does not allow unsafe code, and these arguments need no marshalling.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static extern int SchedSetScheduler(int pid, int policy, ref SchedParam param);
#pragma warning restore SYSLIB1054
}
