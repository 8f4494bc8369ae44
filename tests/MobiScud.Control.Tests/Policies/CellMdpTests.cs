using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// The (user cell, PVM site) MDP on a learned per-cell chain (CellChain, CellMdp). Cells on a line, one ring apart per
/// unit: A at 0, B at 1, C at -5, each with its own site. Values hand-computed with mu 0.8, gamma 0.9:
/// M(1) = 1.2, M(5) = 1.67232, M(6) = 1.737856; T(1) = 0.2, T(5) = 0.67232.
/// </summary>
public sealed class CellMdpTests
{
    internal static readonly EnbId A = new(0x100), B = new(0x200), C = new(0x300);
    internal static readonly SiteId Sa = new("site-a"), Sb = new("site-b"), Sc = new("site-c"), Core = new("core");

    internal static readonly CellGeometry Cells = new(
        new Dictionary<EnbId, (double X, double Y)> { [A] = (0, 0), [B] = (1, 0), [C] = (-5, 0) },
        new Dictionary<SiteId, EnbId> { [Sa] = A, [Sb] = B, [Sc] = C },
        1);

    private static McConfig Config(PolicyConfig? policy = null) =>
        new(new Dictionary<EnbId, SiteId> { [A] = Sa, [B] = Sb, [C] = Sc }, Core)
        {
            Policy = policy ?? new PolicyConfig { Kind = PolicyKind.Predictive, Plan = PredictivePlan.Mdp2d },
            Cells = Cells,
        };

    // Cells by id: A 0, B 1, C 2; sites by name: site-a 0, site-b 1, site-c 2.
    internal static readonly (int, double)[][] Staying = [[(0, 1.0)], [(1, 1.0)], [(2, 1.0)]];
    internal static readonly (int, double)[][] OnToB = [[(1, 1.0)], [(1, 1.0)], [(2, 1.0)]];

    private static (double[] V, double[] C, CellMdpIndex Index) Solve((int, double)[][] rows, double migrationScale = 1)
    {
        var config = Config();
        var index = CellMdpIndex.Build(config, Cells);
        var (v, c, _) = CellMdp.Solve(index, rows, new WangCostModel(migrationScale: migrationScale));
        return (v, c, index);
    }

    /// <summary>The site the solved policy sends a PVM at <paramref name="here"/> to, for a user in cell <paramref name="u"/>.</summary>
    private static int Action(CellMdpIndex index, double[] c, WangCostModel cost, int u, int here)
    {
        var best = here;
        var bestCost = c[(u * 3) + here];
        for (var a = 0; a < 3; a++)
        {
            var v = cost.MigrationCost(index.SiteRings[(here * 3) + a]) + c[(u * 3) + a];
            if (v < bestCost - 1e-9)
            {
                (best, bestCost) = (a, v);
            }
        }

        return best;
    }

    [Fact]
    public void The_index_orders_cells_by_id_and_sites_by_name_and_leaves_the_core_out()
    {
        var index = CellMdpIndex.Build(Config(), Cells);
        Assert.Equal([A, B, C], index.Cells);
        Assert.Equal([Sa, Sb, Sc], index.Sites);
        Assert.Equal([0, 1, 5, 1, 0, 6, 5, 6, 0], index.UserRings);
        Assert.Equal([1], index.Neighbours[0]);
        Assert.Equal([0], index.Neighbours[1]);
        Assert.Equal([0], index.Neighbours[2]); // alone: its nearest cell
    }

    [Fact]
    public void A_user_that_stays_has_its_pvm_brought_to_its_own_site()
    {
        var (v, c, index) = Solve(Staying);
        Assert.Equal(0, v[(0 * 3) + 0], 4);
        Assert.Equal(1.2, v[(0 * 3) + 1], 4); // move one ring rather than pay T(1) = 0.2 for ever (2.0)
        Assert.Equal(1.67232, v[(0 * 3) + 2], 4);
        Assert.Equal(0, Action(index, c, WangCostModel.Default, 0, 2));
    }

