using MobiScud.Control.Model;
using MobiScud.Sdn.Steering;

namespace MobiScud.Sdn.Tests;

public sealed class SdnTopologyConfigTests
{
    private const string Good = """
        { "sites": [
          { "site": "site-a", "datapathId": "0xa1", "endpoint": "10.77.0.254", "endpointMac": "02:00:00:00:00:fe",
            "tunnelPort": 10, "pvmPort": 3,
            "enbs": [ { "address": "10.77.0.1", "mac": "02:00:00:00:00:01", "port": 1 } ],
            "sgws": [ { "address": "10.77.0.2", "mac": "02:00:00:00:00:02", "port": 2 } ],
            "interSitePorts": { "site-b": 5 } } ] }
        """;

    [Fact]
    public void Loads_a_site_and_compiles_the_same_flows_as_the_equivalent_record()
    {
        var topo = SdnTopologyConfig.Parse(Good);
        var a = topo[new SiteId("site-a")];
        Assert.Equal(0xa1UL, a.DatapathId);
        Assert.Equal(5u, a.InterSitePorts[new SiteId("site-b")]);
        var fromFile = SteeringCompiler.SiteBase(a);
        var fromRecord = SteeringCompiler.SiteBase(OvsHarness.TwoSites[OvsHarness.SiteA] with { Enbs = [OvsHarness.TwoSites[OvsHarness.SiteA].Enbs[0]] });
        Assert.Equal(fromRecord.Count, fromFile.Count);
        Assert.All(fromFile.Zip(fromRecord), p => Assert.True(p.First.SameAs(p.Second)));
    }

    [Fact]
    public void A_tunnel_mark_is_optional_and_must_be_a_non_zero_32_bit_number()
    {
        Assert.Null(SdnTopologyConfig.Parse(Good)[new SiteId("site-a")].TunnelMark);
        var marked = Good.Replace("\"pvmPort\": 3,", "\"pvmPort\": 3, \"tunnelMark\": 7,", StringComparison.Ordinal);
        Assert.Equal(7u, SdnTopologyConfig.Parse(marked)[new SiteId("site-a")].TunnelMark);
        foreach (var bad in new[] { "0", "-1", "4294967296", "\"1\"", "1.5" })
        {
            var json = Good.Replace("\"pvmPort\": 3,", $"\"pvmPort\": 3, \"tunnelMark\": {bad},", StringComparison.Ordinal);
            var e = Assert.Throws<InvalidOperationException>(() => SdnTopologyConfig.Parse(json, "topo.json"));
            Assert.Contains("topo.json: sites[0] (site-a): \"tunnelMark\"", e.Message, StringComparison.Ordinal);
        }

        var zero = OvsHarness.TwoSites[OvsHarness.SiteA] with { TunnelMark = 0 };
        Assert.Contains("tunnelMark 0", Assert.Throws<InvalidOperationException>(() => zero.Validate()).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("{}", "missing \"sites\"")]
    [InlineData("""{ "sites": [ { "site": "s" } ] }""", "sites[0] (s): \"datapathId\"")]
    [InlineData("""{ "sites": [ { "site": "s", "datapathId": "zz" } ] }""", "datapathId 'zz'")]
    public void Bad_config_names_what_and_where(string json, string expected)
    {
        var e = Assert.Throws<InvalidOperationException>(() => SdnTopologyConfig.Parse(json, "topo.json"));
        Assert.Contains("topo.json", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_mac_and_a_missing_sgw_are_reported_with_their_site()
    {
        var badMac = Good.Replace("\"02:00:00:00:00:01\"", "\"nope\"", StringComparison.Ordinal);
        Assert.Contains("sites[0] (site-a).enbs[0]: mac 'nope'", Assert.Throws<InvalidOperationException>(() => SdnTopologyConfig.Parse(badMac)).Message, StringComparison.Ordinal);
        var noSgw = Good.Replace("\"sgws\"", "\"x\"", StringComparison.Ordinal);
        Assert.Contains("no S-GW", Assert.Throws<InvalidOperationException>(() => SdnTopologyConfig.Parse(noSgw)).Message, StringComparison.Ordinal);
    }
}
