using System.Collections.Immutable;
using System.Net;
using MobiScud.Control.Model;

namespace MobiScud.Control;

public enum ConnectionState
{
    Connected,
    Idle,
    Detached,
}

/// <summary>What the MC believes the hypervisor is doing with the PVM; changed only by commands sent and outcomes heard.</summary>
public enum PvmStatus
{
    /// <summary>No PVM exists (never created, or lost in a crash).</summary>
    None,

    /// <summary>CreatePvm sent; waiting for PvmStarted.</summary>
    Creating,

    Running,

    /// <summary>ResumePvm sent; waiting for PvmStarted.</summary>
    Resuming,

    Suspended,
}

/// <summary>
/// A live migration in flight. The PVM runs at <see cref="From"/> until the hypervisor reports the switch-over.
/// <see cref="RetryLater"/> marks a cancel that counts as a failure (deadline passed), to be retried after back-off.
/// </summary>
public sealed record MigrationInFlight(MigrationId Id, SiteId From, SiteId To, TimeSpan StartedAt, bool Cancelling, bool RetryLater = false);

/// <summary>
/// A switch rejected or did not confirm <see cref="Intent"/> (the steering last sent). A retry is due at
/// <see cref="RetryAt"/> (timer token <see cref="RetryTimer"/>) unless a newer intent replaces it first.
/// </summary>
public sealed record SteeringFault(SteeringIntent Intent, SiteId Site, string Reason, TimeSpan At, long RetryTimer, TimeSpan RetryAt);

public sealed record PendingHandover(EnbId Source, EnbId Target, HandoverKind Kind, TimeSpan At);

/// <summary>
/// One UE as the MC knows it. Immutable: every decision returns a new value, so a grain can persist it before the
/// commands go out and a test can compare any two.
/// </summary>
public sealed record UeState
{
    public required UeId Ue { get; init; }

    public string? Imsi { get; init; }

    public IPAddress? UeAddress { get; init; }

    public ConnectionState Connection { get; init; }

    public EnbId? ServingEnb { get; init; }

    public ImmutableArray<Bearer> Bearers { get; init; } = [];

    public PendingHandover? PendingHandover { get; init; }

    public PvmId Pvm => PvmId.For(Ue);

    public PvmStatus PvmStatus { get; init; }

    /// <summary>Where the PVM runs (or will run once created/resumed); null when no PVM exists.</summary>
    public SiteId? PvmSite { get; init; }

    public IPAddress? PvmAddress { get; init; }

    /// <summary>Set when an operator pinned the PVM: placement ignores the strategy.</summary>
    public SiteId? PinnedSite { get; init; }

    public MigrationInFlight? Migration { get; init; }

    /// <summary>No new migration starts before this time (after a failure).</summary>
    public TimeSpan MigrationBlockedUntil { get; init; }

    /// <summary>The steering last sent to a switch; null when none is installed.</summary>
    public SteeringIntent? Steering { get; init; }

    /// <summary>Set when a switch reported <see cref="Steering"/> failed: it is not installed, and a retry is pending.</summary>
    public SteeringFault? SteeringFault { get; init; }

    /// <summary>Consecutive failures of the same steering (the retry back-off's exponent); 0 once other steering is sent.</summary>
    public int SteeringFailures { get; init; }

    /// <summary>Steering was sent and no switch reported it failed (a switch does not confirm success to the MC).</summary>
    public bool SteeringInstalled => Steering is not null && SteeringFault is null;

    public int MigrationSequence { get; init; }

    public long TimerToken { get; init; }

    /// <summary>The token of the idle-suspend timer now armed (0: none).</summary>
    public long IdleTimer { get; init; }

    /// <summary>The UE has been idle past the configured time: its PVM should be suspended.</summary>
    public bool IdleExpired { get; init; }

    public long MigrationTimer { get; init; }

    public int SteeringVersion { get; init; }

    public TimeSpan LastEventAt { get; init; }

    /// <summary>When the UE arrived at its serving eNB (attach, service request or handover); learned dwell times and hysteresis count from here.</summary>
    public TimeSpan ServingSince { get; init; }

    /// <summary>The eNB that served the UE before <see cref="ServingEnb"/> (the last handover's source; null: none yet): with the cell positions, predictive's heading.</summary>
    public EnbId? PreviousEnb { get; init; }

    /// <summary>When the UE arrived at <see cref="PreviousEnb"/>: up to <see cref="ServingSince"/>, how long it took to cross that cell.</summary>
    public TimeSpan PreviousSince { get; init; }

    /// <summary>The eNB that served the UE before <see cref="PreviousEnb"/> (null: none yet): with it, predictive can tell a steady heading from a turn or a ping-pong.</summary>
    public EnbId? EarlierEnb { get; init; }

    /// <summary>Consecutive handovers up to <see cref="ServingEnb"/> that kept a steady heading (each turned at most the policy's TrajectoryMaxTurn from the one before; 0 without cell positions).</summary>
    public int HeadingSteps { get; init; }

    /// <summary>
    /// The turns (degrees) of the user's last handovers, newest in the low byte, each stored as turn + 1 (0: unknown):
    /// predictive learns how often a heading held after such a history (<see cref="Policies.HeadingStats"/>).
    /// </summary>
    public ulong RecentTurns { get; init; }

    /// <summary>When the UE arrived at the site that now serves it (handovers within a site do not reset it).</summary>
    public TimeSpan SiteSince { get; init; }

    /// <summary>Inter-site handovers since the UE was last served by the site its PVM is at (hysteresis counts these).</summary>
    public int HandoversAway { get; init; }

    /// <summary>The token of the policy's review timer now armed (0: none): a policy that holds back now may follow later.</summary>
    public long PolicyTimer { get; init; }

    /// <summary>When the armed review timer (<see cref="PolicyTimer"/>) is due.</summary>
    public TimeSpan PolicyReviewAt { get; init; }

    /// <summary>A PVM whose creation failed (no site had room, a boot failure) is asked for again from this time, not at once.</summary>
    public TimeSpan CreateBlockedUntil { get; init; }

    /// <summary>Predictive's last move, watched until it meets the user or cannot any more (<see cref="Policies.MoveOutcomeStats"/>); null: none.</summary>
    public Policies.MoveWatch? MoveWatch { get; init; }
}

/// <summary>The outcome of one decision: the UE's next state and what to do about it.</summary>
public readonly record struct Decision(UeState? State, IReadOnlyList<ControlCommand> Commands);
