using System.Globalization;
using MobiScud.Control.Policies;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Bench;

/// <summary>
/// `oracle SCENARIO.yaml`: the Wang cost per UE-slot that a policy knowing every user's future cells would get on the
/// scenario's trace (docs/policies.md, "What bounds predictive"). The simulator replays the RAN (one never lane, so the
/// lanes cost nothing); at every cost slot boundary each attached UE's serving cell is recorded. Then, per UE and per
/// run of attached slots, a dynamic programme over the edge sites finds the sequence of PVM sites minimising
/// sum M(rings moved) + T(rings from the user's cell), with the scorer's Q/R (Q: attached UEs, R = 1.5 max Q). It ignores
/// site capacity and transfer time, so no policy scores below it: the floor an online policy cannot beat. The
/// "moves free" floor the simulator prints is recomputed from the same record as a check.
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
        double oracle = 0, floor = 0;
        long ueSlots = 0, moves = 0;
        var value = new double[sites];
        var next = new double[sites];
        var from = new int[slots.Count, sites];
        for (var ue = 0; ue < sim.UeIds.Length; ue++)
        {
            var start = -1;
            for (var t = 0; t <= slots.Count; t++)
            {
                var enb = t < slots.Count ? slots[t][ue] : -1;
                if (enb >= 0)
                {
                    ueSlots++;
                    var nearest = double.MaxValue;
                    for (var s = 0; s < sites; s++)
                    {
                        nearest = Math.Min(nearest, model.TransmissionCost(userRings[enb, s], load[t]));
                    }

                    floor += nearest;
                    if (start < 0)
                    {
                        start = t;
                        for (var s = 0; s < sites; s++)
                        {
                            value[s] = model.TransmissionCost(userRings[enb, s], load[t]);
                        }

                        continue;
                    }

                    for (var s = 0; s < sites; s++)
                    {
                        var best = value[s];
                        var arg = s;
                        for (var p = 0; p < sites; p++)
                        {
                            var c = value[p] + model.MigrationCost(siteRings[p, s], load[t]);
                            if (c < best)
                            {
                                (best, arg) = (c, p);
                            }
                        }

                        next[s] = best + model.TransmissionCost(userRings[enb, s], load[t]);
                        from[t, s] = arg;
                    }

                    (value, next) = (next, value);
                }
                else if (start >= 0)
                {
                    // The run of attached slots start..t-1 ends: its cheapest site sequence, and how many moves it makes.
                    var end = 0;
                    for (var s = 1; s < sites; s++)
                    {
                        end = value[s] < value[end] ? s : end;
                    }

                    oracle += value[end];
                    for (var k = t - 1; k > start; k--)
                    {
                        var previous = from[k, end];
                        moves += previous != end ? 1 : 0;
                        end = previous;
                    }

                    start = -1;
                }
            }
        }

        // Online with perfect foresight of the next K slots only: at each slot the site that starts the cheapest
        // K-slot plan from where the PVM is (a rolling horizon), charged what the slot really costs. How far ahead a
        // predictor must see to come near the oracle.
        var lookahead = new List<(int K, double Cost, long Moves)>();
        foreach (var k in new[] { 1, 2, 3, 5, 10 })
        {
            var (cost, moved) = RollingHorizon(slots, load, model, siteRings, userRings, sim.UeIds.Length, k);
            lookahead.Add((k, cost / ueSlots, moved));
        }

        var lane = result.Lanes.Single();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"{scenario.Name}: {slots.Count} slots, {ueSlots:N0} UE-slots, {sites} edge sites, max Q {maxQ}"));
        Console.WriteLine(string.Create(inv, $"oracle (knows every future cell; no capacity, instant moves): {oracle / ueSlots:F4} per UE-slot, {moves:N0} moves"));
        foreach (var (k, cost, moved) in lookahead)
        {
            Console.WriteLine(string.Create(inv, $"foresight of {k} slot(s), rolling: {cost:F4} per UE-slot, {moved:N0} moves"));
        }

        Console.WriteLine(string.Create(inv,
            $"moves-free floor from the same record: {floor / ueSlots:F4} (the simulator's: {lane.Cost.FloorPerUeSlot:F4}); never lane: {lane.Cost.MeanPerUeSlot:F4}"));
    }

    private static (double Cost, long Moves) RollingHorizon(List<int[]> slots, double[] load, WangCostModel model, int[,] siteRings, int[,] userRings, int ues, int horizon)
    {
        var sites = siteRings.GetLength(0);

        // M(rings between two sites) at each slot's load, once (Math.Pow in the inner loop would dominate).
        var migration = new double[slots.Count][];
        for (var t = 0; t < slots.Count; t++)
        {
            migration[t] = new double[sites * sites];
            for (var a = 0; a < sites; a++)
            {
                for (var b = 0; b < sites; b++)
                {
                    migration[t][(a * sites) + b] = model.MigrationCost(siteRings[a, b], load[t]);
                }
            }
        }

        double total = 0;
        long moves = 0;
        var w = new double[sites];
        var w2 = new double[sites];
        for (var ue = 0; ue < ues; ue++)
        {
            var here = -1;
            for (var t = 0; t < slots.Count; t++)
            {
                var enb = slots[t][ue];
                if (enb < 0)
                {
                    here = -1;
                    continue;
                }

                // Backward over the attached slots t..t+horizon-1: w[s] = cheapest cost from slot j on, at s in slot j.
                var last = t;
                while (last + 1 < slots.Count && last + 1 < t + horizon && slots[last + 1][ue] >= 0)
                {
                    last++;
                }

                for (var s = 0; s < sites; s++)
                {
                    w[s] = model.TransmissionCost(userRings[slots[last][ue], s], load[last]);
                }

                for (var j = last - 1; j >= t; j--)
                {
                    var cell = slots[j][ue];
                    for (var s = 0; s < sites; s++)
                    {
                        var best = w[s];
                        var m = migration[j + 1];
                        for (var p = 0; p < sites; p++)
                        {
                            best = Math.Min(best, m[(s * sites) + p] + w[p]);
                        }

                        w2[s] = model.TransmissionCost(userRings[cell, s], load[j]) + best;
                    }

                    (w, w2) = (w2, w);
                }

                var choice = 0;
                var choiceCost = double.MaxValue;
                for (var s = 0; s < sites; s++)
                {
                    var c = w[s] + (here >= 0 ? model.MigrationCost(siteRings[here, s], load[t]) : 0);
                    if (c < choiceCost - 1e-12 || (s == here && c <= choiceCost + 1e-12))
                    {
                        (choice, choiceCost) = (s, c);
                    }
                }

                total += model.TransmissionCost(userRings[enb, choice], load[t]) + (here >= 0 ? model.MigrationCost(siteRings[here, choice], load[t]) : 0);
                moves += here >= 0 && choice != here ? 1 : 0;
                here = choice;
            }
        }

        return (total, moves);
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
