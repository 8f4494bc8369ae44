using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

public sealed class SiteGraphTests
{
    [Fact]
    public void Routes_take_the_least_delay_and_count_their_hops()
    {
        // A - B - C is 2 ms in two hops; a direct A - C link of 5 ms is slower.
        var g = SiteGraph.FromLinks([A, B, C], [new SiteLink(A, B), new SiteLink(B, C), new SiteLink(A, C, 5)]);
        Assert.Equal(2, g.Hops(A, C));
        Assert.Equal(2, g.DelayMs(A, C), 9);
        Assert.Equal([0, 1], g.Path(A, C));
        Assert.Equal([1, 0], g.Path(C, A));
        Assert.Empty(g.Path(B, B));
        Assert.Equal(0, g.Hops(B, B));
    }

    [Fact]
    public void A_mesh_puts_every_site_one_hop_away()
    {
        var g = SiteGraph.Mesh([A, B, C, Core], capacities: new Dictionary<SiteId, int> { [A] = 3 });
        Assert.Equal(6, g.Links.Count);
        Assert.All(new[] { (A, B), (B, C), (A, Core) }, p => Assert.Equal(1, g.Hops(p.Item1, p.Item2)));
        Assert.Equal(3, g.Capacity(A));
        Assert.Null(g.Capacity(B));
    }

    [Fact]
    public void A_full_site_falls_back_to_an_edge_site_as_near_as_the_core_not_to_the_core()
    {
        // serve's default: a full mesh where every site and the core are 1 hop and 1 ms apart. "core" sorts before
        // "site-*" by name; the core serves no cell, so an equally near edge site must win the tie.
        var config = new McConfig(Sites, Core) { Sites = SiteGraph.Mesh([A, B, C, Core], capacities: new Dictionary<SiteId, int> { [A] = 1 }) };
        var facts = new PolicyFacts { SiteOccupancy = new Dictionary<SiteId, int> { [A] = 1 } };
        Assert.Equal([A, B, C, Core], MigrationPolicies.Ranked(config, A));
        Assert.Equal(B, MigrationPolicies.Place(config, facts, A));

        // Nearer still wins: on the line (core 2 ms behind B) the core comes after C from B's neighbour A.
        Assert.Equal([A, B, C, Core], MigrationPolicies.Ranked(new McConfig(Sites, Core) { Sites = Line() }, A));
    }

    [Fact]
    public void Bad_graphs_say_what_is_wrong()
    {
        Assert.Contains("cannot be reached", Assert.Throws<ArgumentException>(() => SiteGraph.FromLinks([A, B, C], [new SiteLink(A, B)])).Message);
        Assert.Contains("not in the site graph", Assert.Throws<ArgumentException>(() => SiteGraph.FromLinks([A, B], [new SiteLink(A, C)])).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => SiteGraph.FromLinks([A, A], [])).Message);
        Assert.Contains("negative capacity", Assert.Throws<ArgumentException>(() => SiteGraph.Mesh([A, B], capacities: new Dictionary<SiteId, int> { [A] = -1 })).Message);
        Assert.Contains("capacity > 0", Assert.Throws<ArgumentException>(() => SiteGraph.FromLinks([A, B], [new SiteLink(A, B, 1, 0)])).Message);
        Assert.Contains("'x'", Assert.Throws<KeyNotFoundException>(() => Line().Hops(A, new SiteId("x"))).Message);
    }
}
