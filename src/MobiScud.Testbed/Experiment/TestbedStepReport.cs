using System.Globalization;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Experiment;

/// <summary>
/// One step of the handover schedule as a run played it, named for the run's radio access: a 5G run's handovers are
/// Xn and N2 between gNBs even where the schedule wrote X2 and S1 (the default schedule is LTE's, and the emulator
/// plays the same procedure on either RAT), so the progress line never says X2 for an Xn handover.
/// </summary>
/// <param name="Procedure">The procedure as the run's RAT calls it (X2 becomes Xn, S1 N2, S1Cancelled N2Cancelled on NR).</param>
/// <param name="Node">"gNB" on NR, "eNB" on LTE.</param>
/// <param name="From">The node serving the UE before the step (null for a service request: the UE was idle).</param>
/// <param name="To">The node the step moves the UE to (null for a release to idle).</param>
public sealed record TestbedStepReport(double AtSeconds, int Ue, HandoverProcedure Procedure, string Node, int? From, int? To)
{
    /// <summary>
    /// When the UE arrived at <see cref="To"/> in a handover (seconds from the run's start, the wire times' clock),
    /// before the target's message the MC acts on was on the wire: the handover's outage window opens here. Null when
    /// the step moved no UE (idle, service request, a cancelled handover).
    /// </summary>
    public double? MovedSeconds { get; init; }

    /// <summary>The report of <paramref name="step"/> for a UE served by node <paramref name="serving"/> in a <paramref name="rat"/> run.</summary>
    public static TestbedStepReport Of(TestbedRat rat, HandoverStep step, int serving, double atSeconds)
    {
        var procedure = ForRat(rat, step.Procedure);
        return new TestbedStepReport(
            atSeconds,
            step.Ue,
            procedure,
            rat == TestbedRat.Nr ? "gNB" : "eNB",
            procedure is HandoverProcedure.ServiceRequest ? null : serving,
            procedure is HandoverProcedure.Idle ? null : step.ToEnb);
    }

    /// <summary>The same procedure under the name <paramref name="rat"/> gives it.</summary>
    public static HandoverProcedure ForRat(TestbedRat rat, HandoverProcedure procedure) => (rat, procedure) switch
    {
        (TestbedRat.Nr, HandoverProcedure.X2) => HandoverProcedure.Xn,
        (TestbedRat.Nr, HandoverProcedure.S1) => HandoverProcedure.N2,
        (TestbedRat.Nr, HandoverProcedure.S1Cancelled) => HandoverProcedure.N2Cancelled,
        (TestbedRat.Lte, HandoverProcedure.Xn) => HandoverProcedure.X2,
        (TestbedRat.Lte, HandoverProcedure.N2) => HandoverProcedure.S1,
        (TestbedRat.Lte, HandoverProcedure.N2Cancelled) => HandoverProcedure.S1Cancelled,
        _ => procedure,
    };

    /// <summary>The progress line `testbed run` prints.</summary>
    public override string ToString() => Procedure switch
    {
        HandoverProcedure.Idle => string.Create(CultureInfo.InvariantCulture, $"{AtSeconds,7:0.000}s UE {Ue}: released to idle at {Node} {From}"),
        HandoverProcedure.ServiceRequest => string.Create(CultureInfo.InvariantCulture, $"{AtSeconds,7:0.000}s UE {Ue}: service request at {Node} {To}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{AtSeconds,7:0.000}s UE {Ue}: {Procedure} handover {Node} {From} -> {Node} {To}"),
    };
}
