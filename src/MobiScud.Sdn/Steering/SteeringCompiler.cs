using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.OpenFlow;

namespace MobiScud.Sdn.Steering;

/// <summary>
/// Table layout of a MobiScud edge switch. Table 0 classifies by ingress port (and relays a remote site's PVM
/// traffic); table 1 sees uplink packets after the gtpu port took them out of GTP-U; table 2 sees IP packets
/// from PVM hosts and other sites, and wraps those for a UE into GTP-U.
/// </summary>
public static class SteeringTables
{
    public const byte Classify = 0;
    public const byte Uplink = 1;
    public const byte TowardUe = 2;

    public const ushort Deliver = 300;
    public const ushort IsolationGuard = 200;
    public const ushort Bearer = 100;
    public const ushort Infrastructure = 100;
    public const ushort Default = 0;
}

/// <summary>Cookies: the top byte marks flows MobiScud owns; one cookie per UE, one for the site's fixed flows.</summary>
public static class SteeringCookies
{
    public const ulong OwnerMask = 0xFF00_0000_0000_0000;
    public const ulong Owner = 0xA500_0000_0000_0000;
    public const ulong Infrastructure = Owner | 0x1;

    public static bool IsOurs(ulong cookie) => (cookie & OwnerMask) == Owner;

    /// <summary>A UE's cookie (ours, and not the site's fixed flows).</summary>
    public static bool IsPerUe(ulong cookie) => IsOurs(cookie) && cookie != Infrastructure;

    /// <summary>A stable per-UE cookie (FNV-1a of the UE id, 55 bits, bit 55 set so it never equals the infrastructure cookie).</summary>
    public static ulong ForUe(UeId ue)
    {
        var h = 14695981039346656037UL;
        foreach (var c in ue.Value)
        {
            h ^= c;
            h *= 1099511628211UL;
        }

        return Owner | (1UL << 55) | (h & ((1UL << 55) - 1));
    }
}

/// <summary>What <see cref="SteeringCompiler.TryCompile"/> made of an intent: flows per site, or why there are none.</summary>
public sealed record CompiledSteering(IReadOnlyDictionary<SiteId, IReadOnlyList<FlowEntry>>? Flows, string? Error)
{
    public static CompiledSteering Failed(string error) => new(null, error);
}

/// <summary>
/// Pure compiler from steering intents to flows. No I/O, no clock: the same intent and topology always give the
/// same flows, which is what lets the controller diff desired state against a switch.
/// </summary>
public static class SteeringCompiler
{
    public const ushort GtpUserPort = 2152;
    private const ushort Ipv4 = 0x0800;
    private const byte Udp = 17;

