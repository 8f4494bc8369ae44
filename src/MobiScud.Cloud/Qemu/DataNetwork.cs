using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using MobiScud.Cloud.Net;

namespace MobiScud.Cloud.Qemu;

/// <summary>
/// The PVMs' data-plane network as the guest sees it (second NIC, eth1): one subnet spanning every site, an address
/// pool, and a gateway whose MAC is installed as a static ARP entry. It is hypervisor-wide, not per site, because the
/// guest reads it once from its kernel command line at boot and keeps it across live migrations: every site a PVM may
/// migrate to must present the same gateway address and MAC (an anycast gateway), which is what steering needs anyway.
/// </summary>
/// <param name="Subnet">On-link subnet of the data NIC (address/prefix given to the guest).</param>
/// <param name="Gateway">Next hop for <see cref="Routes"/>; inside <see cref="Subnet"/>, outside the pool.</param>
/// <param name="GatewayMac">Installed in the guest with <c>arp -s</c>, so the guest never ARPs for its gateway (no
/// resolution delay after a migration, and the switch needs not answer ARP).</param>
/// <param name="PoolFirst">First address handed to PVMs.</param>
/// <param name="PoolLast">Last address handed to PVMs.</param>
public sealed record QemuDataNetwork(IPNetwork Subnet, IPAddress Gateway, PhysicalAddress GatewayMac, IPAddress PoolFirst, IPAddress PoolLast)
{
    /// <summary>Extra routes via <see cref="Gateway"/> on the data NIC (e.g. the UEs' pool). 0.0.0.0/0 replaces the
    /// guest's default route (management over user networking stays reachable: its peer is on-link).</summary>
    public IReadOnlyList<IPNetwork> Routes { get; init; } = [];

    /// <summary>
    /// The MAC a PVM's data NIC has. Convention shared with the SDN layer (SiteTopology.PvmMac in MobiScud.Sdn):
    /// 02:00 followed by the 4 bytes of the PVM's IPv4 address, so an address alone addresses the PVM's frames.
    /// </summary>
    public static PhysicalAddress PvmMac(IPAddress pvm)
    {
        var a = pvm.GetAddressBytes();
        return a.Length == 4
            ? new PhysicalAddress([0x02, 0x00, a[0], a[1], a[2], a[3]])
            : throw new ArgumentException($"PVM address {pvm} is not IPv4");
    }

