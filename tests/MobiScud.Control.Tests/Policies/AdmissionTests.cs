using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's admission by expected completion (MigrationPolicies.Admission.cs) on the fixture's line A - B - C
/// (10 Gbit/s links; A to C crosses link 0, A-B, and link 1, B-C) and cells on a line as in <see cref="RingPolicyTests"/>.
/// </summary>
public sealed class AdmissionTests
{
    private const double Bytes = 300e6;

    private static readonly CellGeometry _cells = new(
        new Dictionary<EnbId, (double X, double Y)> { [EnbA1] = (0, 0), [EnbA2] = (1, 0), [EnbB1] = (4, 0), [EnbC1] = (8, 0) },
        new Dictionary<SiteId, EnbId> { [A] = EnbA1, [B] = EnbB1, [C] = EnbC1, [Core] = EnbB1 },
        1);

    // The admission alone: no heading, and the congestion cost (LinkLoadWeight) off unless a test sets it. The forecast
    // decides (MdpBase off) unless a test sets mdpBase: the partial targets and benefits below are the forecast's.
    private static McConfig Predictive(double bytesPerSecond = 0, TimeSpan? deadline = null, double linkLoadWeight = 0, bool mdpBase = false)
    {
        var policy = new PolicyConfig { Kind = PolicyKind.Predictive, MigrationBytes = Bytes, MigrationBytesPerSecond = bytesPerSecond, HeadingWeight = 0, LinkLoadWeight = linkLoadWeight, MdpBase = mdpBase };
        return WithPolicy(policy) with { Cells = _cells, MigrationDeadline = deadline ?? TimeSpan.FromSeconds(60) };
    }

