using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// Predictive's trajectory plan (<see cref="PolicyConfig.Trajectory"/>): a user whose recent handovers hold a steady
/// heading (<see cref="PolicyConfig.TrajectoryMinSteps"/> of them in a row) is extrapolated along it at its own pace, and ONE migration is planned on that path: to the site, at the
/// slot, that minimises the discounted Wang cost along it. The MDP and the learned chain model a user as a walk that
/// forgets where it came from, so they follow a straight walker after every handover, late; the plan moves the PVM
/// once, ahead, to where the user is going to be.
/// </summary>
public static partial class MigrationPolicies
{
    /// <summary>
    /// Where a user on a steady heading is going: from where it is now (<see cref="Origin"/>) along
    /// <see cref="Velocity"/> (position units per second).
    /// </summary>
    internal readonly record struct UserTrajectory((double X, double Y) Origin, (double X, double Y) Velocity)
    {
        /// <summary>The cell the user is judged at, the one before it, and how long it took to cross that one (<see cref="PathPoints"/>).</summary>
        public (EnbId Cell, EnbId Previous, double CrossingSeconds) Path { get; init; }

        /// <summary>Trusted because the learned statistics say headings like the user's hold (not by the fixed gate): the straight line is then kept.</summary>
        public bool HeadingLearned { get; init; }
    }

    /// <summary>
    /// The heading of the last two handovers (earlier -> previous -> the cell <paramref name="enb"/> the user is judged
    /// at; with a handover prepared the serving cell is the previous one), when it is steady: three distinct placed cells,
    /// the second step turning at most <see cref="PolicyConfig.TrajectoryMaxTurn"/> from the first. The pace is the
    /// user's own: the handovers into and out of the previous cell lie about half a step either side of its centre, so
    /// it covered half the distance from the earlier cell to this one in the time it stayed in the previous cell
    /// (or longer, if it has already stayed longer here). Null: no steady heading (too short a history, a turn, a
    /// ping-pong, a cell without a position), and predictive falls back to the MDP and the forecast.
    /// </summary>
    internal static UserTrajectory? TrajectoryOf(PolicyConfig policy, CellGeometry cells, PolicyFacts facts, UeState s, EnbId enb, TimeSpan since, TimeSpan at)
    {
        if (!policy.Trajectory)
        {
            return null;
        }

        var judgedAtServing = enb == s.ServingEnb;
        var (previous, earlier, previousSince, steady) = judgedAtServing
            ? (s.PreviousEnb, s.EarlierEnb, s.PreviousSince, s.HeadingSteps)
            : (s.ServingEnb, s.PreviousEnb, s.ServingSince, SteadyAfter(policy, cells, s, enb));
        if (Trusted(policy, facts, cells, s, enb, judgedAtServing, steady) is not { } learned || previous is not { } p1 || earlier is not { } p0
            || cells.PositionOf(p0) is not { } a || cells.PositionOf(p1) is not { } b || cells.PositionOf(enb) is not { } c)
        {
            return null;
        }

        var crossing = (since - previousSince).TotalSeconds;
        if (!(crossing > 0))
        {
            return null;
        }

        // It entered this cell about where the two cells meet, and has gone on since at its pace.
        var stayed = Math.Max(0, (at - since).TotalSeconds);
        var seconds = Math.Max(crossing, stayed);
        var (vx, vy) = ((c.X - a.X) / 2 / seconds, (c.Y - a.Y) / 2 / seconds);
        return new UserTrajectory((((b.X + c.X) / 2) + (vx * stayed), ((b.Y + c.Y) / 2) + (vy * stayed)), (vx, vy)) { Path = (enb, p1, crossing), HeadingLearned = learned };
    }

