using System.Collections.Concurrent;

namespace MobiScud.Control.Policies;

/// <summary>
/// The solved MDP: for each user-to-PVM distance s (0..N hops), the distance <see cref="Actions"/>[s] to migrate to
/// (s itself: stay), and the discounted cost <see cref="Values"/>[s] of following the policy from s.
/// </summary>
public sealed record MdpSolution(double[] Values, int[] Actions, int Iterations, bool Converged)
{
    /// <summary>What the action saves over staying, per state: Q(s, s) - Q(s, a(s)) (0 where the policy stays; at N staying is not allowed, so against migrating to N-1).</summary>
    public double[] Gains { get; init; } = [];

    /// <summary>Per distance a after the action: the expected value of the next state, sum_j P(a, j) V(j) (Wang et al. add gamma times this to a site's cost when they pick among real sites).</summary>
    public double[] Continuation { get; init; } = [];

    /// <summary>The smallest distance at which the policy migrates (null: it never does).</summary>
    public int? Threshold
    {
        get
        {
            for (var s = 0; s < Actions.Length; s++)
            {
                if (Actions[s] < s)
                {
                    return s;
                }
            }

            return null;
        }
    }

    /// <summary>True when the policy stays below <see cref="Threshold"/> and migrates (closer) at and above it.</summary>
    public bool IsThreshold
    {
        get
        {
            var t = Threshold ?? Actions.Length;
            for (var s = 0; s < Actions.Length; s++)
            {
                if (s < t ? Actions[s] != s : Actions[s] >= s)
                {
                    return false;
                }
            }

            return true;
        }
    }
}

/// <summary>
/// Wang et al.'s distance-based MDP (IEEE/ACM ToN 2019), solved by value iteration as in their <c>algorithms.m</c>:
/// states are the user-to-service distance 0..N; an action moves the service to distance a (cost
/// <see cref="WangCostModel.MigrationCost"/> of |a - s|, then <see cref="WangCostModel.TransmissionCost"/> of a);
/// then the user moves along their 1-D approximation of a 2-D hexagonal random walk: from 0 outward with the move
/// probability p, from the middle outward with 2.5p/6 and inward with 1.5p/6, from N inward with p/6. At N the
/// service must move (their chain is finite). Pure; solutions are cached per (model, N, p, Q/R) rounded to 1/100.
/// </summary>
public static class MdpThresholdSolver
{
    private static readonly ConcurrentDictionary<(WangCostModel Cost, int N, int P, int Q), MdpSolution> _cache = new();

    /// <summary>The solution for the rounded parameters (shared; do not modify its arrays).</summary>
    public static MdpSolution Cached(WangCostModel cost, int maxDistance, double moveProbability, double loadRatio)
    {
        var p = Math.Clamp((int)Math.Round(moveProbability * 100), 1, 100);
        var q = Math.Clamp((int)Math.Round(loadRatio * 100), 0, 99);
        return _cache.GetOrAdd((cost, maxDistance, p, q), k => Solve(k.Cost, k.N, k.P / 100.0, k.Q / 100.0));
    }

    public static MdpSolution Solve(WangCostModel cost, int maxDistance, double moveProbability, double loadRatio, double epsilon = 1e-9, int maxIterations = 100_000)
    {
        ArgumentNullException.ThrowIfNull(cost);
        if (maxDistance < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(maxDistance), maxDistance, "the chain needs at least 3 states (maxDistance >= 2)");
        }

        if (!(moveProbability > 0 && moveProbability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(moveProbability), moveProbability, "the move probability must be in (0, 1]");
        }

        var n = maxDistance + 1;
        var transition = Chain(n, moveProbability);
        var migrate = new double[n];
        var transmit = new double[n];
        for (var d = 0; d < n; d++)
        {
            migrate[d] = cost.MigrationCost(d, loadRatio);
            transmit[d] = cost.TransmissionCost(d, loadRatio);
        }

        var values = new double[n];
        var next = new double[n];
        var actions = new int[n];
        var expected = new double[n];
        var gamma = cost.Gamma;

        // Stop when the values move less than epsilon(1 - gamma)/(2 gamma): the policy is then epsilon-optimal.
        var tolerance = gamma == 0 ? double.PositiveInfinity : epsilon * (1 - gamma) / (2 * gamma);
        for (var iteration = 1; iteration <= maxIterations; iteration++)
        {
            for (var a = 0; a < n; a++)
            {
                var sum = 0.0;
                for (var j = Math.Max(0, a - 1); j <= Math.Min(n - 1, a + 1); j++)
                {
                    sum += transition[a, j] * values[j];
                }

                expected[a] = sum;
            }

            var change = 0.0;
            for (var s = 0; s < n; s++)
            {
                var best = double.PositiveInfinity;
                var bestAction = s;
                for (var a = 0; a < n; a++)
                {
                    if (s == n - 1 && a == s)
                    {
                        continue;
                    }

                    var value = migrate[Math.Abs(a - s)] + transmit[a] + (gamma * expected[a]);

                    // Ties go to staying, then to the nearer distance: a move must strictly pay.
                    if (value < best - 1e-12 || (Math.Abs(value - best) <= 1e-12 && (a == s || (bestAction != s && a < bestAction))))
                    {
                        best = value;
                        bestAction = a;
                    }
                }

                next[s] = best;
                actions[s] = bestAction;
                change = Math.Max(change, Math.Abs(best - values[s]));
            }

            (values, next) = (next, values);
            if (change < tolerance)
            {
                return new MdpSolution(values, actions, iteration, true) { Gains = Gains(values, actions, transition, migrate, transmit, gamma), Continuation = Continuation(values, transition) };
            }
        }

        return new MdpSolution(values, actions, maxIterations, false) { Gains = Gains(values, actions, transition, migrate, transmit, gamma), Continuation = Continuation(values, transition) };
    }

    private static double[] Continuation(double[] values, double[,] transition)
    {
        var n = values.Length;
        var result = new double[n];
        for (var a = 0; a < n; a++)
        {
            for (var j = Math.Max(0, a - 1); j <= Math.Min(n - 1, a + 1); j++)
            {
                result[a] += transition[a, j] * values[j];
            }
        }

        return result;
    }

    private static double[] Gains(double[] values, int[] actions, double[,] transition, double[] migrate, double[] transmit, double gamma)
    {
        var n = values.Length;
        double Q(int s, int a)
        {
            var future = 0.0;
            for (var j = Math.Max(0, a - 1); j <= Math.Min(n - 1, a + 1); j++)
            {
                future += transition[a, j] * values[j];
            }

            return migrate[Math.Abs(a - s)] + transmit[a] + (gamma * future);
        }

        var gains = new double[n];
        for (var s = 0; s < n; s++)
        {
            var baseline = s == n - 1 ? Q(s, s - 1) : Q(s, s);
            gains[s] = Math.Max(0, baseline - Q(s, actions[s]));
        }

        return gains;
    }

    /// <summary>The 1-D chain of Wang et al.'s algorithms.m (their 2-D hexagonal walk folded onto rings).</summary>
    public static double[,] Chain(int n, double p)
    {
        var forward = p / 6 * 2.5;
        var back = p / 6 * 1.5;
        var P = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            if (i == 0)
            {
                P[0, 1] = p;
                P[0, 0] = 1 - p;
            }
            else if (i == n - 1)
            {
                P[i, i - 1] = p / 6;
                P[i, i] = 1 - (p / 6);
            }
            else
            {
                P[i, i + 1] = forward;
                P[i, i - 1] = back;
                P[i, i] = 1 - forward - back;
            }
        }

        return P;
    }
}
