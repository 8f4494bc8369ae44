using MobiScud.Simulation.Mobility;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Engine;

/// <summary>Where UEs spend their time: eNB weights for demand-driven site placement.</summary>
internal static class Demand
{
    /// <summary>Samples every UE's position (from its own copy of the mobility model) 120 times over the run.</summary>
    public static double[] PerEnb(ScenarioConfig scenario, NetworkTopology topology, IMobilityModel model)
    {
        const int Samples = 120;
        var weights = new double[topology.Enbs.Count];
        // Over the scored window only: a warm-up does not move the sites, so it scores the same network as a cold run.
        var scoredFrom = scenario.Warmup.TotalSeconds;
        var length = scenario.Duration.TotalSeconds;
        for (var k = 0; k < Samples; k++)
        {
            var t = scoredFrom + (length * (k + 0.5) / Samples);
            for (var ue = 0; ue < model.UeCount; ue++)
            {
                var (from, to) = model.Presence(ue);
                if (t < from.TotalSeconds || (to != TimeSpan.MaxValue && t > to.TotalSeconds))
                {
                    continue;
                }

                model.Position(ue, t, out var x, out var y);
                weights[topology.Grid.Nearest(x, y, out _)]++;
            }
        }

        return weights;
    }
}
