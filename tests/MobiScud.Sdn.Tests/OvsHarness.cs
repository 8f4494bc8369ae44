using System.Net;
using MobiScud.Control.Model;
using MobiScud.Sdn.Steering;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// Two edge sites on a private Open vSwitch (<see cref="OvsHarnessBase"/>): site A: eNB1, eNB2, S-GW, PVM host A, gtpu
/// port, inter-site patch to B; site B: PVM host B, patch to A.
/// </summary>
public sealed class OvsHarness() : OvsHarnessBase("sdn")
{
    public static readonly SiteId SiteA = new("site-a");
    public static readonly SiteId SiteB = new("site-b");
    public const ulong DpidA = 0xa1;
    public const ulong DpidB = 0xb1;

    public static readonly IPAddress Enb1 = IPAddress.Parse("10.77.0.1");
    public static readonly IPAddress Sgw = IPAddress.Parse("10.77.0.2");
    public static readonly IPAddress Enb2 = IPAddress.Parse("10.77.0.3");
    public static readonly IPAddress EndpointA = IPAddress.Parse("10.77.0.254");
    public static readonly IPAddress EndpointB = IPAddress.Parse("10.78.0.254");
    public static readonly IPAddress Pvm = IPAddress.Parse("192.168.77.10");
    public static readonly IPAddress PvmGateway = IPAddress.Parse("192.168.77.1");

    private const string MacEnb1 = "02:00:00:00:00:01";
    private const string MacSgw = "02:00:00:00:00:02";
    private const string MacEnb2 = "02:00:00:00:00:03";
    private const string MacBrA = "02:00:00:00:00:fe";
    private const string MacBrB = "02:00:00:00:01:fe";

    /// <summary>The harness wiring as a topology record (also used by the pure tests).</summary>
    public static readonly SdnTopology TwoSites = new([
        new SiteTopology(SiteA, DpidA, EndpointA, Mac(MacBrA), TunnelPort: 10, PvmPort: 3,
            Enbs: [new GtpPeer(Enb1, Mac(MacEnb1), 1), new GtpPeer(Enb2, Mac(MacEnb2), 4)],
            Sgws: [new GtpPeer(Sgw, Mac(MacSgw), 2)],
            InterSitePorts: new Dictionary<SiteId, uint> { [SiteB] = 5 }),
        new SiteTopology(SiteB, DpidB, EndpointB, Mac(MacBrB), TunnelPort: 10, PvmPort: 3,
            Enbs: [],
            Sgws: [new GtpPeer(Sgw, Mac(MacSgw), 5)],
            InterSitePorts: new Dictionary<SiteId, uint> { [SiteA] = 5 }),
    ]);

    public override SdnTopology Topology => TwoSites;

    protected override IEnumerable<string> HostRoles => ["enb1", "enb2", "sgw", "pvma", "pvmb"];

    protected override async Task BuildAsync()
    {
        await AddBridgeAsync("brA", TwoSites[SiteA]);
        await AddBridgeAsync("brB", TwoSites[SiteB]);
        await Vsctl("add-port", "brA", "gtpA", "--", "set", "interface", "gtpA", "type=gtpu", "options:remote_ip=flow", "options:key=flow", "ofport_request=10");
        await Vsctl("add-port", "brB", "gtpB", "--", "set", "interface", "gtpB", "type=gtpu", "options:remote_ip=flow", "options:key=flow",
            $"options:local_ip={EndpointB}", "ofport_request=10");
        await Vsctl("add-port", "brA", "pAB", "--", "set", "interface", "pAB", "type=patch", "options:peer=pBA", "ofport_request=5");
        await Vsctl("add-port", "brB", "pBA", "--", "set", "interface", "pBA", "type=patch", "options:peer=pAB", "ofport_request=5");

        var pvmMac = MacText(SiteTopology.PvmMac(Pvm));
        await VethAsync("brA", "enb1", 1, MacEnb1, $"{Enb1}/24");
        await VethAsync("brA", "sgw", 2, MacSgw, $"{Sgw}/24");
        await VethAsync("brA", "enb2", 4, MacEnb2, $"{Enb2}/24");
        await VethAsync("brA", "pvma", 3, pvmMac, $"{Pvm}/24");
        await VethAsync("brB", "pvmb", 3, pvmMac, $"{Pvm}/24");

        await Neigh("enb1", Sgw, MacSgw);
        await Neigh("enb2", Sgw, MacSgw);
        await Neigh("sgw", Enb1, MacEnb1);
        await Neigh("sgw", Enb2, MacEnb2);
        await DefaultRouteAsync("pvma", PvmGateway, MacBrA);
        await DefaultRouteAsync("pvmb", PvmGateway, MacBrB);
        await ConfigureEndpointsAsync();
    }

    /// <summary>The bridges' own interfaces are the tunnel endpoints; OVS must know the peers' MACs to send encapsulated packets.</summary>
    private async Task ConfigureEndpointsAsync()
    {
        await BridgeAddressAsync("brA", EndpointA);
        await BridgeAddressAsync("brB", EndpointB);
        await Appctl("tnl/neigh/set", "brA", Enb1.ToString(), MacEnb1);
        await Appctl("tnl/neigh/set", "brA", Enb2.ToString(), MacEnb2);
        await Appctl("tnl/neigh/set", "brA", Sgw.ToString(), MacSgw);
    }

    /// <summary>Kills ovs-vswitchd (SIGKILL, by its pid file) and starts it again; returns when it is running.</summary>
    public async Task RestartVswitchdAsync()
    {
        if (!await KillDaemonAsync("ovs-vswitchd"))
        {
            throw new InvalidOperationException($"ovs-vswitchd was not running before the restart; see {Dir}/ovs-vswitchd.log");
        }

        await StartVswitchdAsync();
        await ConfigureEndpointsAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class OvsCollection : ICollectionFixture<OvsHarness>
{
    public const string Name = "ovs";
}
