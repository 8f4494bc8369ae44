using System.Globalization;
using MobiScud.Control.Policies;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Bench;

/// <summary>
/// `oracle SCENARIO.yaml`: the Wang cost per UE-slot that a policy knowing every user's future cells would get on the
/// scenario's trace, and one seeing 1, 2, 3, 5, 10 slots ahead (docs/policies.md, "What bounds predictive";
/// <see cref="ForesightCost"/>). The simulator replays the RAN (one never lane, so the lanes cost little); at every cost
/// slot boundary each attached UE's serving cell is recorded, with the scorer's Q/R (Q: attached UEs, R = 1.5 max Q).
/// The "moves free" floor the simulator prints is recomputed from the same record as a check.
/// </summary>
internal static class OracleCost
{
    public static void Run(string path)
    {
        var scenario = ScenarioLoader.LoadFile(path);
        scenario.Strategies = [StrategyKind.MobiScud];
        scenario.Policies = ["never"];
        var recorder = new SlotRecorder(scenario.Report.CostSlot);
        var sim = new Simulator(scenario) { Observer = recorder };
        var result = sim.Run();
        var topology = sim.Topology;
        var sites = topology.Sites.Count;
        var enbs = topology.Enbs.Count;
        var siteRings = new int[sites, sites];
        var userRings = new int[enbs, sites];
        for (var a = 0; a < sites; a++)
        {
            for (var b = 0; b < sites; b++)
            {
                siteRings[a, b] = topology.Rings(topology.SiteCell(a), topology.SiteCell(b));
            }
        }

        for (var e = 0; e < enbs; e++)
        {
            for (var s = 0; s < sites; s++)
            {
                userRings[e, s] = topology.Rings(e, topology.SiteCell(s));
            }
        }

        var slots = recorder.Slots;
        if (slots.Count == 0)
        {
            throw new InvalidOperationException($"{path}: no cost slot boundary fell on a sample (report.sampleInterval {scenario.Report.SampleInterval} must divide report.costSlot {scenario.Report.CostSlot})");
        }

        var maxQ = slots.Max(slot => slot.Count(enb => enb >= 0));
        var load = slots.Select(slot => WangCostModel.LoadRatio(slot.Count(enb => enb >= 0), maxQ)).ToArray();
        var model = new WangCostModel(scenario.Report.CostMu);
        var foresight = new ForesightCost(model, siteRings, userRings, load);
        var horizons = new[] { 1, 2, 3, 5, 10 };
        var rolling = new (double Cost, long Moves)[horizons.Length];
        double oracle = 0, floor = 0, oracleMigration = 0;
        long ueSlots = 0, moves = 0;
        var cells = new int[slots.Count];
        for (var ue = 0; ue < sim.UeIds.Length; ue++)
        {
            for (var t = 0; t < slots.Count; t++)
            {
                cells[t] = slots[t][ue];
                if (cells[t] >= 0)
                {
                    ueSlots++;
                    var nearest = double.MaxValue;
                    for (var s = 0; s < sites; s++)
                    {
                        nearest = Math.Min(nearest, model.TransmissionCost(userRings[cells[t], s], load[t]));
                    }

                    floor += nearest;
                }
            }

            var (cost, moved, migrated) = foresight.OracleParts(cells);
            (oracle, moves, oracleMigration) = (oracle + cost, moves + moved, oracleMigration + migrated);
            for (var h = 0; h < horizons.Length; h++)
            {
                var (c, m) = foresight.Rolling(cells, horizons[h]);
                rolling[h] = (rolling[h].Cost + c, rolling[h].Moves + m);
            }
        }

        var lookahead = horizons.Select((k, h) => (K: k, Cost: rolling[h].Cost / ueSlots, rolling[h].Moves)).ToList();

        var lane = result.Lanes.Single();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"{scenario.Name}: {slots.Count} slots, {ueSlots:N0} UE-slots, {sites} edge sites, max Q {maxQ}"));
        Console.WriteLine(string.Create(inv, $"oracle (knows every future cell; no capacity, instant moves): {oracle / ueSlots:F4} per UE-slot (migration {oracleMigration / ueSlots:F4}, transmission {(oracle - oracleMigration) / ueSlots:F4}), {moves:N0} moves"));
        foreach (var (k, cost, moved) in lookahead)
        {
            Console.WriteLine(string.Create(inv, $"foresight of {k} slot(s), rolling: {cost:F4} per UE-slot, {moved:N0} moves"));
        }

        Console.WriteLine(string.Create(inv,
            $"moves-free floor from the same record: {floor / ueSlots:F4} (the simulator's: {lane.Cost.FloorPerUeSlot:F4}); never lane: {lane.Cost.MeanPerUeSlot:F4}"));
    }

    private sealed class SlotRecorder(TimeSpan slot) : ISimulationObserver
    {
        public List<int[]> Slots { get; } = [];

        public void Pace(TimeSpan at)
        {
        }

        public void Signal(MobiScud.Control.Model.UeEvent e)
        {
        }

        public void Event(int lane, MobiScud.Control.Model.UeEvent e)
        {
        }

        public void Command(int lane, TimeSpan at, MobiScud.Control.Model.ControlCommand command)
        {
        }

        public void Sampled(Simulator simulator)
        {
            // The scorer's slot boundaries are multiples of the cost slot; the samples fall on them when the sample
            // interval divides the slot (Run says so when none did).
            if (simulator.Now <= TimeSpan.Zero || simulator.Now.Ticks % slot.Ticks != 0)
            {
                return;
            }

            var enbs = new int[simulator.UeIds.Length];
            for (var ue = 0; ue < enbs.Length; ue++)
            {
                var live = simulator.Live.Ue(ue);
                enbs[ue] = live.Attached ? live.Enb : -1;
            }

            Slots.Add(enbs);
        }
    }
}
