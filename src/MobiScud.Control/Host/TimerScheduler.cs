using System.Threading.Channels;
using MobiScud.Control.Model;

namespace MobiScud.Control.Host;

/// <summary>
/// Timers on a <see cref="TimeProvider"/>: each ScheduleTimer arms one timer that writes its TimerFired to
/// <see cref="Outcomes"/> at the due time of the host's MC clock. No task per timer; <see cref="Dispose"/> disarms
/// every pending one. Timers live in memory: after a restart the reconciliation re-decides what a lost timer would have.
/// </summary>
/// <param name="now">The MC clock the timers' due times are on.</param>
public sealed class TimerScheduler(TimeProvider time, Func<TimeSpan> now) : ITimerScheduler, IDisposable
{
    private readonly Channel<UeEvent> _fired = OutcomeChannel.Create();
    private readonly HashSet<ITimer> _armed = [];
    private bool _disposed;

    public ChannelReader<UeEvent> Outcomes => _fired.Reader;

    public void Schedule(ScheduleTimer timer)
    {
        var delay = timer.Due - now();
        lock (_armed)
        {
            if (_disposed)
            {
                return;
            }

            var state = new Armed(this, timer);
            state.Timer = time.CreateTimer(static s => ((Armed)s!).Fire(), state, delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            _armed.Add(state.Timer);
        }
    }

    private void Fired(Armed armed)
    {
        lock (_armed)
        {
            if (!_armed.Remove(armed.Timer!))
            {
                return;
            }
        }

        armed.Timer!.Dispose();

        // Timers may wake a little early (a retry timer that said it came at 16.9933 s for a block lasting to 16.9939 s
        // was ignored, and nothing re-armed it): a timer never reports a time before it was due.
        var at = now();
        var t = armed.Request;
        _fired.Writer.TryWrite(new TimerFired(at < t.Due ? t.Due : at, t.Ue, t.Kind, t.Token));
    }

    public void Dispose()
    {
        lock (_armed)
        {
            _disposed = true;
            foreach (var t in _armed)
            {
                t.Dispose();
            }

            _armed.Clear();
        }
    }

    private sealed class Armed(TimerScheduler owner, ScheduleTimer request)
    {
        public ScheduleTimer Request { get; } = request;

        public ITimer? Timer { get; set; }

        public void Fire()
        {
            // The callback may run before CreateTimer returned (a due time already passed).
            lock (owner._armed)
            {
                if (Timer is null)
                {
                    return;
                }
            }

            owner.Fired(this);
        }
    }
}