    /// <summary>The fixed flows of a site: GTP-U from eNBs into the tunnel endpoint, encapsulated packets out to their peer, defaults.</summary>
    public static IReadOnlyList<FlowEntry> SiteBase(SiteTopology site)
    {
        var c = SteeringCookies.Infrastructure;
        var flows = new List<FlowEntry>
        {
            new(SteeringTables.Classify, SteeringTables.Default, OfpMatch.Any, Apply(new OutputAction(OfpPort.Normal)), c),
            new(SteeringTables.Classify, SteeringTables.Infrastructure, new OfpMatch([OxmField.InPort(site.TunnelPort)]), [new GotoTableInstruction(SteeringTables.Uplink)], c),
            new(SteeringTables.Classify, SteeringTables.Infrastructure, new OfpMatch([OxmField.InPort(site.PvmPort)]), [new GotoTableInstruction(SteeringTables.TowardUe)], c),

            // Unknown TEIDs after decapsulation: back into GTP-U, same TEID (tun_id is kept), to the site's S-GW.
            new(SteeringTables.Uplink, SteeringTables.Default, OfpMatch.Any,
                IntoTunnel(site, OfpPort.InPort, new SetFieldAction(OxmField.TunIpv4Dst(site.Sgws[0].Address))), c),
            new(SteeringTables.TowardUe, SteeringTables.Default, OfpMatch.Any, Apply(new OutputAction(OfpPort.Normal)), c),
        };
        foreach (var port in site.InterSitePorts.Values.Distinct())
        {
            flows.Add(new(SteeringTables.Classify, SteeringTables.Infrastructure, new OfpMatch([OxmField.InPort(port)]), [new GotoTableInstruction(SteeringTables.TowardUe)], c));
        }

        // OVS decapsulates only GTP-U addressed to its own endpoint: hand uplink GTP-U bound for an S-GW to it.
        foreach (var enb in site.Enbs)
        {
            foreach (var sgw in site.Sgws)
            {
                flows.Add(new(SteeringTables.Classify, SteeringTables.Infrastructure,
                    new OfpMatch([OxmField.InPort(enb.Port), OxmField.EthType(Ipv4), OxmField.IpProto(Udp), OxmField.Ipv4Dst(sgw.Address), OxmField.UdpDst(GtpUserPort)]),
                    Apply(new SetFieldAction(OxmField.EthDst(site.EndpointMac)), new SetFieldAction(OxmField.Ipv4Dst(site.EndpointAddress)), new OutputAction(OfpPort.Local)), c));
            }
        }

        // Encapsulated packets leave the endpoint on LOCAL: address them to their peer. Toward an eNB they should look
        // as if the S-GW sent them (eNBs may check the source of downlink GTP-U).
        foreach (var peer in site.Enbs.Select(e => (Peer: e, Src: (IPAddress?)site.Sgws[0].Address)).Concat(site.Sgws.Select(s => (Peer: s, Src: (IPAddress?)null))))
        {
            var actions = new List<OfpAction>
            {
                new SetFieldAction(OxmField.EthSrc(site.EndpointMac)),
                new SetFieldAction(OxmField.EthDst(peer.Peer.Mac)),
            };
            if (peer.Src is not null)
            {
                actions.Add(new SetFieldAction(OxmField.Ipv4Src(peer.Src)));
            }

            actions.Add(new OutputAction(peer.Peer.Port));
            flows.Add(new(SteeringTables.Classify, SteeringTables.Infrastructure,
                new OfpMatch([OxmField.InPort(OfpPort.Local), OxmField.EthType(Ipv4), OxmField.IpProto(Udp), OxmField.Ipv4Dst(peer.Peer.Address), OxmField.UdpDst(GtpUserPort)]),
                [new ApplyActionsInstruction(actions)], c));
        }

        return Dedupe(flows);
    }

    /// <summary>As <see cref="TryCompile"/>; an intent this topology cannot carry throws <see cref="InvalidOperationException"/> with the reason.</summary>
    public static IReadOnlyDictionary<SiteId, IReadOnlyList<FlowEntry>> Compile(SteeringIntent intent, SdnTopology topology)
    {
        var compiled = TryCompile(intent, topology);
        return compiled.Flows ?? throw new InvalidOperationException(compiled.Error);
    }

