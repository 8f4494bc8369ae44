using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// The cost-weighing policies when <see cref="McConfig.Cells"/> places the cells: they decide on the distance Wang et
/// al.'s cost model charges (rings of cells from the user's cell to the PVM's site, and between the sites a migration
/// joins), as their real-trace code does, instead of backhaul hops between sites.
/// </summary>
public static partial class MigrationPolicies
{
    // At most this many (cell, extra rings) states are followed per step of predictive's forecast.
    private const int ForecastWidth = 8;

    private static int UserRings(McConfig config, CellGeometry cells, EnbId user, SiteId site) =>
        cells.Rings(user, site) ?? config.Hops(config.SwitchSiteFor(user), site);

    private static int SiteRings(McConfig config, CellGeometry cells, SiteId a, SiteId b) =>
        cells.Rings(a, b) ?? config.Hops(a, b);

    /// <summary>
    /// The edge sites a PVM may move to now (not drained, with room), in name order so that ties break alike everywhere.
    /// The core DC is left out: it is no edge cloud (Wang et al. place services at cells with clouds only), and what it
    /// adds, the core's latency, is what the cell distance does not see. A drain still sends PVMs there (Place).
    /// </summary>
    private static List<SiteId> Movable(McConfig config, PolicyFacts facts, SiteId here)
    {
        var sites = config.PvmSitesByName;
        var list = new List<SiteId>(sites.Count);
        for (var i = 0; i < sites.Count; i++)
        {
            var site = sites[i];
            if (site != here && site != config.CoreSite && !config.DrainedSites.Contains(site) && facts.HasRoom(config.Sites, site))
            {
                list.Add(site);
            }
        }

        return list;
    }

    /// <summary>
    /// Wang et al.'s myopic baseline: the site minimising this slot's migration plus transmission cost, among the sites
    /// nearer the user than <see cref="PolicyConfig.MaxDistance"/> rings; a PVM that far away must move.
    /// </summary>
    private static PolicyVerdict MyopicInRings(McConfig config, CellGeometry cells, PolicyFacts facts, EnbId user, SiteId here)
    {
        var policy = config.Policy;
        var cost = policy.Cost;
        var q = facts.LoadRatio;
        var yHere = UserRings(config, cells, user, here);
        var stay = cost.TransmissionCost(yHere, q);
        var mayStay = yHere < policy.MaxDistance;
        if (mayStay && stay <= cost.MigrationCost(1, q))
        {
            // No move can beat staying: any move costs at least a one-ring migration (with the paper's costs, always).
            return new PolicyVerdict(here);
        }

        SiteId? best = null;
        var bestCost = mayStay ? stay : double.PositiveInfinity;
        var bestRings = int.MaxValue;
        foreach (var site in Movable(config, facts, here))
        {
            var y = UserRings(config, cells, user, site);
            if (y >= policy.MaxDistance)
            {
                continue;
            }

            var c = cost.SlotCost(SiteRings(config, cells, here, site), y, q);
            if (c < bestCost - 1e-12 || (best is not null && Math.Abs(c - bestCost) <= 1e-12 && y < bestRings))
            {
                (best, bestCost, bestRings) = (site, c, y);
            }
        }

        return best is { } to ? new PolicyVerdict(to, Math.Max(0, stay - bestCost)) : new PolicyVerdict(here);
    }

