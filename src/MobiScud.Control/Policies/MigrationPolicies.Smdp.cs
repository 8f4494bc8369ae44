using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>Predictive's decision on the semi-Markov plan (<see cref="HandoverSmdp"/>).</summary>
public static partial class MigrationPolicies
{
    /// <summary>The semi-Markov plan's solution and index when predictive plans on it and one was solved for this topology; else null.</summary>
    private static (CellMdpIndex Index, SmdpSolution Solution)? SmdpPlan(McConfig config, PolicyFacts facts) =>
        config.Policy.Plan == PredictivePlan.Smdp && facts.Mobility.Smdp is { Index: { } index, Solution: { } solution } && index.Matches(config)
            ? (index, solution)
            : null;

    /// <summary>
    /// Each movable site a (and staying) scored <c>M(rings(here, a)) x load + C_k(x, a)</c>, x the user's state (the
    /// cell it came from and its cell; the cell alone when that pair was never seen), k the stage its time in the cell
    /// has reached (0 at the handover, then one per review). Moves that cannot finish in time are left out; staying
    /// wins ties. A cell or site the index does not know keeps the 1-D MDP.
    /// </summary>
    private static (SiteId Site, double Gain) SmdpChoice(McConfig config, CellGeometry cells, PolicyFacts facts, (CellMdpIndex Index, SmdpSolution Solution) plan, EnbId user, EnbId? came, SiteId here, List<SiteId> movable, TimeSpan age, TimeSpan at)
    {
        var (index, solution) = plan;
        if (!index.CellIndex.TryGetValue(user, out var u) || !index.SiteIndex.TryGetValue(here, out var h))
        {
            return MdpChoice(config, cells, facts, user, here, movable, at);
        }

        var sites = index.Sites.Length;
        var cameIndex = came is { } from && index.CellIndex.TryGetValue(from, out var fi) ? fi : -1;
        var state = solution.States.TryGetValue((cameIndex, u), out var si) ? si : u;
        var stage = HandoverSmdp.StageOf(solution.Ages, age);
        var continuation = new ReadOnlySpan<double>(solution.Continuation[stage], state * sites, sites);
        return BestOnContinuation(config, facts, index, u, h, here, movable, continuation);
    }

    /// <summary>The semi-Markov plan's next review of a user that arrived at <paramref name="since"/>: PlanReview x 1, 2, ... up to PlanReviewCap (null once past).</summary>
    private static TimeSpan? SmdpReviewAt(PolicyConfig policy, TimeSpan since, TimeSpan at)
    {
        for (var step = policy.PlanReview; step <= policy.PlanReviewCap; step += policy.PlanReview)
        {
            if (since + step > at)
            {
                return since + step;
            }
        }

        return null;
    }
}
