using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

public static partial class MigrationPolicies
{
    /// <summary>
    /// Predictive's higher bar for a quick crosser: the configuration whose cost model prices every migration
    /// <see cref="PolicyConfig.QuickCrossingBar"/> times as much, else <paramref name="config"/> itself. A quick crosser
    /// crossed the cell it is leaving (or just left) in less than <see cref="PolicyConfig.QuickCrossing"/> and in less
    /// than <see cref="PolicyConfig.QuickCrossingShare"/> of the mean dwell learned there (shrunk toward the prior as
    /// the forecast does). A move costs at least 1/(1 - Q/R) and saves at most about that per slot, so it pays back only
    /// if the user stays near the target for a few slots, which on San Francisco a quick crosser seldom does
    /// (docs/policies.md, "Moves that pay back"). A higher price, not a veto: holding such users back altogether costs
    /// more transmission than it saves in moves.
    /// </summary>
    internal static McConfig WithQuickCrossingBar(McConfig config, PolicyFacts facts, UeState s, TimeSpan at)
    {
        var policy = config.Policy;
        if (policy.QuickCrossingBar <= 1 || policy.QuickCrossing <= TimeSpan.Zero)
        {
            return config;
        }

        // With a handover prepared the user is judged from the target, so the cell it is leaving is the serving one.
        var pending = policy.PreCopyOnPrepare && s.PendingHandover is not null && s.Connection == ConnectionState.Connected;
        var (from, arrived, left) = pending ? (s.ServingEnb, s.ServingSince, at) : (s.PreviousEnb, s.PreviousSince, s.ServingSince);
        var crossed = left - arrived;
        if (from is not { } cell || crossed <= TimeSpan.Zero || crossed >= policy.QuickCrossing)
        {
            return config;
        }

        if (policy.QuickCrossingShare > 0)
        {
            var learned = facts.Mobility.At(cell, at, policy.MinDepartures);
            var k = policy.MinDepartures;
            var meanDwell = (learned.DwellSeconds + (policy.PriorDwell.TotalSeconds * k)) / (learned.Departures + k);
            if (crossed.TotalSeconds >= policy.QuickCrossingShare * meanDwell)
            {
                return config;
            }
        }

        var cost = policy.Cost;
        var raised = new WangCostModel(cost.Mu, cost.Gamma, cost.MigrationScale * policy.QuickCrossingBar, cost.TransmissionScale);
        return config with { Policy = policy with { Cost = raised } };
    }
}
