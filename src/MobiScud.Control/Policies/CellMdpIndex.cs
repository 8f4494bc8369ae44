using System.Collections.Frozen;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>One solution of the (user cell, PVM site) MDP: <see cref="Values"/> V(u, s) and <see cref="Continuation"/> C(u, a), row-major by cell.</summary>
internal sealed record CellMdpSolution(double[] Values, double[] Continuation, (int To, double P)[][] Rows, TimeSpan SolvedAt, long Transitions, int Sweeps)
{
    /// <summary>With the second-order state: (came, cell) -> state index (came -1: unknown); null: states are cells.</summary>
    public FrozenDictionary<(int Came, int Cell), int>? States { get; init; }
}

/// <summary>
/// The cells (by id) and edge sites (by name) the 2-D MDP is over, with the rings between them (Wang's distance), and
/// each cell's neighbours within one ring (the prior's moves). Immutable; built once per topology.
/// </summary>
internal sealed class CellMdpIndex
{
    private CellMdpIndex(CellGeometry geometry, FrozenSet<SiteId> pvmSites, EnbId[] cells, SiteId[] sites, int[] userRings, int[] siteRings, int[][] neighbours)
    {
        Geometry = geometry;
        PvmSites = pvmSites;
        Cells = cells;
        Sites = sites;
        UserRings = userRings;
        SiteRings = siteRings;
        Neighbours = neighbours;
        CellIndex = cells.Select((c, i) => (c, i)).ToFrozenDictionary(x => x.c, x => x.i);
        SiteIndex = sites.Select((s, i) => (s, i)).ToFrozenDictionary(x => x.s, x => x.i);
    }

    public CellGeometry Geometry { get; }

    public FrozenSet<SiteId> PvmSites { get; }

    public EnbId[] Cells { get; }

    public SiteId[] Sites { get; }

    public FrozenDictionary<EnbId, int> CellIndex { get; }

    public FrozenDictionary<SiteId, int> SiteIndex { get; }

    /// <summary>Rings from cell u to site a at [u * Sites + a].</summary>
    public int[] UserRings { get; }

    /// <summary><paramref name="known"/> while it still matches the configuration's cells and sites, else a new index.</summary>
    public static CellMdpIndex For(CellMdpIndex? known, McConfig config, CellGeometry geometry) =>
        known is not null && known.Matches(config) ? known : Build(config, geometry);

    /// <summary>Rings from site s to site a at [s * Sites + a].</summary>
    public int[] SiteRings { get; }

    public int[][] Neighbours { get; }

    public bool Matches(McConfig config) => ReferenceEquals(config.Cells, Geometry) && ReferenceEquals(config.PvmSites, PvmSites);

    public static CellMdpIndex Build(McConfig config, CellGeometry geometry)
    {
        var cells = geometry.Enbs.OrderBy(c => c.Value).ThenBy(c => c.Rat).ToArray();
        var sites = config.PvmSites.Where(s => s != config.CoreSite && geometry.Knows(s)).OrderBy(s => s.Value, StringComparer.Ordinal).ToArray();
        var userRings = new int[cells.Length * sites.Length];
        for (var u = 0; u < cells.Length; u++)
        {
            for (var a = 0; a < sites.Length; a++)
            {
                userRings[(u * sites.Length) + a] = geometry.Rings(cells[u], sites[a]) ?? 0;
            }
        }

        var siteRings = new int[sites.Length * sites.Length];
        for (var s = 0; s < sites.Length; s++)
        {
            for (var a = 0; a < sites.Length; a++)
            {
                siteRings[(s * sites.Length) + a] = geometry.Rings(sites[s], sites[a]) ?? 0;
            }
        }

        var neighbours = new int[cells.Length][];
        for (var u = 0; u < cells.Length; u++)
        {
            // The cells within one ring; a lone cell takes the nearest ones instead.
            var list = new List<int>();
            var nearest = new List<int>();
            var nearestRings = int.MaxValue;
            for (var v = 0; v < cells.Length; v++)
            {
                if (v == u)
                {
                    continue;
                }

                var r = geometry.Rings(cells[u], cells[v]);
                if (r <= 1)
                {
                    list.Add(v);
                }

                if (r < nearestRings)
                {
                    (nearest, nearestRings) = ([v], r);
                }
                else if (r == nearestRings)
                {
                    nearest.Add(v);
                }
            }

            neighbours[u] = list.Count > 0 ? [.. list] : [.. nearest];
        }

        return new CellMdpIndex(geometry, config.PvmSites, cells, sites, userRings, siteRings, neighbours);
    }
}
