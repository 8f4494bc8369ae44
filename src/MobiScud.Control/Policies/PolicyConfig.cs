namespace MobiScud.Control.Policies;

/// <summary>How a <see cref="Strategy.MobiScud"/> MC decides whether, when and where a PVM follows its user.</summary>
public enum PolicyKind
{
    /// <summary>Follow on every inter-site handover (the paper's MobiScud; the default).</summary>
    Always,

    /// <summary>Stay where first placed (like static edge); only a drain or a pin moves the PVM.</summary>
    Never,

    /// <summary>Move to the site that minimises the next slot's cost (migration plus transmission, Wang et al.'s model).</summary>
    Myopic,

    /// <summary>Follow only once the UE has stayed at the new site for <see cref="PolicyConfig.Dwell"/>, or after <see cref="PolicyConfig.HandoversAway"/> handovers away.</summary>
    Hysteresis,

    /// <summary>Wang et al.'s distance-based MDP, solved by value iteration: migrate when the user-to-PVM distance reaches a threshold.</summary>
    MdpThreshold,

    /// <summary>Ours: learned dwell and transitions weigh latency saved against migration cost; picks the target; pre-copies at handover preparation.</summary>
    Predictive,
}

/// <summary>What predictive's base decision in rings is solved on (<see cref="PolicyConfig.Plan"/>).</summary>
public enum PredictivePlan
{
    /// <summary>Wang et al.'s 1-D distance chain (<see cref="MdpThresholdSolver"/>), move probability learned per cell.</summary>
    Mdp,

    /// <summary>The (user cell, PVM site) MDP on the learned per-cell slot chain (<see cref="CellChain"/>).</summary>
    Mdp2d,

    /// <summary>As <see cref="Mdp2d"/>, the user's state also holding the cell it came from (a second-order chain, shrunk toward the first).</summary>
    Mdp2dPath,

    /// <summary>
    /// A semi-Markov decision process embedded at handovers over ((cell before, cell), site), priced with the learned
    /// stays (<see cref="HandoverSmdp"/>); decides at handovers and at reviews every <see cref="PolicyConfig.PlanReview"/>
    /// since the user arrived in its cell.
    /// </summary>
    Smdp,
}

/// <summary>
/// The migration policy and its parameters (<see cref="McConfig.Policy"/>). Scenario YAML and service configuration
/// name kinds as <c>always</c>, <c>never</c>, <c>myopic</c>, <c>hysteresis</c>, <c>mdp-threshold</c>, <c>predictive</c>
/// (<see cref="Parse"/>, <see cref="NameOf"/>).
/// </summary>
public sealed record PolicyConfig
{
    private readonly TimeSpan _slot = TimeSpan.FromSeconds(60);
    private readonly TimeSpan _dwell = TimeSpan.FromSeconds(30);
    private readonly int _handoversAway = 3;
    private readonly int _maxDistance = 20;
    private readonly double _moveProbability = 0.3;
    private readonly TimeSpan _priorDwell = TimeSpan.FromSeconds(120);
    private readonly int _minDepartures = 5;
    private readonly TimeSpan _reviewAfter = TimeSpan.FromSeconds(30);
    private readonly double _linkLoadWeight = 1;
    private readonly double _latencyWeight = 0.0275;
    private readonly double _migrationBytes;
    private readonly double _migrationBytesPerSecond;
    private readonly double _deadlineShare = 0.5;
    private readonly double _headingWeight = 0.5;
    private readonly int _minRingGain;
    private readonly TimeSpan _headingPersistence = TimeSpan.FromMinutes(10);
    private readonly double _trajectoryMaxTurn = 45;
    private readonly double _trajectoryTrust = 0.65;
    private readonly double _trajectoryDistrust = 0.5;
    private readonly int _trajectoryMinSeen = 200;
    private readonly TimeSpan _quickCrossing = TimeSpan.FromSeconds(60);
    private readonly double _quickCrossingShare = 0.5;
    private readonly double _quickCrossingBar = 1.5;
    private readonly int _trajectoryMinSteps = 3;

    public static PolicyConfig Default { get; } = new();

    public PolicyKind Kind { get; init; } = PolicyKind.Always;

    /// <summary>The cost model that myopic, mdp-threshold and predictive minimise (and the simulator scores).</summary>
    public WangCostModel Cost { get; init; } = WangCostModel.Default;

