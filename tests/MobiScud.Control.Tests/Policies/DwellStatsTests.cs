using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>
/// The learned dwell distribution (<see cref="DwellStats"/>), hand-computed. Bins (s): 0-15, 15-30, 30-60, 60-120,
/// 120-240, 240-480, 480-960, 960-1920, over 1920; a dwell is spread evenly over its bin, the last bin is an
/// exponential tail whose mean is 1920 s.
/// </summary>
public sealed class DwellStatsTests
{
    // At A1: 10, 20, 100, 100 s (bins 0, 1, 3, 3); at B1: 300 s (bin 5).
    private static DwellStats Learned() => DwellStats.Empty
        .Observe(EnbA1, TimeSpan.FromSeconds(10))
        .Observe(EnbA1, TimeSpan.FromSeconds(20))
        .Observe(EnbA1, TimeSpan.FromSeconds(100))
        .Observe(EnbA1, TimeSpan.FromSeconds(100))
        .Observe(EnbB1, TimeSpan.FromSeconds(300));

    [Fact]
    public void Dwells_are_counted_in_their_bins_per_enb_and_over_all()
    {
        var d = Learned();
        Assert.Equal(new[] { 1, 1, 0, 2, 0, 1, 0, 0, 0 }, d.All.ToArray());
        Assert.Equal(new[] { 1, 1, 0, 2, 0, 0, 0, 0, 0 }, d.ByEnb[EnbA1].ToArray());
        Assert.Equal(0, DwellStats.BinOf(15));
        Assert.Equal(1, DwellStats.BinOf(15.5));
        Assert.Equal(8, DwellStats.BinOf(5000));

        // A clock that ran backwards teaches nothing.
        Assert.Same(d, d.Observe(EnbA1, TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void Survivors_spread_each_dwell_over_its_bin()
    {
        var all = Learned().All;
        Assert.Equal(5, DwellStats.Survivors(all, 0), 12);
        // Past 15 s: the 20 s (bin 15-30, all of it), both 100 s and the 300 s.
        Assert.Equal(4, DwellStats.Survivors(all, 15), 12);
        // Past 90 s: half of the 60-120 bin's two, and the 300 s.
        Assert.Equal(2, DwellStats.Survivors(all, 90), 12);
        Assert.Equal(0, DwellStats.Survivors(all, 480), 12);

        // The open bin: a tail e^(-(x - 1920) / 1920).
        var tail = DwellStats.Empty.Observe(EnbA1, TimeSpan.FromHours(1)).All;
        Assert.Equal(Math.Exp(-1), DwellStats.Survivors(tail, 3840), 12);
    }

    [Fact]
    public void The_chance_of_staying_is_the_cells_survival_after_the_time_spent_shrunk_toward_all_cells()
    {
        var d = Learned();
        // All cells, 15 s spent, 75 s more: S(90) / S(15) = 2 / 4. A1 (3 of its 4 past 15 s, 1 past 90 s), shrunk
        // with 5 pseudo-observations: (1 + 5 x 0.5) / (3 + 5) = 0.4375.
        Assert.Equal(0.4375, d.StayProbability(EnbA1, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(75), 5)!.Value, 12);
        // A cell never left: all cells'.
        Assert.Equal(0.5, d.StayProbability(EnbC1, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(75), 5)!.Value, 12);
        // Nothing learned, or longer than any dwell seen: unknown.
        Assert.Null(DwellStats.Empty.StayProbability(EnbA1, TimeSpan.Zero, TimeSpan.FromSeconds(60), 5));
        Assert.Null(d.StayProbability(EnbA1, TimeSpan.FromSeconds(600), TimeSpan.FromSeconds(60), 5));
    }

    [Fact]
    public void The_median_remaining_time_is_where_the_chance_of_staying_falls_to_one_half()
    {
        var d = Learned();
        // Just arrived at A1: P(stay h) = (S_A1(h) + 5 S_all(h) / 5) / (4 + 5) = (2 S_A1(h) + 1) / 9 for h <= 240
        // (S_all = S_A1 + 1). It reaches 1/2 where S_A1(h) = 1.75: 2 (120 - h) / 60 = 1.75, h = 67.5 s; so 68 s.
        Assert.Equal(TimeSpan.FromSeconds(68), d.MedianRemaining(EnbA1, TimeSpan.Zero, 5, TimeSpan.FromMinutes(7)));
        // Capped: at 60 s the chance is still 5 / 9.
        Assert.Equal(TimeSpan.FromSeconds(60), d.MedianRemaining(EnbA1, TimeSpan.Zero, 5, TimeSpan.FromSeconds(60)));
        Assert.Null(DwellStats.Empty.MedianRemaining(EnbA1, TimeSpan.Zero, 5, TimeSpan.FromMinutes(7)));
    }

    [Fact]
    public void Mobility_statistics_keep_the_dwell_of_each_handover_at_the_cell_left()
    {
        var stats = MobilityStats.Observe(MobilityStats.Empty, new HandoverObservation(TimeSpan.FromHours(8), EnbA1, EnbB1, TimeSpan.FromSeconds(100)));
        Assert.Equal(new[] { 0, 0, 0, 1, 0, 0, 0, 0, 0 }, stats.Dwells.ByEnb[EnbA1].ToArray());
        Assert.False(stats.Dwells.ByEnb.ContainsKey(EnbB1));
    }
}
