namespace MobiScud.Control.Policies;

/// <summary>
/// Value iteration on the (user cell u, PVM site s) MDP over a learned per-cell chain P(u' | u), with Wang et al.'s
/// cost without the 1 / (1 - Q/R) factor (it scales every cost of a slot alike and changes no decision):
/// <c>W(u, a) = sum_u' P(u' | u) V(u', a)</c>; <c>C(u, a) = T(rings(u, a)) + gamma W(u, a)</c>;
/// <c>V(u, s) = min_a M(rings(s, a)) + C(u, a)</c> (M(0) = 0: staying is free). Capacity is left to the decision, which
/// only considers sites with room. Pure.
/// </summary>
internal static class CellMdp
{
    // Stop when no value moves by more than this (the costs are O(1) per slot).
    private const double Tolerance = 1e-6;
    private const int MaxSweeps = 1000;

    /// <summary>Solves from <paramref name="warm"/> (a previous V of the same shape) or from zero. Returns V, C and the sweeps taken.</summary>
    public static (double[] Values, double[] Continuation, int Sweeps) Solve(CellMdpIndex index, (int To, double P)[][] rows, WangCostModel cost, double[]? warm = null, int[]? cellOf = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(cost);
        var n = rows.Length;
        var s = index.Sites.Length;
        var gamma = cost.Gamma;
        cellOf ??= Enumerable.Range(0, n).ToArray();
        var v = warm is { Length: var len } && len == n * s ? (double[])warm.Clone() : new double[n * s];
        var next = new double[n * s];
        var c = new double[n * s];
        var maxRings = 0;
        foreach (var r in index.UserRings)
        {
            maxRings = Math.Max(maxRings, r);
        }

        foreach (var r in index.SiteRings)
        {
            maxRings = Math.Max(maxRings, r);
        }

        var t = new double[maxRings + 1];
        var m = new double[maxRings + 1];
        for (var r = 0; r <= maxRings; r++)
        {
            (t[r], m[r]) = (cost.TransmissionCost(r), cost.MigrationCost(r));
        }

        // The cheapest move of all (one ring): a site whose continuation is within it of the best stays put.
        var cheapestMove = maxRings >= 1 ? m[1] : 0;
        for (var r = 2; r <= maxRings; r++)
        {
            cheapestMove = Math.Min(cheapestMove, m[r]);
        }

        var sweeps = 0;
        while (true)
        {
            sweeps++;
            Continuation(index, rows, cellOf, v, t, gamma, c);
            var delta = 0.0;
            for (var u = 0; u < n; u++)
            {
                var row = u * s;
                var best = double.PositiveInfinity;
                for (var a = 0; a < s; a++)
                {
                    best = Math.Min(best, c[row + a]);
                }

                for (var here = 0; here < s; here++)
                {
                    var value = c[row + here];
                    if (value > best + cheapestMove)
                    {
                        // Some move may pay: try them all.
                        var sites = here * s;
                        for (var a = 0; a < s; a++)
                        {
                            if (a != here)
                            {
                                value = Math.Min(value, m[index.SiteRings[sites + a]] + c[row + a]);
                            }
                        }
                    }

                    delta = Math.Max(delta, Math.Abs(value - v[row + here]));
                    next[row + here] = value;
                }
            }

            (v, next) = (next, v);
            if (delta < Tolerance || sweeps >= MaxSweeps)
            {
                Continuation(index, rows, cellOf, v, t, gamma, c);
                return (v, c, sweeps);
            }
        }
    }

    private static void Continuation(CellMdpIndex index, (int To, double P)[][] rows, int[] cellOf, double[] v, double[] t, double gamma, double[] c)
    {
        var n = rows.Length;
        var s = index.Sites.Length;
        Array.Clear(c);
        for (var u = 0; u < n; u++)
        {
            var row = u * s;
            foreach (var (to, p) in rows[u])
            {
                var from = to * s;
                for (var a = 0; a < s; a++)
                {
                    c[row + a] += p * v[from + a];
                }
            }

            var cell = cellOf[u] * s;
            for (var a = 0; a < s; a++)
            {
                c[row + a] = t[index.UserRings[cell + a]] + (gamma * c[row + a]);
            }
        }
    }
}
