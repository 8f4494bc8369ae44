using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.LineOfCells;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's trajectory plan (PolicyConfig.Trajectory): a user whose last handovers held a steady heading is
/// extrapolated along it and ONE migration is planned on the path. Cells on a line one ring apart, E(x) at (x, 0) for
/// x = -5..12; site W counts as E(-3), N as E(2), F as E(5), the core as E(12). Switch sites: x &lt;= -2 W, -1..3 N, 4.. F.
/// </summary>
public sealed class TrajectoryTests
{
    private static readonly UeId _ue = new("imsi-001010000000009");

    // The walkers cross a cell every 30 s: without the quick crosser's bar (QuickCrossingTests), the plain cost model.
    private static McConfig Config(bool trajectory = true) =>
        LineOfCells.Config(new PolicyConfig { Kind = PolicyKind.Predictive, Trajectory = trajectory, Learn = false, QuickCrossingBar = 1 });

    private static PolicyVerdict Decide(McConfig config, UeState s, TimeSpan? at = null) =>
        MigrationPolicies.Decide(config, PolicyFacts.None, s, s.ServingEnb!.Value, s.PvmSite!.Value, at ?? s.ServingSince);

    [Fact]
    public void A_straight_walker_is_met_ahead_of_its_own_site_with_the_hand_computed_saving()
    {
        // From where E(1) and E(2) meet (x = 1.5) at 2 rings a minute, bending as e^(-t / 10 min): the user is at
        // x = 2.475, 4.286, 5.924, 7.406, 8.747, 9.961, 11.059 in the middle of the next 7 slots. Never moving costs
        // sum 0.9^k T(rings to W) with rings 6, 8, 9, 11, 12, 13, 15: 4.5363. Moving to F now costs
        // M(8) = 2 - 0.8^8 plus sum 0.9^k T(rings to F) with rings 3, 1, 1, 3, 4, 5, 7: 4.2223, the cheapest plan
        // (F a slot later 4.2890; N, the user's own site, now 4.8119). So the PVM goes ahead to F, saving 0.3140.
        var verdict = Decide(Config(), Walker(headingSteps: 3));
        Assert.Equal(F, verdict.Target);
        Assert.Equal(4.5363 - 4.2223, verdict.Benefit, 3);

        // Without the plan (the MDP and the forecast) the walker is not sent ahead.
        Assert.NotEqual(F, Decide(Config(trajectory: false), Walker(headingSteps: 3)).Target);
    }

    [Fact]
    public void A_short_or_unsteady_history_falls_back_to_the_policy_without_the_plan()
    {
        foreach (var steps in new[] { 0, 1, 2 })
        {
            var s = Walker(steps);
            Assert.Null(MigrationPolicies.TrajectoryOf(Config().Policy, Cells, PolicyFacts.None, s, E(2), s.ServingSince, s.ServingSince));
            Assert.Equal(Decide(Config(trajectory: false), s), Decide(Config(), s));
        }

        // No earlier cell at all: no heading.
        var fresh = Walker(3) with { EarlierEnb = null };
        Assert.Null(MigrationPolicies.TrajectoryOf(Config().Policy, Cells, PolicyFacts.None, fresh, E(2), fresh.ServingSince, fresh.ServingSince));
    }

    [Fact]
    public void Heading_steps_count_steady_handovers_and_a_turn_or_a_ping_pong_resets_them()
    {
        var config = Config();
        UeState? s = null;
        var at = TimeSpan.Zero;
        var counts = new List<int>();
        void Go(UeEvent e)
        {
            s = MobiScudControl.Decide(config, s, e).State;
        }

        Go(new UeAttached(at, _ue, "001010000000009", Fixture.UeIp, E(-5), null, [Fixture.BearerAt(E(-5))]));
        Go(new PvmStarted(at, _ue, PvmId.For(_ue), W, Fixture.PvmIp));
        foreach (var x in new[] { -4, -3, -2, -1, -2, -1, 0 })
        {
            at += TimeSpan.FromSeconds(30);
            Go(new PathSwitched(at, _ue, E(x), Fixture.DownlinkAt(E(x), (uint)(0x20 + x + 5))));
            counts.Add(s!.HeadingSteps);
        }

        // -5 -> -4 (no earlier step), -3, -2, -1 steady; back to -2 (a turn of 180 degrees); -1 again turns back;
        // then 0 goes on from -1 the way -2 -> -1 went.
        Assert.Equal([0, 1, 2, 3, 0, 0, 1], counts);
        Assert.Equal(E(-1), s!.PreviousEnb);
        Assert.Equal(E(-2), s.EarlierEnb);
    }

