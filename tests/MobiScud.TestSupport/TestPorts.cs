namespace MobiScud.TestSupport;

/// <summary>Loopback port blocks for tests that start QEMU guests.</summary>
public static class TestPorts
{
    /// <summary>
    /// A random base in 20000..31900, step 100. It stays below Linux's ephemeral range (32768-60999 by default): a port
    /// there can be taken by some outgoing connection between the check at allocation and QEMU's listen at migration
    /// (nbd-server-start failed once with "Address already in use").
    /// </summary>
    public static int RandomBase() => 20000 + (Random.Shared.Next(0, 120) * 100);
}
