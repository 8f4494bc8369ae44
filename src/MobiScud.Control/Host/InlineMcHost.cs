using MobiScud.Control.Model;

namespace MobiScud.Control.Host;

/// <summary>
/// One decision of an in-process host: the event, the UE's state before and after, and every command that left for
/// it, including those that followed outcomes a backend knew at once (a PVM start in replay's model).
/// </summary>
public sealed record McStep(UeEvent Event, UeState? Before, UeState? After, IReadOnlyList<ControlCommand> Commands);

/// <summary>
/// The MC inside one process (replay, testbed): each posted event runs the pure <see cref="MobiScudControl.Decide"/>
/// over the UE's state, then the dispatcher; outcomes a backend knows at once are applied before the next event.
/// Events are handled one at a time in the order posted (tracker events and backend outcomes share the one gate),
/// which is the order serve's per-UE pipeline keeps. Serve runs the same steps in its UE grains, with persistence
/// between them.
/// </summary>
/// <param name="config">The configuration an event is decided under (a replay's site map grows with the eNBs it sees).</param>
/// <param name="onStep">Each decision, after its commands went out.</param>
public sealed class InlineMcHost(Func<UeEvent, McConfig> config, ICommandDispatcher dispatcher, Action<McStep>? onStep = null) : IEventSink
{
    /// <summary>Outcomes known at once are applied in the same step, but never in an endless loop.</summary>
    public const int MaxImmediateRounds = 8;

    private readonly Dictionary<UeId, UeState> _states = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    public InlineMcHost(McConfig config, ICommandDispatcher dispatcher, Action<McStep>? onStep = null)
        : this(_ => config, dispatcher, onStep)
    {
    }

    /// <summary>Every UE's MC state (read it when no event is being handled).</summary>
    public IReadOnlyDictionary<UeId, UeState> States => _states;

    public async ValueTask PostAsync(UeEvent e, CancellationToken ct = default) => await HandleAsync(e, ct);

    /// <summary>Decides on the event, carries out its commands and returns them (with those after immediate outcomes).</summary>
    public async ValueTask<IReadOnlyList<ControlCommand>> HandleAsync(UeEvent e, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(e);
        await _gate.WaitAsync(ct);
        try
        {
            var first = _states.GetValueOrDefault(e.Ue);
            var all = new List<ControlCommand>();
            IReadOnlyList<UeEvent> round = [e];
            for (var n = 0; round.Count > 0 && n <= MaxImmediateRounds; n++)
            {
                var before = _states.GetValueOrDefault(e.Ue);
                var commands = new List<ControlCommand>();
                foreach (var next in round)
                {
                    var decision = MobiScudControl.Decide(config(next), _states.GetValueOrDefault(next.Ue), next);
                    if (decision.State is { } state)
                    {
                        _states[next.Ue] = state;
                    }

                    commands.AddRange(decision.Commands);
                }

                all.AddRange(commands);
                round = await dispatcher.DispatchAsync(before, _states.GetValueOrDefault(e.Ue), commands, ct);
            }

            onStep?.Invoke(new McStep(e, first, _states.GetValueOrDefault(e.Ue), all));
            return all;
        }
        finally
        {
            _gate.Release();
        }
    }
}
