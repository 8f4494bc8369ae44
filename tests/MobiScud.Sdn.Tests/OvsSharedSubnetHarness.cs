using System.Net;
using MobiScud.Control.Model;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// Two edge sites on ONE ovs-vswitchd whose tunnel endpoints share a subnet, as the testbed wires them
/// (10.60.0.250/24 on brA, 10.60.0.249/24 on brB, one L2 backhaul). Site a: eNB A, S-GW, PVM host A; site b:
/// eNB B, PVM host B; a veth pair links the bridges. ovs-router keeps one route for 10.60.0.0/24, so site a is marked
/// (pkt_mark route to brA) and site b has the unmarked route to brB (<see cref="OvsTunnelRouting"/>). The private
/// OVS, namespaces and teardown come from <see cref="OvsHarnessBase"/>.
/// </summary>
public sealed class OvsSharedSubnetHarness() : OvsHarnessBase("sdnsub")
{
    public static readonly SiteId SiteA = new("a");
    public static readonly SiteId SiteB = new("b");
    public const ulong DpidA = 0xa2;
    public const ulong DpidB = 0xb2;
    public const string BridgeA = "brA";
    public const string BridgeB = "brB";

    public static readonly IPNetwork Backhaul = IPNetwork.Parse("10.60.0.0/24");
    public static readonly IPAddress EnbA = IPAddress.Parse("10.60.0.1");
    public static readonly IPAddress Sgw = IPAddress.Parse("10.60.0.2");
    public static readonly IPAddress EnbB = IPAddress.Parse("10.60.0.3");
    public static readonly IPAddress EndpointA = IPAddress.Parse("10.60.0.250");
    public static readonly IPAddress EndpointB = IPAddress.Parse("10.60.0.249");
    public static readonly IPAddress Pvm = IPAddress.Parse("192.168.60.10");
    private static readonly IPAddress _pvmGateway = IPAddress.Parse("192.168.60.1");

    private const string MacEnbA = "02:00:00:00:60:01";
    private const string MacSgw = "02:00:00:00:60:02";
    private const string MacEnbB = "02:00:00:00:60:03";
    private const string MacBrA = "02:00:00:00:60:fa";
    private const string MacBrB = "02:00:00:00:60:f9";

    /// <summary>Site b reaches the S-GW over the inter-site link (port 5), through site a's bridge.</summary>
    public static readonly SdnTopology Sites = new([
        new SiteTopology(SiteA, DpidA, EndpointA, Mac(MacBrA), TunnelPort: 10, PvmPort: 3,
            Enbs: [new GtpPeer(EnbA, Mac(MacEnbA), 1)],
            Sgws: [new GtpPeer(Sgw, Mac(MacSgw), 2)],
            InterSitePorts: new Dictionary<SiteId, uint> { [SiteB] = 5 },
            TunnelMark: 1),
        new SiteTopology(SiteB, DpidB, EndpointB, Mac(MacBrB), TunnelPort: 10, PvmPort: 3,
            Enbs: [new GtpPeer(EnbB, Mac(MacEnbB), 1)],
            Sgws: [new GtpPeer(Sgw, Mac(MacSgw), 5)],
            InterSitePorts: new Dictionary<SiteId, uint> { [SiteA] = 5 }),
    ]);

    public override SdnTopology Topology => Sites;

    protected override IEnumerable<string> HostRoles => ["enba", "enbb", "sgw", "pvma", "pvmb"];

    protected override async Task BuildAsync()
    {
        await AddBridgeAsync(BridgeA, Sites[SiteA]);
        await AddBridgeAsync(BridgeB, Sites[SiteB]);

        // Two flow-keyed gtpu ports on one ovs-vswitchd must differ (local_ip on the unmarked site only): OvsTunnelRouting.
        OvsTunnelRouting.CheckSharedSubnet(Sites.Sites);
        foreach (var (br, port, site) in new[] { (BridgeA, "gtpA", SiteA), (BridgeB, "gtpB", SiteB) })
        {
            await Vsctl(["add-port", br, port, "--", "set", "interface", port, .. OvsTunnelRouting.GtpuInterfaceOptions(Sites[site]), "ofport_request=10"]);
        }

        var pvmMac = MacText(SiteTopology.PvmMac(Pvm));
        await VethAsync(BridgeA, "enba", 1, MacEnbA, $"{EnbA}/24");
        await VethAsync(BridgeA, "sgw", 2, MacSgw, $"{Sgw}/24");
        await VethAsync(BridgeA, "pvma", 3, pvmMac, $"{Pvm}/24");
        await VethAsync(BridgeB, "enbb", 1, MacEnbB, $"{EnbB}/24");
        await VethAsync(BridgeB, "pvmb", 3, pvmMac, $"{Pvm}/24");

        // The inter-site link: a veth pair between the two bridges (an L2 backhaul, not an OVS patch port).
        await RunAsync(Ip, "-n", OvsNs, "link", "add", "xab", "type", "veth", "peer", "name", "xba");
        foreach (var (dev, br) in new[] { ("xab", BridgeA), ("xba", BridgeB) })
        {
            await RunAsync(Ip, "-n", OvsNs, "link", "set", dev, "up");
            await RunAsync(Ip, "netns", "exec", OvsNs, Ethtool, "-K", dev, "tx", "off");
            await Vsctl("add-port", br, dev, "--", "set", "interface", dev, "ofport_request=5");
        }

        await Neigh("enba", Sgw, MacSgw);
        await Neigh("enbb", Sgw, MacSgw);
        await Neigh("sgw", EnbA, MacEnbA);
        await Neigh("sgw", EnbB, MacEnbB);
        await DefaultRouteAsync("pvma", _pvmGateway, MacBrA);
        await DefaultRouteAsync("pvmb", _pvmGateway, MacBrB);

        await BridgeAddressAsync(BridgeA, EndpointA);
        await BridgeAddressAsync(BridgeB, EndpointB);
        await OvsTunnelRouting.SeedAsync(Sites[SiteA], BridgeA, Backhaul, args => Appctl(args));
        await OvsTunnelRouting.SeedAsync(Sites[SiteB], BridgeB, Backhaul, args => Appctl(args));
    }
}

[CollectionDefinition(Name)]
public sealed class OvsSharedSubnetCollection : ICollectionFixture<OvsSharedSubnetHarness>
{
    public const string Name = "ovs-shared-subnet";
}
