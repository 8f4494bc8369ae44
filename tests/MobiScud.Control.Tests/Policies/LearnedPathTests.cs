using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's learned road (PolicyConfig.TrajectoryPath): second-order transitions (the cell before, the cell left)
/// -> next cell, and the path the trajectory plan prices along them. Cells E(0..3) on a line at (x, 0), then a road
/// turning north: N(1..3) at (3, y).
/// </summary>
public sealed class LearnedPathTests
{
    private static EnbId E(int x) => new((uint)(0x700 + x));

    private static EnbId N(int y) => new((uint)(0x710 + y));

    private static readonly CellGeometry _cells = new(
        new Dictionary<EnbId, (double X, double Y)>
        {
            [E(0)] = (0, 0),
            [E(1)] = (1, 0),
            [E(2)] = (2, 0),
            [E(3)] = (3, 0),
            [N(1)] = (3, 1),
            [N(2)] = (3, 2),
            [N(3)] = (3, 3),
        },
        new Dictionary<SiteId, EnbId> { [new SiteId("site-0")] = E(0) },
        1);

    private static HandoverObservation Seen(EnbId earlier, EnbId from, EnbId to, int dwellSeconds = 40) =>
        new(TimeSpan.FromMinutes(5), from, to, TimeSpan.FromSeconds(dwellSeconds)) { Earlier = earlier };

    private static MobilityStats Learn(params HandoverObservation[] seen) => seen.Aggregate(MobilityStats.Empty, MobilityStats.Observe);

    [Fact]
    public void Where_a_user_came_from_tells_which_way_it_leaves_where_the_first_order_counts_cannot()
    {
        // Leaving E(1): coming from E(0) twice on to E(2) and once to N(1); coming from E(2) three times back to E(0).
        // First order: E(0) 3, E(2) 2, N(1) 1, so E(0) for everyone; second order tells the two directions apart.
        var stats = Learn(
            Seen(E(0), E(1), E(2)), Seen(E(0), E(1), E(2)), Seen(E(0), E(1), N(1)),
            Seen(E(2), E(1), E(0)), Seen(E(2), E(1), E(0)), Seen(E(2), E(1), E(0)));
        var at = TimeSpan.FromMinutes(6);
        Assert.Equal(E(2), stats.LikelyNext(E(0), E(1), at, minDepartures: 1));
        Assert.Equal(E(0), stats.LikelyNext(E(2), E(1), at, minDepartures: 1));

        // A direction never seen, or none known: the first-order guess.
        Assert.Equal(E(0), stats.LikelyNext(N(1), E(1), at, minDepartures: 1));
        Assert.Equal(E(0), stats.LikelyNext(null, E(1), at, minDepartures: 1));

        // Nothing ever left N(3): no guess. A tie goes to the smaller eNB id.
        Assert.Null(stats.LikelyNext(E(3), N(3), at, minDepartures: 1));
        var tie = Learn(Seen(E(0), E(1), N(1)), Seen(E(0), E(1), E(2)));
        Assert.Equal(E(2), tie.LikelyNext(E(0), E(1), at, minDepartures: 1));

        // The observation of a handover names the cell before the one left (the state's previous eNB).
        var before = new UeState
        {
            Ue = new UeId("imsi-001010000000077"),
            Connection = ConnectionState.Connected,
            ServingEnb = E(1),
            ServingSince = TimeSpan.FromSeconds(100),
            PreviousEnb = E(0),
        };
        var o = MobilityStats.ObservationOf(before, new HandoverCompleted(TimeSpan.FromSeconds(140), before.Ue, E(2), []));
        Assert.Equal(E(0), o!.Earlier);
    }

    [Fact]
    public void The_path_follows_the_learned_road_at_the_slower_of_the_cells_dwell_and_the_users_crossing()
    {
        // Learned: E(1)->E(2)->E(3) (dwell at E(2) 40 s, twice), E(2)->E(3)->N(1), E(3)->N(1)->N(2), N(1)->N(2)->N(3);
        // nothing beyond N(3). The user crossed E(1) in 30 s and has just arrived at E(2): its pace is max(40, 30) = 40 s
        // a cell, the first handover 40 s from now. In the middle of the 7 slots (30, 90, ..., 390 s) it has made
        // 0, 1 + floor(50 / 40) = 2, 1 + floor(110 / 40) = 3, then 5 and more handovers: E(2), N(1), N(2), then N(3),
        // where the learned road ends.
        var facts = new PolicyFacts
        {
            Mobility = Learn(
                Seen(E(1), E(2), E(3)), Seen(E(1), E(2), E(3)), Seen(E(2), E(3), N(1)), Seen(E(3), N(1), N(2)), Seen(N(1), N(2), N(3))),
        };
        var policy = new PolicyConfig { Kind = PolicyKind.Predictive, DwellHazard = false };
        var arrived = TimeSpan.FromSeconds(600);
        var trajectory = new MigrationPolicies.UserTrajectory((1.5, 0), (1.0 / 60, 0)) { Path = (E(2), E(1), 30) };
        var points = MigrationPolicies.PathPoints(policy, _cells, facts, trajectory, arrived, arrived);
        Assert.Equal([(2.0, 0.0), (3.0, 1.0), (3.0, 2.0), (3.0, 3.0), (3.0, 3.0), (3.0, 3.0), (3.0, 3.0)], points!);

        // 35 s later the first handover is 5 s away: 1 + floor(25 / 40) = 1 handover by the first slot's middle (E(3)).
        var later = MigrationPolicies.PathPoints(policy, _cells, facts, trajectory, arrived, arrived + TimeSpan.FromSeconds(35));
        Assert.Equal((3.0, 0.0), later![0]);

        // Nothing learned about the user's cell: no path, and the plan keeps the straight line.
        Assert.Null(MigrationPolicies.PathPoints(policy, _cells, PolicyFacts.None, trajectory, arrived, arrived));
    }

