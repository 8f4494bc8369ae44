using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>One inter-eNB move the tracker saw: the UE left <see cref="From"/> for <see cref="To"/> after <see cref="Dwell"/> there.</summary>
public sealed record HandoverObservation(TimeSpan At, EnbId From, EnbId To, TimeSpan Dwell)
{
    /// <summary>The UE's turns before this handover (<see cref="UeState.RecentTurns"/>); 0: unknown.</summary>
    public ulong PriorTurns { get; init; }

    /// <summary>The turn (degrees) this handover made from the UE's step into <see cref="From"/>; null: unknown (no cell positions, no earlier cell).</summary>
    public int? Turn { get; init; }

    /// <summary>The cell the UE was in before <see cref="From"/> (<see cref="UeState.PreviousEnb"/>); null: unknown. Keys <see cref="MobilityStats.ByPath"/>.</summary>
    public EnbId? Earlier { get; init; }
}

/// <summary>What was learned about one eNB in one hour of the day: where UEs went next and how long they stayed.</summary>
public sealed record EnbMobility(ImmutableDictionary<EnbId, int> Next, int Departures, double DwellSeconds)
{
    public static EnbMobility Empty { get; } = new(ImmutableDictionary<EnbId, int>.Empty, 0, 0);

    /// <summary>Mean time a UE stayed at the eNB before leaving, or null before any departure.</summary>
    public TimeSpan? MeanDwell => Departures == 0 ? null : TimeSpan.FromSeconds(DwellSeconds / Departures);

    /// <summary>The share of departures that went to <paramref name="next"/>.</summary>
    public double ShareTo(EnbId next) => Departures == 0 ? 0 : Next.GetValueOrDefault(next) / (double)Departures;
}

/// <summary>
/// Handover transition statistics learned online: per eNB and per hour of the day, the next eNB and the dwell time.
/// A pure fold (<see cref="Observe"/>) that the host keeps across UEs and passes to the core in
/// <see cref="PolicyFacts.Mobility"/>, because a decision concerns one UE but the statistics are everyone's.
/// Immutable, so a host may hand the same value to many decisions (and grains) at once.
/// </summary>
public sealed record MobilityStats
{
    public static MobilityStats Empty { get; } = new();

    /// <summary>Key: (eNB, hour of day 0..23).</summary>
    public ImmutableDictionary<(EnbId Enb, int Hour), EnbMobility> ByEnbHour { get; init; } = ImmutableDictionary<(EnbId, int), EnbMobility>.Empty;

    /// <summary>All hours together, for an hour with too few observations.</summary>
    public ImmutableDictionary<EnbId, EnbMobility> ByEnb { get; init; } = ImmutableDictionary<EnbId, EnbMobility>.Empty;

    public long Observations { get; init; }

    /// <summary>
    /// Second-order transitions, all hours together: (the cell before, the cell left) -> next cell counts. Taxis follow
    /// roads, so where a user came from tells which way it leaves a cell, which the first-order counts cannot.
    /// </summary>
    public ImmutableDictionary<(EnbId Earlier, EnbId From), ImmutableDictionary<EnbId, int>> ByPath { get; init; } =
        ImmutableDictionary<(EnbId, EnbId), ImmutableDictionary<EnbId, int>>.Empty;

    /// <summary>How often a heading held after each kind of history (predictive's trajectory gate).</summary>
    public HeadingStats Headings { get; init; } = HeadingStats.Empty;

    /// <summary>The distribution of the dwells, per eNB and over all (predictive's timing: when a user leaves its cell).</summary>
    public DwellStats Dwells { get; init; } = DwellStats.Empty;

    /// <summary>How long users stay in a cell between handovers, per way in (the semi-Markov plan's sojourns).</summary>
    public StayStats Stays { get; init; } = StayStats.Empty;

    /// <summary>The semi-Markov plan's solution (<see cref="PredictivePlan.Smdp"/>; re-solved by the host with <see cref="HandoverSmdp.Observe"/>).</summary>
    public HandoverSmdp Smdp { get; init; } = HandoverSmdp.Empty;

    /// <summary>How often predictive's moves met their user, by class (folded by the host from <see cref="MoveOutcomeStats.OutcomeOf"/>).</summary>
    public MoveOutcomeStats MoveOutcomes { get; init; } = MoveOutcomeStats.Empty;

    /// <summary>Where users of each cell are one slot later, and the 2-D MDP on it (predictive's <see cref="PredictivePlan.Mdp2d"/>; folded by the host with <see cref="CellChain.Observe"/>).</summary>
    public CellChain Chain { get; init; } = CellChain.Empty;

    /// <summary>The dwell of every observation together, for the mean over all eNBs.</summary>
    public double TotalDwellSeconds { get; init; }

    /// <summary>Mean dwell at an eNB over everything observed, or null before any observation.</summary>
    public TimeSpan? MeanDwell => Observations == 0 ? null : TimeSpan.FromSeconds(TotalDwellSeconds / Observations);

