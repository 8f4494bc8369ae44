using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using MobiScud.Cloud.Qemu;

namespace MobiScud.Hosting.Config;

/// <summary>
/// `Hypervisor:Kind: Qemu`: every site of the configuration (edge sites and the core site) is a directory under
/// <see cref="RunDirectory"/> and a block of loopback ports on this machine; PVMs are TCG QEMU processes driven over QMP.
/// </summary>
public sealed class QemuServeOptions
{
    /// <summary>Per-site PVM directories go under it (one sub-directory per site).</summary>
    public string RunDirectory { get; set; } = "/var/lib/mobiscud/qemu";

    public string QemuBinary { get; set; } = "qemu-system-x86_64";

    /// <summary>Guest kernel and initramfs. Both empty: the MobiScud guest is built from Debian packages and cached
    /// (~/.cache/mobiscud/guest, or $MOBISCUD_GUEST_CACHE) when the service starts.</summary>
    public string? Kernel { get; set; }

    public string? Initrd { get; set; }

    /// <summary>First loopback port of the first site; site i gets [FirstPort + i * PortsPerSite, +PortsPerSite).</summary>
    /// <remarks>Below Linux's ephemeral range (32768-60999 by default): a port there can be taken by an outgoing
    /// connection between its allocation and QEMU's listen for a migration's NBD export.</remarks>
    public int FirstPort { get; set; } = 24000;

    /// <summary>Ports per site; every QEMU instance takes 5 (a migrating PVM holds two instances).</summary>
    public int PortsPerSite { get; set; } = 50;

    public int MemoryMiB { get; set; } = 128;

    public int DiskMiB { get; set; } = 32;

    /// <summary>Tuned (no bandwidth cap, 30 ms downtime limit) or QemuDefaults (QEMU 7.2's own: 128 MiB/s, 300 ms).</summary>
    public string Policy { get; set; } = "Tuned";

    /// <summary>Mirror the PVM's disk to the destination over NBD (false: the sites share storage on this machine).</summary>
    public bool MirrorDisk { get; set; } = true;

    public TimeSpan BootTimeout { get; set; } = TimeSpan.FromSeconds(45);

    public TimeSpan MigrationTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// PVMs outlive the service: their QEMUs run in their own sessions (a signal to serve, or its crash, does not reach
    /// them), a graceful stop leaves them running, and the next start adopts them from their manifests (see
    /// docs/hosting.md). False: the service's stop ends its QEMUs, and a start kills those a crashed run left behind.
    /// </summary>
    public bool KeepPvmsOnStop { get; set; } = true;

    /// <summary>Optional data-plane NIC (eth1) for every PVM, on the site's <see cref="QemuSiteServeOptions.DataBridge"/>.</summary>
    public QemuDataNetworkOptions? DataNetwork { get; set; }

    /// <summary>Per-site settings by site name (only needed with a data network).</summary>
    public Dictionary<string, QemuSiteServeOptions> Sites { get; set; } = [];

    private static bool Executable(string name) =>
        name.Contains('/', StringComparison.Ordinal)
            ? File.Exists(name)
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, name)));

    public MigrationPolicy ToPolicy() =>
        (Policy.Equals("QemuDefaults", StringComparison.OrdinalIgnoreCase) ? MigrationPolicy.QemuDefaults : MigrationPolicy.Tuned) with { MirrorDisk = MirrorDisk };

    /// <summary>Every problem, each naming its key under <paramref name="p"/> (e.g. MobiScud:Hypervisor:Qemu).</summary>
    public IEnumerable<string> Validate(string p, IReadOnlyList<string> siteNames)
    {
        if (string.IsNullOrWhiteSpace(RunDirectory))
        {
            yield return $"{p}:RunDirectory must name a directory for the PVMs' files";
        }
        else if (KeepPvmsOnStop && !Path.IsPathRooted(RunDirectory))
        {
            // A relative directory depends on where serve was started from: the next start might not find its PVMs.
            yield return $"{p}:RunDirectory '{RunDirectory}' must be an absolute path when {p}:KeepPvmsOnStop is true (the next start adopts the PVMs found there)";
        }

        if (string.IsNullOrWhiteSpace(QemuBinary))
        {
            yield return $"{p}:QemuBinary must name the QEMU executable";
        }
        else if (!Executable(QemuBinary))
        {
            yield return $"{p}:QemuBinary '{QemuBinary}' is not an executable path or on PATH (Debian: apt-get install qemu-system-x86)";
        }

        if (string.IsNullOrWhiteSpace(Kernel) != string.IsNullOrWhiteSpace(Initrd))
        {
            yield return $"{p}:Kernel and {p}:Initrd must be given together (or neither, to build the MobiScud guest)";
        }

        foreach (var (key, path) in new[] { ("Kernel", Kernel), ("Initrd", Initrd) })
        {
            if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
            {
                yield return $"{p}:{key} file '{path}' does not exist";
            }
        }

        if (PortsPerSite < QemuPorts.Count * 2)
        {
            yield return $"{p}:PortsPerSite must be at least {QemuPorts.Count * 2} (a PVM takes {QemuPorts.Count}, a migration two PVMs' worth) (was {PortsPerSite})";
        }

        var last = (long)FirstPort + ((long)Math.Max(siteNames.Count, 1) * PortsPerSite) - 1;
        if (FirstPort < 1024 || last > 65535)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{p}:FirstPort {FirstPort} with {p}:PortsPerSite {PortsPerSite} for {siteNames.Count} site(s) needs ports {FirstPort}..{last}, outside 1024..65535");
        }

        if (MemoryMiB < 96)
        {
            yield return $"{p}:MemoryMiB must be at least 96 (Debian's kernel does not boot in less) (was {MemoryMiB})";
        }

        if (DiskMiB < 1)
        {
            yield return $"{p}:DiskMiB must be at least 1 (was {DiskMiB})";
        }

        if (!Policy.Equals("Tuned", StringComparison.OrdinalIgnoreCase) && !Policy.Equals("QemuDefaults", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"{p}:Policy must be Tuned or QemuDefaults (was '{Policy}')";
        }

        if (BootTimeout <= TimeSpan.Zero)
        {
            yield return $"{p}:BootTimeout must be positive (was {BootTimeout})";
        }

        if (MigrationTimeout <= TimeSpan.Zero)
        {
            yield return $"{p}:MigrationTimeout must be positive (was {MigrationTimeout})";
        }

        foreach (var name in Sites.Keys.Where(n => !siteNames.Contains(n)))
        {
            yield return $"{p}:Sites:{name} is not a site of the configuration (have: {string.Join(", ", siteNames)})";
        }

        if (DataNetwork is { } net)
        {
            foreach (var e in net.Validate($"{p}:DataNetwork"))
            {
                yield return e;
            }

            foreach (var name in siteNames)
            {
                if (!Sites.TryGetValue(name, out var s) || string.IsNullOrWhiteSpace(s.DataBridge))
                {
                    yield return $"{p}:Sites:{name}:DataBridge must name the Linux bridge for the site's PVM taps (a DataNetwork is configured)";
                }
            }
        }
        else
        {
            foreach (var (name, s) in Sites.Where(s => !string.IsNullOrWhiteSpace(s.Value.DataBridge)))
            {
                yield return $"{p}:Sites:{name}:DataBridge '{s.DataBridge}' is given but {p}:DataNetwork is not (no addresses to give PVMs)";
            }
        }
    }
}

