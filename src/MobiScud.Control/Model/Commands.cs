using System.Net;

namespace MobiScud.Control.Model;

/// <summary>What the MC asks the outside world to do. Adapters execute these and report outcomes as events.</summary>
public abstract record ControlCommand(UeId Ue);

public sealed record CreatePvm(UeId Ue, PvmId Pvm, SiteId Site) : ControlCommand(Ue);

public sealed record ResumePvm(UeId Ue, PvmId Pvm, SiteId Site) : ControlCommand(Ue);

public sealed record SuspendPvm(UeId Ue, PvmId Pvm, SiteId Site) : ControlCommand(Ue);

public sealed record DestroyPvm(UeId Ue, PvmId Pvm, SiteId Site) : ControlCommand(Ue);

public enum MigrationReason
{
    Handover,
    Manual,
    Drain,

    /// <summary>Started at handover preparation, before the UE moved (the predictive policy's pre-copy); added last.</summary>
    Prepared,
}

public sealed record StartMigration(UeId Ue, MigrationId Migration, PvmId Pvm, SiteId From, SiteId To, MigrationReason Reason)
    : ControlCommand(Ue)
{
    /// <summary>What the policy expects the move to save, in cost-model units (higher first in a scheduler's queue; 0 when not weighed).</summary>
    public double ExpectedBenefit { get; init; }
}

public sealed record CancelMigration(UeId Ue, MigrationId Migration, PvmId Pvm, SiteId From, SiteId To) : ControlCommand(Ue);

/// <summary>
/// Steering intent for one UE at one site's edge switch: the switch that serves <see cref="Enb"/> takes the UE's
/// packets for the PVM out of their GTP-U tunnel and wraps the PVM's replies toward the eNB. When
/// <see cref="PvmSite"/> differs from <see cref="SwitchSite"/>, the PVM is reached over the inter-site link.
/// </summary>
public sealed record SteeringIntent(
    UeId Ue,
    IPAddress UeAddress,
    EnbId Enb,
    IReadOnlyList<Bearer> Bearers,
    SiteId SwitchSite,
    SiteId PvmSite,
    IPAddress? PvmAddress,
    int Version);

/// <summary>Install (or replace, atomically per UE) the UE's steering at the intent's switch site.</summary>
public sealed record InstallSteering(UeId Ue, SteeringIntent Intent) : ControlCommand(Ue);

public sealed record RemoveSteering(UeId Ue, SiteId SwitchSite) : ControlCommand(Ue);

public sealed record ScheduleTimer(UeId Ue, TimeSpan Due, TimerKind Kind, long Token) : ControlCommand(Ue);

public enum NotificationKind
{
    PvmCreated,
    PvmResumed,
    PvmSuspended,
    PvmDestroyed,
    HandoverPreparing,
    HandoverExecuted,
    HandoverCancelled,
    MigrationStarted,
    MigrationCompleted,
    MigrationFailed,
    MigrationCancelled,
    SteeringRedirected,
    Rejected,

    /// <summary>An S1 handover is being executed (HandoverCommand seen); added last so stored values keep their meaning.</summary>
    HandoverExecuting,

    /// <summary>A switch rejected or did not confirm the UE's steering; a retry is scheduled. Added last (stored values).</summary>
    SteeringFailed,
}

/// <summary>Something a person or a subscriber (REST/MEC 021 webhooks, dashboard) should hear about.</summary>
public sealed record Notify(UeId Ue, TimeSpan At, NotificationKind Kind, string Detail) : ControlCommand(Ue)
{
    /// <summary>For handover news: the source cell's eNB. Carried here because the UE's state may have moved on by the time a subscriber hears it.</summary>
    public EnbId? Source { get; init; }

    /// <summary>For handover news: the target cell's eNB.</summary>
    public EnbId? Target { get; init; }
}
