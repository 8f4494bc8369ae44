using MobiScud.Testbed.Experiment;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Tests;

/// <summary>A run's handover steps are named for its radio access: Xn and N2 between gNBs on NR, whatever the schedule wrote.</summary>
public sealed class TestbedStepReportTests
{
    [Theory]
    [InlineData(TestbedRat.Nr, HandoverProcedure.X2, HandoverProcedure.Xn, "gNB")]
    [InlineData(TestbedRat.Nr, HandoverProcedure.S1, HandoverProcedure.N2, "gNB")]
    [InlineData(TestbedRat.Nr, HandoverProcedure.S1Cancelled, HandoverProcedure.N2Cancelled, "gNB")]
    [InlineData(TestbedRat.Nr, HandoverProcedure.Xn, HandoverProcedure.Xn, "gNB")]
    [InlineData(TestbedRat.Nr, HandoverProcedure.N2, HandoverProcedure.N2, "gNB")]
    [InlineData(TestbedRat.Lte, HandoverProcedure.X2, HandoverProcedure.X2, "eNB")]
    [InlineData(TestbedRat.Lte, HandoverProcedure.S1, HandoverProcedure.S1, "eNB")]
    [InlineData(TestbedRat.Lte, HandoverProcedure.S1Cancelled, HandoverProcedure.S1Cancelled, "eNB")]
    public void A_handover_step_is_reported_under_the_name_its_RAT_gives_it(TestbedRat rat, HandoverProcedure scheduled, HandoverProcedure reported, string node)
    {
        var report = TestbedStepReport.Of(rat, new HandoverStep { AtSeconds = 4, Ue = 1, ToEnb = 2, Procedure = scheduled }, serving: 1, atSeconds: 4.25);
        Assert.Equal(new TestbedStepReport(4.25, 1, reported, node, 1, 2), report);
    }

    [Fact]
    public void The_default_schedule_played_on_NR_is_an_Xn_then_an_N2_handover()
    {
        var scenario = new Scenario { Rat = TestbedRat.Nr };
        var reports = scenario.Handovers.Select(h => TestbedStepReport.Of(scenario.Rat, h, serving: h.ToEnb == 1 ? 2 : 1, h.AtSeconds)).ToList();
        Assert.Equal([HandoverProcedure.Xn, HandoverProcedure.N2], reports.Select(r => r.Procedure));
        Assert.All(reports, r => Assert.Equal("gNB", r.Node));
    }

    [Fact]
    public void Idle_and_service_request_steps_name_only_the_node_they_happen_at()
    {
        var idle = TestbedStepReport.Of(TestbedRat.Nr, new HandoverStep { Ue = 2, Procedure = HandoverProcedure.Idle }, serving: 3, atSeconds: 1);
        Assert.Equal((3, (int?)null), (idle.From, idle.To));
        var back = TestbedStepReport.Of(TestbedRat.Nr, new HandoverStep { Ue = 2, ToEnb = 1, Procedure = HandoverProcedure.ServiceRequest }, serving: 3, atSeconds: 2);
        Assert.Equal(((int?)null, 1), (back.From, back.To));
        Assert.Equal("gNB", back.Node);
    }
}
