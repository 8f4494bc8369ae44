using System.Collections.Frozen;
using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// Where a user in each cell is one cost slot later, learned from what the MC observes, and the (user cell, PVM site)
/// MDP solved on it (<see cref="CellMdp"/>; predictive's <see cref="PredictivePlan.Mdp2d"/>). Wang et al. approximate
/// this problem by a 1-D chain of distances; here the chain is the real one, per cell.
/// <para>
/// Learning: per UE a sample point (t0, u0). At an event at t, the UE was in its serving cell u since the last event,
/// so every sample time t0 + slot before t that is not before it reached u saw it in u: record u0 -> u and advance the
/// point. A pure fold (<see cref="Observe"/>), keyed by cell index (the index orders cells by id), so the counts do not
/// depend on how dictionaries hash. The solution is re-computed inside the fold when
/// <see cref="PolicyConfig.PlanResolve"/> has passed and something new was learned, so a decision stays a pure function
/// of (state, event, facts).
/// </para>
/// </summary>
public sealed record CellChain
{
    public static CellChain Empty { get; } = new();

    /// <summary>The cells and sites the chain is over (built from the first config it is folded with).</summary>
    internal CellMdpIndex? Index { get; init; }

    /// <summary>Per UE: the last sample time, the cell it was in then and the cell it had come from (cell indices; -1: unknown).</summary>
    internal ImmutableDictionary<UeId, (TimeSpan At, int Cell, int Came)> Samples { get; init; } = ImmutableDictionary<UeId, (TimeSpan, int, int)>.Empty;

    /// <summary>Second order: (the cell the user had come from, its cell) -> its cell a slot later -> count.</summary>
    internal ImmutableDictionary<(int Came, int From), ImmutableDictionary<int, int>> PathCounts { get; init; } = ImmutableDictionary<(int, int), ImmutableDictionary<int, int>>.Empty;

    /// <summary>Slot transitions seen: from cell index -> to cell index -> count.</summary>
    internal ImmutableDictionary<int, ImmutableDictionary<int, int>> Counts { get; init; } = ImmutableDictionary<int, ImmutableDictionary<int, int>>.Empty;

    /// <summary>How many slot transitions were recorded.</summary>
    public long Transitions { get; init; }

    /// <summary>Second order with the next state: (came, cell) -> (came, cell) a slot later -> count (<see cref="PredictivePlan.Mdp2dPath"/>).</summary>
    internal ImmutableDictionary<(int Came, int From), ImmutableDictionary<(int Came, int To), int>> PairCounts { get; init; } = ImmutableDictionary<(int, int), ImmutableDictionary<(int, int), int>>.Empty;

    /// <summary>The latest solution (null before the first solve).</summary>
    internal CellMdpSolution? Solution { get; init; }

    /// <summary>How often a user in <paramref name="from"/> was in <paramref name="to"/> one slot later (0: never, or unknown cells).</summary>
    public int Count(EnbId from, EnbId to) =>
        Index is { } ix && ix.CellIndex.TryGetValue(from, out var f) && ix.CellIndex.TryGetValue(to, out var t)
            ? Counts.GetValueOrDefault(f)?.GetValueOrDefault(t) ?? 0
            : 0;

    /// <summary>
    /// The chain after the event <paramref name="e"/> of a UE whose state before it was <paramref name="before"/>; re-solved
    /// when due. <paramref name="mobility"/> gives the first-order handover counts and dwells the prior is built from.
    /// Without cell positions (<see cref="McConfig.Cells"/>) nothing is learned.
    /// </summary>
    public static CellChain Observe(CellChain chain, McConfig config, MobilityStats mobility, UeState? before, UeEvent e)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(e);
        if (config.Cells is not { } cells)
        {
            return chain;
        }

        var index = CellMdpIndex.For(chain.Index, config, cells);
        if (!ReferenceEquals(index, chain.Index))
        {
            // New cells or sites: what was learned is keyed by the old index, so start again.
            chain = Empty with { Index = index };
        }