    /// <summary>The slot of the cost model (60 s in Wang et al.'s trace evaluation).</summary>
    public TimeSpan Slot { get => _slot; init => _slot = Positive(value, nameof(Slot)); }

    /// <summary>Hysteresis: how long the UE must stay at a site before its PVM follows.</summary>
    public TimeSpan Dwell { get => _dwell; init => _dwell = Positive(value, nameof(Dwell)); }

    /// <summary>Hysteresis: follow anyway after this many handovers away from the PVM's site (a UE that keeps moving).</summary>
    public int HandoversAway { get => _handoversAway; init => _handoversAway = AtLeast(value, 1, nameof(HandoversAway)); }

    /// <summary>MDP: the largest user-to-PVM distance (hops) the chain models; at this distance the MDP must migrate (as in Wang et al.'s code).</summary>
    public int MaxDistance { get => _maxDistance; init => _maxDistance = AtLeast(value, 2, nameof(MaxDistance)); }

    /// <summary>MDP: the chance per slot that a UE changes site when nothing was learned yet (1 - P2D(1,1) in Wang et al.).</summary>
    public double MoveProbability
    {
        get => _moveProbability;
        init => _moveProbability = value is > 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MoveProbability), value, "MoveProbability must be in (0, 1]");
    }

    /// <summary>MDP and predictive: learn the move probability and dwell from <see cref="PolicyFacts.Mobility"/> when it holds enough.</summary>
    public bool Learn { get; init; } = true;

    /// <summary>Predictive: the dwell assumed at an eNB before anything was learned about it.</summary>
    public TimeSpan PriorDwell { get => _priorDwell; init => _priorDwell = Positive(value, nameof(PriorDwell)); }

    /// <summary>Predictive: departures seen at an eNB (in an hour of the day) before its own figures replace the coarser ones.</summary>
    public int MinDepartures { get => _minDepartures; init => _minDepartures = AtLeast(value, 1, nameof(MinDepartures)); }

    /// <summary>Predictive: a UE that stays beyond this is looked at again (its dwell so far is evidence it will stay).</summary>
    public TimeSpan ReviewAfter { get => _reviewAfter; init => _reviewAfter = Positive(value, nameof(ReviewAfter)); }

    /// <summary>Predictive: how strongly load on the route's links raises a migration's cost (cost x (1 + w x utilisation / (1 - utilisation))).</summary>
    public double LinkLoadWeight
    {
        get => _linkLoadWeight;
        init => _linkLoadWeight = value >= 0 && !double.IsInfinity(value) ? value : throw new ArgumentOutOfRangeException(nameof(LinkLoadWeight), value, "LinkLoadWeight must be finite and not negative");
    }

    /// <summary>
    /// Predictive with <see cref="McConfig.Cells"/>: cost per slot of each millisecond of round trip the backhaul adds
    /// between the user's serving site and the PVM's (<see cref="McConfig.DelayMs"/>), scaled by the load as the
    /// transmission cost is. The cell distance of the cost model does not see the transport network; this is what
    /// following is worth on it; the trajectory plan prices it the same way, from the site nearest each point of the
    /// path. 0: decide on the cell distance alone. 0.0275 by default (with <see cref="MoveOutcomes"/>; docs/policies.md).
    /// </summary>
    public double LatencyWeight
    {
        get => _latencyWeight;
        init => _latencyWeight = value >= 0 && !double.IsInfinity(value) ? value : throw new ArgumentOutOfRangeException(nameof(LatencyWeight), value, "LatencyWeight must be finite and not negative");
    }

    /// <summary>
    /// Predictive: the bytes one migration is expected to put on the wire (guest memory plus a round of its dirty
    /// working set). With it and <see cref="McConfig.MigrationDeadline"/>, predictive starts only moves expected to
    /// finish within <see cref="DeadlineShare"/> of the deadline at the share of the route they would get, and counts
    /// the transfer time as time the user is still served from where the PVM is. 0: unknown, no admission.
    /// </summary>
    public double MigrationBytes
    {
        get => _migrationBytes;
        init => _migrationBytes = value >= 0 && !double.IsInfinity(value) ? value : throw new ArgumentOutOfRangeException(nameof(MigrationBytes), value, "MigrationBytes must be finite and not negative");
    }

    /// <summary>Predictive: the rate cap of one migration in bytes per second (QEMU max-bandwidth); 0: only the links limit it.</summary>
    public double MigrationBytesPerSecond
    {
        get => _migrationBytesPerSecond;
        init => _migrationBytesPerSecond = value >= 0 && !double.IsInfinity(value) ? value : throw new ArgumentOutOfRangeException(nameof(MigrationBytesPerSecond), value, "MigrationBytesPerSecond must be finite and not negative");
    }

    /// <summary>
    /// Predictive: a move is started only if expected to finish within this share of the migration deadline (the rest
    /// is margin for migrations that start after it on the same links and for user traffic that grows).
    /// </summary>
    public double DeadlineShare
    {
        get => _deadlineShare;
        init => _deadlineShare = value is > 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(DeadlineShare), value, "DeadlineShare must be in (0, 1]");
    }

    /// <summary>
    /// Predictive with <see cref="McConfig.Cells"/>: the weight in [0, 1] of the user's heading in the forecast. The
    /// learned handovers say where users of a cell go on average, whichever way they came; the heading (from the last
    /// handover's source cell to the serving cell, at the speed it crossed it) says where this user is going. The
    /// forecast is the mix, the heading with this weight. 0: the learned handovers alone.
    /// </summary>
    public double HeadingWeight
    {
        get => _headingWeight;
        init => _headingWeight = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(HeadingWeight), value, "HeadingWeight must be in [0, 1]");
    }

    /// <summary>Predictive: how long a heading is assumed to hold (the user's path bends away from it as e^(-t / this)).</summary>
    public TimeSpan HeadingPersistence { get => _headingPersistence; init => _headingPersistence = Positive(value, nameof(HeadingPersistence)); }

    /// <summary>
    /// Predictive with <see cref="McConfig.Cells"/>: decide on the MDP's value function (Wang et al.'s score of each
    /// site, as mdp-threshold), with predictive's admission, congestion cost and pre-copy on top, instead of the
    /// learned forecast alone. False: the forecast decides (docs/policies.md records both).
    /// </summary>
    public bool MdpBase { get; init; } = true;

    /// <summary>
    /// Predictive on the MDP (<see cref="MdpBase"/>, with <see cref="McConfig.Cells"/>): which MDP. <see cref="PredictivePlan.Mdp2d"/>
    /// solves the (user cell, site) problem on the chain learned per cell (docs/policies.md, "A learned 2-D MDP").
    /// </summary>
    public PredictivePlan Plan { get; init; } = PredictivePlan.Mdp;

    /// <summary>With <see cref="PredictivePlan.Mdp2d"/>: re-solve at most this often (in the host's time), when something new was learned.</summary>
    public TimeSpan PlanResolve { get => _planResolve; init => _planResolve = Positive(value, nameof(PlanResolve)); }

    private readonly TimeSpan _planResolve = TimeSpan.FromMinutes(5);

    /// <summary>With <see cref="PredictivePlan.Smdp"/>: a user still in its cell is decided again this long after it arrived, and every such step.</summary>
    public TimeSpan PlanReview { get => _planReview; init => _planReview = Positive(value, nameof(PlanReview)); }

    private readonly TimeSpan _planReview = TimeSpan.FromSeconds(60);

    /// <summary>With <see cref="PredictivePlan.Smdp"/>: the last review's age in the cell (reviews at PlanReview x 1, 2, ... up to it).</summary>
    public TimeSpan PlanReviewCap { get => _planReviewCap; init => _planReviewCap = Positive(value, nameof(PlanReviewCap)); }

    private readonly TimeSpan _planReviewCap = TimeSpan.FromSeconds(300);

    /// <summary>With <see cref="PredictivePlan.Smdp"/>: the discount per slot (0.95 was the best offline, docs/policies.md).</summary>
    public double PlanGamma
    {
        get => _planGamma;
        init => _planGamma = value is > 0 and < 1 ? value : throw new ArgumentOutOfRangeException(nameof(PlanGamma), value, "PlanGamma must be in (0, 1)");
    }

    private readonly double _planGamma = 0.95;

    /// <summary>
    /// With <see cref="PredictivePlan.Mdp2d"/>: the user's next slot follows where users that came the same way went
    /// (second order, shrunk toward the first-order row), then the first-order solution's values.
    /// </summary>
    public bool PlanSecondOrder { get; init; }

    /// <summary>
    /// Predictive on the MDP: a move the MDP picks is made only if the learned forecast (where users of this cell go,
    /// and the user's heading) also expects it to pay back; else the PVM stays and looks again later.
    /// </summary>
    public bool ForecastVeto { get; init; } = true;

    /// <summary>
    /// Predictive's forecast: scale the learned dwell of every cell by this user's own pace, the time it took to cross
    /// the cell it came from over the learned mean dwell there (clamped to 1/4..4). The learned chain says where users
    /// of a cell go; a user's pace says how soon this one gets there: a slow user stays long enough to be worth
    /// following, a fast one leaves before a move pays.
    /// </summary>
    public bool UserPace { get; init; } = true;

    /// <summary>
    /// Predictive with <see cref="McConfig.Cells"/>: a move must bring the PVM at least this many rings nearer the
    /// user's cell (0: any move the cost favours, also one toward where the user is going). Fewer, longer moves: fewer
    /// bytes on the wire for the same distance covered.
    /// </summary>
    public int MinRingGain { get => _minRingGain; init => _minRingGain = AtLeast(value, 0, nameof(MinRingGain)); }

    /// <summary>
    /// Predictive with <see cref="McConfig.Cells"/>: when the user's last two handovers hold a steady heading (the
    /// second turns at most <see cref="TrajectoryMaxTurn"/> degrees from the first), extrapolate its path at its own pace
    /// over the forecast's horizon and plan ONE migration on it: the site and the slot (now, later, or never) that
    /// minimise the discounted Wang cost along the path. The plan replaces the MDP and the forecast for that user; a
    /// short history, a turn or a ping-pong falls back to them.
    /// </summary>
    public bool Trajectory { get; init; } = true;

    /// <summary>
    /// Predictive: the trajectory plan follows the learned road (<see cref="MobilityStats.LikelyNext"/>, second-order
    /// transitions) at the user's pace instead of the straight line, for users the fixed gate trusts (not those the
    /// learned heading statistics vouch for, whose straight line is right often enough); the same users are planned for.
    /// </summary>
    public bool TrajectoryPath { get; init; } = true;

    /// <summary>Predictive: the largest turn (degrees, 0..180) between the user's last two handovers that still counts as a steady heading.</summary>
    public double TrajectoryMaxTurn
    {
        get => _trajectoryMaxTurn;
        init => _trajectoryMaxTurn = value is >= 0 and <= 180 ? value : throw new ArgumentOutOfRangeException(nameof(TrajectoryMaxTurn), value, "TrajectoryMaxTurn must be in [0, 180] degrees");
    }

    /// <summary>Predictive: steady handovers in a row (<see cref="UeState.HeadingSteps"/>) before the trajectory plan is trusted.</summary>
    public int TrajectoryMinSteps { get => _trajectoryMinSteps; init => _trajectoryMinSteps = AtLeast(value, 1, nameof(TrajectoryMinSteps)); }

    /// <summary>
    /// Predictive: the share of next handovers that must have gone where the heading pointed, after histories like the
    /// user's (learned online, <see cref="HeadingStats"/>), for its trajectory plan to be trusted; 0: the fixed gate
    /// (<see cref="TrajectoryMaxTurn"/>, <see cref="TrajectoryMinSteps"/>) only, which also holds until enough is learned.
    /// </summary>
    public double TrajectoryTrust
    {
        get => _trajectoryTrust;
        init => _trajectoryTrust = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(TrajectoryTrust), value, "TrajectoryTrust must be in [0, 1]");
    }

    /// <summary>
    /// Predictive: a learned share below which the trajectory plan is not trusted even where the fixed gate would
    /// (the heading was wrong more often than right); between it and <see cref="TrajectoryTrust"/> the fixed gate decides.
    /// </summary>
    public double TrajectoryDistrust
    {
        get => _trajectoryDistrust;
        init => _trajectoryDistrust = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(TrajectoryDistrust), value, "TrajectoryDistrust must be in [0, 1]");
    }

    /// <summary>Predictive: next handovers seen after a kind of history before its learned share replaces the fixed gate.</summary>
    public int TrajectoryMinSeen { get => _trajectoryMinSeen; init => _trajectoryMinSeen = AtLeast(value, 1, nameof(TrajectoryMinSeen)); }

    /// <summary>Predictive: start the migration when an S1 handover is prepared (cancelled again if the handover is).</summary>
    public bool PreCopyOnPrepare { get; init; } = true;

    /// <summary>
    /// Predictive: the trajectory plan's learned road (<see cref="TrajectoryPath"/>) leaves the user's cell at the median
    /// of the time the learned dwell distribution (<see cref="DwellStats"/>) says is left, given the time already spent
    /// there (users that have waited long tend to wait longer), instead of its pace less that time.
    /// </summary>
    public bool DwellHazard { get; init; } = true;

    /// <summary>
    /// Predictive: weigh a move's expected saving by how often moves of its class met their user
    /// (<see cref="MoveOutcomeStats"/>, learned from the MC's own observations): classes that rarely meet lose their moves.
    /// On by default with <see cref="LatencyWeight"/> 0.0275: the bytes it saves (a tenth on bench-10k) buy the away time
    /// that brings bench-10k's p95 to always's at 3.05x fewer bytes (docs/policies.md).
    /// </summary>
    public bool MoveOutcomes { get; init; } = true;

    /// <summary>The met rate assumed before any outcome of a class is seen (the Beta prior's mean): 1, every move meets, as before the statistic.</summary>
    public double MoveOutcomePrior
    {
        get => _moveOutcomePrior;
        init => _moveOutcomePrior = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MoveOutcomePrior), value, "MoveOutcomePrior must be in [0, 1]");
    }

    /// <summary>How many outcomes the prior counts as (the Beta prior's weight): a class's rate follows what is seen once several times this many were.</summary>
    public double MoveOutcomePriorWeight
    {
        get => _moveOutcomePriorWeight;
        init => _moveOutcomePriorWeight = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(MoveOutcomePriorWeight), value, "MoveOutcomePriorWeight must be positive");
    }

    private readonly double _moveOutcomePrior = 1;
    private readonly double _moveOutcomePriorWeight = 10;

    /// <summary>
    /// Predictive: a user that crossed the cell it is leaving (or just left) in less than this is a quick crosser, whose
    /// moves must clear <see cref="QuickCrossingBar"/> (docs/policies.md, "Moves that pay back"). Zero: off.
    /// </summary>
    public TimeSpan QuickCrossing
    {
        get => _quickCrossing;
        init => _quickCrossing = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(QuickCrossing), value, "QuickCrossing must not be negative");
    }

    /// <summary>
    /// Predictive: a quick crosser (<see cref="QuickCrossing"/>) must also have crossed that cell in less than this share
    /// of the mean dwell learned there; 0: the time alone decides.
    /// </summary>
    public double QuickCrossingShare
    {
        get => _quickCrossingShare;
        init => _quickCrossingShare = value >= 0 && !double.IsInfinity(value) ? value : throw new ArgumentOutOfRangeException(nameof(QuickCrossingShare), value, "QuickCrossingShare must be finite and not negative");
    }

    /// <summary>
    /// Predictive: for a quick crosser (<see cref="QuickCrossing"/>), every migration is priced this many times its cost
    /// in the model: its stay near any target tends to be short, so fewer of its moves pay back. 1: no higher bar.
    /// </summary>
    public double QuickCrossingBar
    {
        get => _quickCrossingBar;
        init => _quickCrossingBar = value >= 1 && !double.IsInfinity(value) ? value : throw new ArgumentOutOfRangeException(nameof(QuickCrossingBar), value, "QuickCrossingBar must be finite and at least 1");
    }

    /// <summary>The policy for a name used in YAML or configuration (case-insensitive; <c>mdp</c> and <c>mdpthreshold</c> also name mdp-threshold).</summary>
    public static PolicyKind Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "always" => PolicyKind.Always,
            "never" => PolicyKind.Never,
            "myopic" => PolicyKind.Myopic,
            "hysteresis" => PolicyKind.Hysteresis,
            "mdp-threshold" or "mdpthreshold" or "mdp" => PolicyKind.MdpThreshold,
            "predictive" => PolicyKind.Predictive,
            _ => throw new ArgumentException($"unknown migration policy '{name}' (expected always, never, myopic, hysteresis, mdp-threshold or predictive)", nameof(name)),
        };
    }

    /// <summary>The name <see cref="Parse"/> reads back.</summary>
    public static string NameOf(PolicyKind kind) => kind switch
    {
        PolicyKind.Always => "always",
        PolicyKind.Never => "never",
        PolicyKind.Myopic => "myopic",
        PolicyKind.Hysteresis => "hysteresis",
        PolicyKind.MdpThreshold => "mdp-threshold",
        PolicyKind.Predictive => "predictive",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown policy kind"),
    };

    private static TimeSpan Positive(TimeSpan value, string name) =>
        value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");

    private static int AtLeast(int value, int min, string name) =>
        value >= min ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least {min}");
}
