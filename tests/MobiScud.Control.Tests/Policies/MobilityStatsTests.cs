using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

public sealed class MobilityStatsTests
{
    [Fact]
    public void Observing_a_handover_learns_the_next_enb_and_the_dwell_per_hour()
    {
        var stats = MobilityStats.Empty;
        stats = MobilityStats.Observe(stats, new HandoverObservation(TimeSpan.FromHours(8.5), EnbA1, EnbB1, TimeSpan.FromSeconds(30)));
        stats = MobilityStats.Observe(stats, new HandoverObservation(TimeSpan.FromHours(8.7), EnbA1, EnbB1, TimeSpan.FromSeconds(90)));
        stats = MobilityStats.Observe(stats, new HandoverObservation(TimeSpan.FromHours(33.1), EnbA1, EnbC1, TimeSpan.FromSeconds(60)));
        var eight = stats.At(EnbA1, TimeSpan.FromHours(8), minDepartures: 2);
        Assert.Equal(2, eight.Departures);
        Assert.Equal(TimeSpan.FromSeconds(60), eight.MeanDwell);
        Assert.Equal(1, eight.ShareTo(EnbB1));

        // Asked for more departures than hour 8 holds: all hours together (hour 9 of the next day included).
        var all = stats.At(EnbA1, TimeSpan.FromHours(8), minDepartures: 3);
        Assert.Equal(3, all.Departures);
        Assert.Equal(1.0 / 3, all.ShareTo(EnbC1), 12);
        Assert.Equal(TimeSpan.FromSeconds(60), stats.MeanDwell);
        Assert.Equal(8, MobilityStats.HourOf(TimeSpan.FromHours(32.1)));
        Assert.Equal(1, stats.At(EnbA1, TimeSpan.FromHours(9), minDepartures: 1).Departures);
    }

    [Fact]
    public void The_observation_of_an_event_comes_from_the_state_before_it()
    {
        var f = new Fixture();
        f.Up(EnbA1);
        var before = f.State;
        f.Advance(TimeSpan.FromSeconds(42));
        var at = f.Now + TimeSpan.FromMilliseconds(100);
        var e = new PathSwitched(at, Ue, EnbB1, DownlinkAt(EnbB1, 0x11));
        var seen = MobilityStats.ObservationOf(before, e);
        Assert.NotNull(seen);
        Assert.Equal((EnbA1, EnbB1), (seen.From, seen.To));
        Assert.Equal(at - before!.ServingSince, seen.Dwell);

        // Not a move: another event, the same eNB, or a UE not connected.
        Assert.Null(MobilityStats.ObservationOf(before, new PathSwitched(at, Ue, EnbA1, [])));
        Assert.Null(MobilityStats.ObservationOf(before, new UeReleasedToIdle(at, Ue)));
        Assert.Null(MobilityStats.ObservationOf(before with { Connection = ConnectionState.Idle }, e));
        Assert.Null(MobilityStats.ObservationOf(null, e));
    }

    [Fact]
    public void The_controller_learns_when_asked()
    {
        var mc = new SingleThreadedMc(new McConfig(Sites, Core)) { LearnMobility = true };
        mc.Handle(new UeAttached(TimeSpan.FromSeconds(1), Ue, null, UeIp, EnbA1, null, [BearerAt(EnbA1)]));
        mc.Handle(new PvmStarted(TimeSpan.FromSeconds(2), Ue, PvmId.For(Ue), A, PvmIp));
        mc.Handle(new PathSwitched(TimeSpan.FromSeconds(11), Ue, EnbB1, DownlinkAt(EnbB1, 0x11)));
        mc.Handle(new HandoverCompleted(TimeSpan.FromSeconds(31), Ue, EnbC1, DownlinkAt(EnbC1, 0x12)));
        Assert.Equal(2, mc.Facts.Mobility.Observations);
        Assert.Equal(TimeSpan.FromSeconds(10), mc.Facts.Mobility.ByEnb[EnbA1].MeanDwell);
        Assert.Equal(TimeSpan.FromSeconds(20), mc.Facts.Mobility.ByEnb[EnbB1].MeanDwell);
    }
}
