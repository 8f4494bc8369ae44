using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's semi-Markov plan (HandoverSmdp, MigrationPolicies.Smdp, StayStats). Cells on a line as in
/// CellMdpTests: A at 0, B at 1, C at -5, each with its own site; mu 0.8: M(1) = 1.2, T(1) = 0.2, T(5) = 0.67232,
/// T(6) = 0.737856. Learned statistics are made large (10,000 handovers a path) so the priors' weight is negligible.
/// </summary>
public sealed class HandoverSmdpTests
{
    internal static readonly EnbId A = CellMdpTests.A, B = CellMdpTests.B, C = CellMdpTests.C;
    internal static readonly SiteId Sa = CellMdpTests.Sa, Sb = CellMdpTests.Sb, Sc = CellMdpTests.Sc;

    private static McConfig Config(double migrationScale = 1) =>
        new(new Dictionary<EnbId, SiteId> { [A] = Sa, [B] = Sb, [C] = Sc }, CellMdpTests.Core)
        {
            Policy = new PolicyConfig
            {
                Kind = PolicyKind.Predictive,
                Plan = PredictivePlan.Smdp,
                Trajectory = false,
                ForecastVeto = false,
                QuickCrossingBar = 1,
                Cost = new WangCostModel(migrationScale: migrationScale),
            },
            Cells = CellMdpTests.Cells,
        };

    /// <summary><paramref name="n"/> handovers from <paramref name="from"/> (entered from <paramref name="earlier"/>) to <paramref name="to"/> after <paramref name="seconds"/> there.</summary>
    private static IEnumerable<HandoverObservation> Seen(int n, EnbId earlier, EnbId from, EnbId to, double seconds) =>
        Enumerable.Repeat(new HandoverObservation(TimeSpan.FromMinutes(5), from, to, TimeSpan.FromSeconds(seconds)) { Earlier = earlier }, n);

    private static MobilityStats Learn(McConfig config, IEnumerable<HandoverObservation> seen)
    {
        var stats = seen.Aggregate(MobilityStats.Empty, MobilityStats.Observe);
        return stats with { Smdp = HandoverSmdp.Observe(stats.Smdp, config, stats, TimeSpan.FromMinutes(6)) };
    }

    /// <summary>A user that has just entered <paramref name="serving"/> from <paramref name="came"/> (at 1000 s) with its PVM at <paramref name="here"/>, decided <paramref name="age"/> s later.</summary>
    private static PolicyVerdict Decide(McConfig config, MobilityStats learned, EnbId came, EnbId serving, SiteId here, double age = 0)
    {
        var s = new UeState
        {
            Ue = new UeId("imsi-001010000000042"),
            Connection = ConnectionState.Connected,
            ServingEnb = serving,
            PreviousEnb = came,
            ServingSince = TimeSpan.FromSeconds(1000),
            SiteSince = TimeSpan.FromSeconds(900),
            PvmSite = here,
        };
        return MigrationPolicies.Decide(config, new PolicyFacts { Mobility = learned }, s, serving, here, TimeSpan.FromSeconds(1000 + age));
    }

    // A user that crosses between A and B every 32.5 s, for ever.
    private static IEnumerable<HandoverObservation> PingPong => Seen(10_000, B, A, B, 32.5).Concat(Seen(10_000, A, B, A, 32.5));

