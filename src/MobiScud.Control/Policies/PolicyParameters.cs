namespace MobiScud.Control.Policies;

/// <summary>
/// The migration policy's parameters as a user writes them, one set for every host: a scenario's `control.policy`
/// (YAML) and serve's `MobiScud:Policy` (configuration) bind to this class (docs/policies.md).
/// </summary>
public class PolicyParameters
{
    /// <summary>always, never, myopic, hysteresis, mdp-threshold or predictive (a scenario's mobiscud lane when `policies` is empty).</summary>
    public string Kind { get; set; } = "always";

    public TimeSpan Dwell { get; set; } = TimeSpan.FromSeconds(30);

    public int HandoversAway { get; set; } = 3;

    public int MaxDistance { get; set; } = 20;

    public double MoveProbability { get; set; } = 0.3;

    public bool Learn { get; set; } = true;

    public TimeSpan PriorDwell { get; set; } = TimeSpan.FromSeconds(120);

    public int MinDepartures { get; set; } = 5;

    public TimeSpan ReviewAfter { get; set; } = TimeSpan.FromSeconds(30);

    public double LinkLoadWeight { get; set; } = 1;

    public double LatencyWeight { get; set; } = PolicyConfig.Default.LatencyWeight;

    public bool PreCopyOnPrepare { get; set; } = true;

    /// <summary>Predictive starts a move only if expected to finish within this share of the MC's migration deadline.</summary>
    public double DeadlineShare { get; set; } = PolicyConfig.Default.DeadlineShare;

    /// <summary>Predictive: weight of the user's heading in its forecast (docs/policies.md).</summary>
    public double HeadingWeight { get; set; } = PolicyConfig.Default.HeadingWeight;

    public TimeSpan HeadingPersistence { get; set; } = PolicyConfig.Default.HeadingPersistence;

    /// <summary>Predictive decides on the MDP's value function (docs/policies.md).</summary>
    public bool MdpBase { get; set; } = PolicyConfig.Default.MdpBase;

    /// <summary>Predictive on the MDP: <c>mdp</c> (Wang's 1-D chain) or <c>mdp2d</c> (the learned per-cell chain) or <c>mdp2d-path</c> (its second-order state) or <c>smdp</c> (the semi-Markov plan at handovers; docs/policies.md).</summary>
    public string Plan { get; set; } = "mdp";

    /// <summary>Predictive with <c>plan: mdp2d</c>: <see cref="PolicyConfig.PlanResolve"/>.</summary>
    public TimeSpan PlanResolve { get; set; } = PolicyConfig.Default.PlanResolve;

    /// <summary>Predictive with <c>plan: smdp</c>: <see cref="PolicyConfig.PlanReview"/>.</summary>
    public TimeSpan PlanReview { get; set; } = PolicyConfig.Default.PlanReview;

    /// <summary>Predictive with <c>plan: smdp</c>: <see cref="PolicyConfig.PlanReviewCap"/>.</summary>
    public TimeSpan PlanReviewCap { get; set; } = PolicyConfig.Default.PlanReviewCap;

    /// <summary>Predictive with <c>plan: smdp</c>: <see cref="PolicyConfig.PlanGamma"/>.</summary>
    public double PlanGamma { get; set; } = PolicyConfig.Default.PlanGamma;

    /// <summary>Predictive with <c>plan: mdp2d</c>: <see cref="PolicyConfig.PlanSecondOrder"/>.</summary>
    public bool PlanSecondOrder { get; set; } = PolicyConfig.Default.PlanSecondOrder;

    /// <summary>Predictive on the MDP: the learned forecast may veto the MDP's move.</summary>
    public bool ForecastVeto { get; set; } = PolicyConfig.Default.ForecastVeto;

    /// <summary>Predictive: a move must bring the PVM this many rings nearer the user's cell (0: any).</summary>
    public int MinRingGain { get; set; } = PolicyConfig.Default.MinRingGain;

    /// <summary>Predictive: scale the learned dwell by the user's own pace (docs/policies.md).</summary>
    public bool UserPace { get; set; } = PolicyConfig.Default.UserPace;

    /// <summary>Predictive: plan one migration along a steady heading (docs/policies.md).</summary>
    public bool Trajectory { get; set; } = PolicyConfig.Default.Trajectory;

    /// <summary>Predictive: the largest turn in degrees between the last two handovers that is still a steady heading.</summary>
    public double TrajectoryMaxTurn { get; set; } = PolicyConfig.Default.TrajectoryMaxTurn;

    /// <summary>Predictive: <see cref="PolicyConfig.TrajectoryPath"/> (YAML <c>trajectoryPath</c>).</summary>
    public bool TrajectoryPath { get; set; } = PolicyConfig.Default.TrajectoryPath;

    /// <summary>Predictive: steady handovers in a row before the trajectory plan is trusted.</summary>
    public int TrajectoryMinSteps { get; set; } = PolicyConfig.Default.TrajectoryMinSteps;

    /// <summary>Predictive: <see cref="PolicyConfig.TrajectoryTrust"/> (YAML <c>trajectoryTrust</c>; 0: the fixed gate only).</summary>
    public double TrajectoryTrust { get; set; } = PolicyConfig.Default.TrajectoryTrust;

    /// <summary>Predictive: <see cref="PolicyConfig.TrajectoryDistrust"/> (YAML <c>trajectoryDistrust</c>).</summary>
    public double TrajectoryDistrust { get; set; } = PolicyConfig.Default.TrajectoryDistrust;

