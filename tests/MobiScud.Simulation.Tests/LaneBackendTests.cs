using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Tests;

/// <summary>
/// A lane carries out its MC's commands through the host layer's dispatcher and the simulated backends: after a run with
/// handovers, migrations, idle suspends and injected failures, what the backends hold agrees with what the MC believes.
/// </summary>
public sealed class LaneBackendTests
{
    [Fact]
    public async Task BackendsHoldWhatTheMcBelieves()
    {
        var sim = new Simulator(new ScenarioConfig
        {
            Seed = 5,
            Duration = TimeSpan.FromMinutes(4),
            Ues = 60,
            Handover = { CancelProbability = 0.1 },
            Pvm = { MigrationFailureProbability = 0.1 },
        })
        {
            Parallel = false,
        };
        var result = sim.Run();
        var mobiscud = result.Strategies.Single(s => s.Strategy == "mobiscud");
        Assert.True(mobiscud.MigrationsCompleted > 0, "the run should complete migrations");

        foreach (var lane in sim.Lanes)
        {
            var pvms = (await lane.Hypervisor.InventoryAsync()).ToDictionary(p => p.Ue);
            var rules = await lane.Switches.InventoryAsync();
            var checkedPvms = 0;
            for (var ue = 0; ue < sim.UeIds.Length; ue++)
            {
                var state = lane.McState(ue);
                if (state is null)
                {
                    continue;
                }

                if (state.PvmStatus == PvmStatus.None)
                {
                    Assert.False(pvms.ContainsKey(state.Ue), $"{lane.Spec.Name}: {state.Ue} has no PVM for the MC but one in the hypervisor");
                }
                else if (state.Migration is null && state.PvmSite is { } site)
                {
                    Assert.True(pvms.TryGetValue(state.Ue, out var pvm), $"{lane.Spec.Name}: the MC has a PVM for {state.Ue}, the hypervisor none");
                    Assert.Equal(site, pvm.Site);
                    Assert.Equal(state.PvmStatus == PvmStatus.Running, pvm.Running);
                    checkedPvms++;
                }

                if (state.SteeringInstalled)
                {
                    Assert.Contains(state.Steering!, rules);
                }
            }

            Assert.True(checkedPvms > 0, $"{lane.Spec.Name}: no PVM checked");
            Assert.All(rules, r => Assert.True(sim.UeIndex.ContainsKey(r.Ue)));
        }
    }
}
