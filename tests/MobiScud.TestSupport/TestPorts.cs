using System.Net;
using System.Net.Sockets;

namespace MobiScud.TestSupport;

/// <summary>Loopback ports for the servers tests start (QEMU guests, redis-server, PostgreSQL, `mobiscud serve`).</summary>
public static class TestPorts
{
    private const int FirstSingle = 10000;
    private const int LastSingle = 19999;

    private static readonly Lock _lock = new();

    /// <summary>The reservations this process holds, kept open until it exits.</summary>
    private static readonly List<FileStream> _held = [];

    /// <summary>
    /// A random base in 20000..31900, step 100. It stays below Linux's ephemeral range (32768-60999 by default): a port
    /// there can be taken by some outgoing connection between the check at allocation and QEMU's listen at migration
    /// (nbd-server-start failed once with "Address already in use").
    /// </summary>
    public static int RandomBase() => 20000 + (Random.Shared.Next(0, 120) * 100);

    /// <summary>
    /// A port nothing listens on, in 10000..19999 (below the QEMU blocks and the ephemeral range), handed out once per
    /// test run: reserved by a lock file that other test processes on the host respect. Binding port 0 and passing the
    /// number on, as before, gave a `serve` child the same silo and gateway port from two calls in a row ("GatewayPort
    /// 40427 is also the SiloPort"), and left each port to the next bind(0) of anyone on the host until the child bound it.
    /// </summary>
    public static int Free()
    {
        var dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mobiscud-test-ports")).FullName;
        lock (_lock)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(FirstSingle, LastSingle + 1);
                FileStream reservation;
                try
                {
                    // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Linux: held by this or another test process, it throws.
                    reservation = new FileStream(Path.Combine(dir, port.ToString(System.Globalization.CultureInfo.InvariantCulture)), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException)
                {
                    continue;
                }

                if (Listenable(port))
                {
                    _held.Add(reservation);
                    return port;
                }

                reservation.Dispose();
            }
        }

        throw new InvalidOperationException($"no free loopback port in {FirstSingle}..{LastSingle} after 1000 tries");
    }

    private static bool Listenable(int port)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
