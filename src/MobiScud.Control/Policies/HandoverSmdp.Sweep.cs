using System.Numerics;

namespace MobiScud.Control.Policies;

/// <summary>
/// P(x' | x) as flat arrays: the successors of state x are <see cref="To"/>[<see cref="Start"/>[x] ..
/// <see cref="Start"/>[x + 1]) with probabilities <see cref="P"/>, in the order of the rows they came from, so that a
/// sum over them adds in the same order as over the rows (the same bits).
/// </summary>
internal sealed class SmdpChain
{
    private SmdpChain(int[] start, int[] to, double[] p) => (Start, To, P) = (start, to, p);

    public int[] Start { get; }

    public int[] To { get; }

    public double[] P { get; }

    public int States => Start.Length - 1;

    public static SmdpChain From((int To, double P)[][] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var start = new int[rows.Length + 1];
        for (var x = 0; x < rows.Length; x++)
        {
            start[x + 1] = start[x] + rows[x].Length;
        }

        var to = new int[start[^1]];
        var p = new double[to.Length];
        for (var x = 0; x < rows.Length; x++)
        {
            for (var j = 0; j < rows[x].Length; j++)
            {
                (to[start[x] + j], p[start[x] + j]) = rows[x][j];
            }
        }

        return new SmdpChain(start, to, p);
    }

    /// <summary>ev(x, a) = sum over x' of P(x' | x) v(x', a), rows of <paramref name="sites"/> values.</summary>
    public void Expect(double[] v, double[] ev, int sites)
    {
        for (var x = 0; x < States; x++)
        {
            var row = ev.AsSpan(x * sites, sites);
            row.Clear();
            for (var e = Start[x]; e < Start[x + 1]; e++)
            {
                HandoverSmdp.AddScaled(row, v.AsSpan(To[e] * sites, sites), P[e]);
            }
        }
    }
}

/// <summary>
/// The migration costs M(s, a) between sites as <see cref="HandoverSmdp.MinOverTargets"/> reads them: in rows by the
/// target a (<see cref="Into"/>, infinite for s = a: staying is C(x, s) itself), and per target the other sites
/// from the cheapest move into it to the dearest (<see cref="From"/>, <see cref="FromMove"/>); the cheapest and
/// dearest move over all pairs.
/// </summary>
internal sealed class SmdpMoves
{
    private SmdpMoves(int sites, double[] into, int[] from, double[] fromMove, double cheapest, double dearest) =>
        (Sites, Into, From, FromMove, Cheapest, Dearest) = (sites, into, from, fromMove, cheapest, dearest);

    public int Sites { get; }

    public double[] Into { get; }

    public int[] From { get; }

    public double[] FromMove { get; }

    public double Cheapest { get; }

    public double Dearest { get; }

    /// <summary>From the rings between sites (row-major by s) and M by rings (<paramref name="m"/>).</summary>
    public static SmdpMoves Build(int[] siteRings, int sites, double[] m)
    {
        ArgumentNullException.ThrowIfNull(siteRings);
        ArgumentNullException.ThrowIfNull(m);
        var into = new double[sites * sites];
        var (cheapest, dearest) = (double.PositiveInfinity, 0.0);
        for (var a = 0; a < sites; a++)
        {
            for (var here = 0; here < sites; here++)
            {
                var cost = here == a ? double.PositiveInfinity : m[siteRings[(here * sites) + a]];
                into[(a * sites) + here] = cost;
                if (here != a)
                {
                    (cheapest, dearest) = (Math.Min(cheapest, cost), Math.Max(dearest, cost));
                }
            }
        }

        var from = new int[sites * sites];
        var fromMove = (double[])into.Clone();
        for (var a = 0; a < sites; a++)
        {
            var row = from.AsSpan(a * sites, sites);
            for (var here = 0; here < sites; here++)
            {
                row[here] = here;
            }

            fromMove.AsSpan(a * sites, sites).Sort(row);
        }

        return sites > 1 ? new(sites, into, from, fromMove, cheapest, dearest) : new(sites, into, from, fromMove, 0, 0);
    }
}

