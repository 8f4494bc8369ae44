using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

public sealed class MdpThresholdSolverTests
{
    public static TheoryData<double, double, double> Parameters()
    {
        var data = new TheoryData<double, double, double>();
        foreach (var p in new[] { 0.05, 0.3, 0.8 })
        {
            foreach (var q in new[] { 0.0, 0.4 })
            {
                foreach (var scale in new[] { 0.3, 1.0, 3.0 })
                {
                    data.Add(p, q, scale);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Parameters))]
    public void Value_iteration_converges_to_a_threshold_policy_that_satisfies_bellman(double p, double q, double migrationScale)
    {
        var cost = new WangCostModel(migrationScale: migrationScale);
        var n = 10;
        var solution = MdpThresholdSolver.Solve(cost, n, p, q);
        Assert.True(solution.Converged, $"no convergence in {solution.Iterations} iterations");
        Assert.True(solution.IsThreshold, $"not a threshold policy: [{string.Join(", ", solution.Actions)}]");

        // The values are a fixed point of the Bellman operator (checked independently of the solver's loop).
        var chain = MdpThresholdSolver.Chain(n + 1, p);
        for (var s = 0; s <= n; s++)
        {
            var best = double.PositiveInfinity;
            for (var a = 0; a <= n; a++)
            {
                if (s == n && a == n)
                {
                    continue;
                }

                var future = 0.0;
                for (var j = 0; j <= n; j++)
                {
                    future += chain[a, j] * solution.Values[j];
                }

                best = Math.Min(best, cost.MigrationCost(Math.Abs(a - s), q) + cost.TransmissionCost(a, q) + (cost.Gamma * future));
            }

            Assert.Equal(best, solution.Values[s], 6);
        }
    }

    [Fact]
    public void The_chain_is_stochastic_and_follows_wangs_1d_approximation()
    {
        var chain = MdpThresholdSolver.Chain(5, 0.6);
        for (var i = 0; i < 5; i++)
        {
            var sum = 0.0;
            for (var j = 0; j < 5; j++)
            {
                sum += chain[i, j];
            }

            Assert.Equal(1, sum, 12);
        }

        Assert.Equal(0.6, chain[0, 1], 12);
        Assert.Equal(0.25, chain[2, 3], 12); // 2.5 p / 6
        Assert.Equal(0.15, chain[2, 1], 12); // 1.5 p / 6
        Assert.Equal(0.1, chain[4, 3], 12); // p / 6
    }

    [Fact]
    public void Free_migration_always_migrates_to_the_user()
    {
        var solution = MdpThresholdSolver.Solve(new WangCostModel(migrationScale: 0), 10, 0.3, 0.2);
        Assert.Equal(1, solution.Threshold);
        Assert.All(Enumerable.Range(1, 10), s => Assert.Equal(0, solution.Actions[s]));
    }

    [Fact]
    public void Prohibitive_migration_never_migrates_below_the_chains_end()
    {
        var solution = MdpThresholdSolver.Solve(new WangCostModel(migrationScale: 1e6), 10, 0.3, 0.2);
        Assert.Equal(10, solution.Threshold);
        Assert.All(Enumerable.Range(0, 10), s => Assert.Equal(s, solution.Actions[s]));
    }

    [Fact]
    public void Dearer_migration_raises_the_threshold()
    {
        var cheap = MdpThresholdSolver.Solve(new WangCostModel(migrationScale: 0.2), 15, 0.3, 0).Threshold;
        var paper = MdpThresholdSolver.Solve(WangCostModel.Default, 15, 0.3, 0).Threshold;
        var dear = MdpThresholdSolver.Solve(new WangCostModel(migrationScale: 3), 15, 0.3, 0).Threshold;
        Assert.True(cheap < paper && paper < dear, $"thresholds {cheap}, {paper}, {dear}");
    }
}