    /// <summary>
    /// Wang et al.'s MDP on real cells, as their mainRealCellLocation.m applies it: the distance MDP is solved on the
    /// 1-D chain (move probability learned per cell), and the PVM goes to the site c minimising
    /// <c>M(rings(here, c)) + T(y_c) + gamma sum_j P(y_c, j) V(j)</c>, y_c = rings from the user to c capped at N
    /// (staying costs no migration); staying wins ties.
    /// </summary>
    private static PolicyVerdict MdpInRings(McConfig config, CellGeometry cells, PolicyFacts facts, EnbId user, SiteId here, TimeSpan at)
    {
        var policy = config.Policy;
        var cost = policy.Cost;
        var q = facts.LoadRatio;
        var n = policy.MaxDistance;
        if (UserRings(config, cells, user, here) == 0)
        {
            return new PolicyVerdict(here);
        }

        var solution = MdpThresholdSolver.Cached(cost, n, CellMoveProbability(config, facts, user, at), q);
        double Score(SiteId c, int moveRings)
        {
            var y = Math.Min(UserRings(config, cells, user, c), n);
            return cost.MigrationCost(moveRings, q) + cost.TransmissionCost(y, q) + (cost.Gamma * solution.Continuation[y]);
        }

        var stay = Score(here, 0);
        SiteId? best = null;
        var bestCost = stay;
        foreach (var site in Movable(config, facts, here))
        {
            var c = Score(site, SiteRings(config, cells, here, site));
            if (c < bestCost - 1e-9)
            {
                (best, bestCost) = (site, c);
            }
        }

        return best is { } to ? new PolicyVerdict(to, stay - bestCost) : new PolicyVerdict(here);
    }

    /// <summary>
    /// The chance per slot that the user changes cell (Wang et al.'s 1 - P2D): from the mean dwell learned at the
    /// cell when it has enough departures, else over all cells, else the configured prior.
    /// </summary>
    private static double CellMoveProbability(McConfig config, PolicyFacts facts, EnbId user, TimeSpan at)
    {
        var policy = config.Policy;
        if (!policy.Learn)
        {
            return policy.MoveProbability;
        }

        var here = facts.Mobility.At(user, at, policy.MinDepartures);
        if (here.Departures >= policy.MinDepartures && here.MeanDwell is { } dwell)
        {
            return Math.Clamp(LeaveWithin(policy.Slot, dwell), 0.01, 1);
        }

        if (facts.Mobility.Observations >= policy.MinDepartures && facts.Mobility.MeanDwell is { } mean)
        {
            return Math.Clamp(LeaveWithin(policy.Slot, mean), 0.01, 1);
        }

        return policy.MoveProbability;
    }

