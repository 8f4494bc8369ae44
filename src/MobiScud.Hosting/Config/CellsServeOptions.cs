using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Hosting.Config;

/// <summary>
/// `MobiScud:Cells`: where the eNBs are, so that the policies weigh distances in rings of cells as the simulator's do
/// (<see cref="CellGeometry"/>, docs/policies.md) and predictive learns headings and move outcomes. Without positions
/// the policies count hops of the site graph.
/// </summary>
public sealed class CellsServeOptions
{
    /// <summary>Typical distance between neighbouring cells (one ring), in the units of the positions.</summary>
    public double Distance { get; set; } = 1;

    public List<CellPositionOptions> Positions { get; set; } = [];

    /// <summary>
    /// The geometry: every listed cell at its position, each site as the first cell of its <c>Enbs</c> (then
    /// <c>Gnbs</c>) that has one; the core and sites without a placed cell are not placed (hops for them). Null
    /// without positions.
    /// </summary>
    public CellGeometry? ToCellGeometry(IEnumerable<SiteOptions> sites)
    {
        ArgumentNullException.ThrowIfNull(sites);
        if (Positions.Count == 0)
        {
            return null;
        }

        var enbs = new Dictionary<EnbId, (double X, double Y)>();
        foreach (var c in Positions)
        {
            enbs[c.Id] = (c.X, c.Y);
        }

        var siteCell = new Dictionary<SiteId, EnbId>();
        foreach (var site in sites)
        {
            var cells = site.Enbs.Select(e => new EnbId(e)).Concat(site.Gnbs.Select(g => new EnbId(g, Rat.Nr)));
            if (!siteCell.ContainsKey(new SiteId(site.Name)) && cells.Where(enbs.ContainsKey).Select(e => (EnbId?)e).FirstOrDefault() is { } cell)
            {
                siteCell[new SiteId(site.Name)] = cell;
            }
        }

        return new CellGeometry(enbs, siteCell, Distance);
    }

    /// <summary>Configuration errors, each naming its key (empty when the options are valid).</summary>
    public IEnumerable<string> Problems()
    {
        const string p = MobiScudOptions.Section + ":Cells";
        if (!(Distance > 0) || double.IsInfinity(Distance))
        {
            yield return $"{p}:Distance must be finite and positive (was {Distance})";
        }

        var seen = new HashSet<EnbId>();
        for (var i = 0; i < Positions.Count; i++)
        {
            var c = Positions[i];
            if (c.Enb is null == c.Gnb is null)
            {
                yield return $"{p}:Positions:{i} needs exactly one of Enb and Gnb";
                continue;
            }

            if (!double.IsFinite(c.X) || !double.IsFinite(c.Y))
            {
                yield return $"{p}:Positions:{i} ({c.Id}) needs a finite X and Y";
            }

            if (!seen.Add(c.Id))
            {
                yield return $"{p}:Positions:{i} places {c.Id} a second time";
            }
        }
    }
}

/// <summary>Where one cell is (any planar units, e.g. metres east and north of a reference point).</summary>
public sealed class CellPositionOptions
{
    /// <summary>The eNB id as the tracker reports it (or <see cref="Gnb"/> for an NR node).</summary>
    public uint? Enb { get; set; }

    public uint? Gnb { get; set; }

    public double X { get; set; }

    public double Y { get; set; }

    internal EnbId Id => Gnb is { } g ? new EnbId(g, Rat.Nr) : new EnbId(Enb ?? 0);
}
