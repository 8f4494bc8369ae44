using System.Net;
using System.Net.NetworkInformation;
using MobiScud.Control.Model;
using MobiScud.Sdn.Steering;

namespace MobiScud.Testbed.Topology;

/// <summary>
/// Names and addresses of one testbed, derived from the scenario and a unique prefix. The backhaul is one L2
/// segment (10.60.0.0/24): every eNB hangs off its edge site's OVS bridge, each site's bridge has an uplink to the
/// core bridge, where the MME and the S-GW/P-GW sit. The internet server is behind the P-GW (10.200.0.0/24).
/// UE addresses come from 172.16.0.0/16 (the P-GW's pool).
/// </summary>
public sealed record TestbedPlan(string Prefix, Scenario Scenario)
{
    public static readonly IPAddress MmeAddress = IPAddress.Parse("10.60.0.2");
    public static readonly IPAddress SgwAddress = IPAddress.Parse("10.60.0.3");
    public static readonly IPAddress PgwSgiAddress = IPAddress.Parse("10.200.0.1");
    public static readonly IPAddress InternetServerAddress = IPAddress.Parse("10.200.0.2");
    public const string UePool = "172.16.0.0/16";

    public string CoreNs => $"{Prefix}-core";

    public string MmeNs => $"{Prefix}-mme";

    public string SgwNs => $"{Prefix}-sgw";

    public string InetNs => $"{Prefix}-inet";

    public string EnbNs(int enb) => $"{Prefix}-enb{enb}";

    /// <summary>Namespace holding the two inner ends of every delayed link (the user-space delay relays join them).</summary>
    public string WanNs => $"{Prefix}-wan";

    /// <summary>An edge site's host: its OVS (own ovsdb-server and ovs-vswitchd, netdev datapath) and its PVM host bridge.</summary>
    public string SiteNs(int site) => $"{Prefix}-site{Scenario.SiteName(site)}";

    public IEnumerable<string> Namespaces =>
        new[] { WanNs, CoreNs, MmeNs, SgwNs, InetNs }.Concat(Enumerable.Range(1, Scenario.Enbs).Select(EnbNs)).Concat(Enumerable.Range(0, Scenario.Sites).Select(SiteNs));

    /// <summary>A delayed link: the relay copies frames between two interfaces of the WAN namespace.</summary>
    public sealed record DelayedLink(string Name, string DevA, string DevB, double DelayMs);

    public IEnumerable<DelayedLink> Links =>
        Enumerable.Range(1, Scenario.Enbs).Select(e => new DelayedLink($"enb{e}-edge", $"en{e}", $"es{e}", Scenario.EnbEdgeDelayMs))
            .Concat(Enumerable.Range(0, Scenario.Sites).Select(s => new DelayedLink($"site-{Scenario.SiteName(s)}-core", $"us{s}", $"uc{s}", Scenario.EdgeCoreDelayMs)))
            .Concat(SitePairs.Select(p => new DelayedLink(
                $"site-{Scenario.SiteName(p.A)}-{Scenario.SiteName(p.B)}", InterSiteWanEnd(p.A, p.B), InterSiteWanEnd(p.B, p.A), Scenario.InterSiteDelayMs)));

    /// <summary>Every unordered pair of sites: each pair has a direct inter-site link (the path of relayed PVM traffic).</summary>
    public IEnumerable<(int A, int B)> SitePairs =>
        from a in Enumerable.Range(0, Scenario.Sites) from b in Enumerable.Range(0, Scenario.Sites) where a < b select (a, b);

    /// <summary>Site-side end of site <paramref name="from"/>'s link to site <paramref name="to"/>, a port of <paramref name="from"/>'s bridge.</summary>
    public string InterSitePort(int from, int to) => $"{Prefix}x{Scenario.SiteName(from)}{Scenario.SiteName(to)}";

    public static string InterSiteWanEnd(int from, int to) => $"x{Scenario.SiteName(from)}{Scenario.SiteName(to)}";

    /// <summary>The Linux bridge of a site's PVM host (in the site namespace): PVM taps are enslaved to it.</summary>
    public string PvmHostBridge(int site) => $"{Prefix}h{Scenario.SiteName(site)}";

    /// <summary>The OVS side of the veth between a site's bridge and its PVM host bridge.</summary>
    public string PvmSwitchPort(int site) => $"{Prefix}p{Scenario.SiteName(site)}";

    public string PvmHostPort(int site) => $"{Prefix}q{Scenario.SiteName(site)}";

    /// <summary>5G: the OVS side of the veth to the site's N3 uplink step.</summary>
    public string N3StripPort(int site) => $"{Prefix}n{Scenario.SiteName(site)}";

    /// <summary>5G: the step's end of that veth, in the site namespace.</summary>
    public string N3StripHostEnd(int site) => $"{Prefix}k{Scenario.SiteName(site)}";

    /// <summary>The OVS gtpu port of a site (no kernel device with the netdev datapath).</summary>
    public string TunnelPortName(int site) => $"{Prefix}g{Scenario.SiteName(site)}";

    /// <summary>The core data centre's bridge in the S-GW/P-GW namespace, where the core-anchored PVM lives.</summary>
    public const string CoreDcBridge = "dc0";

    public static readonly IPAddress CoreDcGateway = IPAddress.Parse("10.201.0.1");
    public const string CoreDcGatewayMac = "02:00:0a:c9:00:01";
    public static readonly IPAddress CorePvmAddress = IPAddress.Parse("10.201.0.10");