    /// <summary>
    /// Ours, in rings. From the handovers learned so far, forecast where the user will be slot by slot (a Markov chain
    /// over cells: leave a cell within a slot with 1 - e^(-slot/dwell), to the next cells in the shares seen; where
    /// nothing was learned the user drifts one ring further from everything per move, so that ignorance does not invite a
    /// chase). The forecast gives each cell a discounted weight w (gamma per slot, as the MDP discounts). Each candidate
    /// site c (stay; the sites nearest to the likeliest cells) costs <c>M(rings(here, c)) x (1 + w_link u/(1-u)) +
    /// sum_cells w T(rings(cell, c))</c>, u the busiest utilisation on the route. The cheapest wins; staying wins ties.
    /// The dwell at the user's cell is the learned mean (shrunk toward the prior) plus the time already spent there.
    /// Holding back, it looks again ReviewAfter x 1, 2, 4, 8, 16 after the user reached its cell.
    /// </summary>
    private static PolicyVerdict PredictiveInRings(McConfig config, CellGeometry cells, PolicyFacts facts, UeState s, EnbId serving, SiteId here, TimeSpan at)
    {
        config = WithQuickCrossingBar(config, facts, s, at);
        var policy = config.Policy;
        var cost = policy.Cost;
        var q = facts.LoadRatio;
        var enb = serving;
        var since = s.ServingSince;
        if (policy.PreCopyOnPrepare && s.PendingHandover is { } pending && s.Connection == ConnectionState.Connected)
        {
            // The handover is coming: judge from the target, as if the user had just arrived there.
            enb = pending.Target;
            since = at;
        }

        if (!cells.Knows(enb) || !cells.Knows(here))
        {
            return Predictive(config, facts, s, serving, config.SwitchSiteFor(serving), here, at);
        }

        var trajectory = TrajectoryOf(policy, cells, facts, s, enb, since, at);
        if (s.Migration is { Cancelling: false } moving && moving.From == here && cells.Knows(moving.To))
        {
            // A move once judged worth it carries on while the user is no nearer its source than its target: a forecast
            // that wavers as the user crosses cells must not throw away the bytes already sent. Back near the source
            // (a ping-pong), it is cancelled. A move ahead of a user still on a steady heading carries on too: the user
            // has not reached its target yet, which is why it was started.
            return trajectory is null && UserRings(config, cells, enb, here) < UserRings(config, cells, enb, moving.To)
                ? new PolicyVerdict(here)
                : new PolicyVerdict(moving.To);
        }

        if (trajectory is { } heading)
        {
            return TrajectoryPlan(config, cells, facts, heading, enb, here, since, at, ReviewAt(policy, since, at), s);
        }

        var movable = Movable(config, facts, here);
        var ringsHere = UserRings(config, cells, enb, here);
        var reviewAt = ReviewAt(policy, since, at);
        var closest = int.MaxValue;
        foreach (var site in movable)
        {
            closest = Math.Min(closest, UserRings(config, cells, enb, site));
        }

        var latency = policy.LatencyWeight * 2 / (1 - Math.Clamp(q, 0, 0.99));
        var plan2d = Mdp2dSolution(config, facts);
        var smdp = SmdpPlan(config, facts);
        if (plan2d is null && smdp is null && ringsHere <= closest && (latency == 0 || config.SwitchSiteFor(enb) == here))
        {
            // No site is nearer the user's cell than the PVM: a move now could only pay for where the user may go.
            return new PolicyVerdict(here, 0, reviewAt);
        }

        var forecast = Forecast(config, facts, enb, at - since, at, Pace(config, facts, s, enb, at));
        var weights = forecast.Weights;
        var path = HeadingPath(config, cells, s, enb, since, at, forecast);
        var learnedShare = path is null ? 1 : 1 - policy.HeadingWeight;
        double Transmission(SiteId c, ForecastStates w, double slotsOnWire)
        {
            var sum = 0.0;
            for (var i = 0; i < w.Count; i++)
            {
                var ((cell, extra), p) = (w.Key(i), w.Value(i));
                sum += p * cost.TransmissionCost(UserRings(config, cells, cell, c) + extra, q);
                if (latency > 0)
                {
                    sum += p * latency * config.DelayMs(config.SwitchSiteFor(cell), c);
                }
            }

            sum *= learnedShare;
            if (path is not null)
            {
                // The heading's share: the user at the points ahead on its path, the part after the transfer only.
                for (var k = 0; k < path.Count; k++)
                {
                    var late = k == path.Count - 1 ? 1 : Math.Clamp(k + 1 - slotsOnWire, 0, 1);
                    var rings = cells.Rings(path[k].Point, c) ?? SiteRings(config, cells, config.SwitchSiteFor(enb), c);
                    sum += policy.HeadingWeight * late * path[k].Weight * cost.TransmissionCost(rings, q);
                }
            }

            return sum;
        }

        if (policy.MdpBase)
        {
            // On the MDP: its value function picks the site; the forecast may only hold the move back.
            var came = enb == s.ServingEnb ? s.PreviousEnb : s.ServingEnb;
            var (chosen, mdpGain) = smdp is { } semi
                ? SmdpChoice(config, cells, facts, semi, enb, came, here, movable, at - since, at)
                : plan2d is { } solved
                ? Mdp2dChoice(config, cells, facts, solved, enb, came, here, movable, at)
                : MdpChoice(config, cells, facts, enb, here, movable, at);
            if (chosen == here)
            {
                return new PolicyVerdict(here, 0, reviewAt);
            }

            if (!policy.ForecastVeto)
            {
                return new PolicyVerdict(chosen, mdpGain);
            }

            var seconds = ExpectedMigrationSeconds(config, facts, here, chosen);
            var onWire = (seconds ?? 0) / policy.Slot.TotalSeconds;
            var after = onWire > 0 ? forecast.After(onWire) : weights;
            var forecastGain = (MoveOutcomeStats.Weight(config, facts, s, chosen) * (Transmission(here, after, onWire) - Transmission(chosen, after, onWire))) - (cost.MigrationCost(SiteRings(config, cells, here, chosen), q) * LoadFactor(config, facts, here, chosen));
            return forecastGain > 0 ? new PolicyVerdict(chosen, mdpGain) : new PolicyVerdict(here, 0, reviewAt);
        }

        // Candidates: the site nearest (in rings) to each of the likeliest cells, the user's own first.
        var candidates = new List<SiteId>();
        foreach (var cell in Likeliest(weights, enb))
        {
            SiteId? nearest = null;
            var nearestRings = int.MaxValue;
            foreach (var site in movable)
            {
                var r = UserRings(config, cells, cell, site);
                if (r < nearestRings)
                {
                    (nearest, nearestRings) = (site, r);
                }
            }

            if (nearest is { } n && !candidates.Contains(n))
            {
                candidates.Add(n);
            }
        }

        if (path is not null)
        {
            // And the sites nearest to points ahead on the heading: a PVM placed ahead of the user serves it longer.
            foreach (var k in (ReadOnlySpan<int>)[1, 3, path.Count - 1])
            {
                if (k >= path.Count)
                {
                    continue;
                }

                SiteId? nearest = null;
                var nearestRings = int.MaxValue;
                foreach (var site in movable)
                {
                    var r = cells.Rings(path[k].Point, site) ?? int.MaxValue;
                    if (r < nearestRings)
                    {
                        (nearest, nearestRings) = (site, r);
                    }
                }

                if (nearest is { } n && !candidates.Contains(n))
                {
                    candidates.Add(n);
                }
            }
        }

        var best = here;
        var bestGain = 0.0;
        foreach (var c in candidates)
        {
            if (policy.MinRingGain > 0 && UserRings(config, cells, enb, c) > ringsHere - policy.MinRingGain)
            {
                continue;
            }

            // Admission: a move that cannot finish in time on the links it shares is not started; while one that can
            // is on the wire the user is still served from here, so only the forecast after it lands counts for c.
            var seconds = ExpectedMigrationSeconds(config, facts, here, c);
            if (!FinishesInTime(config, seconds))
            {
                continue;
            }

            var onWire = (seconds ?? 0) / policy.Slot.TotalSeconds;
            var after = onWire > 0 ? forecast.After(onWire) : weights;
            var gain = (MoveOutcomeStats.Weight(config, facts, s, c) * (Transmission(here, after, onWire) - Transmission(c, after, onWire))) - (cost.MigrationCost(SiteRings(config, cells, here, c), q) * LoadFactor(config, facts, here, c));
            if (gain > bestGain + 1e-9)
            {
                (best, bestGain) = (c, gain);
            }
        }

        if (best != here)
        {
            return new PolicyVerdict(best, bestGain);
        }

        return new PolicyVerdict(here, 0, reviewAt);
    }

