using System.Collections.Concurrent;
using MobiScud.Cloud;
using MobiScud.Control.Model;
using MobiScud.Sdn.Steering;

namespace MobiScud.Testbed.Control;

/// <summary>One steering command and when the switches confirmed it (barrier replies of every site touched, and the datapath sync where the programmer has one), or gave up.</summary>
public sealed record SteeringOutcome(InstallSteering? Install, RemoveSteering? Remove, DateTime Started, DateTime Finished, bool Confirmed, string? Problem);

/// <summary>
/// The testbed's command executor: steering goes to the OpenFlow programmer, PVM commands to the hypervisor, timers to
/// a wall clock. Adapter outcomes (PVM started, migration done or failed, timers) are reported back into the MC.
/// </summary>
public sealed class LiveExecutor : ICommandExecutor, IAsyncDisposable
{
    private readonly IFlowProgrammer _steering;
    private readonly IHypervisor _hypervisor;
    private readonly DateTime _epoch;
    private readonly CancellationTokenSource _stop = new();
    private Task? _pump;
    private McTap? _mc;

    public LiveExecutor(IFlowProgrammer steering, IHypervisor hypervisor, DateTime epoch)
    {
        _steering = steering;
        _hypervisor = hypervisor;
        _epoch = epoch;
    }

    public ConcurrentQueue<SteeringOutcome> Steering { get; } = new();

    /// <summary>Hypervisor events as they came, with their wall-clock time.</summary>
    public ConcurrentQueue<(DateTime At, ControlEvent Event)> AdapterEvents { get; } = new();

    public ConcurrentQueue<string> Problems { get; } = new();

    /// <summary>Connects the executor to the MC it serves and starts reporting the hypervisor's events to it.</summary>
    public void Attach(McTap mc)
    {
        _mc = mc;
        _pump = Task.Run(PumpAsync);
    }

    public async Task ExecuteAsync(ControlCommand command, CancellationToken cancellation)
    {
        switch (command)
        {
            case InstallSteering or RemoveSteering:
                {
                    var started = DateTime.UtcNow;
                    var finished = started;
                    string? problem = null;
                    var ok = false;
                    try
                    {
                        var result = await _steering.ExecuteAsync(command, cancellation);
                        finished = DateTime.UtcNow;
                        ok = result.Confirmed || result.Stale;
                        problem = result.Rejections.Any() ? string.Join("; ", result.Rejections) : null;
                        if (command is InstallSteering install)
                        {
                            foreach (var (site, reason) in result.Failures)
                            {
                                ReportFailure(install.Intent, site, reason);
                            }
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        problem = e.Message;
                        if (command is InstallSteering install)
                        {
                            ReportFailure(install.Intent, install.Intent.SwitchSite, $"{SteeringFailureKinds.Unconfirmed}: {e.Message}");
                        }
                    }

                    Steering.Enqueue(new SteeringOutcome(command as InstallSteering, command as RemoveSteering, started, ok ? finished : DateTime.UtcNow, ok, problem));
                    if (problem is not null)
                    {
                        Problems.Enqueue($"steering for {command.Ue}: {problem}");
                    }

                    break;
                }

            case CreatePvm or ResumePvm or SuspendPvm or DestroyPvm or StartMigration or CancelMigration:
                await _hypervisor.ExecuteAsync(command, cancellation);
                break;
            case ScheduleTimer t:
                _ = FireAsync(t);
                break;
        }
    }

    /// <summary>The MC hears that the switch did not take the steering (and retries it); reported outside the command's turn.</summary>
    private void ReportFailure(SteeringIntent intent, SiteId site, string reason)
    {
        var failed = new SteeringFailed(DateTime.UtcNow - _epoch, intent.Ue, site, reason, intent.Version);
        _ = Task.Run(() => _mc?.Report(failed));
    }

    private async Task FireAsync(ScheduleTimer t)
    {
        try
        {
            var wait = t.Due - (DateTime.UtcNow - _epoch);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _stop.Token);
            }

            _mc?.Report(new TimerFired(DateTime.UtcNow - _epoch, t.Ue, t.Kind, t.Token));
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var e in _hypervisor.Events.ReadAllAsync(_stop.Token))
            {
                AdapterEvents.Enqueue((DateTime.UtcNow, e));
                if (e is UeEvent ue)
                {
                    _mc!.Report(ue);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_pump is not null)
        {
            await _pump.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
