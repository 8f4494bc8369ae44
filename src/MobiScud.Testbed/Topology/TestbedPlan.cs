using System.Net;

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

    public IEnumerable<string> Namespaces =>
        new[] { WanNs, CoreNs, MmeNs, SgwNs, InetNs }.Concat(Enumerable.Range(1, Scenario.Enbs).Select(EnbNs));

    /// <summary>A delayed link: the relay copies frames between two interfaces of the WAN namespace.</summary>
    public sealed record DelayedLink(string Name, string DevA, string DevB, double DelayMs);

    public IEnumerable<DelayedLink> Links =>
        Enumerable.Range(1, Scenario.Enbs).Select(e => new DelayedLink($"enb{e}-edge", $"en{e}", $"es{e}", Scenario.EnbEdgeDelayMs))
            .Concat(Enumerable.Range(0, Scenario.Sites).Select(s => new DelayedLink($"site-{Scenario.SiteName(s)}-core", $"us{s}", $"uc{s}", Scenario.EdgeCoreDelayMs)));

    /// <summary>OVS bridge of a site (in the root namespace, netdev datapath).</summary>
    public string SiteBridge(int site) => $"{Prefix}s{Scenario.SiteName(site)}";

    /// <summary>Root-side end of eNB's backhaul veth, a port of its site's bridge.</summary>
    public string EnbPort(int enb) => $"{Prefix}e{enb}";

    /// <summary>Root-side end of a site's uplink to the core, a port of the site's bridge.</summary>
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

    /// <summary>eNB id as in Global-eNB-ID (20-bit macro id).</summary>
    public static uint EnbIdOf(int enb) => 0x100u + (uint)enb;

    /// <summary>The MC's topology: each eNB's edge site (site names "a", "b" ...), and the core site.</summary>
    public MobiScud.Control.McConfig McConfig(MobiScud.Control.Strategy strategy = MobiScud.Control.Strategy.MobiScud) =>
        new(
            Enumerable.Range(1, Scenario.Enbs).ToDictionary(
                e => new MobiScud.Control.Model.EnbId(EnbIdOf(e)),
                e => new MobiScud.Control.Model.SiteId(Scenario.SiteName(Scenario.SiteOf(e)))),
            new MobiScud.Control.Model.SiteId("core"),
            strategy);

    public string OvsDir => Path.Combine(RunDirHint ?? "/tmp", "ovs");

    public string? RunDirHint { get; init; }
}
