using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>A completed or in-flight move the MC waits to see meet its user: its class (<see cref="MoveOutcomeStats.ClassOf"/>) and its target.</summary>
public sealed record MoveWatch(int Class, SiteId Target);

/// <summary>What became of a watched move (<see cref="MoveOutcomeStats.OutcomeOf"/>).</summary>
public enum MoveOutcome
{
    /// <summary>Nothing is watched, or the watched move has not met its user yet and may still.</summary>
    Pending,

    /// <summary>The move never completed (cancelled, failed, replaced while on the wire): not a move that could meet.</summary>
    Dropped,

    /// <summary>The PVM was at its target and the user was served by an eNB of that site.</summary>
    Met,

    /// <summary>The PVM left its target, or the user went idle or detached, before the user was served there.</summary>
    Missed,
}

/// <summary>
/// How often predictive's moves met their user, learned from what the MC itself observes: a move completed, and did
/// the user's serving eNB then map to the PVM's site before the PVM moved again or the user went idle? Counted per
/// class known when the move is decided (<see cref="ClassOf"/>: where the target lies against the user's view, how far
/// the heading statistics trust the user's heading, how many rings the target lies from the user's cell), with a Beta
/// prior (<see cref="PolicyConfig.MoveOutcomePrior"/>, <see cref="PolicyConfig.MoveOutcomePriorWeight"/>). A move's
/// expected saving is its saving times its class's met rate (<see cref="MetRate"/>): a move that misses its user pays
/// its migration and serves nobody better. A pure, immutable fold, carried in <see cref="MobilityStats.MoveOutcomes"/>.
/// </summary>
public sealed class MoveOutcomeStats
{
    /// <summary>Where the target lies: the user's serving site, its handover target's site, or elsewhere (ahead, on a plan).</summary>
    public const int Kinds = 3;

    /// <summary>Trust buckets: heading not known yet, right under 1/2, under 3/4, at least 3/4 of the time.</summary>
    public const int TrustBuckets = 4;

    /// <summary>Rings from the user's cell to the target: 0, 1, 2, 3 or more.</summary>
    public const int RingBuckets = 4;

    public const int Classes = Kinds * TrustBuckets * RingBuckets;

    public static MoveOutcomeStats Empty { get; } = new(new long[Classes], new long[Classes]);

    private readonly long[] _seen;
    private readonly long[] _met;

    private MoveOutcomeStats(long[] seen, long[] met) => (_seen, _met) = (seen, met);

    /// <summary>Outcomes observed (met or missed), all classes together.</summary>
    public long Observations { get; private init; }

    /// <summary>Outcomes observed in a class.</summary>
    public long Seen(int moveClass) => _seen[Check(moveClass)];

    /// <summary>Of <see cref="Seen"/>, the moves that met their user.</summary>
    public long Met(int moveClass) => _met[Check(moveClass)];

    /// <summary>Statistics from persisted counts per class (<see cref="Seen"/>, <see cref="Met"/>); every outcome counts in one class.</summary>
    public static MoveOutcomeStats FromCounts(IReadOnlyList<long> seen, IReadOnlyList<long> met)
    {
        ArgumentNullException.ThrowIfNull(seen);
        ArgumentNullException.ThrowIfNull(met);
        if (seen.Count != Classes || met.Count != Classes)
        {
            throw new ArgumentException($"move outcome counts need {Classes} classes each (seen {seen.Count}, met {met.Count})", nameof(seen));
        }

        return new MoveOutcomeStats([.. seen], [.. met]) { Observations = seen.Sum() };
    }

    /// <summary>The class's met rate, the Beta(prior x weight, (1 - prior) x weight) posterior mean.</summary>
    public double MetRate(int moveClass, double prior, double priorWeight) =>
        (Met(moveClass) + (prior * priorWeight)) / (Seen(moveClass) + priorWeight);

    /// <summary>The statistics with one more outcome of a move of <paramref name="moveClass"/>.</summary>
    public MoveOutcomeStats Observe(int moveClass, bool met)
    {
        Check(moveClass);
        var seen = (long[])_seen.Clone();
        var metCounts = (long[])_met.Clone();
        seen[moveClass]++;
        metCounts[moveClass] += met ? 1 : 0;
        return new MoveOutcomeStats(seen, metCounts) { Observations = Observations + 1 };
    }

    /// <summary>The class index of a (kind 0..2, trust bucket 0..3, rings bucket 0..3).</summary>
    public static int Index(int kind, int trust, int rings) =>
        kind is >= 0 and < Kinds && trust is >= 0 and < TrustBuckets && rings >= 0
            ? (((kind * TrustBuckets) + trust) * RingBuckets) + Math.Min(rings, RingBuckets - 1)
            : throw new ArgumentOutOfRangeException(nameof(kind), $"no move class ({kind}, {trust}, {rings}): kind 0..{Kinds - 1}, trust 0..{TrustBuckets - 1}, rings >= 0");

