using FsCheck.Xunit;
using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// The semi-Markov plan's sweep kernel (HandoverSmdp.Sweep.cs) against the plain forms it replaced, on random rows:
/// the same bits, so the plan's values and decisions do not move. Row lengths up to 13 cover both the vectorised
/// part and the scalar tail.
/// </summary>
public sealed class HandoverSmdpSweepTests
{
    private static double[] Randoms(Random random, int n, double scale) => [.. Enumerable.Range(0, n).Select(_ => random.NextDouble() * scale)];

    [Property(MaxTest = 200)]
    public bool The_flat_chain_adds_each_row_in_the_order_of_the_sparse_rows(int seed)
    {
        var random = new Random(seed);
        var (states, sites) = (random.Next(1, 30), random.Next(1, 14));
        var rows = new (int To, double P)[states][];
        for (var x = 0; x < states; x++)
        {
            rows[x] = [.. Enumerable.Range(0, random.Next(0, 7)).Select(_ => (random.Next(states), random.NextDouble()))];
        }

        var v = Randoms(random, states * sites, 50);
        var ev = Randoms(random, states * sites, 1); // left over from a sweep before: cleared
        SmdpChain.From(rows).Expect(v, ev, sites);

        // The jagged form the sweep used before: ev(x, a) += p v(x', a) over the row's successors in order.
        var expected = new double[states * sites];
        for (var x = 0; x < states; x++)
        {
            foreach (var (to, p) in rows[x])
            {
                for (var a = 0; a < sites; a++)
                {
                    expected[(x * sites) + a] += p * v[(to * sites) + a];
                }
            }
        }

        return expected.SequenceEqual(ev);
    }

    [Property(MaxTest = 200)]
    public bool A_stage_row_is_the_scalar_formula(int seed)
    {
        var random = new Random(seed);
        var sites = random.Next(1, 14);
        var (t, ev, next) = (Randoms(random, sites, 1), Randoms(random, sites, 30), Randoms(random, sites, 30));
        var (ak, bk, step, alive) = (random.NextDouble() * 3, random.NextDouble(), random.NextDouble(), Math.Max(random.NextDouble(), 1e-12));
        var last = random.Next(2) == 0;
        var c = new double[sites];
        HandoverSmdp.StageRow(c, t, ev, last ? [] : next, ak, bk, step, alive);
        return Enumerable.Range(0, sites).All(a =>
        {
            var w = (ak * t[a]) + (bk * ev[a]);
            if (!last)
            {
                w += step * next[a];
            }

            return c[a] == w / alive;
        });
    }

    [Property(MaxTest = 1000)]
    public bool The_min_over_targets_is_the_minimum_over_every_target(int seed)
    {
        var random = new Random(seed);
        var sites = random.Next(1, 14);

        // Rings between sites: symmetric, 0 on the diagonal, sometimes 0 between two sites (one cell's two sites).
        var rings = new int[sites * sites];
        for (var i = 0; i < sites; i++)
        {
            for (var j = i + 1; j < sites; j++)
            {
                rings[(i * sites) + j] = rings[(j * sites) + i] = random.Next(random.Next(4) == 0 ? 0 : 1, 12);
            }
        }

        // Wang's M by rings at a random scale (0: free moves), and rows of C clustered near their minimum with ties.
        var cost = new WangCostModel(migrationScale: random.Next(4) == 0 ? 0 : random.NextDouble() * 3);
        var m = Enumerable.Range(0, 12).Select(r => r == 0 ? 0 : cost.MigrationCost(r)).ToArray();
        var moves = SmdpMoves.Build(rings, sites, m);
        var floor = random.NextDouble() * 20;
        var c = Enumerable.Range(0, sites).Select(_ => random.Next(5) == 0 ? floor : floor + (random.NextDouble() * random.Next(1, 4))).ToArray();
        var p = random.NextDouble();
        var u = Randoms(random, sites, 1);
        HandoverSmdp.MinOverTargets(c, p, u, moves);

        // The plain form: staying, or the best move from here to any other site.
        return Enumerable.Range(0, sites).All(here =>
        {
            var value = c[here];
            for (var a = 0; a < sites; a++)
            {
                if (a != here)
                {
                    value = Math.Min(value, m[rings[(here * sites) + a]] + c[a]);
                }
            }

            return u[here] == p * value;
        });
    }

    [Fact]
    public void The_moves_are_laid_out_by_target_with_staying_left_out()
    {
        // Three sites on a line, 1 ring apart: M(1) = 1.2, M(2) = 1.36 (mu 0.8).
        int[] rings = [0, 1, 2, 1, 0, 1, 2, 1, 0];
        var m = new[] { 0, 1.2, 1.36 };
        var moves = SmdpMoves.Build(rings, 3, m);
        Assert.Equal([double.PositiveInfinity, 1.2, 1.36, 1.2, double.PositiveInfinity, 1.2, 1.36, 1.2, double.PositiveInfinity], moves.Into);
        Assert.Equal((1.2, 1.36), (moves.Cheapest, moves.Dearest));

        // Into site 0 the cheapest move is from site 1, then from site 2; into site 1 from 0 and 2 alike.
        Assert.Equal([1, 2, 0], moves.From[..3]);
        Assert.Equal([1.2, 1.36, double.PositiveInfinity], moves.FromMove[..3]);
        Assert.Equal(1, moves.From[5]);

        // From site 2 (C 9) the move to site 0 (1.36 + 5) beats the one to site 1 (1.2 + 5.5); from site 1 (C 5.5)
        // staying beats 1.2 + 5; from site 0, the cheapest, staying.
        var u = new double[3];
        HandoverSmdp.MinOverTargets([5, 5.5, 9], 0.5, u, moves);
        Assert.Equal([2.5, 2.75, 0.5 * (1.36 + 5)], u);
    }
}
