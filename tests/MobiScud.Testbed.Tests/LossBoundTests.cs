using MobiScud.Control.Model;
using MobiScud.Testbed.Experiment;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Tests;

/// <summary>The edge PVM's loss bound counts each handover's window from the UE's arrival at the target, not from the tap's frame.</summary>
public sealed class LossBoundTests
{
    private readonly UeId _ue1 = new($"imsi-{TestbedPlan.ImsiOf(1)}");

    private static ExperimentResult Run(IReadOnlyList<HandoverMeasurement> handovers, IReadOnlyList<TestbedStepReport> steps, double edgeP95Ms = 15) =>
        new(
            "run", "s1.pcap", "mc-timeline.csv", "rtt.csv", "rtt.png", 0, 0, handovers, [],
            [new PingSummary(TestbedExperiment.EdgePvm, 100, 0, 5, edgeP95Ms)], [], 20, null, true, [], TestbedRat.Lte, steps);

    private static HandoverMeasurement X2At(double wireSeconds, double wireToFlowsMs, UeId ue) =>
        new(HandoverStage.Completed, HandoverInterface.X2, new PathSwitched(TimeSpan.FromSeconds(wireSeconds), ue, new EnbId(TestbedPlan.EnbIdOf(2)), []), wireSeconds, 0.2, wireToFlowsMs);

    [Fact]
    public void An_X2_handover_window_opens_when_the_UE_moved_before_the_path_switch_was_on_the_wire()
    {
        // Moved at 2.970 s, acknowledgement on the tap at 3.000 s, flows confirmed 5 ms later: a 35 ms window,
        // (35 + 15) / 20 -> 3 intervals, plus one.
        var step = new TestbedStepReport(2.969, 1, HandoverProcedure.X2, "eNB", 1, 2) { MovedSeconds = 2.970 };
        var (bound, why) = Run([X2At(3.000, 5, _ue1)], [step]).PvmLossBound(20);
        Assert.Equal(4, bound);
        Assert.Contains("(35 + 15) ms -> 4", why, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_recorded_move_the_window_is_the_wire_to_flows_time()
    {
        // (5 + 15) / 20 -> 1 interval, plus one.
        Assert.Equal(2, Run([X2At(3.000, 5, _ue1)], []).PvmLossBound(20).Bound);
    }

    [Fact]
    public void Each_handover_counts_from_its_own_UEs_latest_move_before_it()
    {
        // UE 1 moved at 2.970 and 7.910 s, UE 2 at 7.990 s. UE 1's handover at 8.000 s opens at 7.910 (90 + 5 ms):
        // (95 + 15) / 20 -> 6, plus one; the later move of UE 2 and UE 1's earlier one do not count.
        var steps = new[]
        {
            new TestbedStepReport(2.9, 1, HandoverProcedure.X2, "eNB", 1, 2) { MovedSeconds = 2.970 },
            new TestbedStepReport(7.8, 1, HandoverProcedure.S1, "eNB", 2, 1) { MovedSeconds = 7.910 },
            new TestbedStepReport(7.9, 2, HandoverProcedure.X2, "eNB", 1, 2) { MovedSeconds = 7.990 },
        };
        Assert.Equal(7, Run([X2At(8.000, 5, _ue1)], steps).PvmLossBound(20).Bound);
    }
}
