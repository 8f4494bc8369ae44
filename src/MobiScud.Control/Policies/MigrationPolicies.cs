using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// A policy's answer for one UE: where its PVM should be now (<see cref="Target"/>; its current site to stay), what the
/// move is expected to save (<see cref="Benefit"/>, cost-model units, for a scheduler's queue), and when to look again
/// if the policy holds back now but may follow later (<see cref="ReviewAt"/>).
/// </summary>
public readonly record struct PolicyVerdict(SiteId Target, double Benefit = 0, TimeSpan? ReviewAt = null);

/// <summary>
/// The migration policies of <see cref="PolicyKind"/>, as pure functions of the configuration, the facts, the UE's
/// state and the time. Called by <see cref="MobiScudControl"/> for a UE under <see cref="Strategy.MobiScud"/> whose PVM
/// runs at <c>here</c>, an undrained site.
/// </summary>
public static partial class MigrationPolicies
{
    public static PolicyVerdict Decide(McConfig config, PolicyFacts facts, UeState s, EnbId serving, SiteId here, TimeSpan at)
    {
        var policy = config.Policy;
        var servingSite = config.SwitchSiteFor(serving);
        switch (policy.Kind)
        {
            case PolicyKind.Never:
                return new PolicyVerdict(here);
            case PolicyKind.Always:
                return Follow(config, facts, servingSite, here, 0);
            case PolicyKind.Hysteresis:
                if (servingSite == here)
                {
                    return new PolicyVerdict(here);
                }

                var dwelt = at - s.SiteSince;
                if (dwelt >= policy.Dwell || s.HandoversAway >= policy.HandoversAway)
                {
                    return Follow(config, facts, servingSite, here, 0);
                }

                return new PolicyVerdict(here, 0, s.SiteSince + policy.Dwell);
            case PolicyKind.Myopic:
                return config.Cells is { } cells ? MyopicInRings(config, cells, facts, serving, here) : Myopic(config, facts, servingSite, here);
            case PolicyKind.MdpThreshold:
                return config.Cells is { } mdpCells ? MdpInRings(config, mdpCells, facts, serving, here, at) : Mdp(config, facts, serving, servingSite, here, at);
            case PolicyKind.Predictive:
                return config.Cells is { } predictCells ? PredictiveInRings(config, predictCells, facts, s, serving, here, at) : Predictive(config, facts, s, serving, servingSite, here, at);
            default:
                throw new ArgumentOutOfRangeException(nameof(config), policy.Kind, "unknown policy kind");
        }
    }

    /// <summary>
    /// Where a PVM for a UE at <paramref name="servingSite"/> goes when it must be placed (creation, drain): that site
    /// when it has room, else the nearest other site that has (by hops, then delay, the core last, then name), else the core.
    /// </summary>
    public static SiteId Place(McConfig config, PolicyFacts facts, SiteId servingSite)
    {
        var first = config.DrainedSites.Contains(servingSite) ? config.CoreSite : servingSite;
        if (facts.HasRoom(config.Sites, first))
        {
            return first;
        }

        foreach (var site in Ranked(config, servingSite))
        {
            if (facts.HasRoom(config.Sites, site))
            {
                return site;
            }
        }

        // Nowhere has room: ask for the preferred site; admission refuses it and the core tries again later.
        return first;
    }

    /// <summary>The sites a PVM may live at (serving sites and the core, not drained), nearest to <paramref name="from"/> first.</summary>
    public static IEnumerable<SiteId> Ranked(McConfig config, SiteId from) =>
        config.PvmSites
            .Where(x => !config.DrainedSites.Contains(x))
            .OrderBy(x => config.Hops(from, x))
            .ThenBy(x => config.DelayMs(from, x))
            .ThenBy(x => x == config.CoreSite) // The core serves no cell: an edge site as near wins (serve's default mesh ties them).
            .ThenBy(x => x.Value, StringComparer.Ordinal);

