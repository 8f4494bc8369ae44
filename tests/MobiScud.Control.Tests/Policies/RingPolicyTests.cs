using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>
/// The cost-weighing policies on cell geometry (rings of cells, Wang et al.'s distance). The fixture's cells on a line,
/// one ring apart per unit: A1 at 0, A2 at 1, B1 at 4, C1 at 8; each site counts as its first cell, the core as B1.
/// </summary>
public sealed class RingPolicyTests
{
    private static readonly CellGeometry _cells = new(
        new Dictionary<EnbId, (double X, double Y)> { [EnbA1] = (0, 0), [EnbA2] = (1, 0), [EnbB1] = (4, 0), [EnbC1] = (8, 0) },
        new Dictionary<SiteId, EnbId> { [A] = EnbA1, [B] = EnbB1, [C] = EnbC1, [Core] = EnbB1 },
        1);

    private static McConfig InRings(PolicyConfig policy) => WithPolicy(policy) with { Cells = _cells };

    [Fact]
    public void Rings_are_the_distance_over_the_cell_distance_rounded_up_with_exact_multiples_kept()
    {
        var geometry = new CellGeometry(
            new Dictionary<EnbId, (double X, double Y)> { [new(1)] = (0, 0), [new(2)] = (2, 0), [new(3)] = (2.5, 0), [new(4)] = (2 + 1e-10, 0), [new(5)] = (3, 4) },
            new Dictionary<SiteId, EnbId> { [A] = new(2) },
            1);
        Assert.Equal(0, geometry.Rings(new EnbId(1), new EnbId(1)));
        Assert.Equal(2, geometry.Rings(new EnbId(1), new EnbId(2)));
        Assert.Equal(3, geometry.Rings(new EnbId(1), new EnbId(3)));
        Assert.Equal(2, geometry.Rings(new EnbId(1), new EnbId(4)));
        Assert.Equal(5, geometry.Rings(new EnbId(1), new EnbId(5)));
        Assert.Equal(2, geometry.Rings(new EnbId(1), A));
        Assert.Null(geometry.Rings(new EnbId(1), B));
        Assert.Null(geometry.Rings(new EnbId(99), A));
        Assert.Throws<ArgumentException>(() => new CellGeometry(new Dictionary<EnbId, (double X, double Y)>(), new Dictionary<SiteId, EnbId> { [A] = new(1) }, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CellGeometry(new Dictionary<EnbId, (double X, double Y)>(), new Dictionary<SiteId, EnbId>(), 0));
    }

    [Fact]
    public void Mdp_threshold_in_rings_with_free_migration_follows_to_the_nearest_edge_site_and_never_to_the_core()
    {
        var f = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.MdpThreshold, Cost = new WangCostModel(migrationScale: 0) }));
        f.Up(EnbA1);

        // B1 is the cell of both site-b and the core: the edge site is chosen.
        var toB = Single<StartMigration>(f.PathSwitch(EnbB1, 0x11));
        Assert.Equal((A, B), (toB.From, toB.To));
        f.Completed(toB.Migration);
        var toC = Single<StartMigration>(f.PathSwitch(EnbC1, 0x12));
        Assert.Equal((B, C), (toC.From, toC.To));
    }

    [Fact]
    public void Mdp_threshold_in_rings_with_prohibitive_migration_never_moves()
    {
        var f = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.MdpThreshold, Cost = new WangCostModel(migrationScale: 1e6) }));
        f.Up(EnbA1);
        var teid = 0x10u;
        foreach (var enb in new[] { EnbB1, EnbC1, EnbA2, EnbC1, EnbB1 })
        {
            f.PathSwitch(enb, teid++);
        }

        Assert.Empty(f.All.OfType<StartMigration>());
    }

    [Fact]
    public void Myopic_in_rings_stays_within_the_chain_and_must_move_beyond_it_as_in_wang_et_al()
    {
        // One slot never pays for a move with the paper's costs, so myopic stays while the user is nearer than
        // MaxDistance rings; beyond it the PVM must move (their myopic only considers clouds within the chain).
        var f = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.Myopic, MaxDistance = 5 }));
        f.Up(EnbA1);
        Assert.Empty(f.PathSwitch(EnbB1, 0x11).OfType<StartMigration>());
        var start = Single<StartMigration>(f.PathSwitch(EnbC1, 0x12));
        Assert.Equal((A, C), (start.From, start.To));
    }

    [Fact]
    public void Predictive_in_rings_follows_a_user_who_stays_and_not_one_it_has_learned_comes_straight_back()
    {
        // Users at C1 stay 20 minutes before they move on to B1: worth following at once.
        var stays = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.Predictive }))
        {
            Facts = new PolicyFacts { Mobility = Learned(EnbC1, EnbB1, TimeSpan.FromMinutes(20)) },
        };
        stays.Up(EnbA1);
        var start = Single<StartMigration>(stays.PathSwitch(EnbC1, 0x11));
        Assert.Equal((A, C), (start.From, start.To));
        Assert.True(start.ExpectedBenefit > 0);

        // Users at C1 go back to A1 after 5 s: staying at A is cheaper than the move.
        var returns = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.Predictive }))
        {
            Facts = new PolicyFacts { Mobility = Learned(EnbC1, EnbA1, TimeSpan.FromSeconds(5)) },
        };
        returns.Up(EnbA1);
        Assert.Empty(returns.PathSwitch(EnbC1, 0x11).OfType<StartMigration>());
        returns.Advance(TimeSpan.FromSeconds(5));
        returns.PathSwitch(EnbA1, 0x12);
        Assert.Empty(returns.All.OfType<StartMigration>());
    }

    [Fact]
    public void Predictive_in_rings_carries_a_move_on_while_the_user_wavers_and_cancels_it_when_the_user_is_back()
    {
        var f = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.Predictive }))
        {
            Facts = new PolicyFacts { Mobility = Learned(EnbC1, EnbB1, TimeSpan.FromMinutes(20)) },
        };
        f.Up(EnbA1);
        var start = Single<StartMigration>(f.PathSwitch(EnbC1, 0x11));
        Assert.Equal((A, C), (start.From, start.To));

        // At B1 the user is as far from A as from C (4 rings): the move carries on.
        Assert.Empty(f.PathSwitch(EnbB1, 0x12).OfType<CancelMigration>());

        // Back at A2, nearer the source: cancelled.
        var cancel = Single<CancelMigration>(f.PathSwitch(EnbA2, 0x13));
        Assert.Equal(start.Migration, cancel.Migration);
    }

    [Fact]
    public void Predictive_on_the_mdp_without_the_veto_moves_where_mdp_threshold_moves()
    {
        // No backhaul graph here, so no load or admission: predictive's base decision is the MDP's, move for move.
        var walk = new[] { EnbB1, EnbC1, EnbA2, EnbC1, EnbB1, EnbA1, EnbC1 };
        var mdp = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.MdpThreshold, Learn = false, MoveProbability = 0.2 }));
        var predictive = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.Predictive, Learn = false, MoveProbability = 0.2, ForecastVeto = false, HeadingWeight = 0 }));
        foreach (var f in new[] { mdp, predictive })
        {
            f.Up(EnbA1);
            var teid = 0x10u;
            foreach (var enb in walk)
            {
                foreach (var start in f.PathSwitch(enb, teid++).OfType<StartMigration>().ToList())
                {
                    f.Completed(start.Migration);
                }
            }
        }

        var moves = mdp.All.OfType<StartMigration>().Select(m => (m.From, m.To)).ToList();
        Assert.NotEmpty(moves);
        Assert.Equal(moves, predictive.All.OfType<StartMigration>().Select(m => (m.From, m.To)).ToList());
    }

    [Fact]
    public void Predictive_on_the_mdp_vetoes_a_move_the_mdp_makes_when_users_of_the_cell_are_learned_to_come_straight_back()
    {
        // Users at C1 go back to A1 after 5 s. The MDP sees only how often users leave C1, not where to, and follows.
        var facts = new PolicyFacts { Mobility = Learned(EnbC1, EnbA1, TimeSpan.FromSeconds(5)) };
        var mdp = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.MdpThreshold })) { Facts = facts };
        mdp.Up(EnbA1);
        Assert.Equal((A, C), Single<StartMigration>(mdp.PathSwitch(EnbC1, 0x11)) is var m ? (m.From, m.To) : default);

        var vetoed = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.Predictive })) { Facts = facts };
        vetoed.Up(EnbA1);
        Assert.Empty(vetoed.PathSwitch(EnbC1, 0x11).OfType<StartMigration>());

        // Without the veto, predictive follows as the MDP does.
        var follows = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.Predictive, ForecastVeto = false })) { Facts = facts };
        follows.Up(EnbA1);
        var start = Single<StartMigration>(follows.PathSwitch(EnbC1, 0x11));
        Assert.Equal((A, C), (start.From, start.To));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Predictive_moves_only_when_the_move_brings_the_pvm_at_least_min_ring_gain_nearer(bool mdpBase)
    {
        // Users at C1 stay 20 minutes; from A (8 rings) to C (0 rings) is a gain of 8 rings.
        StartMigration? Move(int minRingGain)
        {
            var f = new Fixture(InRings(new PolicyConfig { Kind = PolicyKind.Predictive, MdpBase = mdpBase, MinRingGain = minRingGain }))
            {
                Facts = new PolicyFacts { Mobility = Learned(EnbC1, EnbB1, TimeSpan.FromMinutes(20)) },
            };
            f.Up(EnbA1);
            return f.PathSwitch(EnbC1, 0x11).OfType<StartMigration>().SingleOrDefault();
        }

        Assert.Equal(C, Move(0)?.To);
        Assert.Equal(C, Move(8)?.To);
        Assert.Null(Move(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { MinRingGain = -1 });
    }

    [Fact]
    public void A_creation_that_failed_is_asked_for_again_after_the_back_off_not_at_once()
    {
        var f = new Fixture(InRings(PolicyConfig.Default));
        var create = Single<CreatePvm>(f.Attach(EnbA1));
        var retry = f.On(t => new PvmFailed(t, Ue, create.Pvm, create.Site, "admission refused: every site is full"));
        Assert.Empty(retry.OfType<CreatePvm>());
        var review = Single<ScheduleTimer>(retry);
        Assert.Equal(TimerKind.PolicyReview, review.Kind);
        Assert.Equal(f.Config.MigrationRetryAfter, review.Due - f.Now);
        var again = Single<CreatePvm>(f.Fire(review));
        Assert.Equal(A, again.Site);
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
}
