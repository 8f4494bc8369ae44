using System.Net.Sockets;
using MobiScud.Sdn.OpenFlow;

namespace MobiScud.Sdn.Tests;

public class ReaderPriorityTests
{
    private const int SchedRr = 2;

    /// <summary>The kernel's view: the scheduling policy (field 41 of /proc/.../stat) of every thread with this name.</summary>
    private static List<int> PoliciesOf(string threadName) =>
        [.. Directory.GetDirectories("/proc/self/task")
            .Where(t => File.Exists(Path.Combine(t, "comm")) && File.ReadAllText(Path.Combine(t, "comm")).Trim() == threadName)
            .Select(t => File.ReadAllText(Path.Combine(t, "stat")))
            .Select(stat => int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[38], System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>Needs Linux and CAP_SYS_NICE (root), as the OVS tests of this project do.</summary>
    [Fact]
    public async Task A_switch_connection_gets_a_reader_thread_at_the_real_time_priority_asked_for()
    {
        var dir = Directory.CreateTempSubdirectory("mobiscud-rt-");
        try
        {
            var path = Path.Combine(dir.FullName, "of.sock");
            await using var controller = new OpenFlowController(new OpenFlowControllerOptions { TcpEndPoint = null, UnixSocketPath = path, ReaderRealtimePriority = 5 });
            controller.Start();
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path));

            // The reader starts when a switch connects and then sets its own priority; its name, truncated by the
            // kernel to 15 bytes, finds it. Other tests' readers in this process run at normal priority (0), and
            // nothing else makes a thread SCHED_RR, so one with that name and policy is this one.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            List<int> policies;
            while (!(policies = PoliciesOf("openflow reader")).Contains(SchedRr) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.Null(controller.ReaderPriorityProblem);
            Assert.Contains(SchedRr, policies);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