    /// <summary>
    /// Predictive's base decision on the MDP: each movable site c scored as mdp-threshold does,
    /// <c>M(rings(here, c)) x load + T(y_c) + gamma sum_j P(y_c, j) V(j)</c>, with the migration cost raised by the
    /// load on the route (<see cref="LoadFactor"/>) and moves that cannot finish in time left out (admission). Staying
    /// wins ties. Returns the site and how much it saves over staying.
    /// </summary>
    private static (SiteId Site, double Gain) MdpChoice(McConfig config, CellGeometry cells, PolicyFacts facts, EnbId user, SiteId here, List<SiteId> movable, TimeSpan at)
    {
        var policy = config.Policy;
        var cost = policy.Cost;
        var q = facts.LoadRatio;
        var n = policy.MaxDistance;
        var solution = MdpThresholdSolver.Cached(cost, n, CellMoveProbability(config, facts, user, at), q);
        double Value(SiteId c) => cost.TransmissionCost(Math.Min(UserRings(config, cells, user, c), n), q) + (cost.Gamma * solution.Continuation[Math.Min(UserRings(config, cells, user, c), n)]);
        var stay = Value(here);
        var best = here;
        var bestCost = stay;
        var ringsHere = UserRings(config, cells, user, here);
        foreach (var site in movable)
        {
            if (policy.MinRingGain > 0 && UserRings(config, cells, user, site) > ringsHere - policy.MinRingGain)
            {
                continue;
            }

            var move = cost.MigrationCost(SiteRings(config, cells, here, site), q);
            if (stay - Value(site) <= move)
            {
                // Not worth it even on idle links: skip the load and admission estimates.
                continue;
            }

            if (!FinishesInTime(config, ExpectedMigrationSeconds(config, facts, here, site)))
            {
                continue;
            }

            var c = (move * LoadFactor(config, facts, here, site)) + Value(site);
            if (c < bestCost - 1e-9)
            {
                (best, bestCost) = (site, c);
            }
        }

        return (best, stay - bestCost);
    }

