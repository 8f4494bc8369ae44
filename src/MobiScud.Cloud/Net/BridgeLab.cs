using System.Net;
using MobiScud.Cloud.Qemu;

namespace MobiScud.Cloud.Net;

/// <summary>One site of a <see cref="BridgeLab"/>: the namespace holding its bridge, and its client namespace.</summary>
/// <param name="Namespace">Holds the Linux bridge the site's PVM taps are enslaved to; null: the bridge is in this
/// process's own namespace.</param>
/// <param name="ClientNamespace">A host on the bridge (veth c0) that owns the PVMs' gateway address and MAC, plus
/// <see cref="BridgeLab.RemoteAddress"/> on its loopback (a host "behind" the gateway, reached by the guest's route).</param>
/// <param name="ClientPort">The client veth's bridge-side end (a port of <paramref name="Bridge"/>).</param>
public sealed record BridgeLabSite(string? Namespace, string ClientNamespace, string Bridge, string ClientPort)
{
    public QemuDataBridge DataBridge => new(Bridge, Namespace);
}

/// <summary>
/// Data-plane wiring for tests and benchmarks, without OVS: per site a namespace with a Linux bridge and a client
/// namespace on it. Every client plays the anycast gateway (same address and MAC at every site), which is what a
/// migrated guest expects since it keeps its boot-time gateway. Disposing deletes every namespace (and so every
/// bridge, veth and tap in them), also after a failure half-way through.
/// </summary>
public sealed class BridgeLab : IDisposable
{
    /// <summary>Address on each client's loopback, inside 172.16.0.0/12: reached by the guest only through its route via the gateway.</summary>
    public static readonly IPAddress RemoteAddress = IPAddress.Parse("172.16.0.1");

    private readonly List<string> _namespaces = [];
    private readonly List<string> _rootLinks = [];

    private BridgeLab(QemuDataNetwork network)
    {
        Network = network;
    }

    public QemuDataNetwork Network { get; }

    public List<BridgeLabSite> Sites { get; } = [];

    /// <summary>
    /// The network every lab uses: 10.64.0.0/24, gateway 10.64.0.1 (MAC 02:42:0a:40:00:01), PVMs 10.64.0.10-.250,
    /// route 172.16.0.0/12 via the gateway.
    /// </summary>
    public static QemuDataNetwork DefaultNetwork { get; } = new QemuDataNetwork(
        IPNetwork.Parse("10.64.0.0/24"), IPAddress.Parse("10.64.0.1"),
        System.Net.NetworkInformation.PhysicalAddress.Parse("02-42-0A-40-00-01"),
        IPAddress.Parse("10.64.0.10"), IPAddress.Parse("10.64.0.250"))
    {
        Routes = [IPNetwork.Parse("172.16.0.0/12")],
    };