    /// <summary>
    /// Whether the heading is trusted. Where the learned statistics (<see cref="HeadingStats"/>) know the user's kind of
    /// history (at least <see cref="PolicyConfig.TrajectoryMinSeen"/> next handovers seen after it) and the heading
    /// pointed at the next cell in at least <see cref="PolicyConfig.TrajectoryTrust"/> of them: yes, however short the
    /// history; in fewer than <see cref="PolicyConfig.TrajectoryDistrust"/>: no. In between, and before enough is
    /// learned, the fixed gate (<see cref="PolicyConfig.TrajectoryMinSteps"/> turns of at most
    /// <see cref="PolicyConfig.TrajectoryMaxTurn"/>) decides.
    /// </summary>
    /// <returns>Null: not trusted; true: trusted by the learned statistics; false: by the fixed gate.</returns>
    private static bool? Trusted(PolicyConfig policy, PolicyFacts facts, CellGeometry cells, UeState s, EnbId enb, bool judgedAtServing, int steady)
    {
        if (policy.TrajectoryTrust > 0 && policy.Learn)
        {
            var turns = judgedAtServing || s.ServingEnb is not { } serving
                ? s.RecentTurns
                : HeadingStats.Push(s.RecentTurns, TurnDegrees(cells, ChordStart(s), serving, enb));
            if (facts.Mobility.Headings.Trust(turns, policy.TrajectoryMinSeen) is { } trust && (trust >= policy.TrajectoryTrust || trust < policy.TrajectoryDistrust))
            {
                return trust >= policy.TrajectoryTrust ? true : null;
            }
        }

        return steady >= policy.TrajectoryMinSteps ? false : null;
    }

    /// <summary>
    /// <see cref="UeState.HeadingSteps"/> after a handover to <paramref name="target"/>: one more than before if the step
    /// from the serving cell to the target turns at most <see cref="PolicyConfig.TrajectoryMaxTurn"/> from the step
    /// into the serving cell, else 0 (also without cell positions: then no policy uses it).
    /// </summary>
    public static int HeadingStepsAfter(McConfig config, UeState s, EnbId target) =>
        config.Cells is { } cells ? SteadyAfter(config.Policy, cells, s, target) : 0;

    /// <summary><see cref="UeState.RecentTurns"/> after a handover to <paramref name="target"/>: the turn it makes pushed as the newest.</summary>
    public static ulong RecentTurnsAfter(McConfig config, UeState s, EnbId target) =>
        config.Cells is { } cells && s.ServingEnb is { } serving
            ? HeadingStats.Push(s.RecentTurns, TurnDegrees(cells, ChordStart(s), serving, target))
            : 0;

    /// <summary>
    /// Where the heading a handover is judged against starts: two cells back (the trajectory's own heading: on a
    /// regular grid a straight walk zig-zags from cell to cell, and the two-step chord is its direction), else one.
    /// </summary>
    internal static EnbId? ChordStart(UeState s) => s.EarlierEnb ?? s.PreviousEnb;

    /// <summary>
    /// The turn (whole degrees, 0..180) from the step <paramref name="earlier"/> -> <paramref name="from"/> to the step
    /// <paramref name="from"/> -> <paramref name="to"/>: 180 for a ping-pong; null without an earlier cell, a step, or positions.
    /// </summary>
    internal static int? TurnDegrees(CellGeometry cells, EnbId? earlier, EnbId from, EnbId to)
    {
        if (earlier is not { } p0 || p0 == from || from == to
            || cells.PositionOf(p0) is not { } a || cells.PositionOf(from) is not { } b || cells.PositionOf(to) is not { } c)
        {
            return null;
        }

        var (d1x, d1y) = (b.X - a.X, b.Y - a.Y);
        var (d2x, d2y) = (c.X - b.X, c.Y - b.Y);
        var norms = Math.Sqrt((d1x * d1x) + (d1y * d1y)) * Math.Sqrt((d2x * d2x) + (d2y * d2y));
        if (!(norms > 0))
        {
            return null;
        }

        var cos = Math.Clamp(((d1x * d2x) + (d1y * d2y)) / norms, -1, 1);
        return (int)Math.Round(Math.Acos(cos) * 180 / Math.PI);
    }

    private static int SteadyAfter(PolicyConfig policy, CellGeometry cells, UeState s, EnbId target)
    {
        if (s.ServingEnb is not { } p1 || s.PreviousEnb is not { } p0 || p0 == p1 || p1 == target || p0 == target
            || cells.PositionOf(p0) is not { } a || cells.PositionOf(p1) is not { } b || cells.PositionOf(target) is not { } c)
        {
            return 0;
        }

        var (d1x, d1y) = (b.X - a.X, b.Y - a.Y);
        var (d2x, d2y) = (c.X - b.X, c.Y - b.Y);
        var norms = Math.Sqrt((d1x * d1x) + (d1y * d1y)) * Math.Sqrt((d2x * d2x) + (d2y * d2y));
        if (!(norms > 0))
        {
            return 0;
        }

        var cos = ((d1x * d2x) + (d1y * d2y)) / norms;
        return cos >= Math.Cos(policy.TrajectoryMaxTurn * Math.PI / 180) - 1e-12 ? Math.Min(s.HeadingSteps + 1, 1000) : 0;
    }

