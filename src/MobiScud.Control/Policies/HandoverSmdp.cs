using System.Collections.Frozen;
using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// One solution of the semi-Markov plan: states (came, cell) (came -1: the way in unknown) in key order, V(x, s) at the
/// handover into x, and per stage k (decision age Ages[k] in the cell) the continuation C_k(x, a): the expected cost
/// from that age on with the PVM at a, given the user is still in the cell. Row-major by state.
/// </summary>
internal sealed record SmdpSolution(
    FrozenDictionary<(int Came, int Cell), int> States, double[] Ages, double[] Values, double[][] Continuation, TimeSpan SolvedAt, long Observations, int Sweeps);

/// <summary>
/// Predictive's semi-Markov plan (<see cref="PredictivePlan.Smdp"/>; docs/policies.md, "The semi-Markov plan in the
/// core"): a decision process embedded at handovers over ((cell before, cell), PVM site). The score samples each user
/// at slot boundaries whose phase is unrelated to its handovers, so a stay of tau with the PVM at a costs
/// tau / slot x T(rings(u, a)) in expectation and a move M(rings(s, a)) once. With decisions at ages
/// e_0 = 0, e_1 = review, ... (cap) since arrival, backwards over the stages:
/// <c>W_k(x, a) = a_k T(u, a) + b_k sum_x' P(x' | x) V(x', a) + step_k U_k+1(x, a)</c>,
/// <c>U_k(x, s) = p_k min_a [M(s, a) + W_k(x, a) / p_k]</c>, <c>V = U_0</c>, where p_k = P(tau &gt; e_k),
/// a_k = E[(min(tau, e_k+1) - e_k) / slot; tau &gt; e_k], b_k = E[gamma^((tau - e_k) / slot); e_k &lt; tau &lt;= e_k+1]
/// and step_k = gamma^((e_k+1 - e_k) / slot), from the learned stays (<see cref="StayStats"/>: a pair's own shrunk
/// toward its cell's with weight 2, a cell's toward every cell's with weight 1, that toward an exponential of mean
/// <see cref="PolicyConfig.PriorDwell"/>); P(x' | x) from the handover counts (a pair's <see cref="MobilityStats.ByPath"/>
/// shrunk toward its cell's first-order shares with weight 2, those toward the cells within one ring with weight 1).
/// As bench/scripts/sf-smdp.py. Re-solved inside the host's fold (<see cref="Observe"/>), warm-started, so a decision
/// stays a pure function of (state, event, facts).
/// </summary>
public sealed partial record HandoverSmdp
{
    private const double Tolerance = 1e-5;
    private const int MaxSweeps = 1000;
    private const double CellWeight = 1;
    private const double PairWeight = 2;

    public static HandoverSmdp Empty { get; } = new();

    internal CellMdpIndex? Index { get; init; }

    internal SmdpSolution? Solution { get; init; }

    /// <summary>Sweeps of the latest solve (0 before any).</summary>
    public int Sweeps => Solution?.Sweeps ?? 0;

    /// <summary>The plan after time <paramref name="at"/>: re-solved when <see cref="PolicyConfig.PlanResolve"/> has passed and new handovers were learned. Without cell positions, unchanged.</summary>
    public static HandoverSmdp Observe(HandoverSmdp smdp, McConfig config, MobilityStats mobility, TimeSpan at)
    {
        ArgumentNullException.ThrowIfNull(smdp);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(mobility);
        if (config.Cells is not { } cells)
        {
            return smdp;
        }

        var index = CellMdpIndex.For(smdp.Index, config, cells);
        if (!ReferenceEquals(index, smdp.Index))
        {
            smdp = Empty with { Index = index };
        }

        if (smdp.Solution is { } last && (at - last.SolvedAt < config.Policy.PlanResolve || mobility.Observations == last.Observations))
        {
            return smdp;
        }

        return smdp with { Solution = Solve(index, mobility, config.Policy, at, smdp.Solution) };
    }

    /// <summary>The decision ages: 0 (the handover), then every <see cref="PolicyConfig.PlanReview"/> up to <see cref="PolicyConfig.PlanReviewCap"/>, seconds.</summary>
    internal static double[] Ages(PolicyConfig policy)
    {
        var ages = new List<double> { 0 };
        for (var e = policy.PlanReview; e <= policy.PlanReviewCap; e += policy.PlanReview)
        {
            ages.Add(e.TotalSeconds);
        }

        return [.. ages];
    }

    /// <summary>The stage of a decision taken <paramref name="age"/> after the user arrived: the last decision age reached.</summary>
    internal static int StageOf(double[] ages, TimeSpan age)
    {
        var k = 0;
        while (k + 1 < ages.Length && age.TotalSeconds >= ages[k + 1] - 1e-3)
        {
            k++;
        }

        return k;
    }

