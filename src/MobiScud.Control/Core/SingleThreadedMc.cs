using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control;

/// <summary>
/// The MC over many UEs for a single-threaded host (simulator, replay): a dictionary of per-UE states, each
/// advanced by the pure <see cref="MobiScudControl.Decide"/>. A clustered host keeps one UE per grain instead.
/// </summary>
public sealed class SingleThreadedMc
{
    private readonly Dictionary<UeId, UeState> _ues = [];

    public SingleThreadedMc(McConfig config)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
    }

    public McConfig Config { get; }

    public IReadOnlyDictionary<UeId, UeState> Ues => _ues;

    public UeState? this[UeId ue] => _ues.GetValueOrDefault(ue);

    /// <summary>
    /// What every decision is told about the rest of the system. The host replaces it as site and link load change;
    /// when <see cref="LearnMobility"/> is set, <see cref="Handle"/> folds each observed handover into its
    /// <see cref="PolicyFacts.Mobility"/> before deciding.
    /// </summary>
    public PolicyFacts Facts { get; set; } = PolicyFacts.None;

    /// <summary>Learn handover statistics from the events handled (for the predictive and MDP policies).</summary>
    public bool LearnMobility { get; set; }

    /// <summary>Advances the UE the event concerns and returns what to do about it.</summary>
    public IReadOnlyList<ControlCommand> Handle(UeEvent e)
    {
        var decision = Decide(_ues.GetValueOrDefault(e.Ue), e);
        if (decision.State is { } next)
        {
            _ues[e.Ue] = next;
        }

        return decision.Commands;
    }

    /// <summary>
    /// <see cref="Handle(UeEvent)"/> for a host that numbers its UEs 0..n-1 (the simulator), with the states in
    /// <paramref name="states"/> at that index instead of in the dictionary keyed by the id string: with 100,000 UEs the
    /// dictionary's lookups missed the cache on every event. The host owns the array; <see cref="Ues"/> does not see it.
    /// </summary>
    public IReadOnlyList<ControlCommand> Handle(UeEvent e, UeState?[] states, int ue)
    {
        var decision = Decide(states[ue], e);
        if (decision.State is { } next)
        {
            states[ue] = next;
        }

        return decision.Commands;
    }

    private Decision Decide(UeState? current, UeEvent e)
    {
        // The learning step every host shares (MobilityLearning): the handover before deciding, the move's outcome after.
        if (LearnMobility && MobilityLearning.Before(Config, current, e) is { } before)
        {
            Facts = Facts with { Mobility = MobilityLearning.Fold(Facts.Mobility, before) };
        }

        if (LearnMobility && Config.Policy is { Kind: PolicyKind.Predictive, Plan: PredictivePlan.Mdp2d or PredictivePlan.Mdp2dPath } && Config.Cells is not null)
        {
            // The per-cell slot chain samples every event of the UE, not only handovers (CellChain).
            Facts = Facts with { Mobility = Facts.Mobility with { Chain = CellChain.Observe(Facts.Mobility.Chain, Config, Facts.Mobility, current, e) } };
        }

        if (LearnMobility && Config.Policy is { Kind: PolicyKind.Predictive, Plan: PredictivePlan.Smdp } && Config.Cells is not null)
        {
            // The semi-Markov plan is re-solved inside the fold when due (HandoverSmdp.Observe), so deciding stays pure.
            Facts = Facts with { Mobility = Facts.Mobility with { Smdp = HandoverSmdp.Observe(Facts.Mobility.Smdp, Config, Facts.Mobility, e.At) } };
        }

        var decision = MobiScudControl.Decide(Config, current, e, Facts);
        if (LearnMobility && MobilityLearning.After(Config, current, decision.State) is { } after)
        {
            Facts = Facts with { Mobility = MobilityLearning.Fold(Facts.Mobility, after) };
        }

        return decision;
    }
}
