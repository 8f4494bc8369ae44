using System.Net;
using MobiScud.Control.Model;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Tests;

/// <summary>The checker the end-to-end tests rely on does fire when a PVM is duplicated or lost.</summary>
public sealed class InvariantCheckerTests
{
    [Fact]
    public void DuplicateAndMissingPvmsAreReported()
    {
        var sim = new Simulator(new ScenarioConfig { Ues = 2, Duration = TimeSpan.FromSeconds(1), Strategies = [StrategyKind.MobiScud] });
        var lane = sim.Lanes[0];
        var ue = sim.UeIds[0];
        var bearer = new Bearer(5, new GtpEndpoint(IPAddress.Parse("10.255.0.1"), 1), new GtpEndpoint(IPAddress.Parse("10.1.0.0"), 2));
        lane.Deliver(0, new UeAttached(TimeSpan.Zero, ue, null, IPAddress.Parse("10.45.0.0"), sim.Topology.Enbs[0].Id, null, [bearer]));
        Assert.Equal(0, lane.Stats.InvariantViolations); // the MC created the PVM

        lane.Execute(0, new CreatePvm(ue, PvmId.For(ue), new SiteId("edge-1")));
        Assert.Equal(1, lane.Stats.InvariantViolations);
        Assert.Contains("duplicate", lane.Stats.ViolationMessages[0]);

        lane.Execute(0, new DestroyPvm(ue, PvmId.For(ue), new SiteId("edge-0")));
        lane.CheckInvariant(0);
        Assert.Equal(2, lane.Stats.InvariantViolations);
        Assert.Contains("no PVM", lane.Stats.ViolationMessages[1]);

        // A detached UE without a PVM is fine.
        lane.CheckInvariant(1);
        Assert.Equal(2, lane.Stats.InvariantViolations);
    }
}