    private static PolicyVerdict Follow(McConfig config, PolicyFacts facts, SiteId servingSite, SiteId here, double benefit)
    {
        if (servingSite == here)
        {
            return new PolicyVerdict(here);
        }

        var to = config.DrainedSites.Contains(servingSite) ? config.CoreSite : servingSite;
        if (facts.HasRoom(config.Sites, to, to == here))
        {
            return new PolicyVerdict(to, benefit);
        }

        // The nearest site is full: the nearest one with room, unless that is no nearer than where the PVM is.
        foreach (var site in Ranked(config, servingSite))
        {
            if (site == here || config.Hops(site, servingSite) >= config.Hops(here, servingSite))
            {
                break;
            }

            if (facts.HasRoom(config.Sites, site))
            {
                return new PolicyVerdict(site, benefit);
            }
        }

        return new PolicyVerdict(here);
    }

    private static PolicyVerdict Myopic(McConfig config, PolicyFacts facts, SiteId servingSite, SiteId here)
    {
        var cost = config.Policy.Cost;
        var q = facts.LoadRatio;
        var stay = cost.TransmissionCost(config.Hops(here, servingSite), q);
        if (stay <= cost.MigrationCost(1, q))
        {
            // No move can beat staying: any move costs at least a one-hop migration (with the paper's costs, always).
            return new PolicyVerdict(here);
        }

        SiteId? best = null;
        var bestCost = stay;
        foreach (var site in config.PvmSites)
        {
            if (site == here || config.DrainedSites.Contains(site) || !facts.HasRoom(config.Sites, site))
            {
                continue;
            }

            // Strictly cheaper than staying; among equals, nearer the user, then by name (sets have no order).
            var c = cost.SlotCost(config.Hops(here, site), config.Hops(site, servingSite), q);
            if (c < stay - 1e-12 && (best is not { } b || c < bestCost - 1e-12 || (Math.Abs(c - bestCost) <= 1e-12 && Nearer(config, servingSite, site, b))))
            {
                bestCost = c;
                best = site;
            }
        }

        return best is { } to ? new PolicyVerdict(to, stay - bestCost) : new PolicyVerdict(here);
    }

    /// <summary>True when <paramref name="a"/> is nearer <paramref name="to"/> than <paramref name="b"/> (hops, then delay, the core last, then name).</summary>
    private static bool Nearer(McConfig config, SiteId to, SiteId a, SiteId b)
    {
        var (ha, hb) = (config.Hops(a, to), config.Hops(b, to));
        if (ha != hb)
        {
            return ha < hb;
        }

        var (da, db) = (config.DelayMs(a, to), config.DelayMs(b, to));
        if (da != db)
        {
            return da < db;
        }

        return (a == config.CoreSite) != (b == config.CoreSite) ? b == config.CoreSite : string.CompareOrdinal(a.Value, b.Value) < 0;
    }

    private static PolicyVerdict Mdp(McConfig config, PolicyFacts facts, EnbId serving, SiteId servingSite, SiteId here, TimeSpan at)
    {
        var policy = config.Policy;
        var y = Math.Min(config.Hops(here, servingSite), policy.MaxDistance);
        if (y == 0)
        {
            return new PolicyVerdict(here);
        }

        var solution = MdpThresholdSolver.Cached(policy.Cost, policy.MaxDistance, MoveProbability(config, facts, serving, at), facts.LoadRatio);
        var a = solution.Actions[y];
        if (a >= y)
        {
            return new PolicyVerdict(here);
        }

        var benefit = solution.Gains[y];
        if (a == 0)
        {
            return Follow(config, facts, servingSite, here, benefit);
        }

        // Part of the way: a site a hops from the user, as close to the PVM as possible.
        foreach (var site in Ranked(config, here))
        {
            if (config.Hops(site, servingSite) == a && site != here && facts.HasRoom(config.Sites, site))
            {
                return new PolicyVerdict(site, benefit);
            }
        }

        return Follow(config, facts, servingSite, here, benefit);
    }

