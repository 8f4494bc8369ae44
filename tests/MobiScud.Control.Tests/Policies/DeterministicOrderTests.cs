using System.Collections.Frozen;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// What the policies iterate must not follow string hashes, which .NET seeds afresh in every process: the same
/// scenario run twice gave different figures while a tie among sites went to whichever a frozen set listed first.
/// </summary>
public sealed class DeterministicOrderTests
{
    // Thirty sites at cell 1 and thirty at cell 2 (two apart): whichever order a hashed collection lists them in, only
    // one of each thirty is the first by name.
    private static readonly Dictionary<EnbId, (double X, double Y)> _positions = new() { [new(1)] = (0, 0), [new(2)] = (2, 0), [new(3)] = (10, 0) };

    private static Dictionary<SiteId, EnbId> TiedSites(IEnumerable<int> order)
    {
        var sites = new Dictionary<SiteId, EnbId>();
        foreach (var i in order)
        {
            sites[new SiteId($"s{i:00}")] = new EnbId(1);
            sites[new SiteId($"t{i:00}")] = new EnbId(2);
        }

        return sites;
    }

    [Fact]
    public void Nearest_site_breaks_ties_by_ordinal_name_whatever_order_the_sites_came_in()
    {
        var ordered = Enumerable.Range(0, 30).ToArray();
        var shuffled = ordered.OrderBy(i => (i * 7919) % 31).ToArray();
        foreach (var order in new[] { ordered, ordered.Reverse().ToArray(), shuffled })
        {
            var cells = new CellGeometry(_positions, TiedSites(order), 1);
            Assert.Equal(new SiteId("s00"), cells.NearestSite((0.2, 0)));
            Assert.Equal(new SiteId("t00"), cells.NearestSite((1.9, 0.5)));
            // Equally far from both cells: the first name of all sixty.
            Assert.Equal(new SiteId("s00"), cells.NearestSite((1, 0)));
            // Far from every site, nearest still wins over names.
            Assert.Equal(new SiteId("t00"), cells.NearestSite((9, 0)));
        }
    }

    [Fact]
    public void Nearest_site_gives_a_tie_to_any_site_but_the_last_resort()
    {
        var sites = TiedSites(Enumerable.Range(0, 30));
        sites[new SiteId("a-core")] = new EnbId(1);
        var cells = new CellGeometry(_positions, sites, 1);
        Assert.Equal(new SiteId("a-core"), cells.NearestSite((0, 0)));
        Assert.Equal(new SiteId("s00"), cells.NearestSite((0, 0), new SiteId("a-core")));
        // Alone nearest, the last resort is still the answer.
        Assert.Equal(new SiteId("a-core"), new CellGeometry(_positions, new Dictionary<SiteId, EnbId> { [new("a-core")] = new(1), [new("b")] = new(2) }, 1).NearestSite((0, 0), new SiteId("a-core")));
        Assert.Null(new CellGeometry(_positions, new Dictionary<SiteId, EnbId>(), 1).NearestSite((0, 0)));
    }

    [Fact]
    public void Pvm_sites_by_name_are_the_pvm_sites_in_ordinal_order()
    {
        var siteOfEnb = Enumerable.Range(0, 40).ToDictionary(i => new EnbId((uint)i), i => new SiteId($"edge-{(i * 13) % 20}"));
        var config = new McConfig(siteOfEnb, new SiteId("core"));
        var expected = config.PvmSites.Select(x => x.Value).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(21, expected.Length);
        Assert.Equal(expected, config.PvmSitesByName.Select(x => x.Value));

        // A copy with other sites sees its own (the cache follows SiteOfEnb).
        var fewer = config with { SiteOfEnb = siteOfEnb.Where(x => x.Key.Value < 3).ToDictionary().ToFrozenDictionary() };
        Assert.Equal(["core", "edge-0", "edge-13", "edge-6"], fewer.PvmSitesByName.Select(x => x.Value));
    }
}