    [Fact]
    public void A_user_that_always_goes_on_to_b_has_its_far_pvm_sent_to_bs_site()
    {
        var (v, c, index) = Solve(OnToB);
        // C(A, a): site-a 0.9 x 1.2 = 1.08; site-b 0.2; site-c 0.67232 + 0.9 x 1.737856.
        Assert.Equal(1.08, c[(0 * 3) + 0], 4);
        Assert.Equal(0.2, c[(0 * 3) + 1], 4);
        Assert.Equal(2.2363904, c[(0 * 3) + 2], 4);
        Assert.Equal(1.737856 + 0.2, v[(0 * 3) + 2], 4);
        Assert.Equal(1, Action(index, c, WangCostModel.Default, 0, 2));

        // Whereas a user that stays in A has it sent to A's site (previous test): the chain decides, not the distance.
        var (_, stayC, _) = Solve(Staying);
        Assert.Equal(0, Action(index, stayC, WangCostModel.Default, 0, 2));
    }

    [Fact]
    public void Free_moves_follow_the_user_and_prohibitive_ones_stay()
    {
        var (free, freeC, index) = Solve(OnToB, migrationScale: 0);
        Assert.All(free, x => Assert.Equal(0, x, 6));
        Assert.Equal(0, Action(index, freeC, new WangCostModel(migrationScale: 0), 0, 2));

        var dear = new WangCostModel(migrationScale: 1e6);
        var (v, c, _) = Solve(Staying, migrationScale: 1e6);
        Assert.Equal(0.67232 / 0.1, v[(0 * 3) + 2], 3); // T(5) every slot for ever
        Assert.Equal(2, Action(index, c, dear, 0, 2));
    }

    private static UeState Before(EnbId serving, double since, EnbId? previous = null, ConnectionState connection = ConnectionState.Connected) => new()
    {
        Ue = new UeId("ue-1"),
        Connection = connection,
        ServingEnb = serving,
        ServingSince = TimeSpan.FromSeconds(since),
        PreviousEnb = previous,
    };

    private static UeEvent At(double seconds, string ue = "ue-1") => new TimerFired(TimeSpan.FromSeconds(seconds), new UeId(ue), TimerKind.PolicyReview, 0);

    [Fact]
    public void The_chain_records_where_the_user_was_one_slot_after_each_sample()
    {
        var config = Config();
        var chain = CellChain.Empty;
        CellChain Step(UeState before, double t) => chain = CellChain.Observe(chain, config, MobilityStats.Empty, before, At(t));

        Step(Before(A, 0), 10);                 // first sample: (10 s, A)
        Step(Before(A, 0), 100);                // 70 s: still in A
        Step(Before(B, 100, previous: A), 200); // 130 s: in B (came from A); 190 s: in B
        Assert.Equal((1, 1, 1, 0), (chain.Count(A, A), chain.Count(A, B), chain.Count(B, B), chain.Count(B, A)));
        Assert.Equal(3, chain.Transitions);
        Assert.Equal(1, chain.PathCounts[(0, 1)][1]); // came from A into B, still in B a slot later

        // An event the MC missed (the user reached C at 400 s unseen): the sample restarts there instead of guessing.
        Step(Before(C, 400, previous: B), 500);
        Assert.Equal((1, 0), (chain.Count(C, C), chain.Count(B, C)));
        Assert.Equal(4, chain.Transitions);

        // Idle: the user may move unseen, so the sample is given up and the next event starts a new one.
        Step(Before(C, 400, connection: ConnectionState.Idle), 600);
        Step(Before(A, 650), 700);
        Assert.Equal(4, chain.Transitions);
        Assert.NotNull(chain.Solution);
    }

    [Fact]
    public void The_chain_is_the_same_whatever_the_interleaving_of_users()
    {
        var config = Config();
        var one = new[] { (Before(A, 0), 10.0), (Before(A, 0), 100.0), (Before(B, 100, A), 230.0) };
        var two = new[] { (Before(B, 0), 5.0), (Before(B, 0), 90.0), (Before(C, 90, B), 300.0) };
        CellChain Run(IEnumerable<(string Ue, UeState Before, double T)> events)
        {
            var chain = CellChain.Empty;
            foreach (var (ue, before, t) in events)
            {
                chain = CellChain.Observe(chain, config, MobilityStats.Empty, before with { Ue = new UeId(ue) }, At(t, ue));
            }

            return chain;
        }

        var first = Run(one.Select(x => ("ue-1", x.Item1, x.Item2)).Concat(two.Select(x => ("ue-2", x.Item1, x.Item2))));
        var mixed = Run(one.Zip(two).SelectMany(p => new[] { ("ue-2", p.Second.Item1, p.Second.Item2), ("ue-1", p.First.Item1, p.First.Item2) }));
        Assert.Equal(first.Transitions, mixed.Transitions);
        foreach (var from in new[] { A, B, C })
        {
            foreach (var to in new[] { A, B, C })
            {
                Assert.Equal(first.Count(from, to), mixed.Count(from, to));
            }
        }

        Assert.Equal((1, 1, 2, 1, 2), (first.Count(A, A), first.Count(A, B), first.Count(B, B), first.Count(B, C), first.Count(C, C)));
    }