    /// <summary>Predictive: <see cref="PolicyConfig.TrajectoryMinSeen"/> (YAML <c>trajectoryMinSeen</c>).</summary>
    public int TrajectoryMinSeen { get; set; } = PolicyConfig.Default.TrajectoryMinSeen;

    /// <summary>Predictive: <see cref="PolicyConfig.DwellHazard"/> (YAML <c>dwellHazard</c>).</summary>
    public bool DwellHazard { get; set; } = PolicyConfig.Default.DwellHazard;

    /// <summary>Predictive: <see cref="PolicyConfig.MoveOutcomes"/> (YAML <c>moveOutcomes</c>).</summary>
    public bool MoveOutcomes { get; set; } = PolicyConfig.Default.MoveOutcomes;

    /// <summary>Predictive: <see cref="PolicyConfig.MoveOutcomePrior"/> (YAML <c>moveOutcomePrior</c>).</summary>
    public double MoveOutcomePrior { get; set; } = PolicyConfig.Default.MoveOutcomePrior;

    /// <summary>Predictive: <see cref="PolicyConfig.MoveOutcomePriorWeight"/> (YAML <c>moveOutcomePriorWeight</c>).</summary>
    public double MoveOutcomePriorWeight { get; set; } = PolicyConfig.Default.MoveOutcomePriorWeight;

    /// <summary>Predictive: <see cref="PolicyConfig.QuickCrossing"/> (YAML <c>quickCrossing</c>; 0: off).</summary>
    public TimeSpan QuickCrossing { get; set; } = PolicyConfig.Default.QuickCrossing;

    /// <summary>Predictive: <see cref="PolicyConfig.QuickCrossingShare"/> (YAML <c>quickCrossingShare</c>; 0: the time alone).</summary>
    public double QuickCrossingShare { get; set; } = PolicyConfig.Default.QuickCrossingShare;

    /// <summary>Predictive: <see cref="PolicyConfig.QuickCrossingBar"/> (YAML <c>quickCrossingBar</c>; 1: no higher bar).</summary>
    public double QuickCrossingBar { get; set; } = PolicyConfig.Default.QuickCrossingBar;

    public double MigrationScale { get; set; } = 1;

    public double TransmissionScale { get; set; } = 1;

    /// <summary>
    /// The core's PolicyConfig. The cost model's mu and slot come from the host (a scenario scores and decides with one
    /// model); <paramref name="migrationBytes"/> and <paramref name="migrationBytesPerSecond"/> are the size and speed
    /// of a migration that predictive's admission assumes (0: unknown).
    /// </summary>
    public PolicyConfig ToPolicyConfig(PolicyKind kind, double mu, TimeSpan slot, double migrationBytes = 0, double migrationBytesPerSecond = 0) => new()
    {
        Kind = kind,
        Cost = new WangCostModel(mu, 0.9, MigrationScale, TransmissionScale),
        Slot = slot,
        Dwell = Dwell,
        HandoversAway = HandoversAway,
        MaxDistance = MaxDistance,
        MoveProbability = MoveProbability,
        Learn = Learn,
        PriorDwell = PriorDwell,
        MinDepartures = MinDepartures,
        ReviewAfter = ReviewAfter,
        LinkLoadWeight = LinkLoadWeight,
        LatencyWeight = LatencyWeight,
        PreCopyOnPrepare = PreCopyOnPrepare,
        DeadlineShare = DeadlineShare,
        HeadingWeight = HeadingWeight,
        HeadingPersistence = HeadingPersistence,
        MdpBase = MdpBase,
        Plan = Plan.Trim().ToLowerInvariant() switch
        {
            "mdp" => PredictivePlan.Mdp,
            "mdp2d" => PredictivePlan.Mdp2d,
            "mdp2d-path" => PredictivePlan.Mdp2dPath,
            "smdp" => PredictivePlan.Smdp,
            _ => throw new ArgumentException($"unknown plan '{Plan}' (expected mdp, mdp2d, mdp2d-path or smdp)", nameof(Plan)),
        },
        PlanResolve = PlanResolve,
        PlanReview = PlanReview,
        PlanReviewCap = PlanReviewCap,
        PlanGamma = PlanGamma,
        PlanSecondOrder = PlanSecondOrder,
        MinRingGain = MinRingGain,
        ForecastVeto = ForecastVeto,
        UserPace = UserPace,
        Trajectory = Trajectory,
        TrajectoryMaxTurn = TrajectoryMaxTurn,
        TrajectoryPath = TrajectoryPath,
        TrajectoryMinSteps = TrajectoryMinSteps,
        TrajectoryTrust = TrajectoryTrust,
        TrajectoryDistrust = TrajectoryDistrust,
        TrajectoryMinSeen = TrajectoryMinSeen,
        DwellHazard = DwellHazard,
        MoveOutcomes = MoveOutcomes,
        MoveOutcomePrior = MoveOutcomePrior,
        MoveOutcomePriorWeight = MoveOutcomePriorWeight,
        QuickCrossing = QuickCrossing,
        QuickCrossingShare = QuickCrossingShare,
        QuickCrossingBar = QuickCrossingBar,
        MigrationBytes = migrationBytes,
        MigrationBytesPerSecond = migrationBytesPerSecond,
    };
}
