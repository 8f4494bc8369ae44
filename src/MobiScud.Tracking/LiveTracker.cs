using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Tracking;

/// <summary>
/// The tracker's state as the one thread that feeds it holds it: the UEs and their lookups in a mutable
/// <see cref="UeStore"/>, changed in place by <see cref="UeTracker"/>'s handlers, so a message that changes nothing
/// allocates nothing. The immutable <see cref="TrackerState"/> is built only when a host asks (<see cref="Snapshot"/>:
/// replay's summary, serve's API, tests), from the last snapshot and what changed since.
/// </summary>
/// <remarks>Not thread-safe: one thread feeds it (TrackerFeed's, or the caller of <see cref="UeTracker.Apply(TrackerState, TrackerInput)"/>).
/// The eNB, session and pending maps change rarely (a new cell, S1 Setup, S11), so they stay immutable values (<see cref="Maps"/>).</remarks>
internal sealed class LiveTracker
{
    private TrackerState? _snapshot;

    private LiveTracker(TrackerState state)
    {
        Index = UeStore.From(state.Index);
        Maps = state with { Index = UeIndex.Empty };
        _snapshot = state;
    }

    public LiveTracker()
        : this(TrackerState.Empty)
    {
    }

    /// <summary>A tracker that goes on from <paramref name="state"/> (whose snapshot, until it changes, is that state).</summary>
    public static LiveTracker From(TrackerState state) => new(state);

    public UeStore Index { get; }

    /// <summary>
    /// The rest of the state as one immutable value: the eNB, session and pending maps, the configured eNBs and the next
    /// key. Its Index is always empty: the UEs are in <see cref="Index"/>.
    /// </summary>
    public TrackerState Maps { get; set; }

    /// <summary>Whether <paramref name="state"/> is this tracker's current state (its last snapshot, unchanged since).</summary>
    public bool IsAt(TrackerState state) => ReferenceEquals(_snapshot, state);

    public void Configure(ImmutableHashSet<EnbId> configured)
    {
        Maps = Maps with { ConfiguredEnbs = configured };
        _snapshot = null;
    }

    /// <summary>A step changed something: the next snapshot is a new state.</summary>
    public void Changed() => _snapshot = null;

    /// <summary>The state now, immutable; the same object until the tracker changes.</summary>
    public TrackerState Snapshot() => _snapshot ??= Maps with { Index = Index.Snapshot() };
}

/// <summary>What one input did to a <see cref="LiveTracker"/>: the MC events, the notes, and whether the state changed.</summary>
internal readonly record struct TrackerChanges(IReadOnlyList<UeEvent> Events, IReadOnlyList<TrackerNote> Notes, bool Changed)
{
    public static TrackerChanges None => new([], [], false);
}