    /// <summary>
    /// Where the user's heading takes it, one point per step of the forecast (the weights of <paramref name="steps"/>):
    /// from the cell it came from to the cell it is in (or, with a handover prepared, from the serving cell to the
    /// target), at the speed it crossed the last cell (slower when it has stayed longer in this one), the path
    /// bending away as e^(-t / HeadingPersistence). Null when there is no heading (no earlier cell, no positions, no
    /// weight) or the user stands still.
    /// </summary>
    private static List<((double X, double Y) Point, double Weight)>? HeadingPath(McConfig config, CellGeometry cells, UeState s, EnbId enb, TimeSpan since, TimeSpan at, UserForecast steps)
    {
        var policy = config.Policy;
        var (from, fromSince) = enb == s.ServingEnb ? (s.PreviousEnb, s.PreviousSince) : (s.ServingEnb, s.ServingSince);
        if (policy.HeadingWeight == 0 || from is not { } prev || prev == enb || cells.PositionOf(prev) is not { } a || cells.PositionOf(enb) is not { } b)
        {
            return null;
        }

        var crossing = (since - fromSince).TotalSeconds;
        var stayed = (at - since).TotalSeconds;
        var seconds = Math.Max(1, Math.Max(crossing, stayed));
        var (vx, vy) = ((b.X - a.X) / seconds, (b.Y - a.Y) / seconds);
        if (vx == 0 && vy == 0)
        {
            return null;
        }

        var tau = policy.HeadingPersistence.TotalSeconds;
        var slot = policy.Slot.TotalSeconds;
        var path = new List<((double X, double Y) Point, double Weight)>(steps.StepCount);
        for (var k = 0; k < steps.StepCount; k++)
        {
            // The middle of step k; the tail (the last step) at its discounted mean, 1 / (1 - gamma) slots further.
            var gamma = policy.Cost.Gamma;
            var t = (k < steps.StepCount - 1 ? k + 0.5 : k + (gamma < 1 ? 1 / (1 - gamma) : 10)) * slot;
            var reach = tau * (1 - Math.Exp(-t / tau));
            var weight = steps.StepMass(k);

            path.Add(((b.X + (vx * reach), b.Y + (vy * reach)), weight));
        }

        return path;
    }

    /// <summary>
    /// This user's pace against the crowd's (<see cref="PolicyConfig.UserPace"/>): the time it took to cross the cell
    /// it came from over the learned mean dwell there (shrunk toward the prior as the forecast does), clamped to
    /// 1/4..4; 1 when off, without an earlier cell, or with too little learned there.
    /// </summary>
    private static double Pace(McConfig config, PolicyFacts facts, UeState s, EnbId enb, TimeSpan at)
    {
        var policy = config.Policy;
        if (!policy.UserPace)
        {
            return 1;
        }

        // With a handover prepared the user is judged from the target, so the cell it is crossing now is the earlier one.
        var (from, arrived, left) = enb == s.ServingEnb ? (s.PreviousEnb, s.PreviousSince, s.ServingSince) : (s.ServingEnb, s.ServingSince, at);
        var crossed = (left - arrived).TotalSeconds;
        if (from is not { } prev || prev == enb || !(crossed > 0))
        {
            return 1;
        }

        var learned = facts.Mobility.At(prev, at, policy.MinDepartures);
        if (learned.Departures < policy.MinDepartures)
        {
            return 1;
        }

        var k0 = policy.MinDepartures;
        var mean = (learned.DwellSeconds + (policy.PriorDwell.TotalSeconds * k0)) / (learned.Departures + k0);
        return Math.Clamp(crossed / mean, 0.25, 4);
    }