    [Fact]
    public void A_user_that_has_waited_long_in_its_cell_is_expected_to_wait_on_as_long_waits_did()
    {
        // Learned at E(2) (all toward E(3)): four users passed in 10 s, two waited 300 s (the 240-480 s bin); mean
        // 640 / 6 = 106.7 s. On along the road at 40 s a cell. The user crossed E(1) in 30 s and has been at E(2) for
        // 200 s: only the long waits lasted that long, so it stays while S(200 + h) / S(200) = (480 - 200 - h) / 240
        // is above 1/2, h < 160 s. Then on at its pace, max(106.7, 30) s a cell: in the slots' middles (30, 90, ...,
        // 390 s) 0, 0, 0, 1 + floor(50 / 106.7) = 1, 2, 2, 3 handovers.
        var facts = new PolicyFacts
        {
            Mobility = Learn(
                Seen(E(1), E(2), E(3), 10), Seen(E(1), E(2), E(3), 10), Seen(E(1), E(2), E(3), 10), Seen(E(1), E(2), E(3), 10),
                Seen(E(1), E(2), E(3), 300), Seen(E(1), E(2), E(3), 300),
                Seen(E(2), E(3), N(1)), Seen(E(3), N(1), N(2)), Seen(N(1), N(2), N(3))),
        };
        var policy = new PolicyConfig { Kind = PolicyKind.Predictive };
        Assert.True(policy.DwellHazard);
        var arrived = TimeSpan.FromSeconds(600);
        var trajectory = new MigrationPolicies.UserTrajectory((1.5, 0), (1.0 / 60, 0)) { Path = (E(2), E(1), 30) };
        var points = MigrationPolicies.PathPoints(policy, _cells, facts, trajectory, arrived, arrived + TimeSpan.FromSeconds(200));
        Assert.Equal([(2.0, 0.0), (2.0, 0.0), (2.0, 0.0), (3.0, 0.0), (3.0, 1.0), (3.0, 1.0), (3.0, 2.0)], points!);

        // By the mean alone it is overdue (106.7 - 200 s < 0) and leaves at once: at E(3) by the first slot's middle.
        var byMean = MigrationPolicies.PathPoints(policy with { DwellHazard = false }, _cells, facts, trajectory, arrived, arrived + TimeSpan.FromSeconds(200));
        Assert.Equal((3.0, 0.0), byMean![0]);
    }

    [Fact]
    public void The_learned_road_replaces_the_straight_line_only_for_users_the_fixed_gate_trusts()
    {
        // A user that went E(0) -> E(1) -> E(2) straight on, three steady steps: the fixed gate trusts it.
        var straight = HeadingStats.Push(HeadingStats.Push(HeadingStats.Push(0, 0), 0), 0);
        var s = new UeState
        {
            Ue = new UeId("imsi-001010000000078"),
            Connection = ConnectionState.Connected,
            ServingEnb = E(2),
            ServingSince = TimeSpan.FromSeconds(600),
            PreviousEnb = E(1),
            PreviousSince = TimeSpan.FromSeconds(570),
            EarlierEnb = E(0),
            HeadingSteps = 3,
            RecentTurns = straight,
        };
        var policy = new PolicyConfig { Kind = PolicyKind.Predictive };
        var byGate = MigrationPolicies.TrajectoryOf(policy, _cells, PolicyFacts.None, s, E(2), s.ServingSince, s.ServingSince);
        Assert.False(byGate!.Value.HeadingLearned);
        Assert.Equal((E(2), E(1), 30.0), byGate.Value.Path);

        // Learned: after straight histories the next step went straight on every time (trust 1 >= 0.65).
        var headings = HeadingStats.Empty;
        for (var i = 0; i < policy.TrajectoryMinSeen; i++)
        {
            headings = headings.Observe(HeadingStats.Push(straight, 0), 0);
        }

        var vouched = MigrationPolicies.TrajectoryOf(policy, _cells, new PolicyFacts { Mobility = MobilityStats.Empty with { Headings = headings } }, s, E(2), s.ServingSince, s.ServingSince);
        Assert.True(vouched!.Value.HeadingLearned);
    }
}
