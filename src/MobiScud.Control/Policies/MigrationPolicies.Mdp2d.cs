using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>Predictive's base decision on the (user cell, PVM site) MDP solved on the learned per-cell chain (<see cref="CellChain"/>).</summary>
public static partial class MigrationPolicies
{
    /// <summary>The 2-D MDP's solution and index when predictive plans on it and one was solved for this topology; else null.</summary>
    private static (CellChain Chain, CellMdpIndex Index, CellMdpSolution Solution)? Mdp2dSolution(McConfig config, PolicyFacts facts) =>
        config.Policy.Plan is PredictivePlan.Mdp2d or PredictivePlan.Mdp2dPath && facts.Mobility.Chain is { Index: { } index, Solution: { } solution } chain && index.Matches(config)
            ? (chain, index, solution)
            : null;

    /// <summary>
    /// Each movable site a (and staying) scored <c>M(rings(here, a)) x load + C(u, a)</c>, C the solved continuation from
    /// the user's cell u (transmission now plus the discounted value of where the user is a slot later); moves that
    /// cannot finish in time are left out, staying wins ties. A site or cell the index does not know keeps the 1-D MDP.
    /// The migration is priced without Q/R, as the solution is (it scales a slot's costs alike).
    /// </summary>
    private static (SiteId Site, double Gain) Mdp2dChoice(McConfig config, CellGeometry cells, PolicyFacts facts, (CellChain Chain, CellMdpIndex Index, CellMdpSolution Solution) plan, EnbId user, EnbId? came, SiteId here, List<SiteId> movable, TimeSpan at)
    {
        var (chain, index, solution) = plan;
        if (!index.CellIndex.TryGetValue(user, out var u) || !index.SiteIndex.TryGetValue(here, out var h))
        {
            return MdpChoice(config, cells, facts, user, here, movable, at);
        }

        var policy = config.Policy;
        var cost = policy.Cost;
        var cameIndex = came is { } from && index.CellIndex.TryGetValue(from, out var fi) ? fi : -1;
        var state = solution.States is { } states ? states.TryGetValue((cameIndex, u), out var si) ? si : states[(-1, u)] : u;
        var continuation = new ReadOnlySpan<double>(solution.Continuation, state * index.Sites.Length, index.Sites.Length);
        if (solution.States is null && policy.PlanSecondOrder && came is { } p && index.CellIndex.TryGetValue(p, out var pi) && chain.PathCounts.TryGetValue((pi, u), out var path))
        {
            continuation = SecondOrderContinuation(index, solution, cost, policy.MinDepartures, u, path);
        }

        return BestOnContinuation(config, facts, index, u, h, here, movable, continuation);
    }

    /// <summary>
    /// The plans' shared choice: each movable site a (and staying) scored <c>M(rings(here, a)) x load + continuation[a]</c>
    /// for the user's cell <paramref name="u"/>; moves that cannot finish in time are left out, staying wins ties. The
    /// migration is priced without Q/R, as the solutions are (it scales a slot's costs alike).
    /// </summary>
    private static (SiteId Site, double Gain) BestOnContinuation(McConfig config, PolicyFacts facts, CellMdpIndex index, int u, int h, SiteId here, List<SiteId> movable, ReadOnlySpan<double> continuation)
    {
        var policy = config.Policy;
        var sites = index.Sites.Length;
        var row = u * sites;
        var stay = continuation[h];
        var best = here;
        var bestCost = stay;
        var ringsHere = index.UserRings[row + h];
        foreach (var site in movable)
        {
            if (!index.SiteIndex.TryGetValue(site, out var a)
                || (policy.MinRingGain > 0 && index.UserRings[row + a] > ringsHere - policy.MinRingGain))
            {
                continue;
            }

            var value = continuation[a];
            var move = policy.Cost.MigrationCost(index.SiteRings[(h * sites) + a]);
            if (stay - value <= move)
            {
                // Not worth it even on idle links: skip the load and admission estimates.
                continue;
            }

            if (!FinishesInTime(config, ExpectedMigrationSeconds(config, facts, here, site)))
            {
                continue;
            }

            var c = (move * LoadFactor(config, facts, here, site)) + value;
            if (c < bestCost - 1e-9)
            {
                (best, bestCost) = (site, c);
            }
        }

        return (best, stay - bestCost);
    }

    /// <summary>
    /// C(u, a) for a user that came into u from a known cell: where users on that path were a slot later (the counts,
    /// shrunk toward the first-order row with the weight of <paramref name="weight"/> transitions), then the solved V.
    /// Taxis follow roads, so the cell a user came from tells which way it leaves (docs/policies.md, "A learned road").
    /// </summary>
    private static double[] SecondOrderContinuation(CellMdpIndex index, CellMdpSolution solution, WangCostModel cost, int weight, int u, ImmutableDictionary<int, int> path)
    {
        var sites = index.Sites.Length;
        var seen = 0;
        foreach (var c in path.Values)
        {
            seen += c;
        }

        var k = (double)weight;
        var p = new Dictionary<int, double>();
        foreach (var (to, q) in solution.Rows[u])
        {
            p[to] = k * q / (k + seen);
        }

        foreach (var (to, c) in path)
        {
            p[to] = p.GetValueOrDefault(to) + (c / (k + seen));
        }

        var w = new double[sites];
        foreach (var v in p.Keys.Order())
        {
            var pv = p[v];
            for (var a = 0; a < sites; a++)
            {
                w[a] += pv * solution.Values[(v * sites) + a];
            }
        }

        var row = u * sites;
        for (var a = 0; a < sites; a++)
        {
            w[a] = cost.TransmissionCost(index.UserRings[row + a]) + (cost.Gamma * w[a]);
        }

        return w;
    }
}
