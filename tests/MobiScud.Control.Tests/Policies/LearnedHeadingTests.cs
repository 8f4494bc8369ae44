using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.LineOfCells;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's learned trajectory gate (<see cref="HeadingStats"/>, <see cref="PolicyConfig.TrajectoryTrust"/>): how
/// often the heading pointed at the next cell after each kind of history, learned from the handovers the controller
/// sees, decides whom the trajectory plan is trusted for. The line of cells of <see cref="TrajectoryTests"/>: E(x) at
/// (x, 0), sites W (E(-3)), N (E(2)), F (E(5)), the core (E(12)).
/// </summary>
public sealed class LearnedHeadingTests
{

    // The walkers cross a cell every 30 s: without the quick crosser's bar (QuickCrossingTests), the plain cost model.
    private static McConfig Config(bool learn = true, double maxTurn = 45, int minSteps = 3) =>
        LineOfCells.Config(new PolicyConfig { Kind = PolicyKind.Predictive, Learn = learn, TrajectoryMinSeen = 20, TrajectoryMaxTurn = maxTurn, TrajectoryMinSteps = minSteps, QuickCrossingBar = 1 });

    private static ulong Turns(params int[] newestFirst) =>
        newestFirst.Reverse().Aggregate(0UL, (packed, turn) => HeadingStats.Push(packed, turn));

    private static PolicyVerdict Decide(McConfig config, MobilityStats learned, UeState s) =>
        MigrationPolicies.Decide(config, new PolicyFacts { Mobility = learned }, s, s.ServingEnb!.Value, s.PvmSite!.Value, s.ServingSince);

    // Three UEs walk the line E(-5) -> E(12), a cell every 30 s, through the controller that learns.
    private static MobilityStats StraightWalkers(McConfig config)
    {
        var mc = new SingleThreadedMc(config) { LearnMobility = true };
        for (var u = 1; u <= 3; u++)
        {
            var ue = new UeId($"imsi-00101000000010{u}");
            var at = TimeSpan.FromHours(u);
            mc.Handle(new UeAttached(at, ue, $"00101000000010{u}", Fixture.UeIp, E(-5), null, [Fixture.BearerAt(E(-5))]));
            for (var x = -4; x <= 12; x++)
            {
                at += TimeSpan.FromSeconds(30);
                mc.Handle(new PathSwitched(at, ue, E(x), Fixture.DownlinkAt(E(x), (uint)(0x100 + x + 5))));
            }
        }

        return mc.Facts.Mobility;
    }

    [Fact]
    public void Turns_are_packed_newest_first_and_hand_computed_observations_fill_the_classes()
    {
        var turns = Turns(40, 10);
        Assert.Equal((40, 10, (int?)null), (HeadingStats.Turn(turns, 0)!.Value, HeadingStats.Turn(turns, 1)!.Value, HeadingStats.Turn(turns, 2)));
        Assert.Equal(0, HeadingStats.SteadyRun(turns, 30));
        Assert.Equal(2, HeadingStats.SteadyRun(turns, 45));
        Assert.Equal(4, HeadingStats.SteadyRun(Turns(0, 0, 0, 0, 0, 0), 30));

        // After turns of 40 then 10 the next one turns 50: the history is in the classes 45, 60 and 90 degrees with 1
        // and 2 steps (not 30: 40 > 30). 50 stays within 60 and 90 (held) but not within 45, and it is not "right"
        // (the next cell is where the heading pointed only up to 45 degrees). cos 50 = 0.6428.
        var stats = HeadingStats.Empty.Observe(turns, 50);
        Assert.Equal(1L, stats.Observations);
        Assert.Equal(0L, stats.Seen(0, 1));
        for (var a = 1; a < HeadingStats.Angles.Length; a++)
        {
            Assert.Equal((1L, 1L, 0L), (stats.Seen(a, 1), stats.Seen(a, 2), stats.Seen(a, 3)));
            Assert.Equal(HeadingStats.Angles[a] >= 50 ? 1L : 0L, stats.Held(a, 2));
            Assert.Equal(0L, stats.Right(a, 1));
            Assert.Equal(Math.Cos(50 * Math.PI / 180), stats.MeanCos(a, 2)!.Value, 12);
        }

        // A second, straight on after a straight step: the 1-step classes of every angle; now 1 of 2 right at 45/1.
        stats = stats.Observe(Turns(0), 20);
        Assert.Equal((2L, 1L, 0.5), (stats.Seen(1, 1), stats.Right(1, 1), stats.RightShare(1, 1, 2)!.Value));
        Assert.Null(stats.RightShare(1, 1, 3));

        // Nothing to learn from an unknown history or turn; the statistics do not change.
        Assert.Same(stats, stats.Observe(0, 20));
        Assert.Same(stats, stats.Observe(turns, 181));

        // Trust: the best-known class the history falls in (30/1 never seen; 45/1 1 of 2 right).
        Assert.Equal(0.5, stats.Trust(Turns(20), minSeen: 2));
        Assert.Null(stats.Trust(Turns(20), minSeen: 3));
        Assert.Null(stats.Trust(Turns(120), minSeen: 1));
    }

