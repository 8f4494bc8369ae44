using MobiScud.Control.Model;

namespace MobiScud.Control;

/// <summary>
/// The MC over many UEs for a single-threaded host (simulator, replay): a dictionary of per-UE states, each
/// advanced by the pure <see cref="MobiScudControl.Decide"/>. A clustered host keeps one UE per grain instead.
/// </summary>
public sealed class MobiScudController
{
    private readonly Dictionary<UeId, UeState> _ues = [];

    public MobiScudController(McConfig config)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
    }

    public McConfig Config { get; }

    public IReadOnlyDictionary<UeId, UeState> Ues => _ues;

    public UeState? this[UeId ue] => _ues.GetValueOrDefault(ue);

    /// <summary>Advances the UE the event concerns and returns what to do about it.</summary>
    public IReadOnlyList<ControlCommand> Handle(UeEvent e)
    {
        var current = _ues.GetValueOrDefault(e.Ue);
        var decision = MobiScudControl.Decide(Config, current, e);
        if (decision.State is { } next)
        {
            _ues[e.Ue] = next;
        }

        return decision.Commands;
    }
}
