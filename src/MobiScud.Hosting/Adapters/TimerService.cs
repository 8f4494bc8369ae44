using MobiScud.Control.Model;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Turns ScheduleTimer commands into TimerFired events at the due time of the service clock. Timers live in
/// memory: after a restart the reconciliation (ReconcileRequested) re-decides what a lost timer would have.
/// </summary>
public sealed class TimerService(IServiceClock clock, TimeProvider time, ILogger<TimerService> log)
{
    private IEventSink? _sink;
    private CancellationTokenSource _stopping = new();

    public void Attach(IEventSink sink)
    {
        _sink = sink;
        _stopping = new CancellationTokenSource();
    }

    public void Stop() => _stopping.Cancel();

    public void Schedule(ScheduleTimer t)
    {
        var sink = _sink;
        if (sink is null)
        {
            return;
        }

        var delay = t.Due - clock.Now;
        var ct = _stopping.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, ct);
                }

                // Timers may wake a little early (a retry timer that said it came at 16.9933 s for a block lasting to
                // 16.9939 s was ignored, and nothing re-armed it): a timer never reports a time before it was due.
                var now = clock.Now;
                await sink.PostAsync(new TimerFired(now < t.Due ? t.Due : now, t.Ue, t.Kind, t.Token), ct);
            }
            catch (OperationCanceledException)
            {
                log.LogDebug("timer {Kind} for {Ue} dropped at shutdown", t.Kind, t.Ue);
            }
            catch (InvalidOperationException e)
            {
                log.LogDebug(e, "timer {Kind} for {Ue} dropped at shutdown", t.Kind, t.Ue);
            }
        }, CancellationToken.None);
    }
}
