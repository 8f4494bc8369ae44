using System.Collections.Immutable;
using MobiScud.Control.Model;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking;

/// <summary>
/// The tracker's state as the one thread that feeds it holds it: the UEs and their lookups in a mutable
/// <see cref="UeStore"/>, changed in place by <see cref="UeTracker"/>'s handlers, so a message that changes nothing
/// allocates nothing. The immutable <see cref="TrackerState"/> is built only when a host asks (<see cref="Snapshot"/>:
/// replay's summary, serve's API, tests), from the last snapshot and what changed since.
/// </summary>
/// <remarks>Not thread-safe: one thread feeds it (TrackerFeed's, or the caller of <see cref="UeTracker.Apply(TrackerState, TrackerInput)"/>).
/// The eNB, session and pending maps change rarely (a new cell, S1 Setup, S11), so they stay immutable values.</remarks>
internal sealed class LiveTracker
{
    private TrackerState? _snapshot;

    private LiveTracker(TrackerState state)
    {
        Index = UeStore.From(state.Index);
        Enbs = state.Enbs;
        NamedEnbs = state.NamedEnbs;
        NamedMacroEnbs = state.NamedMacroEnbs;
        ConfiguredEnbs = state.ConfiguredEnbs;
        Sessions = state.Sessions;
        PendingCreateSessions = state.PendingCreateSessions;
        NextKey = state.NextKey;
        _snapshot = state;
    }

    public LiveTracker()
        : this(TrackerState.Empty)
    {
    }

    /// <summary>A tracker that goes on from <paramref name="state"/> (whose snapshot, until it changes, is that state).</summary>
    public static LiveTracker From(TrackerState state) => new(state);

    public UeStore Index { get; }

    public ImmutableDictionary<SctpAssociationKey, EnbIdentity> Enbs { get; set; }

    public ImmutableDictionary<EnbId, bool> NamedEnbs { get; set; }

    public int NamedMacroEnbs { get; set; }

    public ImmutableHashSet<EnbId> ConfiguredEnbs { get; private set; }

    public ImmutableDictionary<GtpEndpoint, SessionHint> Sessions { get; set; }

    public ImmutableDictionary<uint, string?> PendingCreateSessions { get; set; }

    public long NextKey { get; set; }

    /// <summary>Whether <paramref name="state"/> is this tracker's current state (its last snapshot, unchanged since).</summary>
    public bool IsAt(TrackerState state) => ReferenceEquals(_snapshot, state);

    public void Configure(ImmutableHashSet<EnbId> configured)
    {
        ConfiguredEnbs = configured;
        _snapshot = null;
    }

    /// <summary>A step changed something: the next snapshot is a new state.</summary>
    public void Changed() => _snapshot = null;

    /// <summary>The state now, immutable; the same object until the tracker changes.</summary>
    public TrackerState Snapshot() => _snapshot ??= new TrackerState
    {
        Enbs = Enbs,
        NamedEnbs = NamedEnbs,
        NamedMacroEnbs = NamedMacroEnbs,
        ConfiguredEnbs = ConfiguredEnbs,
        Index = Index.Snapshot(),
        Sessions = Sessions,
        PendingCreateSessions = PendingCreateSessions,
        NextKey = NextKey,
    };
}

/// <summary>What one input did to a <see cref="LiveTracker"/>: the MC events, the notes, and whether the state changed.</summary>
internal readonly record struct TrackerChanges(IReadOnlyList<UeEvent> Events, IReadOnlyList<TrackerNote> Notes, bool Changed)
{
    public static TrackerChanges None => new([], [], false);
}