    [Fact]
    public void Expected_transfer_time_is_the_bytes_over_the_bottleneck_share_of_what_user_traffic_leaves()
    {
        var facts = new PolicyFacts { LinkBackground = [0.5, 0.95], LinkMigrations = [3, 1] };

        // Link 0: 0.5 x 1.25e9 B/s over 4 = 156.25e6; link 1: user traffic leaves migrations at least a tenth,
        // 0.1 x 1.25e9 over 2 = 62.5e6, the bottleneck: 300e6 / 62.5e6 = 4.8 s.
        Assert.Equal(4.8, MigrationPolicies.ExpectedMigrationSeconds(Predictive(), facts, A, C)!.Value, 9);

        // A per-migration cap below the share is the limit.
        Assert.Equal(6.0, MigrationPolicies.ExpectedMigrationSeconds(Predictive(bytesPerSecond: 50e6), facts, A, C)!.Value, 9);

        // A to B crosses link 0 only.
        Assert.Equal(300e6 / 156.25e6, MigrationPolicies.ExpectedMigrationSeconds(Predictive(), facts, A, B)!.Value, 9);

        // Nothing known about the links: the bare link rate.
        Assert.Equal(0.24, MigrationPolicies.ExpectedMigrationSeconds(Predictive(), PolicyFacts.None, A, C)!.Value, 9);

        // Unknown size: no estimate, so no admission by it.
        Assert.Null(MigrationPolicies.ExpectedMigrationSeconds(WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive }), facts, A, C));
    }

    [Fact]
    public void Predictive_does_not_start_a_move_whose_expected_completion_misses_its_deadline()
    {
        // Users at C1 stay 20 minutes: the move to C is worth it when the links can carry it.
        var mobility = Learned(EnbC1, EnbB1, TimeSpan.FromMinutes(20));
        var free = new Fixture(Predictive()) { Facts = new PolicyFacts { Mobility = mobility } };
        free.Up(EnbA1);
        Assert.Equal(C, Single<StartMigration>(free.PathSwitch(EnbC1, 0x11)).To);

        // 250 migrations already on each link: 300e6 / (1.25e9 / 251) = 60.2 s, past half the 60 s deadline: not started.
        var busy = new Fixture(Predictive()) { Facts = new PolicyFacts { Mobility = mobility, LinkMigrations = [250, 250] } };
        busy.Up(EnbA1);
        Assert.Empty(busy.PathSwitch(EnbC1, 0x11).OfType<StartMigration>());

        // Only B-C that busy: not to C, but part of the way, to B (nearest the cell the user goes to next), over A-B.
        var partWay = new Fixture(Predictive()) { Facts = new PolicyFacts { Mobility = mobility, LinkMigrations = [0, 250] } };
        partWay.Up(EnbA1);
        Assert.Equal(B, Single<StartMigration>(partWay.PathSwitch(EnbC1, 0x11)).To);

        // 120 of them: 29.0 s, within half the deadline: started.
        var fits = new Fixture(Predictive()) { Facts = new PolicyFacts { Mobility = mobility, LinkMigrations = [0, 120] } };
        fits.Up(EnbA1);
        Assert.Equal(C, Single<StartMigration>(fits.PathSwitch(EnbC1, 0x11)).To);

        // The same 250 against a deadline of 3 minutes: started.
        var patient = new Fixture(Predictive(deadline: TimeSpan.FromMinutes(3))) { Facts = new PolicyFacts { Mobility = mobility, LinkMigrations = [0, 250] } };
        patient.Up(EnbA1);
        Assert.Equal(C, Single<StartMigration>(patient.PathSwitch(EnbC1, 0x11)).To);
    }

    [Fact]
    public void While_a_move_is_on_the_wire_the_user_is_served_from_the_source_so_a_slower_move_is_worth_less()
    {
        var mobility = Learned(EnbC1, EnbB1, TimeSpan.FromMinutes(20));
        double Benefit(IReadOnlyList<int> onLinks)
        {
            var f = new Fixture(Predictive()) { Facts = new PolicyFacts { Mobility = mobility, LinkMigrations = onLinks } };
            f.Up(EnbA1);
            return Single<StartMigration>(f.PathSwitch(EnbC1, 0x11)).ExpectedBenefit;
        }

        var fast = Benefit([0, 0]);
        var slow = Benefit([0, 120]);
        Assert.True(fast > slow && slow > 0, $"benefit {fast} on free links, {slow} on busy ones");
    }

    [Fact]
    public void Predictive_does_not_move_for_a_user_it_expects_to_leave_before_the_move_pays()
    {
        // Users at C1 leave after 40 s for A1 (the PVM's site): by the time a move has landed and paid its cost the user
        // is likely back; a user learned to stay 20 minutes is followed.
        var leaves = new Fixture(Predictive()) { Facts = new PolicyFacts { Mobility = Learned(EnbC1, EnbA1, TimeSpan.FromSeconds(40), times: 200) } };
        leaves.Up(EnbA1);
        Assert.Empty(leaves.PathSwitch(EnbC1, 0x11).OfType<StartMigration>());

        var stays = new Fixture(Predictive()) { Facts = new PolicyFacts { Mobility = Learned(EnbC1, EnbA1, TimeSpan.FromMinutes(20), times: 200) } };
        stays.Up(EnbA1);
        Assert.Equal(C, Single<StartMigration>(stays.PathSwitch(EnbC1, 0x11)).To);
    }

    [Fact]
    public void A_move_onto_links_that_already_carry_migrations_costs_as_much_more_as_it_would_take_longer()
    {
        var mobility = Learned(EnbC1, EnbB1, TimeSpan.FromMinutes(20));
        StartMigration? Move(IReadOnlyList<int> onLinks)
        {
            var f = new Fixture(Predictive(linkLoadWeight: 1)) { Facts = new PolicyFacts { Mobility = mobility, LinkMigrations = onLinks } };
            f.Up(EnbA1);
            return f.PathSwitch(EnbC1, 0x11).OfType<StartMigration>().SingleOrDefault();
        }

        // Idle links: worth it. One migration on B-C: twice as long, the migration cost counts twice; still worth it,
        // for less. Ten on each link: 11 times the cost: staying is cheaper, though it would finish in time (2.6 s).
        var idle = Move([0, 0]);
        var shared = Move([0, 1]);
        Assert.Equal(C, idle?.To);
        Assert.Equal(C, shared?.To);
        Assert.True(idle!.ExpectedBenefit > shared!.ExpectedBenefit, $"benefit {idle.ExpectedBenefit} on idle links, {shared.ExpectedBenefit} sharing");
        Assert.Null(Move([10, 10]));
    }

    [Fact]
    public void Predictive_on_the_mdp_keeps_the_admission_and_the_congestion_cost()
    {
        // Users at C1 stay 20 minutes: the MDP follows them from A to C, whatever the links carry.
        var mobility = Learned(EnbC1, EnbB1, TimeSpan.FromMinutes(20));
        StartMigration? Move(McConfig config, IReadOnlyList<int> onLinks)
        {
            var f = new Fixture(config) { Facts = new PolicyFacts { Mobility = mobility, LinkMigrations = onLinks } };
            f.Up(EnbA1);
            return f.PathSwitch(EnbC1, 0x11).OfType<StartMigration>().SingleOrDefault();
        }

        var mdp = WithPolicy(new PolicyConfig { Kind = PolicyKind.MdpThreshold }) with { Cells = _cells, MigrationDeadline = TimeSpan.FromSeconds(60) };
        Assert.Equal(C, Move(mdp, [250, 250])?.To);

        // Predictive on the MDP: to C on idle links; not onto links where it would miss its deadline (60.2 s).
        Assert.Equal(C, Move(Predictive(mdpBase: true), [0, 0])?.To);
        Assert.Null(Move(Predictive(mdpBase: true), [250, 250]));

        // Congestion: on idle links worth it; with ten migrations on each link it would finish in time (2.6 s), but at
        // 11 times the migration cost staying is cheaper.
        Assert.Equal(C, Move(Predictive(linkLoadWeight: 1, mdpBase: true), [0, 0])?.To);
        Assert.Null(Move(Predictive(linkLoadWeight: 1, mdpBase: true), [10, 10]));
        Assert.Equal(C, Move(Predictive(linkLoadWeight: 0, mdpBase: true), [10, 10])?.To);
    }

    [Fact]
    public void Deadline_share_is_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { DeadlineShare = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { DeadlineShare = 1.5 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { MigrationBytes = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { MigrationBytesPerSecond = double.PositiveInfinity });
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