    /// <summary>
    /// The class of a move of <paramref name="s"/>'s PVM to <paramref name="target"/>, as predictive judges the user:
    /// from its handover's target when one is prepared (and pre-copy on prepare is on), else from its serving cell.
    /// Null without a serving cell or cell positions (no class: the move is neither weighted nor watched).
    /// </summary>
    public static int? ClassOf(McConfig config, PolicyFacts facts, UeState s, SiteId target)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(s);
        if (config.Cells is not { } cells || s.ServingEnb is not { } serving)
        {
            return null;
        }

        var policy = config.Policy;
        var pending = policy.PreCopyOnPrepare && s.Connection == ConnectionState.Connected ? s.PendingHandover : null;
        var enb = pending?.Target ?? serving;
        var kind = config.SwitchSiteFor(serving) == target ? 0
            : pending is { } p && config.SwitchSiteFor(p.Target) == target ? 1
            : 2;
        var turns = pending is { } h ? HeadingStats.Push(s.RecentTurns, MigrationPolicies.TurnDegrees(cells, MigrationPolicies.ChordStart(s), serving, h.Target)) : s.RecentTurns;
        var trust = facts.Mobility.Headings.Trust(turns, policy.TrajectoryMinSeen) switch
        {
            null => 0,
            < 0.5 => 1,
            < 0.75 => 2,
            _ => 3,
        };
        var rings = cells.Rings(enb, target) ?? config.Hops(config.SwitchSiteFor(enb), target);
        return Index(kind, trust, Math.Max(0, rings));
    }

    /// <summary>
    /// The met rate predictive weighs a move's saving by: the class's learned rate, 1 (every move meets, as before
    /// this statistic) when the policy does not weigh outcomes or the move has no class.
    /// </summary>
    public static double Weight(McConfig config, PolicyFacts facts, UeState s, SiteId target)
    {
        ArgumentNullException.ThrowIfNull(config);
        var policy = config.Policy;
        return policy.MoveOutcomes && ClassOf(config, facts, s, target) is { } c
            ? facts.Mobility.MoveOutcomes.MetRate(c, policy.MoveOutcomePrior, policy.MoveOutcomePriorWeight)
            : 1;
    }

    /// <summary>
    /// What became of <paramref name="before"/>'s watched move (<see cref="UeState.MoveWatch"/>) by
    /// <paramref name="after"/> (null: the UE is gone). The host folds Met and Missed into the statistics.
    /// </summary>
    public static MoveOutcome OutcomeOf(McConfig config, UeState? before, UeState? after)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (before?.MoveWatch is not { } watch)
        {
            return MoveOutcome.Pending;
        }

        // The PVM had landed at the target before this decision (else the move was still on the wire).
        var landed = before.Migration is null && before.PvmSite == watch.Target;
        if (after is null || after.PvmStatus == PvmStatus.None)
        {
            return landed ? MoveOutcome.Missed : MoveOutcome.Dropped;
        }

        if (after.Migration is { } m && !landed)
        {
            // Still on the wire to the target: wait; anything else replaced or cancelled it.
            return m.To == watch.Target && !m.Cancelling && m.From == before.Migration?.From ? MoveOutcome.Pending : MoveOutcome.Dropped;
        }

        if (after.PvmSite != watch.Target || after.Migration is not null)
        {
            // Landed and now leaving (or gone from) the target; or never landed (a cancel, a failure).
            return landed ? MoveOutcome.Missed : MoveOutcome.Dropped;
        }

        if (after.Connection == ConnectionState.Connected && after.ServingEnb is { } serving && config.SwitchSiteFor(serving) == watch.Target)
        {
            return MoveOutcome.Met;
        }

        return after.Connection == ConnectionState.Connected ? MoveOutcome.Pending : MoveOutcome.Missed;
    }

    /// <summary>
    /// The state with its watch kept up to date after a decision: a resolved move is no longer watched, and a migration
    /// the decision started is watched, with the class it had when it was decided (same state and facts as the verdict).
    /// Only predictive with <see cref="PolicyConfig.MoveOutcomes"/> watches.
    /// </summary>
    public static UeState Track(McConfig config, PolicyFacts facts, UeState? before, UeState after)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(after);
        if (config.Policy.Kind != PolicyKind.Predictive || !config.Policy.MoveOutcomes)
        {
            return after;
        }

        var watch = after.MoveWatch;
        if (watch is not null && OutcomeOf(config, before, after) != MoveOutcome.Pending)
        {
            watch = null;
        }

        if (after.Migration is { Cancelling: false } m && m.Id != before?.Migration?.Id)
        {
            watch = ClassOf(config, facts, after, m.To) is { } c ? new MoveWatch(c, m.To) : null;
        }

        return ReferenceEquals(watch, after.MoveWatch) ? after : after with { MoveWatch = watch };
    }

    private static int Check(int moveClass) =>
        moveClass is >= 0 and < Classes ? moveClass : throw new ArgumentOutOfRangeException(nameof(moveClass), moveClass, $"no move class {moveClass}: 0..{Classes - 1}");
}
