using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// The line of cells that predictive's trajectory tests share: E(x) at (x, 0) for x = -5..12, one ring apart; site W
/// counts as E(-3), N as E(2), F as E(5), the core as E(12). Switch sites: x &lt;= -2 W, -1..3 N, 4.. F.
/// </summary>
internal static class LineOfCells
{
    public static readonly SiteId W = new("site-w");
    public static readonly SiteId N = new("site-n");
    public static readonly SiteId F = new("site-f");
    public static readonly SiteId Core = new("core");

    public static EnbId E(int x) => new((uint)(0x600 + x + 5));

    public static readonly CellGeometry Cells = new(
        Enumerable.Range(-5, 18).ToDictionary(E, x => ((double)x, 0.0)),
        new Dictionary<SiteId, EnbId> { [W] = E(-3), [N] = E(2), [F] = E(5), [Core] = E(12) },
        1);

    /// <summary>The controller's configuration on this line under <paramref name="policy"/>.</summary>
    public static McConfig Config(PolicyConfig policy) =>
        new(Enumerable.Range(-5, 18).ToDictionary(E, x => x <= -2 ? W : x <= 3 ? N : F), Core)
        {
            Policy = policy,
            Cells = Cells,
        };

    /// <summary>
    /// A walker that crossed E(1) in 30 s (two cells a minute) and just arrived at E(2), its PVM far behind at W, with
    /// <paramref name="headingSteps"/> steady steps and the packed <paramref name="turns"/> (HeadingStats.Push).
    /// </summary>
    public static UeState Walker(int headingSteps, ulong turns = 0) => new()
    {
        Ue = new UeId("imsi-001010000000009"),
        Connection = ConnectionState.Connected,
        ServingEnb = E(2),
        ServingSince = TimeSpan.FromSeconds(600),
        PreviousEnb = E(1),
        PreviousSince = TimeSpan.FromSeconds(570),
        EarlierEnb = E(0),
        HeadingSteps = headingSteps,
        RecentTurns = turns,
        PvmStatus = PvmStatus.Running,
        PvmSite = W,
    };
}
