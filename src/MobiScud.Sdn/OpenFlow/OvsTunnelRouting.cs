using System.Net;
using System.Net.Sockets;
using MobiScud.Sdn.Steering;

namespace MobiScud.Sdn.OpenFlow;

/// <summary>
/// Wires ovs-vswitchd's tunnel routing for sites whose bridges share one ovs-vswitchd and one endpoint subnet.
/// OVS's userspace tunnels pick the bridge an encapsulated packet leaves by through its own route table (ovs-router,
/// learned from the kernel), which keeps ONE route per prefix and mark, so GTP-U encapsulated at one site may leave
/// through the other. A route keyed by the site's <see cref="SiteTopology.TunnelMark"/> (which the steering compiler
/// sets before every output into the gtpu port) keeps it on its own bridge.
/// <para>
/// OVS 3.1 limits this to TWO sites per ovs-vswitchd and subnet: it refuses a second gtpu port with the same
/// configuration, so the ports must differ by local_ip; but a tunnel with a configured local_ip only routes if that
/// address is a local route under the packet's mark, and only the kernel's mark-0 routes are local. So one site is
/// marked with a gtpu port without local_ip, and the other is unmarked with local_ip set and a mark-0 user route to
/// its bridge (which overrides the kernel-learned one). <see cref="CheckSharedSubnet"/> enforces it and
/// <see cref="GtpuInterfaceOptions"/> gives each site's port options.
/// </para>
/// The peers' MACs are seeded too: encapsulated traffic is dropped until OVS knows them. Routes and neighbours live in
/// ovs-vswitchd's memory: seed again after it restarts.
/// </summary>
public static class OvsTunnelRouting
{
    /// <summary>
    /// The ovs-appctl commands (argument lists, without the target) for <paramref name="site"/> on
    /// <paramref name="bridge"/>: `ovs/route/add SUBNET BRIDGE [pkt_mark=MARK]` (the mark when the site has one), then
    /// `tnl/neigh/set BRIDGE IP MAC` for each eNB and S-GW.
    /// </summary>
    public static IReadOnlyList<string[]> Commands(SiteTopology site, string bridge, IPNetwork endpointSubnet)
    {
        if (string.IsNullOrWhiteSpace(bridge))
        {
            throw new ArgumentException($"site '{site.Site}': bridge name is empty", nameof(bridge));
        }

        if (endpointSubnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork || !endpointSubnet.Contains(site.EndpointAddress))
        {
            throw new ArgumentException($"site '{site.Site}': endpoint {site.EndpointAddress} is not in the IPv4 subnet {endpointSubnet}", nameof(endpointSubnet));
        }

        var commands = new List<string[]>();
        commands.Add(site.TunnelMark is { } mark
            ? ["ovs/route/add", endpointSubnet.ToString(), bridge, $"pkt_mark={mark}"]
            : ["ovs/route/add", endpointSubnet.ToString(), bridge]);

        foreach (var peer in site.Enbs.Concat(site.Sgws).DistinctBy(p => p.Address))
        {
            commands.Add(["tnl/neigh/set", bridge, peer.Address.ToString(), string.Join(':', peer.Mac.GetAddressBytes().Select(b => b.ToString("x2")))]);
        }

        return commands;
    }

    /// <summary>
    /// The `ovs-vsctl set interface` options of the site's gtpu port: remote_ip and key from the flow; local_ip only for
    /// an unmarked site (see the class remarks: OVS 3.1 cannot route a marked tunnel with a configured local_ip).
    /// </summary>
    public static IReadOnlyList<string> GtpuInterfaceOptions(SiteTopology site) =>
        site.TunnelMark is null
            ? ["type=gtpu", "options:remote_ip=flow", "options:key=flow", $"options:local_ip={site.EndpointAddress}"]
            : ["type=gtpu", "options:remote_ip=flow", "options:key=flow"];

    /// <summary>
    /// Checks that sites sharing one ovs-vswitchd and endpoint subnet can be kept apart on OVS 3.1: at most one marked
    /// and at most one unmarked site (a lone site needs no mark). Throws naming the sites otherwise.
    /// </summary>
    public static void CheckSharedSubnet(IReadOnlyCollection<SiteTopology> sites)
    {
        var marked = sites.Where(s => s.TunnelMark is not null).Select(s => s.Site.Value).ToList();
        var unmarked = sites.Where(s => s.TunnelMark is null).Select(s => s.Site.Value).ToList();
        if (marked.Count > 1 || unmarked.Count > 1)
        {
            throw new InvalidOperationException(
                $"sites sharing one ovs-vswitchd and endpoint subnet: marked [{string.Join(", ", marked)}], unmarked [{string.Join(", ", unmarked)}]; " +
                "OVS 3.1 keeps at most one of each apart (give one site a tunnelMark, or put sites in different subnets)");
        }
    }

    /// <summary>
    /// Runs <see cref="Commands"/> through <paramref name="appctl"/> (which runs `ovs-appctl [--target=...] ARGS`
    /// against the ovs-vswitchd holding <paramref name="bridge"/> and throws on failure).
    /// </summary>
    public static async Task SeedAsync(SiteTopology site, string bridge, IPNetwork endpointSubnet, Func<string[], Task> appctl)
    {
        foreach (var command in Commands(site, bridge, endpointSubnet))
        {
            await appctl(command);
        }
    }
}