    /// <summary>
    /// The chance per slot that the UE changes site: learned from the serving eNB's departures (the mean dwell there and
    /// the share of departures to other sites) when enough were seen, else from all eNBs', else the configured prior.
    /// </summary>
    internal static double MoveProbability(McConfig config, PolicyFacts facts, EnbId serving, TimeSpan at)
    {
        var policy = config.Policy;
        if (!policy.Learn)
        {
            return policy.MoveProbability;
        }

        var here = facts.Mobility.At(serving, at, policy.MinDepartures);
        if (here.Departures >= policy.MinDepartures && here.MeanDwell is { } dwell)
        {
            var servingSite = config.SwitchSiteFor(serving);
            var away = 0.0;
            foreach (var (next, count) in here.Next)
            {
                if (config.SwitchSiteFor(next) != servingSite)
                {
                    away += count;
                }
            }

            return Math.Clamp(LeaveWithin(policy.Slot, dwell) * (away / here.Departures), 0.01, 1);
        }

        if (facts.Mobility.Observations >= policy.MinDepartures && facts.Mobility.MeanDwell is { } mean)
        {
            return Math.Clamp(LeaveWithin(policy.Slot, mean), 0.01, 1);
        }

        return policy.MoveProbability;
    }

    private static double LeaveWithin(TimeSpan slot, TimeSpan meanDwell) =>
        meanDwell <= TimeSpan.Zero ? 1 : 1 - Math.Exp(-slot.TotalSeconds / meanDwell.TotalSeconds);