    /// <summary>
    /// Per stage k the unnormalised sums (p_k, a_k, b_k) over <paramref name="points"/> (stay seconds, weight), and the
    /// total weight.
    /// </summary>
    internal static (double[] Sums, double Weight) StageSums(IEnumerable<(double Seconds, double Weight)> points, double[] ages, double slot, double gamma)
    {
        var k = ages.Length;
        var sums = new double[3 * k];
        var total = 0.0;
        foreach (var (tau, w) in points)
        {
            total += w;
            for (var i = 0; i < k; i++)
            {
                var e = ages[i];
                if (tau <= e)
                {
                    break;
                }

                var next = i + 1 < k ? ages[i + 1] : double.PositiveInfinity;
                sums[3 * i] += w;
                sums[(3 * i) + 1] += w * (Math.Min(tau, next) - e) / slot;
                if (tau <= next)
                {
                    sums[(3 * i) + 2] += w * Math.Pow(gamma, (tau - e) / slot);
                }
            }
        }

        return (sums, total);
    }

    /// <summary>(sums + weight x parent) / (n + weight): a state's stage figures shrunk toward its parent's (normalised).</summary>
    internal static double[] Shrink((double[] Sums, double Weight) own, double[] parent, double weight)
    {
        var r = new double[own.Sums.Length];
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = (own.Sums[i] + (weight * parent[i])) / (own.Weight + weight);
        }

