using MobiScud.Control.Model;

namespace MobiScud.Testbed.Experiment;

/// <summary>Which step of a handover the MC saw on the tap.</summary>
public enum HandoverStage
{
    /// <summary>The source asked for a handover through the core (<see cref="HandoverPrepared"/>: S1/N2 HandoverRequired).</summary>
    Prepared,

    /// <summary>The core told the source to move the UE (<see cref="HandoverExecuting"/>: HandoverCommand).</summary>
    Executing,

    /// <summary>The UE is at the target (<see cref="PathSwitched"/> for X2/Xn, <see cref="HandoverCompleted"/> for S1/N2).</summary>
    Completed,

    /// <summary>The source called the handover off (<see cref="HandoverCancelled"/>).</summary>
    Cancelled,
}

/// <summary>The handover's procedure as the RAN's signalling names it: X2 and S1 between eNBs, Xn and N2 between gNBs.</summary>
public enum HandoverInterface
{
    X2,
    S1,
    Xn,
    N2,
}

/// <summary>
/// One handover step as the MC saw it: the MC's event for the S1AP or NGAP message on the wire (<see cref="Event"/>),
/// typed by <see cref="Stage"/> and <see cref="Interface"/>, with the wire -> decision and wire -> flows confirmed on
/// OVS times (null where the step changed no steering).
/// </summary>
public sealed record HandoverMeasurement(HandoverStage Stage, HandoverInterface Interface, UeEvent Event, double WireSeconds, double WireToDecisionMs, double? WireToFlowsConfirmedMs)
{
    /// <summary>For display: "X2 completed (PathSwitched)".</summary>
    public string Name => $"{Interface} {Stage.ToString().ToLowerInvariant()} ({Event.GetType().Name})";

    /// <summary>
    /// The stage and interface of <paramref name="e"/>, or null when it is no handover step. <paramref name="prepared"/>
    /// is the UE's last <see cref="HandoverPrepared"/> (it names the procedure of the later steps of an S1/N2
    /// handover); <paramref name="gnb"/> whether the run's RAN nodes are gNBs, for a step with no node of its own.
    /// </summary>
    internal static (HandoverStage Stage, HandoverInterface Interface)? Classify(UeEvent e, HandoverPrepared? prepared, bool gnb) => e switch
    {
        HandoverPrepared p => (HandoverStage.Prepared, InterfaceOf(p.Kind, p.Source.IsGnb)),
        HandoverExecuting x => (HandoverStage.Executing, InterfaceOf(prepared?.Kind ?? HandoverKind.S1, x.Target.IsGnb)),
        HandoverCompleted c => (HandoverStage.Completed, InterfaceOf(prepared?.Kind ?? HandoverKind.S1, c.Target.IsGnb)),
        PathSwitched p => (HandoverStage.Completed, InterfaceOf(HandoverKind.X2, p.Target.IsGnb)),
        HandoverCancelled => (HandoverStage.Cancelled, InterfaceOf(prepared?.Kind ?? HandoverKind.S1, prepared?.Source.IsGnb ?? gnb)),
        _ => null,
    };

    private static HandoverInterface InterfaceOf(HandoverKind kind, bool gnb) => (kind, gnb) switch
    {
        (HandoverKind.X2, false) => HandoverInterface.X2,
        (HandoverKind.X2, true) => HandoverInterface.Xn,
        (_, true) => HandoverInterface.N2,
        _ => HandoverInterface.S1,
    };
}