    /// <summary>
    /// The user's point in the middle of each of the forecast's slots from now, the path bending away from the heading
    /// as e^(-t / <see cref="PolicyConfig.HeadingPersistence"/>) (a heading is not kept for ever).
    /// </summary>
    internal static (double X, double Y)[] TrajectoryPoints(PolicyConfig policy, UserTrajectory trajectory)
    {
        var steps = TrajectorySteps(policy);
        var tau = policy.HeadingPersistence.TotalSeconds;
        var slot = policy.Slot.TotalSeconds;
        var points = new (double X, double Y)[steps];
        for (var k = 0; k < steps; k++)
        {
            var reach = tau * (1 - Math.Exp(-(k + 0.5) * slot / tau));
            points[k] = (trajectory.Origin.X + (trajectory.Velocity.X * reach), trajectory.Origin.Y + (trajectory.Velocity.Y * reach));
        }

        return points;
    }

    /// <summary>
    /// The user's cell in the middle of each of the forecast's slots from now along the learned road
    /// (<see cref="MobilityStats.LikelyNext"/>): it leaves its own cell after the median time the learned dwells say is
    /// left after the time it has spent there (<see cref="PolicyConfig.DwellHazard"/>), or, without them, after the pace
    /// less that time; each later cell after the pace, the longer of the cell's learned mean dwell and the time it took
    /// to cross its previous cell (a corner clipped in seconds would otherwise send it racing ahead). Where nothing has left
    /// a cell yet the path ends there. Null without a pace or before anything has left the user's cell (nothing learned
    /// yet): the straight line stands.
    /// </summary>
    internal static (double X, double Y)[]? PathPoints(PolicyConfig policy, CellGeometry cells, PolicyFacts facts, UserTrajectory trajectory, TimeSpan since, TimeSpan at)
    {
        var (cell, previous, crossing) = trajectory.Path;
        var dwell = facts.Mobility.At(cell, at, policy.MinDepartures).MeanDwell?.TotalSeconds ?? 0;
        var pace = Math.Max(dwell, crossing);
        if (!(pace > 0) || cells.PositionOf(cell) is not { } here || facts.Mobility.LikelyNext(previous, cell, at, policy.MinDepartures) is null)
        {
            return null;
        }

        var steps = TrajectorySteps(policy);
        var slot = policy.Slot.TotalSeconds;
        // When it leaves this cell: the median of what the learned dwells say is left after the time it has spent
        // here (taxis that have waited long wait longer); else its pace less that time.
        var remaining = policy.DwellHazard && facts.Mobility.Dwells.MedianRemaining(cell, at - since, policy.MinDepartures, policy.Slot * steps) is { } median
            ? median.TotalSeconds
            : Math.Max(0, pace - Math.Max(0, (at - since).TotalSeconds));
        var points = new (double X, double Y)[steps];
        var (from, to, position, walked) = (previous, cell, here, 0);
        for (var k = 0; k < steps; k++)
        {
            var ahead = (k + 0.5) * slot;
            var handovers = ahead < remaining ? 0 : 1 + (int)Math.Min(steps * 10, Math.Floor((ahead - remaining) / pace));
            while (walked < handovers && facts.Mobility.LikelyNext(from, to, at, policy.MinDepartures) is { } next && cells.PositionOf(next) is { } p)
            {
                (from, to, position, walked) = (to, next, p, walked + 1);
            }

            // A dead end (nothing learned beyond it) holds the path there.
            walked = handovers;
            points[k] = position;
        }

        return points;
    }

    // The forecast's horizon: slots while gamma^k >= 1/2 (7 at 0.9). Beyond it the plan is made again.
    private static int TrajectorySteps(PolicyConfig policy) =>
        policy.Cost.Gamma <= 0 ? 1 : Math.Clamp((int)Math.Ceiling(Math.Log(0.5) / Math.Log(policy.Cost.Gamma)), 1, 30);

