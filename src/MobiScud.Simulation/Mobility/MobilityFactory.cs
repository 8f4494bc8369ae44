using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Mobility;

internal static class MobilityFactory
{
    /// <summary>The scenario's mobility model over the topology's area (eNB bounding box plus half a cell).</summary>
    public static IMobilityModel Create(ScenarioConfig scenario, NetworkTopology topology)
    {
        var m = scenario.Mobility;

        // Time 0 of the model is the start of the warm-up: the replay starts that much before traceStart.
        var replayFrom = m.TraceStart - scenario.Warmup;
        var replayLength = scenario.Warmup + scenario.Duration;
        var margin = scenario.Topology.CellsCsv is null ? scenario.Topology.InterSiteDistance / 2 : 0;
        double minX = topology.MinX - margin, minY = topology.MinY - margin, maxX = topology.MaxX + margin, maxY = topology.MaxY + margin;
        switch (m.Model)
        {
            case MobilityKind.RandomWaypoint:
                return new RandomWaypoint(scenario.Ues, minX, minY, maxX, maxY, m.SpeedMin, m.SpeedMax, m.PauseMax.TotalSeconds, scenario.Seed);
            case MobilityKind.Highway:
                var length = m.RoadLength > 0 ? m.RoadLength : maxX - minX;
                return new Highway(scenario.Ues, minX, (minY + maxY) / 2, length, m.SpeedMin, m.SpeedMax, scenario.Seed);
            case MobilityKind.Trace:
                var fixes = TraceMobility.LoadCsv(scenario.Resolve(m.TracePath!), replayFrom, replayLength, scenario.Ues);
                return new TraceMobility(fixes, (minX, minY, maxX, maxY));
            default:
                var cabs = TraceMobility.LoadCabspotting(scenario.Resolve(m.TracePath!), replayFrom, replayLength, scenario.Ues);
                return new TraceMobility(cabs, (minX, minY, maxX, maxY));
        }
    }
}
