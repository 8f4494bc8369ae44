using MobiScud.Control;
using MobiScud.Control.Host;
using MobiScud.Control.Model;

namespace MobiScud.Testbed.Control;

/// <summary>
/// Takes the switches' confirmations out of the MC's turn. A decision whose commands are steering, timers and
/// notifications of one UE is handed to the backends and the MC goes on to its next event; that UE's commands still
/// run in the order decided (its next dispatch starts when the previous one finished), the order serve's per-UE
/// pipeline keeps. Without it, a switch that took 400 ms to confirm one UE's flows held every later decision, of every
/// UE, for as long (docs/testbed.md, Reaction times). Any other decision (a PVM command, a migration ending) waits
/// for every pending dispatch and runs within the turn, as before, so outcomes a backend knows at once still apply
/// before the next event. A pending dispatch that fails is reported through <c>onFailure</c>, never lost.
/// </summary>
internal sealed class SteeringPipeline(ICommandDispatcher inner, Action<UeId, Exception> onFailure) : ICommandDispatcher
{
    private static readonly IReadOnlyList<UeEvent> _noOutcomes = [];

    /// <summary>Per UE, its last pending dispatch (completed ones stay until replaced: one entry per UE).</summary>
    private readonly Dictionary<UeId, Task> _tails = [];

    public bool ReportsAtOnce(IReadOnlyList<ControlCommand> commands) => inner.ReportsAtOnce(commands);

    public async Task<IReadOnlyList<UeEvent>> DispatchAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default)
    {
        if (commands.Count == 0 && before?.Migration?.Id == after?.Migration?.Id)
        {
            // Nothing to carry out and no migration let go: nothing to keep in order with.
            return await inner.DispatchAsync(before, after, commands, ct).ConfigureAwait(false);
        }

        if (Pipelinable(before, after, commands) is not { } ue)
        {
            await WhenIdleAsync().ConfigureAwait(false);
            return await inner.DispatchAsync(before, after, commands, ct).ConfigureAwait(false);
        }

        lock (_tails)
        {
            _tails[ue] = RunAfterAsync(_tails.GetValueOrDefault(ue) ?? Task.CompletedTask, ue, before, after, commands, ct);
        }

        return _noOutcomes;
    }

    /// <summary>Completes when every dispatch handed on so far has finished (they never fault: failures are reported).</summary>
    public Task WhenIdleAsync()
    {
        lock (_tails)
        {
            return Task.WhenAll([.. _tails.Values]);
        }
    }

    private UeId? Pipelinable(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands)
    {
        if (commands.Count == 0 || before?.Migration?.Id != after?.Migration?.Id || inner.ReportsAtOnce(commands))
        {
            return null;
        }

        var ue = commands[0].Ue;
        foreach (var c in commands)
        {
            if (c.Ue != ue || c is not (InstallSteering or RemoveSteering or ScheduleTimer or Notify))
            {
                return null;
            }
        }

        return ue;
    }

    private async Task RunAfterAsync(Task previous, UeId ue, UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct)
    {
        // Completed (the usual case): the flow-mods go out on the caller's thread now, with no hop.
        await previous.ConfigureAwait(false);
        try
        {
            var outcomes = await inner.DispatchAsync(before, after, commands, ct).ConfigureAwait(false);
            if (outcomes.Count > 0)
            {
                // Not reachable with ReportsAtOnce false; if a backend broke that promise, say so rather than drop them.
                onFailure(ue, new InvalidOperationException($"{outcomes.Count} outcome(s) known at once after the MC's turn ended, not applied: {string.Join(", ", outcomes)}"));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            onFailure(ue, e);
        }
    }
}
