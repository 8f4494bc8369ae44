using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// Predictive's admission by expected completion: a migration shares its route's links with the user traffic and the
/// migrations already on them. One that cannot finish before the MC's migration deadline is cancelled there, and its
/// bytes are lost; one that finishes late serves the user from far away meanwhile. So predictive estimates the
/// transfer time from the facts and refuses a move that would not finish in time.
/// </summary>
public static partial class MigrationPolicies
{
    /// <summary>What user traffic always leaves to migrations on a link (TCP flows share; as the simulator's model).</summary>
    private const double MinimumMigrationFraction = 0.1;

    /// <summary>
    /// Seconds a migration from <paramref name="from"/> to <paramref name="to"/> would take if started now:
    /// <see cref="PolicyConfig.MigrationBytes"/> over the share it would get, on the bottleneck link of its route, of
    /// what user traffic leaves (<see cref="PolicyFacts.LinkBackground"/>) split with the migrations already there
    /// (<see cref="PolicyFacts.LinkMigrations"/>), capped at <see cref="PolicyConfig.MigrationBytesPerSecond"/>.
    /// Null when unknown (no bytes configured, no graph, a site the graph does not know).
    /// </summary>
    public static double? ExpectedMigrationSeconds(McConfig config, PolicyFacts facts, SiteId from, SiteId to)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(facts);
        var policy = config.Policy;
        if (policy.MigrationBytes <= 0 || from == to || config.Sites is not { } graph || !graph.Contains(from) || !graph.Contains(to))
        {
            return null;
        }

        var rate = policy.MigrationBytesPerSecond > 0 ? policy.MigrationBytesPerSecond : double.PositiveInfinity;
        foreach (var link in graph.Path(from, to))
        {
            var capacity = graph.Links[link].CapacityGbps * 1e9 / 8;
            var background = facts.LinkBackground is { } bg && link < bg.Count && !double.IsNaN(bg[link]) ? Math.Clamp(bg[link], 0, 1) : 0;
            var others = facts.LinkMigrations is { } m && link < m.Count ? Math.Max(0, m[link]) : 0;
            rate = Math.Min(rate, Math.Max(MinimumMigrationFraction, 1 - background) * capacity / (others + 1));
        }

        return double.IsPositiveInfinity(rate) ? 0 : policy.MigrationBytes / rate;
    }

    /// <summary>
    /// True when a move may start: its expected transfer time is unknown, or there is no deadline, or it fits within
    /// <see cref="PolicyConfig.DeadlineShare"/> of <see cref="McConfig.MigrationDeadline"/>.
    /// </summary>
    private static bool FinishesInTime(McConfig config, double? seconds) =>
        seconds is not { } t || config.MigrationDeadline is not { } deadline || t <= config.Policy.DeadlineShare * deadline.TotalSeconds;
}