public sealed class QemuSiteServeOptions
{
    /// <summary>Linux bridge the site's PVM data NICs are plugged into.</summary>
    public string? DataBridge { get; set; }

    /// <summary>Network namespace the bridge lives in (empty: this one).</summary>
    public string? DataNamespace { get; set; }
}

/// <summary>The PVMs' data network (see docs/cloud.md): one anycast gateway for every site, addresses from a pool.</summary>
public sealed class QemuDataNetworkOptions
{
    /// <summary>CIDR, e.g. 10.64.0.0/24.</summary>
    public string Subnet { get; set; } = "";

    public string Gateway { get; set; } = "";

    public string GatewayMac { get; set; } = "";

    public string PoolFirst { get; set; } = "";

    public string PoolLast { get; set; } = "";

    /// <summary>Extra routes (CIDR) via the gateway on eth1, e.g. the UE pool 172.16.0.0/12.</summary>
    public List<string> Routes { get; set; } = [];

    public IEnumerable<string> Validate(string p)
    {
        if (!IPNetwork.TryParse(Subnet, out _))
        {
            yield return $"{p}:Subnet '{Subnet}' is not a CIDR network";
        }

        foreach (var (key, v) in new[] { ("Gateway", Gateway), ("PoolFirst", PoolFirst), ("PoolLast", PoolLast) })
        {
            if (!IPAddress.TryParse(v, out _))
            {
                yield return $"{p}:{key} '{v}' is not an IP address";
            }
        }

        if (MacText.Parse(GatewayMac) is null)
        {
            yield return $"{p}:GatewayMac '{GatewayMac}' is not a MAC address";
        }

        for (var i = 0; i < Routes.Count; i++)
        {
            if (!IPNetwork.TryParse(Routes[i], out _))
            {
                yield return $"{p}:Routes:{i} '{Routes[i]}' is not a CIDR network";
            }
        }

        string? problem = null;
        try
        {
            ToNetwork();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            problem = e.Message;
        }

        if (problem is not null && IPNetwork.TryParse(Subnet, out _) && IPAddress.TryParse(Gateway, out _))
        {
            yield return $"{p}: {problem}";
        }
    }

    public QemuDataNetwork ToNetwork() =>
        new QemuDataNetwork(IPNetwork.Parse(Subnet), IPAddress.Parse(Gateway), MacText.Parse(GatewayMac) ?? throw new FormatException($"GatewayMac '{GatewayMac}' is not a MAC address"),
            IPAddress.Parse(PoolFirst), IPAddress.Parse(PoolLast))
        { Routes = [.. Routes.Select(IPNetwork.Parse)] }.Validate();
}

/// <summary>MAC parsing shared by the QEMU and SDN sections.</summary>
internal static class MacText
{
    public static PhysicalAddress? Parse(string? s)
    {
        if (string.IsNullOrWhiteSpace(s))
        {
            return null;
        }

        try
        {
            var mac = PhysicalAddress.Parse(s.Replace(':', '-'));
            return mac.GetAddressBytes().Length == 6 ? mac : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
