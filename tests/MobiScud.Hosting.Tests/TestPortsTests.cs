using System.Net;
using System.Net.Sockets;
using MobiScud.TestSupport;

namespace MobiScud.Hosting.Tests;

/// <summary>The ports the servers of these tests get: never the same twice, outside the kernel's ephemeral range, reserved.</summary>
public sealed class TestPortsTests
{
    [Fact]
    public void Free_ports_are_distinct_listenable_below_the_ephemeral_range_and_held_against_other_processes()
    {
        // 300 from a pool of 10,000. Binding port 0 and closing drew from 7,000-14,000 ports on this host (20,000 calls
        // gave 6,653 distinct with SO_REUSEADDR, 10,634 without), where 300 draws repeat one with probability > 96%.
        var ports = Enumerable.Range(0, 300).Select(_ => TestPorts.Free()).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
        var ephemeralFirst = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(ports, p => Assert.InRange(p, 10000, Math.Min(19999, ephemeralFirst - 1)));

        using var listener = new TcpListener(IPAddress.Loopback, ports[0]);
        listener.Start();

        // The reservation is a lock another test process (or this one) cannot take while this one runs.
        var reservation = Path.Combine(Path.GetTempPath(), "mobiscud-test-ports", ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Throws<IOException>(() => new FileStream(reservation, FileMode.Open, FileAccess.ReadWrite, FileShare.None));
    }
}
