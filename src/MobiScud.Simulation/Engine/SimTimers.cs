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

    public void Schedule(ScheduleTimer timer) =>
        sim.ScheduleLane(timer.Due, lane.Index, lane.UeOf(timer.Ue), 0, new TimerFired(timer.Due, timer.Ue, timer.Kind, timer.Token));

    /// <summary>The lane's queue reached the timer's due time.</summary>
    public void Fire(TimerFired timer) => _fired.Writer.TryWrite(timer);
}

/// <summary>The MC's notifications in a simulation: nobody subscribes, so a lane counts them by kind.</summary>
internal sealed class SimNotifications(LaneStats stats) : INotificationPublisher
{
    public Task PublishAsync(UeState? before, UeState? after, Notify notification)
    {
        stats.Notifications[(int)notification.Kind]++;
        return Task.CompletedTask;
    }
}
