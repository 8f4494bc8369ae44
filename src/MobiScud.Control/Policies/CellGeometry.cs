using System.Collections.Frozen;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// Where the cells are, for distances in rings of cells as Wang et al.'s real-trace code measures them
/// (shiqiangw/service-migration-mdp, mainRealCellLocation.m): the straight distance between two cell centres over the
/// typical distance between neighbouring cells (<see cref="CellDistance"/>), rounded up (exact multiples kept). A site
/// counts as one cell (<c>siteCell</c>, e.g. the eNB nearest to it). With this in <see cref="McConfig.Cells"/> the
/// cost-weighing policies (myopic, mdp-threshold, predictive) decide on the distance the cost model charges, user cell
/// to PVM site, instead of backhaul hops between sites. Immutable, built once per topology and shared.
/// </summary>
public sealed class CellGeometry
{
    private readonly FrozenDictionary<EnbId, (double X, double Y)> _enbs;
    private readonly FrozenDictionary<SiteId, EnbId> _siteCell;

    // The placed sites by ordinal name with their cells' positions: a frozen dictionary enumerates in the order of its
    // keys' hashes, and a string's hash changes from process to process, so NearestSite's tie-break (two sites at one
    // cell, or cells equally far) made the same run differ between processes.
    private readonly (SiteId Site, double X, double Y)[] _placed;

    public CellGeometry(IReadOnlyDictionary<EnbId, (double X, double Y)> enbs, IReadOnlyDictionary<SiteId, EnbId> siteCell, double cellDistance)
    {
        ArgumentNullException.ThrowIfNull(enbs);
        ArgumentNullException.ThrowIfNull(siteCell);
        if (!(cellDistance > 0) || double.IsInfinity(cellDistance))
        {
            throw new ArgumentOutOfRangeException(nameof(cellDistance), cellDistance, "the cell distance must be finite and positive");
        }

        foreach (var (enb, (x, y)) in enbs)
        {
            if (!double.IsFinite(x) || !double.IsFinite(y))
            {
                throw new ArgumentException($"eNB {enb} has no finite position ({x}, {y})", nameof(enbs));
            }
        }

        foreach (var (site, cell) in siteCell)
        {
            if (!enbs.ContainsKey(cell))
            {
                throw new ArgumentException($"site '{site}' stands for cell {cell}, which has no position", nameof(siteCell));
            }
        }

        _enbs = enbs.ToFrozenDictionary();
        _siteCell = siteCell.ToFrozenDictionary();
        _placed = [.. siteCell.OrderBy(x => x.Key.Value, StringComparer.Ordinal).Select(x => (x.Key, enbs[x.Value].X, enbs[x.Value].Y))];
        CellDistance = cellDistance;
    }

    /// <summary>Typical distance between neighbouring cells (one ring), in the units of the positions.</summary>
    public double CellDistance { get; }

    public bool Knows(EnbId enb) => _enbs.ContainsKey(enb);

    /// <summary>Every placed cell (unordered).</summary>
    internal IEnumerable<EnbId> Enbs => _enbs.Keys;

    public bool Knows(SiteId site) => _siteCell.ContainsKey(site);

    /// <summary>
    /// The placed site whose cell is nearest a point; null: none placed. Of equals, any but <paramref name="lastResort"/>
    /// (the core, which shares its cell with an edge site and serves no user's cell), then the first by ordinal name.
    /// </summary>
    internal SiteId? NearestSite((double X, double Y) point, SiteId? lastResort = null)
    {
        SiteId? nearest = null;
        var best = double.MaxValue;
        foreach (var (site, cx, cy) in _placed)
        {
            var d = ((point.X - cx) * (point.X - cx)) + ((point.Y - cy) * (point.Y - cy));
            if (d < best || (d == best && nearest == lastResort))
            {
                (nearest, best) = (site, d);
            }
        }

        return nearest;
    }

    /// <summary>The cell a site counts as (null: the site is not placed).</summary>
    public EnbId? CellOf(SiteId site) => _siteCell.TryGetValue(site, out var c) ? c : null;

    /// <summary>Rings between two cells: distance over <see cref="CellDistance"/>, rounded up, exact multiples kept.</summary>
    public int Rings(EnbId a, EnbId b)
    {
        if (a == b)
        {
            return 0;
        }

        var (ax, ay) = Position(a);
        var (bx, by) = Position(b);
        var r = Math.Sqrt(((ax - bx) * (ax - bx)) + ((ay - by) * (ay - by))) / CellDistance;
        return Math.Abs(r - Math.Round(r)) < 1e-8 ? (int)Math.Round(r) : (int)Math.Ceiling(r);
    }

    /// <summary>Rings from a user's cell to a site's cell (null when either is not placed).</summary>
    public int? Rings(EnbId user, SiteId site) =>
        _enbs.ContainsKey(user) && _siteCell.TryGetValue(site, out var cell) ? Rings(user, cell) : null;

    /// <summary>Rings between two sites' cells (null when either is not placed).</summary>
    public int? Rings(SiteId a, SiteId b) =>
        a == b ? 0 : _siteCell.TryGetValue(a, out var ca) && _siteCell.TryGetValue(b, out var cb) ? Rings(ca, cb) : null;

    /// <summary>Rings from a point (in the units of the positions) to a site's cell (null when the site is not placed).</summary>
    public int? Rings((double X, double Y) point, SiteId site)
    {
        if (!_siteCell.TryGetValue(site, out var cell))
        {
            return null;
        }

        var (cx, cy) = Position(cell);
        var r = Math.Sqrt(((point.X - cx) * (point.X - cx)) + ((point.Y - cy) * (point.Y - cy))) / CellDistance;
        return Math.Abs(r - Math.Round(r)) < 1e-8 ? (int)Math.Round(r) : (int)Math.Ceiling(r);
    }

    /// <summary>Where a cell is (null: not placed).</summary>
    public (double X, double Y)? PositionOf(EnbId enb) => _enbs.TryGetValue(enb, out var p) ? p : null;

    private (double X, double Y) Position(EnbId enb) =>
        _enbs.TryGetValue(enb, out var p) ? p : throw new KeyNotFoundException($"cell {enb} has no position in the cell geometry");
}
