using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.LineOfCells;

namespace MobiScud.Control.Tests;

/// <summary>
/// How often predictive's moves met their user (<see cref="MoveOutcomeStats"/>), learned from the MC's own states:
/// the class a move gets when it starts, what became of it, and the met rate that weighs a move's saving. The line of
/// cells of <see cref="TrajectoryTests"/>: E(x) at (x, 0), sites W (E(-3)), N (E(2)), F (E(5)), the core (E(12)).
/// </summary>
public sealed class MoveOutcomeTests
{
    // The walkers cross a cell every 30 s: without the quick crosser's bar (QuickCrossingTests), the plain cost model.
    private static McConfig Config(bool moveOutcomes = true) =>
        LineOfCells.Config(new PolicyConfig { Kind = PolicyKind.Predictive, Learn = false, MoveOutcomes = moveOutcomes, QuickCrossingBar = 1 });

    private static MigrationInFlight Moving(UeState s, SiteId to) => new(new MigrationId(s.Ue, 1), s.PvmSite!.Value, to, s.ServingSince, false);

    [Fact]
    public void The_met_rate_is_the_hand_computed_beta_posterior_mean_per_class()
    {
        var c = MoveOutcomeStats.Index(2, 3, 1);
        Assert.Equal(((((2 * 4) + 3) * 4) + 1), c);
        Assert.Equal(MoveOutcomeStats.Index(2, 3, 3), MoveOutcomeStats.Index(2, 3, 9));

        // 3 met, 1 missed in class c; one missed elsewhere. Prior 1 with weight 10: (3 + 10) / (4 + 10) = 13/14; prior
        // 0.5 with weight 2: (3 + 1) / (4 + 2) = 2/3. A class never seen keeps the prior.
        var stats = MoveOutcomeStats.Empty.Observe(c, true).Observe(c, false).Observe(c, true).Observe(c, true).Observe(0, false);
        Assert.Equal((5L, 4L, 3L), (stats.Observations, stats.Seen(c), stats.Met(c)));
        Assert.Equal(13.0 / 14, stats.MetRate(c, 1, 10), 12);
        Assert.Equal(2.0 / 3, stats.MetRate(c, 0.5, 2), 12);
        Assert.Equal(10.0 / 11, stats.MetRate(0, 1, 10), 12);
        Assert.Equal(0.8, stats.MetRate(1, 0.8, 10), 12);

        // Immutable: the fold returns new statistics.
        Assert.Equal(0L, MoveOutcomeStats.Empty.Observations);
        Assert.Throws<ArgumentOutOfRangeException>(() => stats.Observe(MoveOutcomeStats.Classes, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => MoveOutcomeStats.Index(3, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { MoveOutcomePrior = 1.5 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { MoveOutcomePriorWeight = 0 });
    }

    [Fact]
    public void A_move_is_classed_by_where_its_target_lies_against_the_user()
    {
        var config = Config();
        var walker = Walker(headingSteps: 3);

        // At E(2): its own site N (0 rings), ahead to F (E(5), 3 rings); nothing learned about headings (trust 0).
        Assert.Equal(MoveOutcomeStats.Index(0, 0, 0), MoveOutcomeStats.ClassOf(config, PolicyFacts.None, walker, N));
        Assert.Equal(MoveOutcomeStats.Index(2, 0, 3), MoveOutcomeStats.ClassOf(config, PolicyFacts.None, walker, F));

        // A handover to E(4) prepared: F is its target's site, judged from E(4) (1 ring).
        var prepared = walker with { PendingHandover = new PendingHandover(E(2), E(4), HandoverKind.S1, walker.ServingSince) };
        Assert.Equal(MoveOutcomeStats.Index(1, 0, 1), MoveOutcomeStats.ClassOf(config, PolicyFacts.None, prepared, F));

        // Without cell positions there is no class, and the weight is 1.
        var plain = config with { Cells = null };
        Assert.Null(MoveOutcomeStats.ClassOf(plain, PolicyFacts.None, walker, F));
        Assert.Equal(1.0, MoveOutcomeStats.Weight(plain, PolicyFacts.None, walker, F));
    }

    [Fact]
    public void A_move_is_watched_from_its_start_until_it_meets_or_misses_its_user()
    {
        var config = Config();
        var walker = Walker(headingSteps: 3);
        var moving = walker with { Migration = Moving(walker, F) };
        var started = MoveOutcomeStats.Track(config, PolicyFacts.None, walker, moving);
        var watch = new MoveWatch(MoveOutcomeStats.Index(2, 0, 3), F);
        Assert.Equal(watch, started.MoveWatch);

        // On the wire: pending. Landed while the user is still at E(2) (site N): pending. The user reaches E(4): met.
        var step = started with { LastEventAt = started.LastEventAt + TimeSpan.FromSeconds(1) };
        Assert.Equal(MoveOutcome.Pending, MoveOutcomeStats.OutcomeOf(config, started, step));
        var landed = MoveOutcomeStats.Track(config, PolicyFacts.None, started, started with { Migration = null, PvmSite = F });
        Assert.Equal(watch, landed.MoveWatch);
        var arrived = landed with { ServingEnb = E(4) };
        Assert.Equal(MoveOutcome.Met, MoveOutcomeStats.OutcomeOf(config, landed, arrived));
        Assert.Null(MoveOutcomeStats.Track(config, PolicyFacts.None, landed, arrived).MoveWatch);

        // Landed, then the user goes idle, or the PVM moves on, before it got there: missed.
        Assert.Equal(MoveOutcome.Missed, MoveOutcomeStats.OutcomeOf(config, landed, landed with { Connection = ConnectionState.Idle }));
        Assert.Equal(MoveOutcome.Missed, MoveOutcomeStats.OutcomeOf(config, landed, landed with { Migration = new MigrationInFlight(new MigrationId(walker.Ue, 2), F, N, walker.ServingSince, false) }));
        Assert.Equal(MoveOutcome.Missed, MoveOutcomeStats.OutcomeOf(config, landed, null));

        // Cancelled on the wire (the PVM stays at W) or replaced: dropped, never counted.
        Assert.Equal(MoveOutcome.Dropped, MoveOutcomeStats.OutcomeOf(config, started, started with { Migration = null }));
        Assert.Equal(MoveOutcome.Dropped, MoveOutcomeStats.OutcomeOf(config, started, started with { Migration = started.Migration! with { Cancelling = true } }));
        Assert.Null(MoveOutcomeStats.Track(config, PolicyFacts.None, started, started with { Migration = null }).MoveWatch);

        // Other policies, and predictive with the statistic off, watch nothing.
        Assert.Null(MoveOutcomeStats.Track(Config(moveOutcomes: false), PolicyFacts.None, walker, moving).MoveWatch);
        Assert.Null(MoveOutcomeStats.Track(LineOfCells.Config(new PolicyConfig { Kind = PolicyKind.Always }), PolicyFacts.None, walker, moving).MoveWatch);
    }

    [Fact]
    public void The_controller_learns_outcomes_from_its_own_decisions()
    {
        // A UE walks the line from E(-3) (its PVM at W) a cell every 30 s; predictive moves its PVM on the way, each
        // migration completing 2 s after it starts. The first move's outcome is folded into the controller's statistics
        // under the class the move had when it started: it met the user (the user walks into the target's cells).
        var config = Config();
        var mc = new SingleThreadedMc(config) { LearnMobility = true };
        var ue = new UeId("imsi-001010000000077");
        var at = TimeSpan.FromSeconds(10);
        mc.Handle(new UeAttached(at, ue, "001010000000077", Fixture.UeIp, E(-3), null, [Fixture.BearerAt(E(-3))]));
        mc.Handle(new PvmStarted(at, ue, PvmId.For(ue), W, Fixture.PvmIp));
        MoveWatch? first = null;
        for (var x = -2; x <= 12 && mc.Facts.Mobility.MoveOutcomes.Observations == 0; x++)
        {
            at += TimeSpan.FromSeconds(30);
            foreach (var start in mc.Handle(new PathSwitched(at, ue, E(x), Fixture.DownlinkAt(E(x), (uint)(0x300 + x + 5)))).OfType<StartMigration>())
            {
                first ??= mc[ue]!.MoveWatch;
                mc.Handle(new MigrationCompleted(at + TimeSpan.FromSeconds(2), start.Migration, new MigrationStats(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(40), 90_000_000, 3)));
            }
        }

        Assert.NotNull(first);
        var learned = mc.Facts.Mobility.MoveOutcomes;
        Assert.Equal(1L, learned.Observations);
        Assert.Equal((1L, 1L), (learned.Seen(first.Class), learned.Met(first.Class)));
        Assert.Equal(config.SwitchSiteFor(mc[ue]!.ServingEnb!.Value), first.Target);
    }

    [Fact]
    public void A_class_that_never_meets_loses_its_moves_and_one_that_meets_keeps_them()
    {
        // The walker of TrajectoryTests goes ahead to F (3 rings, class (2, 0, 3)) on the prior.
        var config = Config();
        var walker = Walker(headingSteps: 3);
        PolicyVerdict Decide(MoveOutcomeStats outcomes) =>
            MigrationPolicies.Decide(config, new PolicyFacts { Mobility = MobilityStats.Empty with { MoveOutcomes = outcomes } }, walker, walker.ServingEnb!.Value, walker.PvmSite!.Value, walker.ServingSince);

        var prior = Decide(MoveOutcomeStats.Empty);
        Assert.Equal(F, prior.Target);
        Assert.Equal(Decide(MoveOutcomeStats.Empty).Benefit, MigrationPolicies.Decide(Config(moveOutcomes: false), PolicyFacts.None, walker, walker.ServingEnb!.Value, walker.PvmSite!.Value, walker.ServingSince).Benefit, 12);

        var ahead = MoveOutcomeStats.Index(2, 0, 3);
        var missed = Enumerable.Range(0, 200).Aggregate(MoveOutcomeStats.Empty, (o, _) => o.Observe(ahead, false));
        var met = Enumerable.Range(0, 200).Aggregate(MoveOutcomeStats.Empty, (o, _) => o.Observe(ahead, true));
        Assert.NotEqual(F, Decide(missed).Target);
        Assert.Equal(prior, Decide(met));
    }
}
