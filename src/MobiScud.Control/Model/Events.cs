using System.Net;

namespace MobiScud.Control.Model;

/// <summary>
/// Everything the MC reacts to. Time arrives inside the event (virtual or wall clock): the core never reads a clock.
/// </summary>
public abstract record ControlEvent(TimeSpan At);

/// <summary>Events that concern one UE; they are routed to that UE's state.</summary>
public abstract record UeEvent(TimeSpan At, UeId Ue) : ControlEvent(At)
{
    /// <summary>
    /// The UE's serving cell after this event, as the tracker read it from the signalling (null when the feeder does not
    /// know it, e.g. the simulator). Not used by the MC; radio network information (MEC 012) reports it.
    /// </summary>
    public Ecgi? Cell { get; init; }

    /// <summary>A 5G UE's serving NR cell after this event (NR-CGI from NGAP), where an LTE UE has <see cref="Cell"/>.</summary>
    public Ncgi? NrCell { get; init; }
}

public enum HandoverKind
{
    X2,
    S1,
}

/// <summary>The UE is connected with at least one bearer: initial attach, or the first context after detach.</summary>
public sealed record UeAttached(TimeSpan At, UeId Ue, string? Imsi, IPAddress UeAddress, EnbId Enb, ulong? CellId, IReadOnlyList<Bearer> Bearers)
    : UeEvent(At, Ue);

public sealed record BearerAdded(TimeSpan At, UeId Ue, Bearer Bearer) : UeEvent(At, Ue);

public sealed record BearerModified(TimeSpan At, UeId Ue, BearerDownlink Downlink) : UeEvent(At, Ue);

public sealed record BearerReleased(TimeSpan At, UeId Ue, byte ERabId) : UeEvent(At, Ue);

/// <summary>Handover preparation seen (HandoverRequired/Request, or a simulator's decision): nothing moves yet.</summary>
public sealed record HandoverPrepared(TimeSpan At, UeId Ue, EnbId Source, EnbId Target, HandoverKind Kind) : UeEvent(At, Ue)
{
    /// <summary>The target cell (Source eNB to Target eNB Transparent Container's Target Cell ID), when read.</summary>
    public Ecgi? TargetCell { get; init; }

    /// <summary>5G: the target NR cell (Source NG-RAN Node to Target NG-RAN Node Transparent Container), when read.</summary>
    public Ncgi? NrTargetCell { get; init; }
}

/// <summary>
/// S1 handover being executed: the MME sent HandoverCommand to the source eNB (TS 36.413 8.4.1.2), which now orders
/// the UE to the target. It may still be cancelled. X2 handovers have no such event: the MC first sees them at
/// PathSwitchRequest, after the UE has moved.
/// </summary>
public sealed record HandoverExecuting(TimeSpan At, UeId Ue, EnbId Target) : UeEvent(At, Ue)
{
    /// <summary>The target cell named at preparation, when read.</summary>
    public Ecgi? TargetCell { get; init; }

    /// <summary>5G: the target NR cell named at preparation, when read.</summary>
    public Ncgi? NrTargetCell { get; init; }
}

/// <summary>S1 handover done (HandoverNotify): the UE is at the target with these downlink endpoints.</summary>
public sealed record HandoverCompleted(TimeSpan At, UeId Ue, EnbId Target, IReadOnlyList<BearerDownlink> Downlinks) : UeEvent(At, Ue)
{
    /// <summary>The cell the UE left (its <see cref="UeEvent.Cell"/> is the new one), when known.</summary>
    public Ecgi? SourceCell { get; init; }

    /// <summary>5G: the NR cell the UE left (its <see cref="UeEvent.NrCell"/> is the new one), when known.</summary>
    public Ncgi? NrSourceCell { get; init; }
}

public sealed record HandoverCancelled(TimeSpan At, UeId Ue) : UeEvent(At, Ue)
{
    /// <summary>The target cell named at preparation, when read.</summary>
    public Ecgi? TargetCell { get; init; }

    /// <summary>5G: the target NR cell named at preparation, when read.</summary>
    public Ncgi? NrTargetCell { get; init; }

    /// <summary>The MME refused the preparation (HandoverPreparationFailure) rather than the source cancelling it; the MC treats both alike.</summary>
    public bool Rejected { get; init; }
}