    /// <summary>A MAC in the colon form the guest's tools and QEMU take (aa:bb:cc:dd:ee:ff).</summary>
    public static string Colon(PhysicalAddress mac) => string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>Checks the network is usable; throws naming the field at fault.</summary>
    public QemuDataNetwork Validate()
    {
        void Fail(string what) => throw new ArgumentException($"data network {Subnet}: {what}");
        if (Subnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            Fail("subnet is not IPv4");
        }

        if (Subnet.PrefixLength is < 8 or > 30)
        {
            Fail($"prefix length /{Subnet.PrefixLength} is not between /8 and /30");
        }

        if (GatewayMac.GetAddressBytes().Length != 6)
        {
            Fail("gateway MAC is not 6 bytes");
        }

        foreach (var (name, a) in new[] { ("gateway", Gateway), ("pool first address", PoolFirst), ("pool last address", PoolLast) })
        {
            if (a.AddressFamily != AddressFamily.InterNetwork || !Subnet.Contains(a))
            {
                Fail($"{name} {a} is not inside the subnet");
            }

            var host = ToUInt(a) & ~Mask;
            if (host == 0 || host == ~Mask)
            {
                Fail($"{name} {a} is the subnet's network or broadcast address");
            }
        }

        if (ToUInt(PoolFirst) > ToUInt(PoolLast))
        {
            Fail($"pool {PoolFirst}-{PoolLast} is empty (first after last)");
        }

        if (ToUInt(Gateway) >= ToUInt(PoolFirst) && ToUInt(Gateway) <= ToUInt(PoolLast))
        {
            Fail($"gateway {Gateway} is inside the PVM pool {PoolFirst}-{PoolLast}");
        }

        foreach (var r in Routes)
        {
            if (r.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
            {
                Fail($"route {r} is not IPv4");
            }
        }

        return this;
    }

    /// <summary>True when <paramref name="a"/> is one the pool hands out.</summary>
    public bool InPool(IPAddress a) =>
        a.AddressFamily == AddressFamily.InterNetwork && ToUInt(a) >= ToUInt(PoolFirst) && ToUInt(a) <= ToUInt(PoolLast);

    /// <summary>Addresses of the pool, lowest first.</summary>
    public IEnumerable<IPAddress> Pool()
    {
        for (var a = ToUInt(PoolFirst); a <= ToUInt(PoolLast) && a >= ToUInt(PoolFirst); a++)
        {
            yield return FromUInt(a);
        }
    }

    /// <summary>What the guest's /init reads to configure its data NIC (it finds the NIC by the conventional MAC).</summary>
    public string KernelArguments(IPAddress pvm)
    {
        var args = $"mobiscud.ip={pvm}/{Subnet.PrefixLength} mobiscud.gw={Gateway} mobiscud.gwmac={Colon(GatewayMac)}";
        return Routes.Count == 0 ? args : args + " mobiscud.route=" + string.Join(',', Routes.Select(r => r.ToString()));
    }

    private uint Mask => Subnet.PrefixLength == 0 ? 0 : uint.MaxValue << (32 - Subnet.PrefixLength);

    private static uint ToUInt(IPAddress a)
    {
        var b = a.GetAddressBytes();
        return b.Length == 4 ? (uint)((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) : 0;
    }

    private static IPAddress FromUInt(uint v) => new([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);
}

/// <summary>Where a site plugs its PVMs' data NICs: a Linux bridge, optionally inside a network namespace.</summary>
/// <param name="Bridge">A Linux bridge (type bridge); each PVM's tap is enslaved to it.</param>
/// <param name="Namespace">Named network namespace (/run/netns) holding the bridge; the tap is moved into it first.
/// Null: the bridge is in the hypervisor's own namespace.</param>
public sealed record QemuDataBridge(string Bridge, string? Namespace = null);

/// <summary>One PVM's data NIC on one QEMU instance: its own tap, the PVM's stable address and MAC.</summary>
public sealed record QemuDataNic(string Tap, IPAddress Address, PhysicalAddress Mac, QemuDataBridge Attachment)
{
    /// <summary>Linux interface names hold at most 15 bytes.</summary>
    public const int MaxTapName = 15;
}

/// <summary>Plugs taps into site bridges with iproute2 (ip link set ... netns / master).</summary>
internal static class DataLinks
{
    /// <summary>Throws if <paramref name="b"/> is not an existing Linux bridge (checked when a site is added).</summary>
    public static void RequireBridge(QemuDataBridge b, string site)
    {
        if (string.IsNullOrWhiteSpace(b.Bridge) || b.Bridge.Length > QemuDataNic.MaxTapName)
        {
            throw new ArgumentException($"site {site}: data bridge name '{b.Bridge}' is empty or longer than 15 characters");
        }

        if (b.Namespace is { } ns && !File.Exists(Path.Combine("/run/netns", ns)))
        {
            throw new ArgumentException($"site {site}: network namespace '{ns}' of data bridge {b.Bridge} does not exist (/run/netns/{ns})");
        }

        var (code, stdout, stderr) = NetNamespace.TryIp(b.Namespace, ["-d", "link", "show", "dev", b.Bridge]);
        if (code != 0)
        {
            throw new ArgumentException($"site {site}: data bridge {b.Bridge}{In(b)} does not exist: {stderr.Trim()}");
        }

        if (!stdout.Contains("\n    bridge ", StringComparison.Ordinal))
        {
            throw new ArgumentException($"site {site}: {b.Bridge}{In(b)} is not a Linux bridge (ip -d link: {stdout.Trim()})");
        }
    }

    /// <summary>Moves the tap QEMU created into the site's namespace (if any), enslaves it to the bridge and sets it up.</summary>
    public static async Task AttachAsync(QemuDataNic nic, CancellationToken ct)
    {
        var b = nic.Attachment;
        if (b.Namespace is { } ns)
        {
            await Task.Run(() => NetNamespace.Ip(null, ["link", "set", "dev", nic.Tap, "netns", ns]), ct);
        }

        await Task.Run(() => NetNamespace.Ip(b.Namespace, ["link", "set", "dev", nic.Tap, "master", b.Bridge, "up"]), ct);
    }

    /// <summary>Deletes the tap if it is still there (QEMU's exit normally removes it); true if it was.</summary>
    public static bool Delete(QemuDataNic nic)
    {
        var (code, _, _) = NetNamespace.TryIp(nic.Attachment.Namespace, ["link", "del", "dev", nic.Tap]);
        if (nic.Attachment.Namespace is not null)
        {
            // A tap not yet moved is still in our own namespace.
            var (rootCode, _, _) = NetNamespace.TryIp(null, ["link", "del", "dev", nic.Tap]);
            return code == 0 || rootCode == 0;
        }

        return code == 0;
    }

    private static string In(QemuDataBridge b) => b.Namespace is null ? "" : $" in namespace {b.Namespace}";
}
