using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's user pace (PolicyConfig.UserPace): the learned chain says where users of a cell go, the time this user
/// took to cross the cell it came from says how soon it gets there. Cells on a line as in <see cref="HeadingTests"/>:
/// A1 at 0, A2 at 1, B1 at 4, C1 at 8; sites A (A1), B (B1), C (C1).
/// </summary>
public sealed class PaceTests
{
    private static readonly CellGeometry _cells = new(
        new Dictionary<EnbId, (double X, double Y)> { [EnbA1] = (0, 0), [EnbA2] = (1, 0), [EnbB1] = (4, 0), [EnbC1] = (8, 0) },
        new Dictionary<SiteId, EnbId> { [A] = EnbA1, [B] = EnbB1, [C] = EnbC1, [Core] = EnbB1 },
        1);

    // Users go round A1 -> A2 -> B1 -> A1, two minutes per cell: over a round the PVM is better at A (rings 0, 1, 4)
    // than at B (4, 3, 0), so a move to B pays only for a user that stays at B1 long. The forecast alone decides (no
    // heading, not on the MDP), so only the dwell the forecast gives each cell differs between the runs.
    private static readonly MobilityStats _learned = Learn(
        (EnbA1, EnbA2, TimeSpan.FromMinutes(2)),
        (EnbA2, EnbB1, TimeSpan.FromMinutes(2)),
        (EnbB1, EnbA1, TimeSpan.FromMinutes(2)));

    /// <summary>A1 -> A2 -> B1 with A2 crossed in <paramref name="crossing"/>; the migration the arrival at B1 starts, if any.</summary>
    private static StartMigration? ArriveAtB1(bool userPace, TimeSpan crossing, MobilityStats? learned = null)
    {
        var f = new Fixture(WithPolicy(new PolicyConfig { Kind = PolicyKind.Predictive, MdpBase = false, HeadingWeight = 0, UserPace = userPace }) with { Cells = _cells })
        {
            Facts = new PolicyFacts { Mobility = learned ?? _learned },
        };
        f.Up(EnbA1);
        f.Advance(TimeSpan.FromSeconds(30));
        f.PathSwitch(EnbA2, 0x11);

        // Each fixture event is 100 ms after the last: the user reaches B1 exactly `crossing` after it reached A2.
        f.Advance(crossing - TimeSpan.FromMilliseconds(100));
        return f.PathSwitch(EnbB1, 0x12).OfType<StartMigration>().SingleOrDefault();
    }

    [Fact]
    public void A_slow_user_is_followed_where_a_fast_one_on_the_same_path_is_not()
    {
        // A2 crossed in 8 minutes (pace 4: B1's two minutes become eight) against 15 s (pace 1/4: round the loop in
        // a minute and a half).
        var slow = ArriveAtB1(userPace: true, TimeSpan.FromMinutes(8));
        Assert.NotNull(slow);
        Assert.Equal((A, B), (slow.From, slow.To));
        Assert.Null(ArriveAtB1(userPace: true, TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public void Without_the_pace_both_users_are_judged_alike()
    {
        Assert.Equal(ArriveAtB1(userPace: false, TimeSpan.FromMinutes(8))?.To, ArriveAtB1(userPace: false, TimeSpan.FromSeconds(15))?.To);
    }

    [Fact]
    public void A_user_at_the_crowds_pace_is_judged_exactly_as_without_the_pace()
    {
        // Users stay 10 minutes at B1, so the move to B pays at any pace. A2's learned dwell, shrunk toward the 2 min
        // prior, is (20 x 2 + 5 x 2) / 25 = 2 min: a user who crossed A2 in 2 minutes has pace 1.
        var learned = Learn(
            (EnbA1, EnbA2, TimeSpan.FromMinutes(2)),
            (EnbA2, EnbB1, TimeSpan.FromMinutes(2)),
            (EnbB1, EnbA1, TimeSpan.FromMinutes(10)));
        var with = ArriveAtB1(userPace: true, TimeSpan.FromMinutes(2), learned);
        var without = ArriveAtB1(userPace: false, TimeSpan.FromMinutes(2), learned);
        Assert.NotNull(with);
        Assert.NotNull(without);
        Assert.Equal((without.To, without.ExpectedBenefit), (with.To, with.ExpectedBenefit));
    }

    [Fact]
    public void The_pace_is_on_by_default_and_bound_from_the_policy_parameters()
    {
        Assert.True(PolicyConfig.Default.UserPace);
        Assert.True(new PolicyParameters().ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60)).UserPace);
        Assert.False(new PolicyParameters { UserPace = false }.ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60)).UserPace);
    }

    private static MobilityStats Learn(params (EnbId From, EnbId To, TimeSpan Dwell)[] moves)
    {
        var stats = MobilityStats.Empty;
        for (var i = 0; i < 20; i++)
        {
            foreach (var (from, to, dwell) in moves)
            {
                stats = MobilityStats.Observe(stats, new HandoverObservation(TimeSpan.FromMinutes(i), from, to, dwell));
            }
        }

        return stats;
    }
}