/// <summary>The value-iteration kernel of <see cref="HandoverSmdp.Solve"/>: flat rows, no lookups inside a sweep.</summary>
public sealed partial record HandoverSmdp
{
    /// <summary>row += p x src, element by element (vectorised; each element is the same two operations as a scalar loop).</summary>
    internal static void AddScaled(Span<double> row, ReadOnlySpan<double> src, double p)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var pv = new Vector<double>(p);
            for (; i <= row.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                var sum = new Vector<double>(row[i..]) + (pv * new Vector<double>(src[i..]));
                sum.CopyTo(row[i..]);
            }
        }

        for (; i < row.Length; i++)
        {
            row[i] += p * src[i];
        }
    }

    /// <summary>
    /// One stage row: C_k(x, a) = (a_k T(u, a) + b_k EV(x, a) + step_k U_k+1(x, a)) / alive, the last term left out
    /// when <paramref name="next"/> is empty (the last stage). Vectorised in the scalar form's order of operations.
    /// </summary>
    internal static void StageRow(Span<double> c, ReadOnlySpan<double> transmission, ReadOnlySpan<double> ev, ReadOnlySpan<double> next, double ak, double bk, double step, double alive)
    {
        var i = 0;
        var last = next.IsEmpty;
        if (Vector.IsHardwareAccelerated)
        {
            var (av, bv, sv, pv) = (new Vector<double>(ak), new Vector<double>(bk), new Vector<double>(step), new Vector<double>(alive));
            for (; i <= c.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                var w = (av * new Vector<double>(transmission[i..])) + (bv * new Vector<double>(ev[i..]));
                if (!last)
                {
                    w += sv * new Vector<double>(next[i..]);
                }

                (w / pv).CopyTo(c[i..]);
            }
        }

        for (; i < c.Length; i++)
        {
            var w = (ak * transmission[i]) + (bk * ev[i]);
            if (!last)
            {
                w += step * next[i];
            }

            c[i] = w / alive;
        }
    }

    /// <summary>
    /// U(x, s) = p min(C(x, s), min over a != s of M(s, a) + C(x, a)) for one state's row, exactly (a minimum does not
    /// depend on the order it is taken in). From the cheapest target a* staying is best (a move costs M &gt;= 0 more);
    /// from every other s the move to a* is tried, which costs at most the dearest move D. Another target a can beat
    /// that only from an s with M(s, a) + C(x, a) &lt; D + C(x, a*): a within D less the cheapest move of C(x, a*)
    /// (about 4 of 100 on San Francisco), and from the few s nearest it (tried from the cheapest move into a on).
    /// </summary>
    internal static void MinOverTargets(ReadOnlySpan<double> c, double p, Span<double> u, SmdpMoves moves)
    {
        var s = c.Length;
        if (s == 0)
        {
            return;
        }

        var best = 0;
        var min = Min(c);
        while (best + 1 < s && c[best] != min)
        {
            best++;
        }

        // Margins far above rounding: trying one target or site too many costs a comparison, one too few a wrong value.
        var bar = min + (moves.Dearest - moves.Cheapest);
        bar += 1e-9 * (Math.Abs(bar) + moves.Cheapest + 1);
        MinWith(u, c, moves.Into.AsSpan(best * s, s), min);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var barv = new Vector<double>(bar);
            for (; i <= s - Vector<double>.Count; i += Vector<double>.Count)
            {
                if (Vector.LessThanOrEqualAny(new Vector<double>(c[i..]), barv))
                {
                    for (var a = i; a < i + Vector<double>.Count; a++)
                    {
                        if (c[a] <= bar && a != best)
                        {
                            MoveNear(u, moves, a, c[a], moves.Dearest + min);
                        }
                    }
                }
            }
        }

        for (var a = i; a < s; a++)
        {
            if (c[a] <= bar && a != best)
            {
                MoveNear(u, moves, a, c[a], moves.Dearest + min);
            }
        }

        Scale(u, p);
    }

    /// <summary>u(s) = min(u(s), M(s, a) + ca) for the sites s nearest a, while M(s, a) + ca can be below <paramref name="ceiling"/> (every u is at most it).</summary>
    private static void MoveNear(Span<double> u, SmdpMoves moves, int a, double ca, double ceiling)
    {
        var limit = ceiling - ca;
        limit += 1e-9 * (Math.Abs(ceiling) + Math.Abs(ca) + 1);
        var row = a * moves.Sites;
        for (var j = row; j < row + moves.Sites && moves.FromMove[j] < limit; j++)
        {
            var here = moves.From[j];
            u[here] = Math.Min(u[here], moves.FromMove[j] + ca);
        }
    }

    private static double Min(ReadOnlySpan<double> c)
    {
        var min = double.PositiveInfinity;
        var i = 0;
        if (Vector.IsHardwareAccelerated && c.Length >= Vector<double>.Count)
        {
            var mv = new Vector<double>(double.PositiveInfinity);
            for (; i <= c.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                mv = Vector.Min(mv, new Vector<double>(c[i..]));
            }

            for (var j = 0; j < Vector<double>.Count; j++)
            {
                min = Math.Min(min, mv[j]);
            }
        }

        for (; i < c.Length; i++)
        {
            min = Math.Min(min, c[i]);
        }

        return min;
    }

    /// <summary>u = min(from, move + c), element by element.</summary>
    private static void MinWith(Span<double> u, ReadOnlySpan<double> from, ReadOnlySpan<double> move, double c)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var cv = new Vector<double>(c);
            for (; i <= u.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                Vector.Min(new Vector<double>(from[i..]), new Vector<double>(move[i..]) + cv).CopyTo(u[i..]);
            }
        }

        for (; i < u.Length; i++)
        {
            u[i] = Math.Min(from[i], move[i] + c);
        }
    }

    private static void Scale(Span<double> u, double p)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var pv = new Vector<double>(p);
            for (; i <= u.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                (pv * new Vector<double>(u[i..])).CopyTo(u[i..]);
            }
        }

        for (; i < u.Length; i++)
        {
            u[i] = p * u[i];
        }
    }
}
