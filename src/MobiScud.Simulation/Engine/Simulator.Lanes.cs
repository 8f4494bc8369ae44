using MobiScud.Control.Model;
using MobiScud.Simulation.Results;

namespace MobiScud.Simulation.Engine;

/// <summary>The simulator's lanes: how RAN events and ticks reach them (in step, or pipelined on their own threads).</summary>
public sealed partial class Simulator
{
    internal void ScheduleLane(TimeSpan at, int lane, int ue, long generation, UeEvent e) =>
        _lanes[lane].Enqueue(at, new SimEvent(SimEventKind.LaneEvent, ue, lane, generation, e));

    private void ForEachLane(Action<StrategyLane> action)
    {
        if (!Parallel || _lanes.Length == 1)
        {
            foreach (var lane in _lanes)
            {
                action(lane);
            }

            return;
        }

        // Most work first (events each lane has handled so far): with more lanes than cores, a worker takes the lanes
        // in this order, and the busiest (mobiscud, with its migrations) taken last ran alone at the end of every
        // catch-up while the other core idled. Lanes share nothing, so the order changes no result.
        Array.Sort(_byWork, static (a, b) => b.EventsProcessed != a.EventsProcessed ? b.EventsProcessed.CompareTo(a.EventsProcessed) : a.Index.CompareTo(b.Index));
        try
        {
            System.Threading.Tasks.Parallel.ForEach(_byWork, action);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            // The first lane's error as it was thrown (a ScenarioException or a broken invariant), not wrapped.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
            throw;
        }
    }

    private void CatchUp() => ForEachLane(l => l.RunUntil(Now));

    /// <summary>
    /// A probe, sample or cost-slot tick. Pipelined: hands each lane its RAN events and a snapshot of the RAN, and
    /// goes on with the RAN. Otherwise: the lanes catch up to now (in parallel) and take the tick.
    /// </summary>
    private void LaneTickNow(LaneTick tick)
    {
        if (_pipeline is { } pipeline)
        {
            var snapshot = Snapshot(pipeline.Snapshot(), tick);
            Phases.Time(SimPhase.Lanes, (pipeline, tick, Now, snapshot), static a => a.pipeline.Hand(a.tick, a.Now, a.snapshot));
            return;
        }

        Phases.Time(SimPhase.Lanes, this, static s => s.CatchUp());
        var ran = Snapshot(_syncSnapshot ??= new RanSnapshot(_ran.Length, []), tick);
        var phase = tick switch
        {
            LaneTick.Probe => SimPhase.Probes,
            LaneTick.Sample => SimPhase.Samples,
            _ => SimPhase.Slots,
        };
        Phases.Time(phase, (this, tick, ran), static a => a.Item1.ForEachLane(l => a.Item1.TakeTick(l, a.tick, a.Item1.Now, a.ran)));
    }

    /// <summary>What a tick needs of the RAN, copied (the probe's jitter drawn here: the same in every lane).</summary>
    private RanSnapshot Snapshot(RanSnapshot into, LaneTick tick)
    {
        if (tick == LaneTick.Probe)
        {
            _probeIndex++;
        }

        var jitterMean = Topology.Links.JitterMean.TotalSeconds;
        var slots = into.Ues;
        for (var ue = 0; ue < _ran.Length; ue++)
        {
            ref readonly var r = ref _ran[ue];
            ref var slot = ref slots[ue];
            slot.Connected = r.Connected;
            slot.Enb = r.Enb;
            slot.DownlinkTeid = r.DownlinkTeid;

            // Same queueing jitter for this probe in every lane: the lanes differ only in where the PVM is.
            slot.Jitter = tick == LaneTick.Probe && r.Connected ? -jitterMean * Math.Log(1 - SimRandom.Hash01(Scenario.Seed, (ulong)ue, (ulong)_probeIndex)) : 0;
        }

        into.Attached = _attachedCount;
        if (tick == LaneTick.Sample)
        {
            Ran.SampleTimes.Add((float)(Now - MeasuredFrom).TotalSeconds);
        }

        return into;
    }

    /// <summary>One lane's part of a tick, after it caught up to <paramref name="at"/> (on the lane's thread when pipelined).</summary>
    private void TakeTick(StrategyLane lane, LaneTick tick, TimeSpan at, RanSnapshot ran)
    {
        switch (tick)
        {
            case LaneTick.Probe:
                ProbeLane(lane, at, ran.Ues);
                break;
            case LaneTick.Sample:
                var counts = new int[lane.Stats.SiteSlots];
                lane.CountPvms(counts);
                lane.Stats.PvmsPerSite.Add(counts);
                lane.CheckAll();
                lane.SampleLinks(ran.View);
                break;
            case LaneTick.Slot:
                lane.SlotTick(ran.View);
                break;
            case LaneTick.Finish:
                lane.Finish();
                lane.CheckAll();
                break;
        }
    }

    /// <summary>A pipelined lane's work item: its RAN events up to the tick, then the tick.</summary>
    private void RunLaneWork(StrategyLane lane, LaneWork work)
    {
        lane.RunUntil(work.At, work.Inbox);
        lane.ReturnInbox(work.Inbox);
        TakeTick(lane, work.Tick, work.At, work.Ran);
        work.Ran.Release();
    }

    /// <summary>One lane's probe sweep: every UE connected at the tick sends one probe to its PVM.</summary>
    private void ProbeLane(StrategyLane lane, TimeSpan now, RanSlot[] ran)
    {
        var stats = lane.Stats;
        var l = lane.Index;
        for (var ue = 0; ue < ran.Length; ue++)
        {
            ref readonly var r = ref ran[ue];
            if (!r.Connected)
            {
                continue;
            }

            stats.ProbesSent++;
            var rtt = lane.Probe(ue, r.Enb, r.DownlinkTeid, r.Jitter, out var cause);
            if (cause == LossCause.None)
            {
                stats.Rtt.Add(rtt);
            }
            else
            {
                stats.Lost[(int)cause]++;
            }

            if (now >= MeasuredFrom)
            {
                Tracker.Probe(l, ue, now, rtt);
            }
        }
    }
}