    /// <summary>Edge PVM data network: the same subnet and gateway at every site, so a migrated PVM keeps its address.</summary>
    public const string PvmSubnet = "10.64.0.0/24";
    public static readonly IPAddress PvmGateway = IPAddress.Parse("10.64.0.1");
    public const string PvmGatewayMac = "02:00:0a:40:00:01";

    // OpenFlow port numbers requested for each site bridge's ports (ofport_request), so the SDN topology is known.
    public const uint UplinkOfPort = 2;
    public const uint PvmOfPort = 3;
    public const uint TunnelOfPort = 100;

    /// <summary>5G: the port of the site's N3 uplink step (Control/N3UplinkStripper.cs).</summary>
    public const uint N3StripOfPort = 4;

    public static uint EnbOfPort(int enb) => 10u + (uint)enb;

    public static uint InterSiteOfPort(int toSite) => 20u + (uint)toSite;

    public static ulong DatapathId(int site) => 0xA0u + (ulong)site;


    /// <summary>OVS bridge of a site (in the site's namespace, netdev datapath).</summary>
    public string SiteBridge(int site) => $"{Prefix}s{Scenario.SiteName(site)}";

    /// <summary>Site-side end of eNB's backhaul veth, a port of its site's bridge.</summary>
    public string EnbPort(int enb) => $"{Prefix}e{enb}";

    /// <summary>Site-side end of a site's uplink to the core, a port of the site's bridge.</summary>
    public string SiteUplinkPort(int site) => $"{Prefix}u{Scenario.SiteName(site)}";

    /// <summary>Core-side end of a site's uplink (in the core namespace, enslaved to the core bridge).</summary>
    public static string CoreUplink(int site) => $"up{Scenario.SiteName(site)}";

    /// <summary>The mirror port in the core namespace where the MC taps S1 traffic.</summary>
    public const string MirrorDevice = "mon1";

    public static IPAddress EnbAddress(int enb) => IPAddress.Parse($"10.60.0.{10 + enb}");

    /// <summary>The tunnel endpoint address of a site's switch (its LOCAL port).</summary>
    public static IPAddress SiteEndpoint(int site) => IPAddress.Parse($"10.60.0.{250 - site}");

    public static string EnbMac(int enb) => $"02:00:00:00:01:{enb:x2}";

    public const string MmeMac = "02:00:00:00:00:02";

    public const string SgwMac = "02:00:00:00:00:03";

    public static string SiteMac(int site) => $"02:00:00:00:fe:{site:x2}";

    public static IPAddress UeAddress(int ue) => IPAddress.Parse($"172.16.0.{10 + ue}");

    public static string ImsiOf(int ue) => $"00101{ue:D10}";

    /// <summary>eNB id as in Global-eNB-ID (20-bit macro id); with rat nr, gNB N's id (22 bits) is the same number.</summary>
    public static uint EnbIdOf(int enb) => 0x100u + (uint)enb;

    /// <summary>The MC's topology: each eNB's edge site (site names "a", "b" ...), and the core site.</summary>
    public MobiScud.Control.McConfig McConfig(MobiScud.Control.Strategy strategy = MobiScud.Control.Strategy.MobiScud) =>
        new(
            Enumerable.Range(1, Scenario.Enbs).ToDictionary(
                e => new EnbId(EnbIdOf(e), Scenario.Rat == TestbedRat.Nr ? Rat.Nr : Rat.Eutra),
                e => new SiteId(Scenario.SiteName(Scenario.SiteOf(e)))),
            new SiteId("core"),
            strategy)
        {
            Policy = new MobiScud.Control.Policies.PolicyConfig
            {
                Kind = MobiScud.Control.Policies.PolicyConfig.Parse(Scenario.Policy),
                Dwell = TimeSpan.FromSeconds(Scenario.PolicyDwellSeconds),
            },
        };

    /// <summary>The SDN controller's view of every site bridge: ports as requested with ofport_request in <see cref="TestbedNetwork"/>.</summary>
    public SdnTopology SdnTopology() =>
        new(Enumerable.Range(0, Scenario.Sites).Select(site => new SiteTopology(
            new SiteId(Scenario.SiteName(site)),
            DatapathId(site),
            SiteEndpoint(site),
            Mac(SiteMac(site)),
            TunnelOfPort,
            PvmOfPort,
            Enumerable.Range(1, Scenario.Enbs).Where(e => Scenario.SiteOf(e) == site).Select(e => new GtpPeer(EnbAddress(e), Mac(EnbMac(e)), EnbOfPort(e))).ToList(),
            [new GtpPeer(SgwAddress, Mac(SgwMac), UplinkOfPort)],
            Enumerable.Range(0, Scenario.Sites).Where(o => o != site).ToDictionary(o => new SiteId(Scenario.SiteName(o)), InterSiteOfPort))));

    /// <summary>A MAC written with colons, as the plan's constants are.</summary>
    public static PhysicalAddress Mac(string text) => PhysicalAddress.Parse(text.Replace(':', '-'));

    /// <summary>Run directory of a site's OVS daemons (database, sockets, logs).</summary>
    public string OvsDir(int site) => Path.Combine(RunDirHint ?? "/tmp", $"ovs-{Scenario.SiteName(site)}");

    /// <summary>Where the MC's OpenFlow controller listens: a unix socket reaches every site namespace through the file system.</summary>
    public string ControllerSocket => Path.Combine(RunDirHint ?? "/tmp", "openflow.sock");

    public string? RunDirHint { get; init; }
}