    [Fact]
    public void The_prior_stays_by_the_dwell_and_moves_to_neighbours_and_the_counts_take_over()
    {
        var config = Config();
        var index = CellMdpIndex.Build(config, Cells);
        var empty = System.Collections.Immutable.ImmutableDictionary<int, System.Collections.Immutable.ImmutableDictionary<int, int>>.Empty;
        var rows = CellChain.Rows(index, empty, MobilityStats.Empty, config.Policy);
        var stay = Math.Exp(-60.0 / 120); // no dwell learned: the prior dwell, 120 s
        Assert.Equal([(0, stay), (1, 1 - stay)], rows[0], new RoundedComparer());

        // 95 slot transitions A -> B against the prior's weight of 5 (MinDepartures): 95% learned, 5% prior.
        var counts = empty.SetItem(0, System.Collections.Immutable.ImmutableDictionary<int, int>.Empty.SetItem(1, 95));
        var learned = CellChain.Rows(index, counts, MobilityStats.Empty, config.Policy);
        Assert.Equal((0.05 * stay) + 0, learned[0].Single(x => x.To == 0).P, 9);
        Assert.Equal(0.95 + (0.05 * (1 - stay)), learned[0].Single(x => x.To == 1).P, 9);
        Assert.Equal(1, learned[0].Sum(x => x.P), 12);
    }

    [Fact]
    public void The_second_order_states_follow_the_way_in_and_fall_back_to_the_first_order_row()
    {
        var index = CellMdpIndex.Build(Config(), Cells);
        (int, double)[][] first = [[(0, 1.0)], [(0, 0.5), (2, 0.5)], [(2, 1.0)]]; // a user in B goes to A or C alike
        var pairs = System.Collections.Immutable.ImmutableDictionary<(int, int), System.Collections.Immutable.ImmutableDictionary<(int, int), int>>.Empty
            .SetItem((0, 1), System.Collections.Immutable.ImmutableDictionary<(int, int), int>.Empty.SetItem((1, 2), 5)); // came from A into B: on to C, 5 times
        var (states, cellOf, rows) = CellChain.PairRows(index, first, pairs, weight: 5);
        Assert.Equal([(-1, 0), (-1, 1), (-1, 2), (0, 1), (1, 2)], states.OrderBy(x => x.Value).Select(x => x.Key));
        Assert.Equal([0, 1, 2, 1, 2], cellOf);

        // Came from A: 5 of 10 by the counts to (B -> C), 5 of 10 by the first-order row (half to A, half to C entered from B).
        Assert.Equal([(0, 0.25), (4, 0.75)], rows[states[(0, 1)]], new RoundedComparer());
        // Way in unknown: the first-order row alone, a move into C from B landing in the known pair state.
        Assert.Equal([(0, 0.5), (4, 0.5)], rows[states[(-1, 1)]], new RoundedComparer());
        Assert.All(rows, r => Assert.Equal(1, r.Sum(x => x.Item2), 12));
    }

    [Fact]
    public void Plan_names_parse()
    {
        Assert.Equal(PredictivePlan.Mdp2d, new PolicyParameters { Plan = "MDP2D" }.ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60)).Plan);
        Assert.Equal(PredictivePlan.Mdp, new PolicyParameters().ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60)).Plan);
        Assert.Equal(PredictivePlan.Mdp2dPath, new PolicyParameters { Plan = "mdp2d-path" }.ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60)).Plan);
        Assert.Throws<ArgumentException>(() => new PolicyParameters { Plan = "mdp3d" }.ToPolicyConfig(PolicyKind.Predictive, 0.8, TimeSpan.FromSeconds(60)));
    }

    private sealed class RoundedComparer : IEqualityComparer<(int, double)>
    {
        public bool Equals((int, double) x, (int, double) y) => x.Item1 == y.Item1 && Math.Abs(x.Item2 - y.Item2) < 1e-9;

        public int GetHashCode((int, double) obj) => obj.Item1;
    }
}