    /// <summary>Holding back: look again ReviewAfter x 1, 2, 4, 8, 16 after <paramref name="since"/> (null once past).</summary>
    private static TimeSpan? ReviewAt(PolicyConfig policy, TimeSpan since, TimeSpan at)
    {
        if (policy.Plan == PredictivePlan.Smdp)
        {
            return SmdpReviewAt(policy, since, at);
        }

        for (var step = policy.ReviewAfter; step <= policy.ReviewAfter * 16; step += step)
        {
            if (since + step > at)
            {
                return since + step;
            }
        }

        return null;
    }

    /// <summary>The user's cell, then the two cells (other than it) with the most forecast weight, ties by id.</summary>
    private static IEnumerable<EnbId> Likeliest(ForecastStates weights, EnbId first)
    {
        yield return first;
        (EnbId Cell, double W)? a = null, b = null;
        for (var i = 0; i < weights.Count; i++)
        {
            var (cell, w) = (weights.Key(i).Cell, weights.Value(i));
            if (cell == first)
            {
                continue;
            }

            if (a is not { } x || w > x.W || (w == x.W && cell.Value < x.Cell.Value))
            {
                (a, b) = ((cell, w), a);
            }
            else if (b is not { } y || w > y.W || (w == y.W && cell.Value < y.Cell.Value))
            {
                b = (cell, w);
            }
        }

        if (a is { } top)
        {
            yield return top.Cell;
        }

        if (b is { } second)
        {
            yield return second.Cell;
        }
    }