    /// <summary>
    /// Ours. The UE is (or, once an S1 handover is prepared, is about to be) at <c>L</c>. Its stay in L's area is
    /// estimated from the learned dwell at its eNB (shrunk toward the prior while few departures were seen; a UE that
    /// has already stayed e is expected to stay the mean plus e more) and the share of departures that stay within L's
    /// site. Each candidate site c (stay, L, the likely next sites) is scored in the cost model over that horizon:
    /// migration over hops(here, c), raised by the load on the route's links, plus transmission from c to L for the
    /// stay, plus transmission to where the UE likely goes next, discounted. The cheapest wins; staying wins ties.
    /// While it holds back, the UE is looked at again after ReviewAfter, 2x, 4x ... 16x since it arrived.
    /// </summary>
    private static PolicyVerdict Predictive(McConfig config, PolicyFacts facts, UeState s, EnbId serving, SiteId servingSite, SiteId here, TimeSpan at)
    {
        var policy = config.Policy;
        var cost = policy.Cost;
        var q = facts.LoadRatio;
        var enb = serving;
        var site = servingSite;
        var since = s.SiteSince;
        if (policy.PreCopyOnPrepare && s.PendingHandover is { } pending && s.Connection == ConnectionState.Connected)
        {
            // The handover is coming: judge from the target, as if the UE had just arrived there.
            enb = pending.Target;
            site = config.SwitchSiteFor(pending.Target);
            since = site == servingSite ? s.SiteSince : at;
        }

        if (site == here)
        {
            return new PolicyVerdict(here);
        }

        var learned = facts.Mobility.At(enb, at, policy.MinDepartures);
        var k = policy.MinDepartures;
        var meanDwell = (learned.DwellSeconds + (policy.PriorDwell.TotalSeconds * k)) / (learned.Departures + k);
        var elapsed = Math.Max(0, (at - since).TotalSeconds);
        // A UE that has stayed e is expected to stay e more on top of the mean (long stays are heavy-tailed), and the
        // estimate never shrinks as the stay goes on, so that a move once judged worth it is not cancelled half-way.
        var remainingAtEnb = meanDwell + elapsed;

        // Departures that stay within the site keep the UE near it (a geometric number of further stays).
        var staysInSite = 0.0;
        var nextSites = new Dictionary<SiteId, double>();
        if (learned.Departures > 0)
        {
            foreach (var (next, count) in learned.Next)
            {
                var nextSite = config.SwitchSiteFor(next);
                var share = count / (double)learned.Departures;
                if (nextSite == site)
                {
                    staysInSite += share;
                }
                else
                {
                    nextSites[nextSite] = nextSites.GetValueOrDefault(nextSite) + share;
                }
            }
        }

        staysInSite = Math.Min(staysInSite, 0.9);
        var horizon = remainingAtEnb / (1 - staysInSite) / policy.Slot.TotalSeconds;
        var after = Math.Pow(cost.Gamma, horizon) * (policy.PriorDwell.TotalSeconds / policy.Slot.TotalSeconds);
        var leaving = nextSites.Values.Sum();

        double Score(SiteId c)
        {
            var move = c == here ? 0 : cost.MigrationCost(config.Hops(here, c), q) * LoadFactor(config, facts, here, c);
            var stay = horizon * cost.TransmissionCost(config.Hops(c, site), q);
            var next = 0.0;
            if (leaving > 0)
            {
                foreach (var (nextSite, share) in nextSites)
                {
                    next += share / leaving * cost.TransmissionCost(config.Hops(c, nextSite), q);
                }

                next *= after;
            }

            return move + stay + next;
        }

        var stayCost = Score(here);
        var best = here;
        var bestCost = stayCost;
        var candidates = new List<SiteId>(1 + nextSites.Count) { site };
        candidates.AddRange(nextSites.OrderByDescending(x => x.Value).ThenBy(x => x.Key.Value, StringComparer.Ordinal).Take(3).Select(x => x.Key));
        foreach (var c in candidates)
        {
            if (c == here || config.DrainedSites.Contains(c) || !facts.HasRoom(config.Sites, c) || !config.PvmSites.Contains(c)
                || !FinishesInTime(config, ExpectedMigrationSeconds(config, facts, here, c)))
            {
                continue;
            }

            var score = Score(c);
            if (score < bestCost - 1e-9)
            {
                best = c;
                bestCost = score;
            }
        }

        if (best != here)
        {
            return new PolicyVerdict(best, stayCost - bestCost);
        }

        // Holding back: look again later, the longer the UE has stayed the rarer.
        TimeSpan? review = null;
        for (var step = policy.ReviewAfter; step <= policy.ReviewAfter * 16; step += step)
        {
            if (since + step > at)
            {
                review = since + step;
                break;
            }
        }

        return new PolicyVerdict(here, 0, review);
    }

    /// <summary>
    /// How much load on the route's links raises a migration's cost: 1 + w x the larger of u / (1 - u), u the busiest
    /// link's utilisation, and the congestion the move would meet, its expected transfer time over its time on idle
    /// links minus one (a move onto a link that already carries n migrations takes (n + 1) times as long and slows each
    /// of them: those bytes are worth more than on an idle link).
    /// </summary>
    private static double LoadFactor(McConfig config, PolicyFacts facts, SiteId from, SiteId to)
    {
        if (config.Policy.LinkLoadWeight == 0 || config.Sites is not { } graph || !graph.Contains(from) || !graph.Contains(to))
        {
            return 1;
        }

        var congestion = 0.0;
        if (ExpectedMigrationSeconds(config, facts, from, to) is { } loaded && ExpectedMigrationSeconds(config, PolicyFacts.None, from, to) is { } idle && idle > 0)
        {
            congestion = Math.Max(0, (loaded / idle) - 1);
        }

        if (facts.LinkUtilisation is not { } load)
        {
            return 1 + (config.Policy.LinkLoadWeight * congestion);
        }

        var busiest = 0.0;
        foreach (var link in graph.Path(from, to))
        {
            if (link < load.Count)
            {
                busiest = Math.Max(busiest, load[link]);
            }
        }

        busiest = Math.Clamp(busiest, 0, 0.99);
        return 1 + (config.Policy.LinkLoadWeight * Math.Max(busiest / (1 - busiest), congestion));
    }
}
