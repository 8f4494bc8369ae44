using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>The migration policies as the core applies them, one UE on the line of sites A - B - C (core off B).</summary>
public sealed class PolicyTests
{
    private static readonly EnbId[] _walk = [EnbB1, EnbC1, EnbA2, EnbA1, EnbB1, EnbA1, EnbC1, EnbC1, EnbB1, EnbA2];

    [Fact]
    public void Never_never_migrates_whatever_the_user_does()
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Never }));
        f.Up(EnbA1);
        var teid = 0x10u;
        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            f.Advance(TimeSpan.FromSeconds(random.Next(1, 600)));
            f.PathSwitch(_walk[random.Next(_walk.Length)], teid++);
        }

        Assert.Empty(f.All.OfType<StartMigration>());
        Assert.Equal(A, f.State!.PvmSite);

        // Steering still reaches the PVM from wherever the user is.
        Assert.Equal(A, f.State.Steering!.PvmSite);
    }

    [Fact]
    public void Always_migrates_on_every_inter_site_handover_and_only_then()
    {
        var f = new Fixture(WithPolicy(PolicyConfig.Default));
        f.Up(EnbA1);
        var expected = 0;
        var previous = A;
        var teid = 0x10u;
        foreach (var enb in _walk)
        {
            var commands = f.PathSwitch(enb, teid++);
            var site = f.Config.SwitchSiteFor(enb);
            if (site != previous)
            {
                expected++;
                var start = Single<StartMigration>(commands);
                Assert.Equal((previous, site, MigrationReason.Handover), (start.From, start.To, start.Reason));
                f.Completed(start.Migration);
            }
            else
            {
                Assert.Empty(commands.OfType<StartMigration>());
            }

            previous = site;
        }

        Assert.Equal(expected, f.All.OfType<StartMigration>().Count());
        Assert.Equal(8, expected);
    }

    [Fact]
    public void Always_is_the_default_and_behaves_as_before_without_a_graph()
    {
        var f = new Fixture();
        Assert.Equal(PolicyKind.Always, f.Config.Policy.Kind);
        f.Up(EnbA1);
        var start = Single<StartMigration>(f.PathSwitch(EnbC1, 0x11));
        Assert.Equal((A, C), (start.From, start.To));
    }

    [Fact]
    public void Hysteresis_suppresses_a_ping_pong_that_always_follows()
    {
        var always = new Fixture(WithPolicy(PolicyConfig.Default));
        var hysteresis = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Hysteresis, Dwell = TimeSpan.FromSeconds(10) }));
        foreach (var f in new[] { always, hysteresis })
        {
            f.Up(EnbA1);
            f.PathSwitch(EnbB1, 0x11);
            f.Advance(TimeSpan.FromSeconds(3));
            f.PathSwitch(EnbA1, 0x12);
            foreach (var review in f.All.OfType<ScheduleTimer>().Where(t => t.Kind == TimerKind.PolicyReview).ToList())
            {
                f.Fire(review);
            }
        }

        // Always started one and cancelled it when the user came back; hysteresis did nothing.
        Assert.Single(always.All.OfType<StartMigration>());
        Assert.Single(always.All.OfType<CancelMigration>());
        Assert.Empty(hysteresis.All.OfType<StartMigration>());
        Assert.Equal(A, hysteresis.State!.PvmSite);
        Assert.Single(hysteresis.All.OfType<ScheduleTimer>(), t => t.Kind == TimerKind.PolicyReview);
    }

    [Fact]
    public void Hysteresis_follows_once_the_user_has_stayed_the_dwell_time()
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Hysteresis, Dwell = TimeSpan.FromSeconds(10) }));
        f.Up(EnbA1);
        var arrived = f.Now + TimeSpan.FromMilliseconds(100);
        var held = f.PathSwitch(EnbB1, 0x11);
        Assert.Empty(held.OfType<StartMigration>());
        var review = Single<ScheduleTimer>(held);
        Assert.Equal((TimerKind.PolicyReview, arrived + TimeSpan.FromSeconds(10)), (review.Kind, review.Due));

        var start = Single<StartMigration>(f.Fire(review));
        Assert.Equal((A, B), (start.From, start.To));
    }

    [Fact]
    public void Hysteresis_follows_a_user_who_keeps_moving_after_k_handovers_away()
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Hysteresis, Dwell = TimeSpan.FromHours(1), HandoversAway = 3 }));
        f.Up(EnbA1);
        Assert.Empty(f.PathSwitch(EnbB1, 0x11).OfType<StartMigration>());
        Assert.Empty(f.PathSwitch(EnbC1, 0x12).OfType<StartMigration>());
        Assert.Equal(2, f.State!.HandoversAway);
        var start = Single<StartMigration>(f.PathSwitch(EnbB1, 0x13));
        Assert.Equal((A, B), (start.From, start.To));
        f.Completed(start.Migration);
        Assert.Equal(0, f.State!.HandoversAway);
    }

    [Fact]
    public void Hysteresis_does_not_count_handovers_within_a_site()
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Hysteresis, Dwell = TimeSpan.FromHours(1), HandoversAway = 2 }));
        f.Up(EnbA1);
        for (var i = 0; i < 5; i++)
        {
            f.PathSwitch(i % 2 == 0 ? EnbA2 : EnbA1, 0x20u + (uint)i);
        }

        Assert.Equal(0, f.State!.HandoversAway);
        Assert.Empty(f.All.OfType<StartMigration>());
    }

    [Fact]
    public void Mdp_threshold_with_free_migration_behaves_like_always()
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.MdpThreshold, Cost = new WangCostModel(migrationScale: 0) }));
        f.Up(EnbA1);
        var previous = A;
        var teid = 0x10u;
        foreach (var enb in _walk)
        {
            var commands = f.PathSwitch(enb, teid++);
            var site = f.Config.SwitchSiteFor(enb);
            if (site != previous)
            {
                var start = Single<StartMigration>(commands);
                Assert.Equal((previous, site), (start.From, start.To));
                Assert.True(start.ExpectedBenefit > 0);
                f.Completed(start.Migration);
            }
            else
            {
                Assert.Empty(commands.OfType<StartMigration>());
            }

            previous = site;
        }
    }

    [Fact]
    public void Mdp_threshold_with_prohibitive_migration_behaves_like_never()
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.MdpThreshold, Cost = new WangCostModel(migrationScale: 1e6) }));
        f.Up(EnbA1);
        var teid = 0x10u;
        foreach (var enb in _walk)
        {
            f.PathSwitch(enb, teid++);
        }

        Assert.Empty(f.All.OfType<StartMigration>());
        Assert.Equal(A, f.State!.PvmSite);
    }

    [Fact]
    public void Mdp_threshold_follows_only_from_the_threshold_distance()
    {
        // Pick a cost at which the solved threshold is 2 hops: A -> B (1 hop) stays, A -> C (2 hops) follows.
        var cost = Enumerable.Range(1, 60).Select(i => new WangCostModel(migrationScale: i / 20.0))
            .First(c => MdpThresholdSolver.Cached(c, 20, 0.3, 0).Threshold == 2);
        var policy = new PolicyConfig { Kind = PolicyKind.MdpThreshold, Cost = cost, Learn = false, MoveProbability = 0.3 };
        var f = new Fixture(WithPolicy(policy));
        f.Up(EnbA1);
        Assert.Empty(f.PathSwitch(EnbB1, 0x11).OfType<StartMigration>());
        var start = Single<StartMigration>(f.PathSwitch(EnbC1, 0x12));
        Assert.Equal((A, C), (start.From, start.To));
    }

    [Fact]
    public void Myopic_weighs_one_slot_migration_against_one_slot_transmission()
    {
        // With the paper's costs one slot never pays for a move: (2 - mu^x) > (1 - mu^y).
        var paper = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Myopic }));
        paper.Up(EnbA1);
        paper.PathSwitch(EnbC1, 0x11);
        Assert.Empty(paper.All.OfType<StartMigration>());

        // When serving from afar costs 20x more, the next slot alone pays for following.
        var dear = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Myopic, Cost = new WangCostModel(transmissionScale: 20) }));
        dear.Up(EnbA1);
        var start = Single<StartMigration>(dear.PathSwitch(EnbC1, 0x11));
        Assert.Equal((A, C), (start.From, start.To));

        // 20 * (1 - 0.64) for staying two hops away, 1.36 for moving two hops.
        Assert.Equal((20 * 0.36) - 1.36, start.ExpectedBenefit, 9);
    }

    /// <summary>Statistics in which UEs at <paramref name="enb"/> stay <paramref name="dwell"/> and then go to <paramref name="next"/>.</summary>
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
    public void Predictive_starts_pre_copy_at_handover_preparation_and_cancels_it_with_the_handover()
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive }))
        {
            // UEs that reach B1 stay half an hour.
            Facts = new PolicyFacts { Mobility = Learned(EnbB1, EnbC1, TimeSpan.FromMinutes(30)) },
        };
        f.Up(EnbA1);
        var prepared = f.On(t => new HandoverPrepared(t, Ue, EnbA1, EnbB1, HandoverKind.S1));
        var start = Single<StartMigration>(prepared);
        Assert.Equal((A, B, MigrationReason.Prepared), (start.From, start.To, start.Reason));
        Assert.True(start.ExpectedBenefit > 0);

        // Steering is untouched: the UE and its PVM are both still at A.
        Assert.Empty(prepared.OfType<InstallSteering>());

        var cancelled = f.On(t => new HandoverCancelled(t, Ue));
        var cancel = Single<CancelMigration>(cancelled);
        Assert.Equal(start.Migration, cancel.Migration);
        f.Failed(start.Migration, "cancelled");
        Assert.Equal(A, f.State!.PvmSite);
        Assert.Null(f.State.Migration);
    }

    [Fact]
    public void Predictive_pre_copy_carries_on_when_the_handover_completes()
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive }))
        {
            Facts = new PolicyFacts { Mobility = Learned(EnbB1, EnbC1, TimeSpan.FromMinutes(30)) },
        };
        f.Up(EnbA1);
        var start = Single<StartMigration>(f.On(t => new HandoverPrepared(t, Ue, EnbA1, EnbB1, HandoverKind.S1)));
        var completed = f.On(t => new HandoverCompleted(t, Ue, EnbB1, DownlinkAt(EnbB1, 0x31)));
        Assert.Empty(completed.OfType<CancelMigration>());
        Assert.Empty(completed.OfType<StartMigration>());
        f.Completed(start.Migration);
        Assert.Equal(B, f.State!.PvmSite);
        Assert.Equal(B, f.State.Steering!.PvmSite);
    }

    [Fact]
    public void Predictive_holds_back_for_a_short_stay_and_follows_a_user_who_stays()
    {
        // UEs at B1 move on to C1 after 20 s: not worth following at once.
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive }))
        {
            Facts = new PolicyFacts { Mobility = Learned(EnbB1, EnbC1, TimeSpan.FromSeconds(20)) },
        };
        f.Up(EnbA1);
        var held = f.PathSwitch(EnbB1, 0x11);
        Assert.Empty(held.OfType<StartMigration>());

        // This one stays: the reviews (30 s, 60 s, 120 s ...) eventually find the stay long enough.
        StartMigration? start = null;
        for (var i = 0; i < 8 && start is null; i++)
        {
            var review = f.All.OfType<ScheduleTimer>().Last(t => t.Kind == TimerKind.PolicyReview);
            start = f.Fire(review).OfType<StartMigration>().SingleOrDefault();
        }

        Assert.NotNull(start);
        Assert.Equal((A, B), (start.From, start.To));
    }

    [Fact]
    public void Predictive_does_not_follow_a_ping_pong_it_has_learned()
    {
        // UEs at B1 go back to A1 after 5 s.
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive }))
        {
            Facts = new PolicyFacts { Mobility = Learned(EnbB1, EnbA1, TimeSpan.FromSeconds(5)) },
        };
        f.Up(EnbA1);
        Assert.Empty(f.On(t => new HandoverPrepared(t, Ue, EnbA1, EnbB1, HandoverKind.S1)).OfType<StartMigration>());
        Assert.Empty(f.On(t => new HandoverCompleted(t, Ue, EnbB1, DownlinkAt(EnbB1, 0x31))).OfType<StartMigration>());
        f.Advance(TimeSpan.FromSeconds(4));
        f.PathSwitch(EnbA1, 0x32);
        Assert.Empty(f.All.OfType<StartMigration>());
    }

    [Fact]
    public void A_new_pvm_goes_to_the_nearest_site_with_room()
    {
        var capacities = new Dictionary<SiteId, int> { [A] = 1, [B] = 1, [C] = 5 };
        var f = new Fixture(WithPolicy(PolicyConfig.Default, capacities))
        {
            Facts = new PolicyFacts { SiteOccupancy = new Dictionary<SiteId, int> { [A] = 1, [B] = 1 } },
        };
        var create = Single<CreatePvm>(f.Attach(EnbA1));

        // A and B are full; C is two hops away, the core one hop further than B: C is nearer than the core (2 vs 2 hops, less delay).
        Assert.Equal(C, create.Site);
    }

    [Fact]
    public void A_follow_toward_a_full_site_takes_the_nearest_site_with_room_or_stays()
    {
        var capacities = new Dictionary<SiteId, int> { [A] = 10, [B] = 10, [C] = 1 };
        var f = new Fixture(WithPolicy(PolicyConfig.Default, capacities))
        {
            Facts = new PolicyFacts { SiteOccupancy = new Dictionary<SiteId, int> { [C] = 1 } },
        };
        f.Up(EnbA1);

        // C is full: B is one hop from the user, nearer than A (two hops).
        var start = Single<StartMigration>(f.PathSwitch(EnbC1, 0x11));
        Assert.Equal((A, B), (start.From, start.To));
        f.Completed(start.Migration);

        // Back and forth to a full site: nothing nearer has room, so the PVM stays.
        f.Facts = new PolicyFacts { SiteOccupancy = new Dictionary<SiteId, int> { [C] = 1, [A] = 10 } };
        Assert.Empty(f.PathSwitch(EnbA1, 0x12).OfType<StartMigration>());
        Assert.Equal(B, f.State!.PvmSite);
    }

    [Theory]
    [InlineData(PolicyKind.Myopic)]
    [InlineData(PolicyKind.MdpThreshold)]
    [InlineData(PolicyKind.Predictive)]
    public void A_pvm_pinned_to_a_site_outside_the_graph_is_weighed_without_a_crash(PolicyKind kind)
    {
        var elsewhere = new SiteId("lab");
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = kind, Cost = new WangCostModel(migrationScale: 0) }));
        f.Up(EnbA1);
        var pin = Single<StartMigration>(f.On(t => new PinRequested(t, Ue, elsewhere)));
        f.Completed(pin.Migration);
        f.On(t => new PinRequested(t, Ue, null));
        f.PathSwitch(EnbB1, 0x11);
        Assert.Equal(elsewhere, f.State!.PvmSite);
        Assert.Equal(1, f.Config.Hops(elsewhere, B));
    }

    [Fact]
    public void Policy_names_read_back()
    {
        foreach (var kind in Enum.GetValues<PolicyKind>())
        {
            Assert.Equal(kind, PolicyConfig.Parse(PolicyConfig.NameOf(kind)));
        }

        Assert.Equal(PolicyKind.MdpThreshold, PolicyConfig.Parse(" MDP "));
        var e = Assert.Throws<ArgumentException>(() => PolicyConfig.Parse("sometimes"));
        Assert.Contains("sometimes", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolicyConfig { Dwell = TimeSpan.Zero });
    }

    [Fact]
    public void A_site_graph_must_hold_every_serving_site()
    {
        var e = Assert.Throws<ArgumentException>(() => new McConfig(Sites, Core) { Sites = SiteGraph.Mesh([A, B, Core]) });
        Assert.Contains("site-c", e.Message);
    }
}