    [Fact]
    public void A_ping_ponger_across_a_site_border_gets_no_migration_where_always_gets_one_per_crossing()
    {
        // E(3) belongs to N, E(4) to F; the user attaches at E(3) (PVM at N) and bounces E(4), E(3), E(4), ... every
        // 5 s. No three cells in a row: no heading, so predictive falls back; it starts nothing (the MDP with nothing
        // learned keeps a PVM 1-2 rings away, the forecast would too), where always follows every crossing.
        static int Migrations(PolicyKind kind)
        {
            var config = Config() with { Policy = new PolicyConfig { Kind = kind, Learn = false } };
            UeState? s = null;
            var at = TimeSpan.Zero;
            var started = 0;
            void Go(UeEvent e)
            {
                var d = MobiScudControl.Decide(config, s, e);
                s = d.State;
                foreach (var start in d.Commands.OfType<StartMigration>())
                {
                    started++;
                    at += TimeSpan.FromMilliseconds(10);
                    s = MobiScudControl.Decide(config, s, new MigrationCompleted(at, start.Migration, new MigrationStats(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(40), 90_000_000, 3))).State;
                }
            }

            Go(new UeAttached(at, _ue, "001010000000009", Fixture.UeIp, E(3), null, [Fixture.BearerAt(E(3))]));
            Go(new PvmStarted(at, _ue, PvmId.For(_ue), N, Fixture.PvmIp));
            for (var i = 0; i < 10; i++)
            {
                at += TimeSpan.FromSeconds(5);
                var x = i % 2 == 0 ? 4 : 3;
                Go(new PathSwitched(at, _ue, E(x), Fixture.DownlinkAt(E(x), (uint)(0x40 + i))));
                Assert.Equal(0, s!.HeadingSteps);
            }

            return started;
        }

        Assert.Equal(0, Migrations(PolicyKind.Predictive));
        Assert.Equal(10, Migrations(PolicyKind.Always));
    }

    [Fact]
    public void A_walker_whose_move_pays_only_later_is_held_and_reviewed_when_it_would_be_due()
    {
        // The same walker at half the pace (it crossed E(1) in 60 s): x = 1.988, 2.893, 3.712, 4.453, 5.124, 5.731,
        // 6.28. Moving to F a slot from now costs 3.6386, now 3.7399, in two slots 3.6985, to N now 3.7930: the plan
        // holds the PVM at W and looks again by then (here at its regular review, ReviewAfter = 30 s, which comes first).
        var s = Walker(3) with { PreviousSince = TimeSpan.FromSeconds(540) };
        var verdict = Decide(Config(), s);
        Assert.Equal(W, verdict.Target);
        Assert.Equal(s.ServingSince + TimeSpan.FromSeconds(30), verdict.ReviewAt);
        Assert.Equal(s.ServingSince + TimeSpan.FromSeconds(60), Decide(Config() with { Policy = Config().Policy with { ReviewAfter = TimeSpan.FromMinutes(5) } }, s).ReviewAt);
    }

    [Fact]
    public void The_plan_is_deterministic_and_judges_a_prepared_handover_from_its_target()
    {
        var s = Walker(3);
        Assert.Equal(Decide(Config(), s), Decide(Config(), s));

        // At E(1), crossing it for 30 s, an S1 handover to E(2) is prepared: the plan looks from E(2) as if just
        // arrived, with the steady count the handover would make (E(-1) -> E(0) -> E(1) -> E(2)).
        var before = s with
        {
            ServingEnb = E(1),
            ServingSince = TimeSpan.FromSeconds(570),
            PreviousEnb = E(0),
            PreviousSince = TimeSpan.FromSeconds(540),
            EarlierEnb = E(-1),
            HeadingSteps = 2,
            PendingHandover = new PendingHandover(E(1), E(2), HandoverKind.S1, TimeSpan.FromSeconds(600)),
        };
        var prepared = MigrationPolicies.Decide(Config(), PolicyFacts.None, before, E(1), W, TimeSpan.FromSeconds(600));
        Assert.Equal(F, prepared.Target);
        Assert.Equal(Decide(Config(), s).Benefit, prepared.Benefit, 9);
    }

    [Fact]
    public void The_plan_prices_the_backhaul_round_trip_from_where_the_user_is_served_to_the_pvm()
    {
        // The straight walker of the first test on a mesh of 1 ms links, LatencyWeight w: each slot served from a site
        // other than the placed site nearest the user's point costs L = 2 x w x 1 ms more (load 0). The points (x =
        // 2.475 .. 11.059) are nearest N, F, F, F, Core, Core, Core. Never moving: away at all 7, L x 5.2170. F now:
        // away at slot 0 (from W on the wire, then F; the user is nearest N) and at the last three (nearest the
        // core), L x (1 + 0.9^4 + 0.9^5 + 0.9^6) = L x 2.7780. So the saving grows from 0.3140 by L x 2.4390.
        var mesh = SiteGraph.Mesh([W, N, F, Core], delayMs: 1);
        McConfig Weighted(double w) => Config() with { Sites = mesh, Policy = Config().Policy with { LatencyWeight = w } };

        var unweighted = Decide(Weighted(0), Walker(headingSteps: 3));
        Assert.Equal(F, unweighted.Target);
        Assert.Equal(0.3140, unweighted.Benefit, 3);
        var weighted = Decide(Weighted(0.01), Walker(headingSteps: 3));
        Assert.Equal(F, weighted.Target);
        Assert.Equal(0.3140 + (0.02 * 2.4390), weighted.Benefit, 3);
    }

    [Fact]
    public void Trajectory_parameters_are_validated_and_bound()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { TrajectoryMaxTurn = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { TrajectoryMaxTurn = 181 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { TrajectoryMinSteps = 0 });
        var bound = new PolicyParameters { Trajectory = false, TrajectoryMaxTurn = 30, TrajectoryMinSteps = 5 }.ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60));
        Assert.Equal((false, 30.0, 5), (bound.Trajectory, bound.TrajectoryMaxTurn, bound.TrajectoryMinSteps));
        Assert.True(PolicyConfig.Default.Trajectory);
    }
}
