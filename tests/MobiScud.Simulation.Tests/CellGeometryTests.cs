using MobiScud.Control.Model;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Tests;

/// <summary>The policies decide on the distance the cost score charges, and the score's floor bounds every lane.</summary>
public sealed class CellGeometryTests
{
    [Fact]
    public void The_policies_cell_geometry_gives_the_scores_ring_distances()
    {
        var topo = NetworkTopology.Build(new ScenarioConfig { Topology = { Enbs = 61, Sites = 5, Backhaul = BackhaulKind.Tree } });
        var cells = topo.ToCellGeometry();
        Assert.Equal(topo.CellDistance, cells.CellDistance);
        for (var a = 0; a < topo.Enbs.Count; a++)
        {
            for (var b = 0; b < topo.Enbs.Count; b++)
            {
                Assert.Equal(topo.Rings(a, b), cells.Rings(topo.Enbs[a].Id, topo.Enbs[b].Id));
            }

            for (var s = 0; s < topo.Sites.Count; s++)
            {
                Assert.Equal(topo.Rings(a, topo.SiteCell(s)), cells.Rings(topo.Enbs[a].Id, topo.Sites[s].Id));
            }

            Assert.Equal(topo.Rings(a, topo.SiteCell(topo.Sites.Count)), cells.Rings(topo.Enbs[a].Id, NetworkTopology.CoreSite));
        }
    }

    [Fact]
    public void The_cost_floor_is_below_every_lanes_transmission_and_equal_for_all_lanes()
    {
        var scenario = new ScenarioConfig
        {
            Seed = 3,
            Duration = TimeSpan.FromMinutes(5),
            Ues = 50,
            Topology = { Enbs = 37, Sites = 4 },
            Session = { ActiveMean = TimeSpan.Zero },
            Mobility = { SpeedMin = 15, SpeedMax = 30 },
            Strategies = [StrategyKind.StaticEdge, StrategyKind.MobiScud],
            Policies = ["always", "predictive", "mdp-threshold"],
        };
        var r = new Simulator(scenario).Run();
        var floors = r.Lanes.Select(l => l.Cost.FloorPerUeSlot).Distinct().ToList();
        var floor = Assert.Single(floors);
        Assert.True(floor > 0, $"floor {floor}");
        Assert.All(r.Lanes, l => Assert.True(l.Cost.TransmissionPerUeSlot >= floor - 1e-12, $"{l.Name}: {l.Cost.TransmissionPerUeSlot} below the floor {floor}"));

        // A slot's floor is its users' nearest-site rings; without them it is y itself.
        var slot = new CostSlot();
        slot.Add(0, 3, 1);
        slot.Add(2, 2);
        Assert.Equal(1, slot.Floor[1]);
        Assert.Equal(1, slot.Floor[2]);
        var cost = SimulationResult.Cost([slot], new ReportConfig());
        Assert.True(cost.FloorPerUeSlot < cost.TransmissionPerUeSlot);
    }
}
