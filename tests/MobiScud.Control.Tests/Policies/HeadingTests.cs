using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's heading (PolicyConfig.HeadingWeight): the cell a user came from and how fast it crossed it say where
/// it goes next. Cells on a line as in <see cref="RingPolicyTests"/>: A1 at 0, A2 at 1, B1 at 4, C1 at 8.
/// </summary>
public sealed class HeadingTests
{
    private static readonly CellGeometry _cells = new(
        new Dictionary<EnbId, (double X, double Y)> { [EnbA1] = (0, 0), [EnbA2] = (1, 0), [EnbB1] = (4, 0), [EnbC1] = (8, 0) },
        new Dictionary<SiteId, EnbId> { [A] = EnbA1, [B] = EnbB1, [C] = EnbC1, [Core] = EnbB1 },
        1);

    // A heading held 5 minutes: on this short line a longer one runs past C within the forecast. The forecast picks
    // the target (MdpBase off: on the MDP the heading can only veto a move).
    private static Fixture Predictive(double headingWeight, int minRingGain = 0) =>
        new(WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive, HeadingWeight = headingWeight, HeadingPersistence = TimeSpan.FromMinutes(5), MdpBase = false, MinRingGain = minRingGain }) with { Cells = _cells });

    [Fact]
    public void A_handover_keeps_the_cell_the_user_came_from_and_when_it_arrived_there()
    {
        var f = Predictive(0.5);
        f.Up(EnbA1);
        var arrived = f.State!.ServingSince;
        f.Advance(TimeSpan.FromSeconds(10));
        f.PathSwitch(EnbA2, 0x11);
        Assert.Equal(EnbA1, f.State!.PreviousEnb);
        Assert.Equal(arrived, f.State.PreviousSince);
        Assert.Equal(f.Now, f.State.ServingSince);
    }

    [Fact]
    public void A_user_on_a_heading_is_met_ahead_and_without_the_heading_at_its_own_site()
    {
        // A1 -> A2 -> B1, a minute per cell, heading toward C1; users at B1 are learned to stay 5 minutes.
        static StartMigration Moves(double headingWeight)
        {
            var f = Predictive(headingWeight);
            f.Facts = new PolicyFacts { Mobility = Learned(EnbB1, EnbC1, TimeSpan.FromMinutes(5)) };
            f.Up(EnbA1);
            f.Advance(TimeSpan.FromMinutes(1));
            f.PathSwitch(EnbA2, 0x11);
            f.Advance(TimeSpan.FromMinutes(1));
            return Single<StartMigration>(f.PathSwitch(EnbB1, 0x12));
        }

        Assert.Equal(C, Moves(1).To);
        Assert.Equal(B, Moves(0).To);
    }

    [Fact]
    public void Min_ring_gain_holds_back_a_move_ahead_that_brings_the_pvm_no_nearer_the_user()
    {
        // As above with the heading alone: C is as far from B1 as A is (4 rings), so with MinRingGain 1 the PVM goes
        // to the user's own site B or stays, never ahead to C.
        StartMigration? Moves(int minRingGain)
        {
            var f = Predictive(1, minRingGain);
            f.Facts = new PolicyFacts { Mobility = Learned(EnbB1, EnbC1, TimeSpan.FromMinutes(5)) };
            f.Up(EnbA1);
            f.Advance(TimeSpan.FromMinutes(1));
            f.PathSwitch(EnbA2, 0x11);
            f.Advance(TimeSpan.FromMinutes(1));
            return f.PathSwitch(EnbB1, 0x12).OfType<StartMigration>().SingleOrDefault();
        }

        Assert.Equal(C, Moves(0)?.To);
        Assert.NotEqual(C, Moves(1)?.To);
    }

    private static MobilityStats Learned(EnbId enb, EnbId next, TimeSpan dwell, int times = 20)
    {
        var stats = MobilityStats.Empty;
        for (var i = 0; i < times; i++)
        {
            stats = MobilityStats.Observe(stats, new HandoverObservation(TimeSpan.FromMinutes(i), enb, next, dwell));
        }

        return stats;
    }

    [Fact]
    public void Heading_parameters_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { HeadingWeight = -0.1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { HeadingWeight = 1.1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { HeadingPersistence = TimeSpan.Zero });
    }
}