/// <summary>X2 handover done (PathSwitchRequest acknowledged): the UE is at the target with these downlink endpoints.</summary>
public sealed record PathSwitched(TimeSpan At, UeId Ue, EnbId Target, IReadOnlyList<BearerDownlink> Downlinks) : UeEvent(At, Ue)
{
    /// <summary>The cell the UE left (its <see cref="UeEvent.Cell"/> is the new one), when known.</summary>
    public Ecgi? SourceCell { get; init; }

    /// <summary>5G: the NR cell the UE left (its <see cref="UeEvent.NrCell"/> is the new one), when known.</summary>
    public Ncgi? NrSourceCell { get; init; }
}

/// <summary>S1 release to ECM-IDLE: the bearers' downlink ends are gone until a service request.</summary>
public sealed record UeReleasedToIdle(TimeSpan At, UeId Ue) : UeEvent(At, Ue);

/// <summary>Back to connected (service request + initial context setup) at this eNB with new downlink endpoints.</summary>
public sealed record ServiceRequested(TimeSpan At, UeId Ue, EnbId Enb, IReadOnlyList<Bearer> Bearers) : UeEvent(At, Ue);

public sealed record Detached(TimeSpan At, UeId Ue) : UeEvent(At, Ue);

public sealed record MigrationProgressed(TimeSpan At, MigrationId Migration, int Round, long BytesSent) : UeEvent(At, Migration.Ue);

public sealed record MigrationStats(TimeSpan TotalTime, TimeSpan Downtime, long BytesSent, int Rounds);

public sealed record MigrationCompleted(TimeSpan At, MigrationId Migration, MigrationStats Stats) : UeEvent(At, Migration.Ue);

public sealed record MigrationFailed(TimeSpan At, MigrationId Migration, string Reason) : UeEvent(At, Migration.Ue);

/// <summary>The hypervisor reports the PVM running at a site (after create or resume), with the address it answers on.</summary>
public sealed record PvmStarted(TimeSpan At, UeId Ue, PvmId Pvm, SiteId Site, IPAddress? Address) : UeEvent(At, Ue);

/// <summary>A PVM that died without being asked to (crashed hypervisor process).</summary>
public sealed record PvmFailed(TimeSpan At, UeId Ue, PvmId Pvm, SiteId Site, string Reason) : UeEvent(At, Ue);

public enum TimerKind
{
    /// <summary>The UE has been idle long enough to suspend its PVM.</summary>
    IdleSuspend,

    /// <summary>A migration took too long: cancel it.</summary>
    MigrationDeadline,

    /// <summary>A failed migration may be tried again.</summary>
    MigrationRetry,

    /// <summary>Steering a switch rejected or never confirmed is sent again (added last so stored values keep their meaning).</summary>
    SteeringRetry,

    /// <summary>The migration policy looks at the UE again (hysteresis dwell reached, predictive review); added last.</summary>
    PolicyReview,
}

/// <summary>
/// The switch at <paramref name="SwitchSite"/> rejected the flow-mods of the UE's steering intent
/// <paramref name="IntentVersion"/> (OFPT_ERROR), did not confirm them (no BARRIER_REPLY in time), or was not connected
/// within the adapter's deadline: the PVM traffic is not steered as the MC asked. A failure for an intent the MC has
/// since replaced (a newer version) is stale and ignored.
/// </summary>
public sealed record SteeringFailed(TimeSpan At, UeId Ue, SiteId SwitchSite, string Reason, int IntentVersion) : UeEvent(At, Ue);

/// <summary>A timer the MC asked for fired. The token tells a stale timer from the current one.</summary>
public sealed record TimerFired(TimeSpan At, UeId Ue, TimerKind Kind, long Token) : UeEvent(At, Ue);

/// <summary>
/// An operator pins the UE's PVM to a site (manual move), or unpins it when <paramref name="Site"/> is null so that
/// placement follows the strategy again.
/// </summary>
public sealed record PinRequested(TimeSpan At, UeId Ue, SiteId? Site) : UeEvent(At, Ue);

/// <summary>
/// Re-evaluate the UE against the current configuration (a drained site, a restart): steering is re-issued and the
/// placement re-checked.
/// </summary>
public sealed record ReconcileRequested(TimeSpan At, UeId Ue) : UeEvent(At, Ue);

/// <summary>
/// What a hypervisor really holds for this PVM, read after a restart: where it runs (null: nowhere) and whether it
/// is running or suspended. A migration that finished while the MC was down is adopted from this; one that failed
/// is rolled back.
/// </summary>
public sealed record PvmObserved(TimeSpan At, UeId Ue, PvmId Pvm, SiteId? Site, bool Running, IPAddress? Address)
    : UeEvent(At, Ue);
