using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.OpenFlow;

namespace MobiScud.Sdn.Steering;

/// <summary>
/// The inverse of <see cref="SteeringCompiler"/>: reads a switch site's flows of one UE cookie back into the steering
/// they carry. Flows carry the UE and PVM addresses, the PVM's site (by the port toward it), every bearer's uplink TEID
/// and S-GW, the downlink eNB addresses and the default bearer's downlink TEID; they do not carry the eNB id, the E-RAB
/// ids or the intent's version, which come from the intent the caller last installed when there is one.
/// </summary>
public static class SteeringDecompiler
{
    /// <summary>
    /// The steering a switch site's flows of one UE cookie carry. What flows do not say (eNB id, E-RAB ids, version) comes
    /// from <paramref name="known"/>, the intent last installed for the UE: all of it when it compiles to exactly these
    /// flows, else only what still matches (the rest is 0).
    /// </summary>
    public static SteeringIntent Decompile(SdnTopology topology, SiteTopology site, UeId ue, SteeringIntent? known, List<FlowEntry> flows)
    {
        if (known is not null && known.SwitchSite == site.Site
            && SteeringCompiler.TryCompile(known, topology).Flows?.TryGetValue(site.Site, out var expected) == true && SameFlows(expected, flows))
        {
            return known;
        }

        known = known?.SwitchSite == site.Site ? known : null;
        IPAddress? ueAddress = null, pvm = null;
        var pvmSite = site.Site;
        GtpEndpoint? defaultDownlink = null;
        var downlinkAddress = new Dictionary<ulong, IPAddress>();
        foreach (var f in flows)
        {
            if (f.TableId == SteeringTables.Uplink && f.Priority == SteeringTables.Deliver)
            {
                ueAddress = Ip(f.Match, OxmFieldId.Ipv4Src) ?? ueAddress;
                pvm = Ip(f.Match, OxmFieldId.Ipv4Dst) ?? pvm;
                if (Field(f.Match, OxmClass.OpenFlowBasic, OxmFieldId.TunnelId) is { } teid && Ip(f.Match, OxmFieldId.NxTunIpv4Src, OxmClass.Nxm1) is { } enb)
                {
                    downlinkAddress[teid.ValueAsUInt64()] = enb;
                }

                if (Actions(f).OfType<OutputAction>().FirstOrDefault() is { } output && output.Port != site.PvmPort)
                {
                    pvmSite = site.InterSitePorts.Where(kv => kv.Value == output.Port).Select(kv => kv.Key).DefaultIfEmpty(new SiteId($"port-{output.Port}")).First();
                }
            }
            else if (f.TableId == SteeringTables.TowardUe && f.Priority == SteeringTables.Deliver)
            {
                var sets = Actions(f).OfType<SetFieldAction>().Select(a => a.Field).ToList();
                var address = sets.FirstOrDefault(x => x.Class == OxmClass.Nxm1 && x.Field == OxmFieldId.NxTunIpv4Dst);
                var teid = sets.FirstOrDefault(x => x.Class == OxmClass.OpenFlowBasic && x.Field == OxmFieldId.TunnelId);
                if (address is not null && teid is not null)
                {
                    defaultDownlink = new GtpEndpoint(new IPAddress(address.Value), (uint)teid.ValueAsUInt64());
                }
            }
        }

        var bearers = new List<Bearer>();
        // A switch lists flows in no particular order: bearers come back ordered by uplink TEID.
        var bearerFlows = flows.Where(f => f.TableId == SteeringTables.Uplink && f.Priority == SteeringTables.Bearer)
            .Select(f => (Flow: f, Teid: Field(f.Match, OxmClass.OpenFlowBasic, OxmFieldId.TunnelId)))
            .Where(x => x.Teid is not null)
            .Select(x => (x.Flow, Teid: (uint)x.Teid!.ValueAsUInt64()))
            .OrderBy(x => x.Teid);
        foreach (var (f, teid) in bearerFlows)
        {
            var sgw = Actions(f).OfType<SetFieldAction>().Select(a => a.Field).FirstOrDefault(x => x.Class == OxmClass.Nxm1 && x.Field == OxmFieldId.NxTunIpv4Dst);
            var knownBearer = known?.Bearers.FirstOrDefault(b => b.Uplink.Teid == teid);
            var dlAddress = downlinkAddress.GetValueOrDefault(teid) ?? defaultDownlink?.Address ?? IPAddress.Any;
            var dl = knownBearer is not null && knownBearer.Downlink.Address.Equals(dlAddress) ? knownBearer.Downlink : new GtpEndpoint(dlAddress, 0);
            bearers.Add(new Bearer(knownBearer?.ERabId ?? 0, new GtpEndpoint(sgw is null ? IPAddress.Any : new IPAddress(sgw.Value), teid), dl));
        }

        // The default bearer's downlink TEID is on the toward-UE flow.
        if (defaultDownlink is { } d && bearers.FindIndex(b => b.Downlink.Address.Equals(d.Address)) is var i and >= 0 && bearers[i].Downlink.Teid == 0)
        {
            bearers[i] = bearers[i] with { Downlink = d };
        }

        return new SteeringIntent(ue, ueAddress ?? known?.UeAddress ?? IPAddress.Any, known?.Enb ?? new EnbId(0), bearers, site.Site, pvmSite, pvm, 0);
    }

    /// <summary>
    /// Every UE's steering in a switch site's flows: one intent per per-UE cookie that has uplink flows (only the switch
    /// site holds a UE's uplink flows; a remote PVM site holds relay flows only). <paramref name="known"/> gives the
    /// intent last installed under a cookie, if any; a cookie <paramref name="owners"/> does not name is an
    /// <see cref="UnknownOwner"/>.
    /// </summary>
    public static IEnumerable<SteeringIntent> DecompileSite(
        SdnTopology topology, SiteTopology site, IEnumerable<FlowEntry> flows, IReadOnlyDictionary<ulong, UeId> owners, Func<ulong, SteeringIntent?>? known = null)
    {
        foreach (var group in flows.Where(f => SteeringCookies.IsPerUe(f.Cookie)).GroupBy(f => f.Cookie))
        {
            if (group.Any(f => f.TableId == SteeringTables.Uplink))
            {
                var ue = owners.TryGetValue(group.Key, out var owner) ? owner : UnknownOwner(group.Key);
                yield return Decompile(topology, site, ue, known?.Invoke(group.Key), [.. group]);
            }
        }
    }

    /// <summary>Whose cookie a UE id in the inventory is when no UE owns it (an id the reconciler hands back to a steering removal).</summary>
    public static UeId UnknownOwner(ulong cookie) => new($"unknown-cookie-0x{cookie:x}");

    private static bool SameFlows(IReadOnlyList<FlowEntry> expected, List<FlowEntry> actual) =>
        expected.Count == actual.Count && expected.All(e => actual.Any(a => a.Key.Equals(e.Key) && a.SameAs(e)));

    private static IEnumerable<OfpAction> Actions(FlowEntry f) => f.Instructions.OfType<ApplyActionsInstruction>().SelectMany(i => i.Actions);

    private static OxmField? Field(OfpMatch m, ushort cls, byte field) => m.Get(cls, field);

    private static IPAddress? Ip(OfpMatch m, byte field, ushort cls = OxmClass.OpenFlowBasic) => m.Get(cls, field) is { Value.Length: 4 } f ? new IPAddress(f.Value) : null;

}