    /// <summary>
    /// The discounted expected slots the user spends at each (cell, extra rings) from now: sum over slots k of gamma^k
    /// times the chance of being there at slot k, with the tail after the last step held where it is.
    /// </summary>
    private static UserForecast Forecast(McConfig config, PolicyFacts facts, EnbId start, TimeSpan elapsed, TimeSpan at, double pace = 1)
    {
        var policy = config.Policy;
        var gamma = policy.Cost.Gamma;
        var slot = policy.Slot.TotalSeconds;
        var prior = policy.PriorDwell.TotalSeconds;
        var k0 = policy.MinDepartures;
        // Slots followed one by one until gamma^k < 1/2 (7 slots at 0.9); the tail after them stays where it was last
        // forecast (a cheap forecast: this runs on every event of a UE whose PVM is away).
        var steps0 = gamma <= 0 ? 1 : Math.Clamp((int)Math.Ceiling(Math.Log(0.5) / Math.Log(gamma)), 1, 30);
        // Every state a step holds is one of at most ForecastWidth after pruning (the first holds the start alone).
        var forecast = new UserForecast(new ForecastStates(2 * ForecastWidth), 1 + (ForecastWidth * steps0), steps0 + 1);
        var weights = forecast.Weights;
        var known = new (EnbId Cell, EnbMobility Learned)[2 * ForecastWidth];
        var knownCount = 0;
        var now = new ForecastStates(ForecastWidth);
        var next = new ForecastStates(4 * ForecastWidth);
        now.Accumulate((start, 0), 1);
        var discount = 1.0;
        for (var k = 0; ; k++)
        {
            for (var i = 0; i < now.Count; i++)
            {
                weights.Accumulate(now.Key(i), discount * now.Value(i));
                forecast.AddToStep(now.Key(i), discount * now.Value(i));
            }

            forecast.EndStep();
            if (k == steps0 - 1)
            {
                break;
            }

            next.Clear();
            for (var i = 0; i < now.Count; i++)
            {
                var ((cell, extra), p) = (now.Key(i), now.Value(i));
                EnbMobility? learned = null;
                for (var j = 0; j < knownCount && learned is null; j++)
                {
                    learned = known[j].Cell == cell ? known[j].Learned : null;
                }

                if (learned is null)
                {
                    learned = facts.Mobility.At(cell, at, policy.MinDepartures);
                    if (knownCount == known.Length)
                    {
                        Array.Resize(ref known, 2 * known.Length);
                    }

                    known[knownCount++] = (cell, learned);
                }

                var dwell = pace * (learned.DwellSeconds + (prior * k0)) / (learned.Departures + k0);
                if (cell == start && extra == 0)
                {
                    // Long stays are heavy-tailed: a user that stayed e is expected to stay e more on top of the mean.
                    dwell += Math.Max(0, elapsed.TotalSeconds);
                }

                var leave = 1 - Math.Exp(-slot / dwell);
                next.AddPositive((cell, extra), p * (1 - leave));
                if (learned.Departures == 0)
                {
                    next.AddPositive((cell, Math.Min(extra + 1, policy.MaxDistance)), p * leave);
                    continue;
                }

                foreach (var (to, count) in learned.Next)
                {
                    next.AddPositive((to, extra), p * leave * count / learned.Departures);
                }
            }

            next.Prune(ForecastWidth);
            (now, next) = (next, now);
            discount *= gamma;
        }

        // The tail beyond the last step, where the user was last forecast.
        var tail = gamma <= 0 ? 0 : discount * gamma / (1 - gamma);
        for (var i = 0; i < now.Count; i++)
        {
            weights.Accumulate(now.Key(i), tail * now.Value(i));
            forecast.AddToStep(now.Key(i), tail * now.Value(i));
        }

        forecast.EndStep();
        weights.Prune(2 * ForecastWidth);
        return forecast;
    }

    /// <summary>
    /// Predictive's forecast: <see cref="Weights"/> the discounted expected slots at each (cell, extra rings) from now;
    /// the same per slot in steps (step k covers [k, k + 1) slots from now; the last one is the tail), one flat array.
    /// </summary>
    private sealed class UserForecast(ForecastStates weights, int capacity, int steps)
    {
        private readonly (EnbId Cell, int Extra)[] _keys = new (EnbId, int)[capacity];
        private readonly double[] _values = new double[capacity];

        // Where each step's states end in _keys and _values.
        private readonly int[] _ends = new int[steps];
        private int _count;

        public ForecastStates Weights { get; } = weights;

        public int StepCount { get; private set; }

        /// <summary>The states of the step being built (each at most once per step).</summary>
        public void AddToStep((EnbId Cell, int Extra) key, double w) => (_keys[_count], _values[_count++]) = (key, w);

        public void EndStep() => _ends[StepCount++] = _count;

        /// <summary>The sum of step k's weights, in the order its states were added.</summary>
        public double StepMass(int k)
        {
            var mass = 0.0;
            for (var i = k == 0 ? 0 : _ends[k - 1]; i < _ends[k]; i++)
            {
                mass += _values[i];
            }

            return mass;
        }

        /// <summary>The weights from <paramref name="slots"/> slots from now on (a step cut in proportion).</summary>
        public ForecastStates After(double slots)
        {
            var after = new ForecastStates(Weights.Count + ForecastWidth);
            for (var k = 0; k < StepCount; k++)
            {
                // The tail (the last step) lies wholly after any transfer the deadline admits.
                var late = k == StepCount - 1 ? 1 : Math.Clamp(k + 1 - slots, 0, 1);
                for (var i = k == 0 ? 0 : _ends[k - 1]; i < _ends[k]; i++)
                {
                    after.AddPositive(_keys[i], _values[i] * late);
                }
            }

            return after;
        }
    }
}
