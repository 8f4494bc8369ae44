using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;

namespace MobiScud.Simulation.Tests;

/// <summary>
/// The lanes on worker threads fed by the RAN (Simulator.Parallel): same results as the lanes caught up at every tick
/// on the RAN's thread, and a failing lane or a cancelled run ends the run with its exception instead of a hang.
/// </summary>
public sealed class LanePipelineTests
{
    private static readonly TimeSpan _noHang = TimeSpan.FromMinutes(2);

    private static ScenarioConfig Scenario() => new()
    {
        Seed = 11,
        Duration = TimeSpan.FromMinutes(6),
        Ues = 120,
        Topology = { Enbs = 37, Sites = 6, Backhaul = BackhaulKind.Tree },

        // Short sessions: UEs go idle and come back, so what a tick reads of the RAN changes between ticks.
        Session = { ActiveMean = TimeSpan.FromSeconds(40), IdleMean = TimeSpan.FromSeconds(20) },
        Mobility = { SpeedMin = 10, SpeedMax = 30 },
        Strategies = [StrategyKind.CoreAnchored, StrategyKind.StaticEdge, StrategyKind.MobiScud],
        Policies = ["always", "hysteresis", "predictive"],
        Probes = { Interval = TimeSpan.FromSeconds(5) },
        Report = { SampleInterval = TimeSpan.FromSeconds(15) },
    };

    [Fact]
    public void PipelinedLanesGiveTheSameResultsAsLanesCaughtUpAtEveryTick()
    {
        var scenario = Scenario();
        var pipelined = new Simulator(scenario) { Parallel = true };
        var json = pipelined.Run().DeterministicJson();
        var serial = new Simulator(scenario) { Parallel = false }.Run().DeterministicJson();
        Assert.Equal(serial, json);

        // The lanes really ran on their workers (busy time is kept only there), and every lane took every event.
        Assert.All(pipelined.LaneAllocations, l => Assert.True(l.Allocated.Busy > TimeSpan.Zero, l.Name));
        Assert.Equal(5, pipelined.LaneAllocations.Count());
    }

    [Fact]
    public void EachLaneGetsEveryTickInOrderWithItsOwnInbox()
    {
        var sim = new Simulator(Scenario());
        var lanes = sim.Lanes.ToArray();
        var seen = lanes.Select(_ => new List<(LaneTick Tick, TimeSpan At)>()).ToArray();
        var handed = new List<(LaneTick, TimeSpan)>();
        using (var pipeline = new LanePipeline(lanes, sim.UeIds.Length, (lane, work) =>
        {
            seen[lane.Index].Add((work.Tick, work.At));
            lane.ReturnInbox(work.Inbox);
            work.Ran.Release();
        }))
        {
            for (var i = 1; i <= 50; i++)
            {
                var tick = (LaneTick)(i % 3);
                handed.Add((tick, TimeSpan.FromSeconds(i)));
                pipeline.Hand(tick, TimeSpan.FromSeconds(i), pipeline.Snapshot());
            }

            pipeline.Join();
        }

        Assert.All(seen, s => Assert.Equal(handed, s));
    }

    [Fact]
    public async Task AFailingLaneEndsTheRunWithItsOwnException()
    {
        var sim = new Simulator(Scenario());
        var lanes = sim.Lanes.ToArray();
        var run = Task.Run(() =>
        {
            using var pipeline = new LanePipeline(lanes, sim.UeIds.Length, (lane, work) =>
            {
                if (lane.Index == 2 && work.At >= TimeSpan.FromSeconds(3))
                {
                    throw new InvalidOperationException($"lane {lane.Index} broke at {work.At}");
                }

                lane.ReturnInbox(work.Inbox);
                work.Ran.Release();
            });

            // The failed lane takes no more work: the RAN, waiting for room in its queue, must be told, not hang.
            for (var i = 1; i <= 1000; i++)
            {
                pipeline.Hand(LaneTick.Probe, TimeSpan.FromSeconds(i), pipeline.Snapshot());
            }

            pipeline.Join();
        });
        // A hang would end in a TimeoutException, not the lane's exception.
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => run.WaitAsync(_noHang));
        Assert.Equal("lane 2 broke at 00:00:03", failure.Message);
    }

    [Fact]
    public async Task ACancelledRunStopsTheLaneWorkers()
    {
        using var cancel = new CancellationTokenSource();
        var sim = new Simulator(Scenario()) { Parallel = true };
        var progress = new CancelAt(0.5, cancel);
        var run = Task.Run(() => sim.Run(progress, cancel.Token));
        await Assert.ThrowsAsync<OperationCanceledException>(() => run.WaitAsync(_noHang));
    }

    private sealed class CancelAt(double fraction, CancellationTokenSource cancel) : IProgress<double>
    {
        public void Report(double value)
        {
            if (value >= fraction)
            {
                cancel.Cancel();
            }
        }
    }
}