    /// <summary>
    /// The one-migration plan on the path: for each candidate site c (the site nearest to each point of the path and to
    /// the user's cell) and each slot j of the horizon, the discounted cost of serving from here until slot j, moving
    /// to c then (migration cost x the route's load factor), and serving from c after the transfer lands; against
    /// never moving. A move now (j = 0) that wins, and is admitted, is made; a later one wins: hold and look again at its
    /// slot; never wins: stay. Staying wins ties.
    /// </summary>
    private static PolicyVerdict TrajectoryPlan(McConfig config, CellGeometry cells, PolicyFacts facts, UserTrajectory trajectory, EnbId enb, SiteId here, TimeSpan since, TimeSpan at, TimeSpan? reviewAt, UeState s)
    {
        var policy = config.Policy;
        var cost = policy.Cost;
        var q = facts.LoadRatio;
        // Where the learned statistics vouch for the heading (bench's walkers) the straight line is right; where only
        // the fixed gate does (San Francisco's taxis, right 53-62 %), the learned road is the better guess.
        var points = (policy.TrajectoryPath && !trajectory.HeadingLearned ? PathPoints(policy, cells, facts, trajectory, since, at) : null) ?? TrajectoryPoints(policy, trajectory);
        var steps = points.Length;
        var movable = Movable(config, facts, here);

        var candidates = new List<SiteId>();
        void AddNearest(Func<SiteId, int> rings)
        {
            SiteId? nearest = null;
            var nearestRings = int.MaxValue;
            foreach (var site in movable)
            {
                var r = rings(site);
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

        AddNearest(site => UserRings(config, cells, enb, site));
        foreach (var point in points)
        {
            AddNearest(site => cells.Rings(point, site) ?? int.MaxValue);
        }

        // The backhaul round trip between where the user is served at each point (the placed site nearest it) and the
        // PVM, priced as the forecast prices it (LatencyWeight): the ring cost does not see the transport network.
        var latency = policy.LatencyWeight * 2 / (1 - Math.Clamp(q, 0, 0.99));
        var servedAt = latency > 0 ? Array.ConvertAll(points, p => cells.NearestSite(p, config.CoreSite)) : null;
        double Latency(int k, SiteId pvm) => servedAt?[k] is { } site ? latency * config.DelayMs(site, pvm) : 0;

        var discount = new double[steps];
        var stay = new double[steps];
        var never = 0.0;
        for (var k = 0; k < steps; k++)
        {
            discount[k] = k == 0 ? 1 : discount[k - 1] * cost.Gamma;
            stay[k] = cost.TransmissionCost(cells.Rings(points[k], here) ?? policy.MaxDistance, q) + Latency(k, here);
            never += discount[k] * stay[k];
        }

        var best = here;
        var bestCost = never;
        var bestSlot = -1;
        var served = new double[steps];
        foreach (var c in candidates)
        {
            var seconds = ExpectedMigrationSeconds(config, facts, here, c);
            if (!FinishesInTime(config, seconds))
            {
                continue;
            }

            var onWire = (seconds ?? 0) / policy.Slot.TotalSeconds;
            var move = cost.MigrationCost(SiteRings(config, cells, here, c), q) * LoadFactor(config, facts, here, c);
            // A move that misses its user (MoveOutcomeStats) pays the migration and is served as if it had stayed.
            var met = MoveOutcomeStats.Weight(config, facts, s, c);
            for (var k = 0; k < steps; k++)
            {
                served[k] = cost.TransmissionCost(cells.Rings(points[k], c) ?? policy.MaxDistance, q) + Latency(k, c);
            }

            // Cost of moving at slot j: here before j, the migration at j, and from j on the transfer's share of each
            // slot still served from here.
            var before = 0.0;
            for (var j = 0; j < steps; j++)
            {
                var total = before + (discount[j] * move);
                for (var k = j; k < steps; k++)
                {
                    var late = Math.Clamp(k - j + 1 - onWire, 0, 1);
                    total += discount[k] * ((late * served[k]) + ((1 - late) * stay[k]));
                }

                total = (met * total) + ((1 - met) * (never + (discount[j] * move)));

                if (total < bestCost - 1e-9)
                {
                    (best, bestCost, bestSlot) = (c, total, j);
                }

                before += discount[j] * stay[j];
            }
        }

        if (bestSlot == 0)
        {
            return new PolicyVerdict(best, never - bestCost);
        }

        if (bestSlot > 0)
        {
            // The move pays later on the path (the user is not there yet): look again when it would be due.
            var due = at + (policy.Slot * bestSlot);
            return new PolicyVerdict(here, 0, reviewAt is { } r && r < due ? r : due);
        }

        return new PolicyVerdict(here, 0, reviewAt);
    }
}
