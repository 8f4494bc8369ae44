using System.Net;
using System.Net.NetworkInformation;
using MobiScud.Control.Model;

namespace MobiScud.Sdn.Steering;

/// <summary>A GTP-U speaker beside the switch (an eNB or an S-GW): its address, MAC and the switch port it hangs off.</summary>
public sealed record GtpPeer(IPAddress Address, PhysicalAddress Mac, uint Port);

/// <summary>
/// How one site's edge switch is wired, loaded from configuration. The switch's own tunnel endpoint (the bridge's
/// LOCAL interface) terminates GTP-U; <see cref="TunnelPort"/> is the OVS <c>gtpu</c> port (options:remote_ip=flow,
/// key=flow). PVMs sit behind <see cref="PvmPort"/>; other sites are reached through <see cref="InterSitePorts"/>.
/// <see cref="TunnelMark"/>, when set, is the OVS pkt_mark every packet gets before it enters the gtpu port, so that
/// ovs-vswitchd's tunnel routing picks this site's bridge even when several bridges of one ovs-vswitchd have
/// endpoints in the same subnet (see <c>OvsTunnelRouting</c>); null keeps the unmarked, single-route behaviour.
/// </summary>
public sealed record SiteTopology(
    SiteId Site,
    ulong DatapathId,
    IPAddress EndpointAddress,
    PhysicalAddress EndpointMac,
    uint TunnelPort,
    uint PvmPort,
    IReadOnlyList<GtpPeer> Enbs,
    IReadOnlyList<GtpPeer> Sgws,
    IReadOnlyDictionary<SiteId, uint> InterSitePorts,
    uint? TunnelMark = null)
{
    /// <summary>
    /// The MAC a PVM answers on. Convention shared with the hypervisor adapter: 02:00 followed by the PVM's IPv4
    /// address, so a steering intent (which carries only the address) is enough to address the PVM's frames.
    /// </summary>
    public static PhysicalAddress PvmMac(IPAddress pvm)
    {
        var a = pvm.GetAddressBytes();
        return a.Length == 4
            ? new PhysicalAddress([0x02, 0x00, a[0], a[1], a[2], a[3]])
            : throw new ArgumentException($"PVM address {pvm} is not IPv4");
    }

    /// <summary>Checks the record is usable; throws naming the site and the field at fault.</summary>
    public SiteTopology Validate()
    {
        void Fail(string what) => throw new InvalidOperationException($"site topology '{Site}': {what}");
        if (string.IsNullOrWhiteSpace(Site.Value))
        {
            Fail("site id is empty");
        }

        if (EndpointAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            Fail($"endpoint address {EndpointAddress} is not IPv4");
        }

        if (EndpointMac.GetAddressBytes().Length != 6)
        {
            Fail("endpoint MAC is not 6 bytes");
        }

        if (Sgws.Count == 0)
        {
            Fail("no S-GW peer: unmatched GTP-U would have nowhere to go");
        }

        if (TunnelMark == 0)
        {
            Fail("tunnelMark 0 is the unmarked route table: use a non-zero mark, or none");
        }

        var ports = new[] { TunnelPort, PvmPort }.Concat(Enbs.Select(e => e.Port)).Concat(Sgws.Select(s => s.Port)).Concat(InterSitePorts.Values);
        foreach (var p in ports)
        {
            if (p is 0 or >= 0xffffff00)
            {
                Fail($"port {p} is not a physical OpenFlow port number");
            }
        }

        return this;
    }
}

/// <summary>All sites a controller programs, by site id.</summary>
public sealed class SdnTopology
{
    private readonly Dictionary<SiteId, SiteTopology> _sites;

    public SdnTopology(IEnumerable<SiteTopology> sites)
    {
        _sites = new Dictionary<SiteId, SiteTopology>();
        foreach (var s in sites)
        {
            if (!_sites.TryAdd(s.Site, s.Validate()))
            {
                throw new InvalidOperationException($"site '{s.Site}' appears twice in the SDN topology");
            }
        }
    }

    public IReadOnlyCollection<SiteTopology> Sites => _sites.Values;

    public SiteTopology this[SiteId site] => _sites.TryGetValue(site, out var s)
        ? s
        : throw new KeyNotFoundException($"site '{site}' is not in the SDN topology (known: {string.Join(", ", _sites.Keys)})");

    public bool TryGet(SiteId site, out SiteTopology topology) => _sites.TryGetValue(site, out topology!);
}