    [Fact]
    public void A_trace_where_the_heading_is_always_right_learns_to_trust_it_after_one_steady_step()
    {
        var config = Config();
        var learned = StraightWalkers(config);

        // Every walker: turns known from its 2nd handover, so 15 observations with 1 known turn before, 14 with 2,
        // 13 with 3, 12 with 4, all straight on (turn 0): right in every class.
        Assert.Equal(45L, learned.Headings.Observations);
        for (var a = 0; a < HeadingStats.Angles.Length; a++)
        {
            Assert.Equal([45L, 42, 39, 36], Enumerable.Range(1, HeadingStats.MaxSteps).Select(k => learned.Headings.Seen(a, k)));
            Assert.Equal(1.0, learned.Headings.RightShare(a, 1, 1));
        }

        // A walker with one steady step: the fixed gate (3 steps) does not trust it, the learned one does and sends
        // the PVM ahead to F with TrajectoryTests' hand-computed saving.
        var walker = Walker(headingSteps: 1, Turns(0));
        Assert.Null(MigrationPolicies.TrajectoryOf(config.Policy, Cells, PolicyFacts.None, walker, E(2), walker.ServingSince, walker.ServingSince));
        var verdict = Decide(config, learned, walker);
        Assert.Equal(F, verdict.Target);
        Assert.Equal(4.5363 - 4.2223, verdict.Benefit, 3);

        // Learned but asked not to use it (TrajectoryTrust 0): the fixed gate decides, and the walker is not sent ahead.
        Assert.NotEqual(F, Decide(config with { Policy = config.Policy with { TrajectoryTrust = 0 } }, learned, walker).Target);
    }

    [Fact]
    public void A_trace_where_the_heading_is_never_right_falls_back_even_where_the_fixed_gate_would_trust_it()
    {
        // Users that, after going straight, always turned 90 degrees: a heading never pointed at the next cell.
        var headings = HeadingStats.Empty;
        for (var i = 0; i < 30; i++)
        {
            headings = headings.Observe(Turns(0, 0, 0, 0), 90);
        }

        var learned = MobilityStats.Empty with { Headings = headings };
        Assert.Equal(0.0, headings.Trust(Turns(0, 0, 0), minSeen: 20));

        // The walker went straight for 3 steps (the fixed gate trusts it, and sends it ahead without the learned figures).
        var config = Config();
        var walker = Walker(headingSteps: 3, Turns(0, 0, 0));
        Assert.Equal(F, Decide(config, MobilityStats.Empty, walker).Target);
        Assert.Null(MigrationPolicies.TrajectoryOf(config.Policy, Cells, new PolicyFacts { Mobility = learned }, walker, E(2), walker.ServingSince, walker.ServingSince));
        Assert.Equal(Decide(config with { Policy = config.Policy with { Trajectory = false } }, learned, walker), Decide(config, learned, walker));

        // Between TrajectoryDistrust and TrajectoryTrust the fixed gate decides: half right (0.5) is not below 0.5.
        for (var i = 0; i < 30; i++)
        {
            headings = headings.Observe(Turns(0, 0, 0, 0), 0);
        }

        Assert.Equal(0.5, headings.Trust(Turns(0, 0, 0), minSeen: 20));
        Assert.Equal(F, Decide(config, MobilityStats.Empty with { Headings = headings }, walker).Target);
        Assert.NotEqual(F, Decide(config, MobilityStats.Empty with { Headings = headings }, walker with { HeadingSteps = 2 }).Target);
    }

    [Fact]
    public void Learning_and_deciding_are_deterministic_and_need_cell_positions()
    {
        var config = Config();
        var (first, second) = (StraightWalkers(config).Headings, StraightWalkers(config).Headings);
        for (var a = 0; a < HeadingStats.Angles.Length; a++)
        {
            for (var k = 1; k <= HeadingStats.MaxSteps; k++)
            {
                Assert.Equal((first.Seen(a, k), first.Held(a, k), first.Right(a, k), first.MeanCos(a, k)), (second.Seen(a, k), second.Held(a, k), second.Right(a, k), second.MeanCos(a, k)));
            }
        }

        var walker = Walker(headingSteps: 1, Turns(0));
        var learned = MobilityStats.Empty with { Headings = first };
        Assert.Equal(Decide(config, learned, walker), Decide(config, learned, walker));

        // Without cell positions nothing about headings is learned (the turns are unknown).
        Assert.Equal(0L, StraightWalkers(config with { Cells = null }).Headings.Observations);
    }

    [Fact]
    public void A_handover_records_its_turn_against_the_two_step_heading()
    {
        // E(-5) -> E(-4): no heading yet; -> E(-3): straight on from E(-5) (one step back: no earlier cell);
        // -> E(-2): straight on the two-step chord; -> E(-3): back, 180 degrees.
        var config = Config();
        UeState? s = null;
        var ue = new UeId("imsi-001010000000009");
        var at = TimeSpan.Zero;
        s = MobiScudControl.Decide(config, s, new UeAttached(at, ue, "001010000000009", Fixture.UeIp, E(-5), null, [Fixture.BearerAt(E(-5))])).State;
        foreach (var x in new[] { -4, -3, -2, -3 })
        {
            at += TimeSpan.FromSeconds(30);
            s = MobiScudControl.Decide(config, s, new PathSwitched(at, ue, E(x), Fixture.DownlinkAt(E(x), (uint)(0x20 + x + 5)))).State;
        }

        Assert.Equal([180, 0, 0, null], Enumerable.Range(0, 4).Select(back => HeadingStats.Turn(s!.RecentTurns, back)));
    }

    [Fact]
    public void Learned_gate_parameters_are_validated_and_bound()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { TrajectoryTrust = 1.1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { TrajectoryDistrust = -0.1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { TrajectoryMinSeen = 0 });
        var bound = new PolicyParameters { TrajectoryTrust = 0.8, TrajectoryDistrust = 0.3, TrajectoryMinSeen = 50 }.ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60));
        Assert.Equal((0.8, 0.3, 50), (bound.TrajectoryTrust, bound.TrajectoryDistrust, bound.TrajectoryMinSeen));
    }
}