    [Fact]
    public void The_stage_sums_are_the_hand_computed_ones()
    {
        // Stays of 30, 90 and 400 s; decisions at 0, 60 and 120 s; gamma 0.9 per 60 s slot.
        var (sums, weight) = HandoverSmdp.StageSums([(30, 1), (90, 1), (400, 1)], [0, 60, 120], 60, 0.9);
        Assert.Equal(3, weight);
        double[] expected =
        [
            3, (30 + 60 + 60) / 60.0, Math.Sqrt(0.9), // at 0: all alive; the 30 s stay ends before 60 s
            2, (30 + 60) / 60.0, Math.Sqrt(0.9),      // at 60: 90 and 400 alive; 90 ends 30 s on
            1, 280 / 60.0, Math.Pow(0.9, 280 / 60.0),  // at 120: 400 alive, ends 280 s on
        ];
        Assert.Equal(expected.Length, sums.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], sums[i], 9);
        }

        Assert.Equal([0.0, 60, 120, 180, 240, 300], HandoverSmdp.Ages(PolicyConfig.Default));
        Assert.Equal(0, HandoverSmdp.StageOf([0, 60, 120], TimeSpan.FromSeconds(59)));
        Assert.Equal(1, HandoverSmdp.StageOf([0, 60, 120], TimeSpan.FromSeconds(60)));
        Assert.Equal(2, HandoverSmdp.StageOf([0, 60, 120], TimeSpan.FromSeconds(900)));
    }

    [Fact]
    public void A_ping_pong_user_that_never_moves_its_pvm_costs_the_hand_computed_value()
    {
        // PVM at C's site, moves prohibitive: V(x) = a T(x's rings) + g V(next), a = 32.5 / 60, g = 0.95^a:
        // V(came from B, in A) = (a T(5) + g a T(6)) / (1 - g^2) = 13.9290; V(came from A, in B) = 13.9470.
        var config = Config(migrationScale: 1e6);
        var learned = Learn(config, PingPong);
        var solution = learned.Smdp.Solution!;
        var sites = 3;
        Assert.InRange(solution.Values[(solution.States[(1, 0)] * sites) + 2], 13.9290 - 0.01, 13.9290 + 0.01);
        Assert.InRange(solution.Values[(solution.States[(0, 1)] * sites) + 2], 13.9470 - 0.01, 13.9470 + 0.01);
        Assert.Equal(Sc, Decide(config, learned, A, B, Sc).Target);
    }

    [Fact]
    public void Free_moves_follow_the_user_at_the_handover()
    {
        var config = Config(migrationScale: 0);
        var learned = Learn(config, PingPong);
        Assert.Equal(Sb, Decide(config, learned, A, B, Sa).Target);
        Assert.Equal(Sa, Decide(config, learned, B, A, Sc).Target);
        Assert.All(learned.Smdp.Solution!.Values, v => Assert.Equal(0, v, 6));
    }

    [Fact]
    public void Short_stays_with_the_partner_known_from_the_way_in_do_not_move_and_long_ones_do()
    {
        // The user lives in A (stays of 3000 s) and dips into B: for 2.5 s (a ping-pong), or for 3000 s.
        var config = Config();
        var dip = Learn(config, Seen(10_000, B, A, B, 3000).Concat(Seen(10_000, A, B, A, 2.5)));
        var verdict = Decide(config, dip, A, B, Sa);
        Assert.Equal(Sa, verdict.Target);
        Assert.Equal(TimeSpan.FromSeconds(1060), verdict.ReviewAt); // looked at again 60 s after arriving

        var stay = Learn(config, Seen(10_000, B, A, B, 3000).Concat(Seen(10_000, A, B, A, 3000)));
        Assert.Equal(Sb, Decide(config, stay, A, B, Sa).Target);
    }

    [Fact]
    public void The_review_at_60_s_moves_a_user_that_stayed()
    {
        // Into B from A: 97% leave after 2.5 s, 3% stay 3000 s. At the handover the PVM stays; a user still there at
        // 60 s is one of the 3%, and its PVM follows.
        var config = Config();
        var learned = Learn(config, Seen(10_000, B, A, B, 3000).Concat(Seen(9_700, A, B, A, 2.5)).Concat(Seen(300, A, B, A, 3000)));
        Assert.Equal(Sa, Decide(config, learned, A, B, Sa, age: 0).Target);
        Assert.Equal(Sa, Decide(config, learned, A, B, Sa, age: 30).Target);
        Assert.Equal(Sb, Decide(config, learned, A, B, Sa, age: 60).Target);

        // Past the cap no review is scheduled.
        Assert.Null(Decide(config, learned, A, B, Sb, age: 300).ReviewAt);
    }

    [Fact]
    public void The_learning_step_folds_each_stay_under_its_way_in()
    {
        var config = Config();
        var ue = new UeId("imsi-001010000000043");
        var stats = MobilityStats.Empty;
        UeState In(EnbId cell, double since, EnbId? previous) => new()
        {
            Ue = ue,
            Connection = ConnectionState.Connected,
            ServingEnb = cell,
            ServingSince = TimeSpan.FromSeconds(since),
            PreviousEnb = previous,
        };

        void Handover(UeState before, EnbId to, double at)
        {
            var e = new HandoverCompleted(TimeSpan.FromSeconds(at), ue, to, []);
            stats = MobilityLearning.Fold(stats, MobilityLearning.Before(config, before, e)!);
        }

        Handover(In(A, 0, null), B, 40);   // 40 s in A, way in unknown
        Handover(In(B, 40, A), C, 47);     // 7 s in B from A
        Handover(In(C, 47, B), A, 700);    // 653 s in C from B: the long bin
        Assert.Equal(3, stats.Stays.All.Total);
        Assert.Equal(1, stats.Stays.ByCell[A].Counts[8]);
        Assert.False(stats.Stays.ByPath.ContainsKey((B, A)));
        Assert.Equal(1, stats.Stays.ByPath[(A, B)].Counts[1]);
        Assert.Equal(1, stats.Stays.ByPath[(B, C)].Counts[StayHistogram.ShortBins]);
        Assert.Equal(653, stats.Stays.ByPath[(B, C)].LongSeconds);
        Assert.Equal([(7.5, 1)], stats.Stays.ByPath[(A, B)].Points());
    }

    [Fact]
    public void The_same_handovers_in_any_order_solve_to_the_same_plan_and_decisions()
    {
        var config = Config();
        var seen = Seen(50, B, A, B, 40).Concat(Seen(30, A, B, C, 200)).Concat(Seen(20, A, B, A, 5)).Concat(Seen(10, B, C, B, 700)).ToList();
        var one = Learn(config, seen);
        var two = Learn(config, Enumerable.Reverse(seen));
        Assert.Equal(one.Smdp.Solution!.Values, two.Smdp.Solution!.Values);
        Assert.Equal(one.Smdp.Sweeps, two.Smdp.Sweeps);
        foreach (var here in new[] { Sa, Sb, Sc })
        {
            foreach (var age in new[] { 0.0, 60, 120 })
            {
                Assert.Equal(Decide(config, one, A, B, here, age), Decide(config, two, A, B, here, age));
            }
        }
    }

    [Fact]
    public void The_plan_is_solved_again_only_when_due_and_something_new_was_learned()
    {
        var config = Config();
        var stats = Learn(config, PingPong);
        var first = stats.Smdp;
        Assert.Same(first, HandoverSmdp.Observe(first, config, stats, TimeSpan.FromMinutes(20))); // nothing new
        var more = MobilityStats.Observe(stats, Seen(1, B, A, C, 10).Single());
        Assert.Same(first, HandoverSmdp.Observe(first, config, more, TimeSpan.FromMinutes(7))); // not yet due (5 min)
        var again = HandoverSmdp.Observe(first, config, more, TimeSpan.FromMinutes(11));
        Assert.NotSame(first.Solution, again.Solution);
        Assert.True(again.Solution!.States.ContainsKey((0, 2)) || again.Solution.States.ContainsKey((1, 0)));
    }

    [Fact]
    public void Smdp_parses()
    {
        var parsed = new PolicyParameters { Plan = "smdp", PlanGamma = 0.9, PlanReview = TimeSpan.FromSeconds(30), PlanReviewCap = TimeSpan.FromSeconds(90) }
            .ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60));
        Assert.Equal((PredictivePlan.Smdp, 0.9), (parsed.Plan, parsed.PlanGamma));
        Assert.Equal([0.0, 30, 60, 90], HandoverSmdp.Ages(parsed));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { PlanGamma = 1 });
    }
}
