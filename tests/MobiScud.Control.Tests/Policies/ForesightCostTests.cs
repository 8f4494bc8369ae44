using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// The cost bounds of docs/policies.md ("What bounds predictive"), hand-computed: two sites A and B two rings apart,
/// cell 0 at A, cell 1 at B, mu = 0.8, no load: T(2) = 1 - 0.8^2 = 0.36, M(2) = 1 + (1 - 0.8^2) = 1.36.
/// </summary>
public sealed class ForesightCostTests
{
    private const double T2 = 0.36;
    private const double M2 = 1.36;

    private static ForesightCost Bounds(int slots) =>
        new(new WangCostModel(0.8), new[,] { { 0, 2 }, { 2, 0 } }, new[,] { { 0, 2 }, { 2, 0 } }, new double[slots]);

    [Fact]
    public void The_oracle_places_the_first_pvm_where_the_user_will_be_and_moves_only_when_it_pays()
    {
        // 1 slot at A then 4 at B: placed at B from the start (T for one slot), no move.
        var (cost, moves) = Bounds(10).Oracle([0, 1, 1, 1, 1]);
        Assert.Equal(T2, cost, 12);
        Assert.Equal(0, moves);

        // 5 at A then 5 at B: staying anywhere costs 5 T = 1.80, one move at the crossing M = 1.36.
        (cost, moves) = Bounds(10).Oracle([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        Assert.Equal(M2, cost, 12);
        Assert.Equal(1, moves);

        // The same with its parts: all of it the one move's migration, no transmission.
        var parts = Bounds(10).OracleParts([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        Assert.Equal((M2, 1, M2), (Math.Round(parts.Cost, 12), parts.Moves, Math.Round(parts.Migration, 12)));
        parts = Bounds(10).OracleParts([0, 1, 1, 1, 1]);
        Assert.Equal((T2, 0, 0.0), (Math.Round(parts.Cost, 12), parts.Moves, Math.Round(parts.Migration, 12)));

        // Detached in between: each attached run starts free, so both cost nothing.
        (cost, moves) = Bounds(10).Oracle([0, 0, -1, 1, 1]);
        Assert.Equal(0, cost, 12);
        Assert.Equal(0, moves);
    }

    [Fact]
    public void Foresight_reaches_the_oracle_only_when_it_sees_far_enough_for_a_move_to_pay()
    {
        int[] cells = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        var bounds = Bounds(10);

        // Seeing up to 3 slots, a move (1.36) never pays within the view (3 T = 1.08 at most): 5 slots served from A.
        foreach (var horizon in new[] { 1, 2, 3 })
        {
            var (cost, moves) = bounds.Rolling(cells, horizon);
            Assert.Equal(5 * T2, cost, 12);
            Assert.Equal(0, moves);
        }

        // Seeing 4 (4 T = 1.44 > 1.36 once the user is at B) or more: it moves when the user arrives, the oracle's cost.
        foreach (var horizon in new[] { 4, 5, 10 })
        {
            var (cost, moves) = bounds.Rolling(cells, horizon);
            Assert.Equal(M2, cost, 12);
            Assert.Equal(1, moves);
        }

        Assert.Equal(M2, bounds.Oracle(cells).Cost, 12);

        // The first placement looks ahead too: 1 slot at A then 4 at B, seen 3 ahead, starts at B (T once).
        Assert.Equal(T2, bounds.Rolling([0, 1, 1, 1, 1], 3).Cost, 12);
        Assert.Equal(4 * T2, bounds.Rolling([0, 1, 1, 1, 1], 2).Cost, 12);
    }

    [Fact]
    public void The_load_ratio_scales_every_slot_and_bad_input_is_refused()
    {
        // Q/R = 0.5 in every slot doubles every cost.
        var loaded = new ForesightCost(new WangCostModel(0.8), new[,] { { 0, 2 }, { 2, 0 } }, new[,] { { 0, 2 }, { 2, 0 } }, Enumerable.Repeat(0.5, 10).ToArray());
        Assert.Equal(2 * M2, loaded.Oracle([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]).Cost, 12);

        Assert.Throws<ArgumentException>(() => Bounds(2).Oracle([0, 0, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Bounds(2).Oracle([0, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Bounds(2).Rolling([0, 1], 0));
        Assert.Throws<ArgumentException>(() => new ForesightCost(new WangCostModel(), new int[2, 3], new int[1, 2], new double[1]));
    }
}
