using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Simulation.Topology;

internal static class TopologyCells
{
    /// <summary>
    /// The topology's cells for the core's policies: every eNB at its position, each site (and the core DC) as the cell
    /// nearest to it, the median nearest-neighbour distance as one ring: the same distances <see cref="NetworkTopology.Rings"/>
    /// gives the cost score.
    /// </summary>
    public static CellGeometry ToCellGeometry(this NetworkTopology topology)
    {
        var enbs = topology.Enbs.ToDictionary(e => e.Id, e => (e.X, e.Y));
        var siteCell = new Dictionary<SiteId, EnbId>();
        for (var s = 0; s < topology.Sites.Count; s++)
        {
            siteCell[topology.Sites[s].Id] = topology.Enbs[topology.SiteCell(s)].Id;
        }

        siteCell[NetworkTopology.CoreSite] = topology.Enbs[topology.SiteCell(topology.Sites.Count)].Id;
        return new CellGeometry(enbs, siteCell, topology.CellDistance);
    }
}