        chain = Sample(chain, config.Policy.Slot, before, e);
        return Solve(chain, config, mobility ?? MobilityStats.Empty, e.At);
    }

    private static CellChain Sample(CellChain chain, TimeSpan slot, UeState? before, UeEvent e)
    {
        var index = chain.Index!;
        if (before is not { Connection: ConnectionState.Connected, ServingEnb: { } enb } || !index.CellIndex.TryGetValue(enb, out var u))
        {
            // Idle or unknown: the user may move without the MC seeing it, so the sample point is given up.
            return chain.Samples.ContainsKey(e.Ue) ? chain with { Samples = chain.Samples.Remove(e.Ue) } : chain;
        }

        var came = before.PreviousEnb is { } p && p != enb && index.CellIndex.TryGetValue(p, out var pi) ? pi : -1;

        if (!chain.Samples.TryGetValue(e.Ue, out var sample))
        {
            // The first sample: just before this event the user was in u.
            return chain with { Samples = chain.Samples.SetItem(e.Ue, (e.At, u, came)) };
        }

        if (sample.At + slot >= e.At)
        {
            return chain;
        }

        var counts = chain.Counts;
        var paths = chain.PathCounts;
        var pairs = chain.PairCounts;
        var transitions = chain.Transitions;
        while (sample.At + slot < e.At)
        {
            var next = sample.At + slot;
            if (next < before.ServingSince)
            {
                // The user was somewhere the MC did not see then (an event it missed): restart where it is known.
                sample = (before.ServingSince, u, came);
                continue;
            }

            var row = counts.GetValueOrDefault(sample.Cell) ?? ImmutableDictionary<int, int>.Empty;
            counts = counts.SetItem(sample.Cell, row.SetItem(u, row.GetValueOrDefault(u) + 1));
            if (sample.Came >= 0)
            {
                var key = (sample.Came, sample.Cell);
                var path = paths.GetValueOrDefault(key) ?? ImmutableDictionary<int, int>.Empty;
                paths = paths.SetItem(key, path.SetItem(u, path.GetValueOrDefault(u) + 1));
                var pair = pairs.GetValueOrDefault(key) ?? ImmutableDictionary<(int, int), int>.Empty;
                pairs = pairs.SetItem(key, pair.SetItem((came, u), pair.GetValueOrDefault((came, u)) + 1));
            }

            transitions++;
            sample = (next, u, came);
        }

        return chain with { Samples = chain.Samples.SetItem(e.Ue, sample), Counts = counts, PathCounts = paths, PairCounts = pairs, Transitions = transitions };
    }

    private static CellChain Solve(CellChain chain, McConfig config, MobilityStats mobility, TimeSpan at)
    {
        var policy = config.Policy;
        if (chain.Solution is { } last && (at - last.SolvedAt < policy.PlanResolve || chain.Transitions == last.Transitions))
        {
            return chain;
        }

        var index = chain.Index!;
        var rows = Rows(index, chain.Counts, mobility, policy);
        if (policy.Plan == PredictivePlan.Mdp2dPath)
        {
            var (states, cellOf, pairRows) = PairRows(index, rows, chain.PairCounts, policy.MinDepartures);
            var warm = chain.Solution is { States: { } old } ? WarmStart(old, chain.Solution.Values, states, index.Sites.Length) : null;
            var (v2, c2, sweeps2) = CellMdp.Solve(index, pairRows, policy.Cost, warm, cellOf);
            return chain with { Solution = new CellMdpSolution(v2, c2, rows, at, chain.Transitions, sweeps2) { States = states } };
        }

        var (values, continuation, sweeps) = CellMdp.Solve(index, rows, policy.Cost, chain.Solution?.Values);
        return chain with { Solution = new CellMdpSolution(values, continuation, rows, at, chain.Transitions, sweeps) };
    }

    /// <summary>
    /// P(u' | u) per cell, sparse, in index order: the slot transitions seen, shrunk toward a prior with the weight of
    /// <see cref="PolicyConfig.MinDepartures"/> transitions. The prior: stay with e^(-slot / dwell) (the learned mean
    /// dwell shrunk toward <see cref="PolicyConfig.PriorDwell"/>), else go where handovers from u went (shrunk toward the
    /// cells within one ring), so that early decisions are sane and cells never seen do not look frozen.
    /// </summary>
    internal static (int To, double P)[][] Rows(CellMdpIndex index, ImmutableDictionary<int, ImmutableDictionary<int, int>> counts, MobilityStats mobility, PolicyConfig policy)
    {
        var n = index.Cells.Length;
        var rows = new (int, double)[n][];
        var scratch = new double[n];
        var k = (double)policy.MinDepartures;
        var prior = policy.PriorDwell.TotalSeconds;
        var slot = policy.Slot.TotalSeconds;
        for (var u = 0; u < n; u++)
        {
            Array.Clear(scratch);
            var learned = mobility.ByEnb.GetValueOrDefault(index.Cells[u]) ?? EnbMobility.Empty;
            var dwell = (learned.DwellSeconds + (prior * k)) / (learned.Departures + k);
            var stay = Math.Exp(-slot / dwell);
            scratch[u] += stay;
            var known = 0.0;
            foreach (var (to, c) in learned.Next)
            {
                if (index.CellIndex.TryGetValue(to, out var v) && v != u)
                {
                    known += c;
                }
            }

            var toNeighbours = k / (known + k);
            foreach (var (to, c) in learned.Next)
            {
                if (index.CellIndex.TryGetValue(to, out var v) && v != u)
                {
                    scratch[v] += (1 - stay) * (1 - toNeighbours) * c / known;
                }
            }

            var neighbours = index.Neighbours[u];
            foreach (var v in neighbours)
            {
                scratch[v] += (1 - stay) * toNeighbours / neighbours.Length;
            }

            if (neighbours.Length == 0)
            {
                scratch[u] += (1 - stay) * toNeighbours;
            }

            // The prior now sums to 1 in scratch; mix in the counts.
            var row = counts.GetValueOrDefault(u);
            var seen = 0;
            if (row is not null)
            {
                foreach (var c in row.Values)
                {
                    seen += c;
                }
            }

            var list = new List<(int, double)>();
            for (var v = 0; v < n; v++)
            {
                var p = ((k * scratch[v]) + (row?.GetValueOrDefault(v) ?? 0)) / (k + seen);
                if (p > 0)
                {
                    list.Add((v, p));
                }
            }

            rows[u] = [.. list];
        }

        return rows;
    }
    /// <summary>
    /// The second-order chain: a state per (cell the user came from, cell), one per cell with the way in unknown, and
    /// rows from the pair counts shrunk toward the first-order row (where the user goes next, entering a cell from the
    /// one it leaves). States in key order, so the solution does not depend on hashing.
    /// </summary>
    internal static (FrozenDictionary<(int Came, int Cell), int> States, int[] CellOf, (int To, double P)[][] Rows) PairRows(
        CellMdpIndex index, (int To, double P)[][] first, ImmutableDictionary<(int Came, int From), ImmutableDictionary<(int Came, int To), int>> pairs, int weight)
    {
        var keys = new SortedSet<(int, int)>();
        for (var u = 0; u < index.Cells.Length; u++)
        {
            keys.Add((-1, u));
        }

        foreach (var (key, row) in pairs)
        {
            keys.Add(key);
            foreach (var to in row.Keys)
            {
                keys.Add(to);
            }
        }

        var list = keys.ToArray();
        var states = list.Select((k, i) => (k, i)).ToFrozenDictionary(x => x.k, x => x.i);
        var cellOf = list.Select(k => k.Item2).ToArray();
        var rows = new (int, double)[list.Length][];
        var k0 = (double)weight;
        for (var i = 0; i < list.Length; i++)
        {
            var (came, u) = list[i];
            var p = new SortedDictionary<int, double>();
            var row = came >= 0 ? pairs.GetValueOrDefault((came, u)) : null;
            var seen = 0;
            if (row is not null)
            {
                foreach (var c in row.Values)
                {
                    seen += c;
                }

                foreach (var (to, c) in row)
                {
                    var j = states[to];
                    p[j] = p.GetValueOrDefault(j) + (c / (k0 + seen));
                }
            }

            var prior = row is null ? 1 : k0 / (k0 + seen);
            foreach (var (v, q) in first[u])
            {
                // Staying keeps the way in; a move enters v from u (known as a state when that pair was seen).
                var j = v == u ? i : states.TryGetValue((u, v), out var pair) ? pair : states[(-1, v)];
                p[j] = p.GetValueOrDefault(j) + (prior * q);
            }

            rows[i] = [.. p.Select(x => (x.Key, x.Value))];
        }

        return (states, cellOf, rows);
    }

    private static double[] WarmStart(FrozenDictionary<(int Came, int Cell), int> old, double[] values, FrozenDictionary<(int Came, int Cell), int> states, int sites)
    {
        var warm = new double[states.Count * sites];
        foreach (var (key, i) in states)
        {
            if (old.TryGetValue(key, out var o) || old.TryGetValue((-1, key.Cell), out o))
            {
                Array.Copy(values, o * sites, warm, i * sites, sites);
            }
        }

        return warm;
    }
}