    /// <summary>Builds <paramref name="siteCount"/> sites named <paramref name="prefix"/>a, b, ... (put the pid in the prefix).</summary>
    /// <param name="rootBridgeSites">Indexes of sites whose bridge lives in this process's own namespace (named
    /// prefix+letter+"br", so keep the prefix short) instead of a site namespace.</param>
    public static BridgeLab Create(string prefix, int siteCount, QemuDataNetwork? network = null, IReadOnlyCollection<int>? rootBridgeSites = null)
    {
        var lab = new BridgeLab((network ?? DefaultNetwork).Validate());
        try
        {
            for (var i = 0; i < siteCount; i++)
            {
                var letter = (char)('a' + i);
                var root = rootBridgeSites?.Contains(i) == true;
                lab.AddSite(root ? null : $"{prefix}{letter}s", root ? $"{prefix}{letter}br" : "br0", root ? $"{prefix}{letter}p" : "p0", $"{prefix}{letter}c");
            }

            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    /// <summary>A permanent neighbour entry for <paramref name="pvm"/> on every client (its MAC by convention), so
    /// probes need no ARP and a client can send before the PVM is at its site.</summary>
    public void AddNeighbor(IPAddress pvm)
    {
        foreach (var s in Sites)
        {
            NetNamespace.Ip(s.ClientNamespace, "neigh", "replace", pvm.ToString(), "lladdr", QemuDataNetwork.Colon(QemuDataNetwork.PvmMac(pvm)), "dev", "c0", "nud", "permanent");
        }
    }

    /// <summary>Names of the interfaces enslaved to a site's bridge (the client's veth and any PVM taps).</summary>
    public IReadOnlyList<string> BridgePorts(BridgeLabSite site)
    {
        var text = NetNamespace.Ip(site.Namespace, "-o", "link", "show", "master", site.Bridge);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3))
            .Where(p => p.Length >= 2)
            .Select(p => p[1].Trim().Split('@')[0])];
    }

    private void AddNamespace(string ns)
    {
        if (NetNamespace.Exists(ns))
        {
            NetNamespace.TryIp(null, "netns", "del", ns); // left by an earlier process with the same pid
        }

        NetNamespace.Ip(null, "netns", "add", ns);
        _namespaces.Add(ns);
        NetNamespace.Ip(ns, "link", "set", "lo", "up");
    }

    /// <summary>A site whose bridge is in namespace <paramref name="siteNs"/>, or in this process's own (null).</summary>
    private void AddSite(string? siteNs, string bridge, string port, string clientNs)
    {
        if (siteNs is not null)
        {
            AddNamespace(siteNs);
        }
        else if (bridge.Length > QemuDataNic.MaxTapName)
        {
            throw new ArgumentException($"root bridge name {bridge} is longer than 15 characters: use a shorter lab prefix");
        }
        else
        {
            NetNamespace.TryIp(null, "link", "del", bridge); // left by an earlier process with the same pid
            NetNamespace.TryIp(null, "link", "del", port);
        }

        // Links in our own namespace are deleted one by one at disposal; a site namespace takes its own with it.
        var created = siteNs is null ? _rootLinks : [];
        AddNamespace(clientNs);
        NetNamespace.Ip(siteNs, "link", "add", bridge, "type", "bridge");
        created.Add(bridge);
        NetNamespace.Ip(siteNs, "link", "set", bridge, "up");
        NetNamespace.Ip(siteNs, "link", "add", port, "type", "veth", "peer", "name", "c0", "netns", clientNs);
        created.Add(port);
        NetNamespace.Ip(siteNs, "link", "set", port, "master", bridge, "up");
        AddClient(clientNs);
        Sites.Add(new BridgeLabSite(siteNs, clientNs, bridge, port));
    }

    private void AddClient(string clientNs)
    {
        NetNamespace.Ip(clientNs, "link", "set", "c0", "address", QemuDataNetwork.Colon(Network.GatewayMac));
        NetNamespace.Ip(clientNs, "addr", "add", $"{Network.Gateway}/{Network.Subnet.PrefixLength}", "dev", "c0");
        NetNamespace.Ip(clientNs, "link", "set", "c0", "up");
        NetNamespace.Ip(clientNs, "addr", "add", $"{RemoteAddress}/32", "dev", "lo");

        // The gateway answers no ARP (arp_ignore 8): a guest reaches it only through the static entry its /init installs.
        NetNamespace.Ip(null, "netns", "exec", clientNs, "sh", "-c", "echo 8 > /proc/sys/net/ipv4/conf/c0/arp_ignore");
    }

    public void Dispose()
    {
        foreach (var ns in Enumerable.Reverse(_namespaces))
        {
            NetNamespace.TryIp(null, "netns", "del", ns);
        }

        _namespaces.Clear();
        foreach (var link in Enumerable.Reverse(_rootLinks))
        {
            NetNamespace.TryIp(null, "link", "del", link); // the veth went with its client namespace; the bridge stays
        }

        _rootLinks.Clear();
    }
}
