using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's higher bar for a quick crosser (PolicyConfig.QuickCrossing, QuickCrossingBar). The fixture's cells on
/// a line as in RingPolicyTests: A1 at 0, A2 at 1 (both site-a), B1 at 4, C1 at 8.
/// </summary>
public sealed class QuickCrossingTests
{
    private static readonly CellGeometry _cells = new(
        new Dictionary<EnbId, (double X, double Y)> { [EnbA1] = (0, 0), [EnbA2] = (1, 0), [EnbB1] = (4, 0), [EnbC1] = (8, 0) },
        new Dictionary<SiteId, EnbId> { [A] = EnbA1, [B] = EnbB1, [C] = EnbC1, [Core] = EnbB1 },
        1);

    private static readonly TimeSpan _t0 = TimeSpan.FromMinutes(10);

    private static UeState User(TimeSpan previousSince, TimeSpan servingSince, bool withPrevious = true) => new()
    {
        Ue = Fixture.Ue,
        Connection = ConnectionState.Connected,
        ServingEnb = EnbA2,
        ServingSince = servingSince,
        PreviousEnb = withPrevious ? EnbA1 : null,
        PreviousSince = previousSince,
    };

    [Fact]
    public void A_user_that_crossed_its_last_cell_in_less_than_quick_crossing_pays_the_bar_on_every_migration()
    {
        var config = WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive });
        Assert.Equal((TimeSpan.FromSeconds(60), 0.5, 1.5), (config.Policy.QuickCrossing, config.Policy.QuickCrossingShare, config.Policy.QuickCrossingBar));

        // A1 crossed in 20 s, nothing learned there (its mean dwell the prior, 120 s: 20 < 0.5 x 120): migration cost (1 + (1 - 0.8^x)) x 1.5, so 1.8 for one ring and 2.88 for five, at Q = 0;
        // transmission unchanged (1 - 0.8) = 0.2 for one ring.
        var quick = MigrationPolicies.WithQuickCrossingBar(config, PolicyFacts.None, User(_t0, _t0 + TimeSpan.FromSeconds(20)), _t0 + TimeSpan.FromSeconds(25));
        Assert.Equal(1.8, quick.Policy.Cost.MigrationCost(1), 12);
        Assert.Equal(1.5 * (1 + (1 - Math.Pow(0.8, 5))), quick.Policy.Cost.MigrationCost(5), 12);
        Assert.Equal(0.2, quick.Policy.Cost.TransmissionCost(1), 12);
        Assert.Equal(config.Policy with { Cost = quick.Policy.Cost }, quick.Policy);

        // Crossed in exactly 60 s, or with no earlier cell known: as configured, the same configuration.
        Assert.Same(config, MigrationPolicies.WithQuickCrossingBar(config, PolicyFacts.None, User(_t0, _t0 + TimeSpan.FromSeconds(60)), _t0 + TimeSpan.FromSeconds(61)));
        Assert.Same(config, MigrationPolicies.WithQuickCrossingBar(config, PolicyFacts.None, User(_t0, _t0 + TimeSpan.FromSeconds(20), withPrevious: false), _t0 + TimeSpan.FromSeconds(25)));

        // Off: a bar of 1 or no quick crossing time.
        var off = WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive, QuickCrossingBar = 1 });
        Assert.Same(off, MigrationPolicies.WithQuickCrossingBar(off, PolicyFacts.None, User(_t0, _t0 + TimeSpan.FromSeconds(5)), _t0 + TimeSpan.FromSeconds(6)));
        var zero = WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive, QuickCrossing = TimeSpan.Zero });
        Assert.Same(zero, MigrationPolicies.WithQuickCrossingBar(zero, PolicyFacts.None, User(_t0, _t0 + TimeSpan.FromSeconds(5)), _t0 + TimeSpan.FromSeconds(6)));
    }

    [Fact]
    public void Quick_is_also_relative_to_the_mean_dwell_learned_in_the_cell_crossed()
    {
        var config = WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive });
        Assert.Equal((5, TimeSpan.FromSeconds(120)), (config.Policy.MinDepartures, config.Policy.PriorDwell));

        // 20 departures from A1 after 30 s each, shrunk toward the 120 s prior with 5: (20 x 30 + 5 x 120) / 25 = 48 s,
        // so quick below 24 s.
        var facts = new PolicyFacts { Mobility = Learned(EnbA1, EnbA2, TimeSpan.FromSeconds(30)) };
        var at = TimeSpan.FromMinutes(30);
        Assert.Equal(1.5, MigrationPolicies.WithQuickCrossingBar(config, facts, User(at, at + TimeSpan.FromSeconds(23)), at + TimeSpan.FromSeconds(30)).Policy.Cost.MigrationScale, 12);
        Assert.Same(config, MigrationPolicies.WithQuickCrossingBar(config, facts, User(at, at + TimeSpan.FromSeconds(24)), at + TimeSpan.FromSeconds(30)));

        // Share 0: the time alone (24 s < 60 s).
        var timeOnly = WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive, QuickCrossingShare = 0 });
        Assert.Equal(1.5, MigrationPolicies.WithQuickCrossingBar(timeOnly, facts, User(at, at + TimeSpan.FromSeconds(24)), at + TimeSpan.FromSeconds(30)).Policy.Cost.MigrationScale, 12);
    }

    [Fact]
    public void With_a_handover_prepared_the_crossing_judged_is_of_the_cell_the_user_is_leaving()
    {
        var config = WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive });

        // Served by A2 since t0 + 100 s (A1 crossed slowly, in 100 s), an S1 handover to C1 prepared.
        var s = User(_t0, _t0 + TimeSpan.FromSeconds(100)) with
        {
            PendingHandover = new PendingHandover(EnbA2, EnbC1, HandoverKind.S1, _t0 + TimeSpan.FromSeconds(110)),
        };
        Assert.Equal(1.5, MigrationPolicies.WithQuickCrossingBar(config, PolicyFacts.None, s, _t0 + TimeSpan.FromSeconds(110)).Policy.Cost.MigrationScale, 12);
        Assert.Same(config, MigrationPolicies.WithQuickCrossingBar(config, PolicyFacts.None, s, _t0 + TimeSpan.FromSeconds(160)));

        // Without pre-copy at the prepare the user is judged where it is: A1's 100 s crossing, no bar.
        var noPreCopy = WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive, PreCopyOnPrepare = false });
        Assert.Same(noPreCopy, MigrationPolicies.WithQuickCrossingBar(noPreCopy, PolicyFacts.None, s, _t0 + TimeSpan.FromSeconds(110)));
    }

    [Fact]
    public void The_bar_holds_back_a_quick_crossers_move_that_a_slow_crosser_gets()
    {
        // Users at C1 stay 20 minutes before they move on to B1: worth following a user there at once, at the usual
        // price; at a prohibitive bar only a user that crossed A2 slowly is followed.
        var policy = new PolicyConfig { Kind = PolicyKind.Predictive, QuickCrossingBar = 1e6 };
        Fixture Run(PolicyConfig p, TimeSpan atA2)
        {
            var f = new Fixture(WithPolicy(p) with { Cells = _cells })
            {
                Facts = new PolicyFacts { Mobility = Learned(EnbC1, EnbB1, TimeSpan.FromMinutes(20)) },
            };
            f.Up(EnbA1);
            f.Advance(TimeSpan.FromSeconds(40));
            f.PathSwitch(EnbA2, 0x11);
            f.Advance(atA2);
            f.PathSwitch(EnbC1, 0x12);
            return f;
        }

        Assert.Empty(Run(policy, TimeSpan.FromSeconds(10)).All.OfType<StartMigration>());
        var slow = Single<StartMigration>(Run(policy, TimeSpan.FromSeconds(90)).All);
        Assert.Equal((A, C), (slow.From, slow.To));
        var usual = Single<StartMigration>(Run(policy with { QuickCrossingBar = 1 }, TimeSpan.FromSeconds(10)).All);
        Assert.Equal((A, C), (usual.From, usual.To));
    }

    [Fact]
    public void Bad_settings_are_refused_by_name()
    {
        Assert.Contains("QuickCrossingBar", Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { QuickCrossingBar = 0.5 }).Message);
        Assert.Contains("QuickCrossingBar", Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { QuickCrossingBar = double.PositiveInfinity }).Message);
        Assert.Contains("QuickCrossingBar", Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { QuickCrossingBar = double.NaN }).Message);
        Assert.Contains("QuickCrossingShare", Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { QuickCrossingShare = -0.1 }).Message);
        Assert.Contains("QuickCrossingShare", Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { QuickCrossingShare = double.NaN }).Message);
        Assert.Contains("QuickCrossing", Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { QuickCrossing = TimeSpan.FromSeconds(-1) }).Message);
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
