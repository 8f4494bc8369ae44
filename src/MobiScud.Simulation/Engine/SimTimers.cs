using System.Threading.Channels;
using MobiScud.Control;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Simulation.Results;

namespace MobiScud.Simulation.Engine;

/// <summary>
/// The MC's timers on a lane's virtual clock: a ScheduleTimer waits in the lane's event queue until it is due, then its
/// TimerFired goes out on <see cref="Outcomes"/>, which the lane drains into its MC.
/// </summary>
internal sealed class SimTimers(StrategyLane lane, Simulator sim) : ITimerScheduler
{
    private readonly Channel<UeEvent> _fired = OutcomeChannel.Create();

    public ChannelReader<UeEvent> Outcomes => _fired.Reader;

    public void Schedule(ScheduleTimer timer)
    {
        var ue = lane.UeOf(timer.Ue);
        if (timer.Due >= lane.Now)
        {
            // The timer as plain values, its TimerFired made when due: a migration's deadline waits a minute in the
            // queue, long enough for an object to be promoted at 100k UEs, and most are void by then.
            lane.Enqueue(timer.Due, new SimEvent(SimEventKind.TimerDue, ue, (int)timer.Kind, timer.Token, null));
        }
        else
        {
            // Due in the past: the queue runs it now, and the event keeps the time the MC asked for.
            sim.ScheduleLane(timer.Due, lane.Index, ue, 0, new TimerFired(timer.Due, timer.Ue, timer.Kind, timer.Token));
        }
    }

    /// <summary>The lane's queue reached the timer's due time.</summary>
    public void Fire(TimerFired timer) => _fired.Writer.TryWrite(timer);

    /// <summary>A timer queued as plain values (<see cref="SimEventKind.TimerDue"/>) is due now.</summary>
    public void Fire(in SimEvent due) => Fire(new TimerFired(lane.Now, sim.UeIds[due.Ue], (TimerKind)due.Lane, due.Arg));
}

/// <summary>The MC's notifications in a simulation: nobody subscribes, so a lane counts them by kind.</summary>
internal sealed class SimNotifications(StrategyLane lane) : INotificationPublisher
{
    public Task PublishAsync(UeState? before, UeState? after, Notify notification)
    {
        lane.Stats.Notifications[(int)notification.Kind]++;
        return Task.CompletedTask;
    }
}
