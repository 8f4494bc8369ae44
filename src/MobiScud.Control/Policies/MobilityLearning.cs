using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>The outcome of one of predictive's watched moves: its class (<see cref="MoveOutcomeStats.ClassOf"/>) and whether it met its user.</summary>
public sealed record MoveOutcomeObservation(int Class, bool Met);

/// <summary>
/// What one decision teaches the learned statistics: the handover its event made (seen before deciding) and what became
/// of the UE's watched move (seen after). The unit a host keeps, folds and, in serve, sends to the cluster's store,
/// which folds the same lessons with <see cref="MobilityLearning.Fold"/>, so what is persisted is exactly what was learned.
/// </summary>
public sealed record MobilityLesson
{
    public HandoverObservation? Handover { get; init; }

    public MoveOutcomeObservation? Outcome { get; init; }
}

/// <summary>
/// The MC's one learning step, shared by every host (simulator and replay through <see cref="SingleThreadedMc"/>, serve
/// through its UE grains): <see cref="Before"/> the decision with the UE's state before the event, <see cref="After"/>
/// with the states before and after it, each lesson folded into <see cref="MobilityStats"/> with <see cref="Fold"/>.
/// Pure: the same states and events teach every host the same thing.
/// </summary>
public static class MobilityLearning
{
    /// <summary>What the event teaches before it is decided (the handover it makes, with its turn when the cells are known); null: nothing.</summary>
    public static MobilityLesson? Before(McConfig config, UeState? current, UeEvent e)
    {
        ArgumentNullException.ThrowIfNull(config);
        return MobilityStats.ObservationOf(current, e, config.Cells) is { } seen ? new MobilityLesson { Handover = seen } : null;
    }

    /// <summary>What the decision teaches, from the UE's states before and after it (the outcome of its watched move); null: nothing.</summary>
    public static MobilityLesson? After(McConfig config, UeState? current, UeState? decided)
    {
        ArgumentNullException.ThrowIfNull(config);
        return current?.MoveWatch is { } watch && MoveOutcomeStats.OutcomeOf(config, current, decided) is var outcome
            && outcome is MoveOutcome.Met or MoveOutcome.Missed
            ? new MobilityLesson { Outcome = new MoveOutcomeObservation(watch.Class, outcome == MoveOutcome.Met) }
            : null;
    }

    /// <summary>The statistics with one more lesson.</summary>
    public static MobilityStats Fold(MobilityStats stats, MobilityLesson lesson)
    {
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(lesson);
        if (lesson.Handover is { } seen)
        {
            stats = MobilityStats.Observe(stats, seen);
        }

        if (lesson.Outcome is { } o && o.Class is >= 0 and < MoveOutcomeStats.Classes)
        {
            stats = stats with { MoveOutcomes = stats.MoveOutcomes.Observe(o.Class, o.Met) };
        }

        return stats;
    }
}