        return r;
    }

    private static IEnumerable<(double, double)> Weighted(StayHistogram h) => h.Points().Select(p => (p.Seconds, (double)p.Count));

    /// <summary>An exponential stay of mean <paramref name="mean"/> s as 20 equally likely quantiles: the prior before anything was learned.</summary>
    private static IEnumerable<(double, double)> ExponentialPrior(double mean)
    {
        const int n = 20;
        for (var i = 0; i < n; i++)
        {
            yield return (-mean * Math.Log(1 - ((i + 0.5) / n)), 1.0 / n);
        }
    }

    internal static SmdpSolution Solve(CellMdpIndex index, MobilityStats mobility, PolicyConfig policy, TimeSpan at, SmdpSolution? warm)
    {
        var n = index.Cells.Length;
        var s = index.Sites.Length;
        var ages = Ages(policy);
        var stages = ages.Length;
        var slot = policy.Slot.TotalSeconds;
        var gamma = policy.PlanGamma;

        // States: every cell, then every (came, cell) pair seen, in index order.
        var pairs = new List<(int Came, int Cell)>();
        foreach (var (earlier, from) in mobility.ByPath.Keys)
        {
            if (index.CellIndex.TryGetValue(earlier, out var p) && index.CellIndex.TryGetValue(from, out var u) && p != u)
            {
                pairs.Add((p, u));
            }
        }

        pairs.Sort();
        var keys = new (int Came, int Cell)[n + pairs.Count];
        for (var u = 0; u < n; u++)
        {
            keys[u] = (-1, u);
        }

        pairs.CopyTo(keys, n);
        var states = keys.Select((key, i) => (key, i)).ToFrozenDictionary(x => x.key, x => x.i);
        var count = keys.Length;

        // Sojourns: the pool toward the prior, a cell toward the pool, a pair toward its cell.
        var prior = StageSums(ExponentialPrior(policy.PriorDwell.TotalSeconds), ages, slot, gamma);
        var pool = Shrink(StageSums(Weighted(mobility.Stays.All), ages, slot, gamma), Shrink(prior, prior.Sums, 0), 1);
        var stats = new double[count][];
        for (var u = 0; u < n; u++)
        {
            var own = mobility.Stays.ByCell.GetValueOrDefault(index.Cells[u]) ?? StayHistogram.Empty;
            stats[u] = Shrink(StageSums(Weighted(own), ages, slot, gamma), pool, CellWeight);
        }

        for (var i = n; i < count; i++)
        {
            var (p, u) = keys[i];
            var own = mobility.Stays.ByPath.GetValueOrDefault((index.Cells[p], index.Cells[u])) ?? StayHistogram.Empty;
            stats[i] = Shrink(StageSums(Weighted(own), ages, slot, gamma), stats[u], PairWeight);
        }

        var chain = SmdpChain.From(Transitions(index, mobility, keys, states));
        var cost = policy.Cost;
        var maxRings = Math.Max(index.UserRings.DefaultIfEmpty(0).Max(), index.SiteRings.DefaultIfEmpty(0).Max());
        var t = new double[maxRings + 1];
        var m = new double[maxRings + 1];
        for (var r = 0; r <= maxRings; r++)
        {
            (t[r], m[r]) = (cost.TransmissionCost(r), r == 0 ? 0 : cost.MigrationCost(r));
        }

        // The ring lookups done once: T(u, a) per cell and M(s, a) per site pair.
        var transmission = Array.ConvertAll(index.UserRings, r => t[r]);
        var moves = SmdpMoves.Build(index.SiteRings, s, m);
        var steps = new double[stages];
        for (var k = 0; k + 1 < stages; k++)
        {
            steps[k] = Math.Pow(gamma, (ages[k + 1] - ages[k]) / slot);
        }

        var v = new double[count * s];
        if (warm is not null)
        {
            foreach (var (key, i) in states)
            {
                if (warm.States.TryGetValue(key, out var o) || warm.States.TryGetValue((-1, key.Cell), out o))
                {
                    Array.Copy(warm.Values, o * s, v, i * s, s);
                }
            }
        }

        var ev = new double[count * s];
        var c = new double[stages][];
        for (var k = 0; k < stages; k++)
        {
            c[k] = new double[count * s];
        }

        var u0 = new double[count * s];
        var u1 = new double[count * s];
        var sweeps = 0;
        while (true)
        {
            sweeps++;
            chain.Expect(v, ev, s);

            // Backwards over the stages; u1 holds U_k+1, u0 receives U_k.
            for (var k = stages - 1; k >= 0; k--)
            {
                var ck = c[k];
                for (var x = 0; x < count; x++)
                {
                    var st = stats[x];
                    var (pk, ak, bk) = (st[3 * k], st[(3 * k) + 1], st[(3 * k) + 2]);
                    var row = x * s;
                    var next = k + 1 < stages ? u1.AsSpan(row, s) : [];
                    var cRow = ck.AsSpan(row, s);
                    StageRow(cRow, transmission.AsSpan(keys[x].Cell * s, s), ev.AsSpan(row, s), next, ak, bk, steps[k], Math.Max(pk, 1e-12));
                    MinOverTargets(cRow, pk, u0.AsSpan(row, s), moves);
                }

                (u0, u1) = (u1, u0);
            }

            // u1 now holds U_0 = V.
            var delta = 0.0;
            for (var i = 0; i < v.Length; i++)
            {
                delta = Math.Max(delta, Math.Abs(u1[i] - v[i]));
            }

            (v, u1) = (u1, v);
            if (delta < Tolerance || sweeps >= MaxSweeps)
            {
                return new SmdpSolution(states, ages, v, c, at, mobility.Observations, sweeps);
            }
        }
    }

    /// <summary>
    /// P(x' | x), sparse, in state order. A cell: where handovers from it went (first order), shrunk toward the cells
    /// within one ring with weight 1; a pair (came, u): where users that came the same way went, shrunk toward u's
    /// row with weight 2. A move into v from u lands in the state (u, v) when that pair is known, else in v.
    /// </summary>
    internal static (int To, double P)[][] Transitions(CellMdpIndex index, MobilityStats mobility, (int Came, int Cell)[] keys, FrozenDictionary<(int Came, int Cell), int> states)
    {
        var n = index.Cells.Length;
        var first = new double[n][];
        var scratch = new double[n];
        for (var u = 0; u < n; u++)
        {
            Array.Clear(scratch);
            var known = Counts(index, mobility.ByEnb.GetValueOrDefault(index.Cells[u])?.Next, u, scratch);
            var neighbours = index.Neighbours[u];
            foreach (var v in neighbours)
            {
                scratch[v] += CellWeight / neighbours.Length;
            }

            var total = known + (neighbours.Length > 0 ? CellWeight : 0);
            if (total == 0)
            {
                // A lone cell nothing left: the user stays (the stays still end, discounted).
                scratch[u] = total = 1;
            }

            first[u] = new double[n];
            for (var v = 0; v < n; v++)
            {
                first[u][v] = scratch[v] / total;
            }
        }

        var rows = new (int, double)[keys.Length][];
        for (var x = 0; x < keys.Length; x++)
        {
            var (came, u) = keys[x];
            var own = 0.0;
            Array.Clear(scratch);
            if (came >= 0)
            {
                own = Counts(index, mobility.ByPath.GetValueOrDefault((index.Cells[came], index.Cells[u])), u, scratch);
            }

            var list = new List<(int, double)>();
            for (var v = 0; v < n; v++)
            {
                var p = came >= 0 ? (scratch[v] + (PairWeight * first[u][v])) / (own + PairWeight) : first[u][v];
                if (p > 0)
                {
                    list.Add((v != u && states.TryGetValue((u, v), out var pair) ? pair : v, p));
                }
            }

            rows[x] = [.. list];
        }

        return rows;
    }

    /// <summary>Adds the counts of <paramref name="next"/> (cells other than <paramref name="u"/> the index knows) into <paramref name="scratch"/>; returns their sum.</summary>
    private static double Counts(CellMdpIndex index, ImmutableDictionary<EnbId, int>? next, int u, double[] scratch)
    {
        var sum = 0.0;
        if (next is null)
        {
            return 0;
        }

        foreach (var (to, c) in next)
        {
            if (index.CellIndex.TryGetValue(to, out var v) && v != u)
            {
                scratch[v] += c;
                sum += c;
            }
        }

        return sum;
    }
}