    /// <summary>The hour of the day of a time since the epoch of the host's clock (the simulator's start, a capture's first packet).</summary>
    public static int HourOf(TimeSpan at) => (int)((at.Ticks / TimeSpan.TicksPerHour) % 24 + 24) % 24;

    /// <summary>The statistics with one more observed handover.</summary>
    public static MobilityStats Observe(MobilityStats stats, HandoverObservation o)
    {
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(o);
        if (o.From == o.To || o.Dwell < TimeSpan.Zero)
        {
            // Not a move (a re-establishment at the same eNB) or a clock that ran backwards: nothing to learn.
            return stats;
        }

        var key = (o.From, HourOf(o.At));
        return stats with
        {
            ByEnbHour = stats.ByEnbHour.SetItem(key, Add(stats.ByEnbHour.GetValueOrDefault(key) ?? EnbMobility.Empty, o)),
            ByEnb = stats.ByEnb.SetItem(o.From, Add(stats.ByEnb.GetValueOrDefault(o.From) ?? EnbMobility.Empty, o)),
            Observations = stats.Observations + 1,
            TotalDwellSeconds = stats.TotalDwellSeconds + o.Dwell.TotalSeconds,
            Dwells = stats.Dwells.Observe(o.From, o.Dwell),
            Stays = stats.Stays.Observe(o.Earlier, o.From, o.Dwell),
            Headings = o.Turn is { } turn ? stats.Headings.Observe(o.PriorTurns, turn) : stats.Headings,
            ByPath = o.Earlier is { } earlier && earlier != o.From ? AddPath(stats.ByPath, (earlier, o.From), o.To) : stats.ByPath,
        };
    }

    /// <summary>
    /// The most likely next cell of a user in <paramref name="from"/> that came from <paramref name="earlier"/>: the
    /// second-order counts' most frequent when that pair was seen, else the first-order one (<see cref="At"/>); the
    /// smaller eNB id wins a tie, so the guess is deterministic. Null when nothing left <paramref name="from"/> yet.
    /// </summary>
    public EnbId? LikelyNext(EnbId? earlier, EnbId from, TimeSpan at, int minDepartures)
    {
        var next = earlier is { } e && ByPath.TryGetValue((e, from), out var path) && path.Count > 0
            ? path
            : At(from, at, minDepartures).Next;
        EnbId? best = null;
        var bestCount = 0;
        foreach (var (cell, count) in next)
        {
            if (count > bestCount || (count == bestCount && best is { } b && cell.Value < b.Value))
            {
                (best, bestCount) = (cell, count);
            }
        }

        return best;
    }

    private static ImmutableDictionary<(EnbId, EnbId), ImmutableDictionary<EnbId, int>> AddPath(
        ImmutableDictionary<(EnbId, EnbId), ImmutableDictionary<EnbId, int>> byPath, (EnbId, EnbId) key, EnbId to)
    {
        var next = byPath.GetValueOrDefault(key) ?? ImmutableDictionary<EnbId, int>.Empty;
        return byPath.SetItem(key, next.SetItem(to, next.GetValueOrDefault(to) + 1));
    }

    /// <summary>
    /// The observation an event makes, given the UE's state before it (from <see cref="UeState.ServingEnb"/> and
    /// <see cref="UeState.ServingSince"/>): a completed S1 handover or an X2 path switch to another eNB; null otherwise.
    /// With <paramref name="cells"/> (<see cref="McConfig.Cells"/>) it carries the turn the handover made, for
    /// <see cref="Headings"/>.
    /// </summary>
    public static HandoverObservation? ObservationOf(UeState? before, UeEvent e, CellGeometry? cells = null)
    {
        if (before?.ServingEnb is not { } from || before.Connection != ConnectionState.Connected)
        {
            return null;
        }

        var to = e switch
        {
            HandoverCompleted c => c.Target,
            PathSwitched p => p.Target,
            _ => (EnbId?)null,
        };
        if (to is not { } target || target == from)
        {
            return null;
        }

        var seen = new HandoverObservation(e.At, from, target, e.At - before.ServingSince) { Earlier = before.PreviousEnb };
        return cells is null ? seen : seen with { PriorTurns = before.RecentTurns, Turn = MigrationPolicies.TurnDegrees(cells, MigrationPolicies.ChordStart(before), from, target) };
    }

    /// <summary>What is known about <paramref name="enb"/> at <paramref name="at"/>: its hour's figures when they hold at least <paramref name="minDepartures"/>, else all hours'.</summary>
    public EnbMobility At(EnbId enb, TimeSpan at, int minDepartures)
    {
        if (ByEnbHour.TryGetValue((enb, HourOf(at)), out var hour) && hour.Departures >= minDepartures)
        {
            return hour;
        }

        return ByEnb.GetValueOrDefault(enb) ?? EnbMobility.Empty;
    }

    private static EnbMobility Add(EnbMobility m, HandoverObservation o) => new(
        m.Next.SetItem(o.To, m.Next.GetValueOrDefault(o.To) + 1),
        m.Departures + 1,
        m.DwellSeconds + o.Dwell.TotalSeconds);
}