    /// <summary>
    /// The UE's flows, per site: the switch site always, and the PVM's site when it is elsewhere (it relays between
    /// the inter-site link and the PVM). Every flow carries the UE's cookie. An intent the topology cannot carry (a site
    /// it does not have, no inter-site port between the two) is an error value naming the site and the UE.
    /// </summary>
    public static CompiledSteering TryCompile(SteeringIntent intent, SdnTopology topology)
    {
        if (!topology.TryGet(intent.SwitchSite, out var site))
        {
            return CompiledSteering.Failed($"switch site '{intent.SwitchSite}' of UE {intent.Ue} is not in the SDN topology (known: {string.Join(", ", topology.Sites.Select(s => s.Site))})");
        }

        var cookie = SteeringCookies.ForUe(intent.Ue);
        var ue = intent.UeAddress;
        var flows = new List<FlowEntry>();
        var result = new Dictionary<SiteId, IReadOnlyList<FlowEntry>>();

        // Every bearer's traffic that is not for the PVM goes back to that bearer's S-GW with its TEID unchanged.
        foreach (var b in intent.Bearers)
        {
            flows.Add(new(SteeringTables.Uplink, SteeringTables.Bearer, new OfpMatch([OxmField.TunnelId(b.Uplink.Teid)]),
                IntoTunnel(site, OfpPort.InPort, new SetFieldAction(OxmField.TunIpv4Dst(b.Uplink.Address))), cookie));
        }

        if (intent.PvmAddress is { } pvm && intent.Bearers.Count > 0)
        {
            var pvmMac = SiteTopology.PvmMac(pvm);
            var local = intent.PvmSite == intent.SwitchSite;
            uint towardPvm;
            if (local)
            {
                towardPvm = site.PvmPort;
            }
            else if (!site.InterSitePorts.TryGetValue(intent.PvmSite, out towardPvm))
            {
                return CompiledSteering.Failed($"site '{site.Site}' has no inter-site port toward '{intent.PvmSite}' (UE {intent.Ue})");
            }

            // Uplink for the PVM: only from the UE's own bearers, from its serving eNB, with the UE's own source address.
            foreach (var b in intent.Bearers)
            {
                flows.Add(new(SteeringTables.Uplink, SteeringTables.Deliver,
                    new OfpMatch([OxmField.TunnelId(b.Uplink.Teid), OxmField.TunIpv4Src(b.Downlink.Address), OxmField.EthType(Ipv4), OxmField.Ipv4Src(ue), OxmField.Ipv4Dst(pvm)]),
                    Apply(new SetFieldAction(OxmField.EthSrc(site.EndpointMac)), new SetFieldAction(OxmField.EthDst(pvmMac)), new OutputAction(towardPvm)), cookie));
            }

            // Isolation: anything else decapsulated here for this PVM (other bearers, spoofed sources) is dropped.
            flows.Add(new(SteeringTables.Uplink, SteeringTables.IsolationGuard, new OfpMatch([OxmField.EthType(Ipv4), OxmField.Ipv4Dst(pvm)]), [], cookie));

            // Downlink from the PVM: into GTP-U toward the serving eNB with the default (first) bearer's downlink TEID.
            var dl = intent.Bearers.OrderBy(b => b.ERabId).First().Downlink;
            flows.Add(new(SteeringTables.TowardUe, SteeringTables.Deliver,
                new OfpMatch([OxmField.InPort(towardPvm), OxmField.EthType(Ipv4), OxmField.Ipv4Src(pvm), OxmField.Ipv4Dst(ue)]),
                IntoTunnel(site, site.TunnelPort, new SetFieldAction(OxmField.TunIpv4Dst(dl.Address)), new SetFieldAction(OxmField.TunnelId(dl.Teid))), cookie));

            if (!local)
            {
                if (!topology.TryGet(intent.PvmSite, out var remote))
                {
                    return CompiledSteering.Failed($"PVM site '{intent.PvmSite}' of UE {intent.Ue} is not in the SDN topology");
                }

                if (!remote.InterSitePorts.TryGetValue(intent.SwitchSite, out var back))
                {
                    return CompiledSteering.Failed($"site '{remote.Site}' has no inter-site port toward '{intent.SwitchSite}' (UE {intent.Ue})");
                }

                result[remote.Site] = Dedupe(
                [
                    new(SteeringTables.TowardUe, SteeringTables.Deliver, new OfpMatch([OxmField.InPort(back), OxmField.EthType(Ipv4), OxmField.Ipv4Src(ue), OxmField.Ipv4Dst(pvm)]),
                        Apply(new SetFieldAction(OxmField.EthDst(pvmMac)), new OutputAction(remote.PvmPort)), cookie),
                    new(SteeringTables.TowardUe, SteeringTables.Deliver, new OfpMatch([OxmField.InPort(remote.PvmPort), OxmField.EthType(Ipv4), OxmField.Ipv4Src(pvm), OxmField.Ipv4Dst(ue)]),
                        Apply(new OutputAction(back)), cookie),
                ]);
            }
        }

        result[site.Site] = Dedupe(flows);
        return new CompiledSteering(result, null);
    }

    private static IReadOnlyList<OfpInstruction> Apply(params OfpAction[] actions) => [new ApplyActionsInstruction(actions)];

    /// <summary>
    /// The actions, then out into the gtpu port (<paramref name="port"/> is the port itself or IN_PORT when the packet
    /// came from it). With a <see cref="SiteTopology.TunnelMark"/> the packet is marked first: OVS looks up the route
    /// for the outer header by pkt_mark, which keeps it on this site's bridge when another bridge shares the subnet.
    /// </summary>
    private static IReadOnlyList<OfpInstruction> IntoTunnel(SiteTopology site, uint port, params OfpAction[] actions)
    {
        var all = new List<OfpAction>(actions);
        if (site.TunnelMark is { } mark)
        {
            all.Add(new SetFieldAction(OxmField.PktMark(mark)));
        }

        all.Add(new OutputAction(port));
        return [new ApplyActionsInstruction(all)];
    }

    private static List<FlowEntry> Dedupe(List<FlowEntry> flows)
    {
        var seen = new HashSet<FlowKey>();
        return flows.Where(f => seen.Add(f.Key)).ToList();
    }
}
