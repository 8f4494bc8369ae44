using System.Net;
using System.Threading.Channels;
using MobiScud.Control.Model;

namespace MobiScud.Control.Host;

/// <summary>
/// Where events for the MC go: the ordered, bounded pipeline in front of serve's UE grains, or an in-process host's
/// <see cref="InlineMcHost"/>.
/// </summary>
public interface IEventSink
{
    /// <summary>Queues (or applies) the event; waits while there is no room (backpressure).</summary>
    ValueTask PostAsync(UeEvent e, CancellationToken ct = default);
}

/// <summary>What a PVM backend really holds for one PVM.</summary>
public sealed record PvmInventoryItem(UeId Ue, PvmId Pvm, SiteId Site, bool Running, IPAddress? Address, MigrationId? Migrating, SiteId? MigratingTo);

/// <summary>
/// The PVM side of the MC (a model, a simulated fleet, QEMU over QMP, network namespaces): the one contract every host
/// uses. Commands are accepted quickly; what happens later (PvmStarted, MigrationCompleted/Failed, PvmFailed) comes on
/// <see cref="Outcomes"/>, which an <see cref="OutcomePump"/> drains into the host's event sink.
/// </summary>
public interface IPvmBackend
{
    /// <summary>
    /// Outcomes known only later, and unsolicited ones (a PVM that crashed). Written whether or not anyone reads: a pump
    /// that starts drops what came before it (see <see cref="OutcomePump.Start"/>).
    /// </summary>
    ChannelReader<UeEvent> Outcomes { get; }

    /// <summary>
    /// Whether the backend knows the outcome of <paramref name="command"/> at once (then <see cref="ExecuteAsync"/>
    /// returns it, and the host applies it before the UE's next event, as if it had come first).
    /// </summary>
    bool ReportsAtOnce(ControlCommand command) => false;

    /// <summary>Carries out a PVM command. Returns its outcome when <see cref="ReportsAtOnce"/> says so, else null.</summary>
    Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default);

    /// <summary>The PVMs the backend holds now (restart reconciliation).</summary>
    Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default);
}

/// <summary>
/// The edge switches (in memory, or OpenFlow 1.3 to Open vSwitch): per-UE steering, idempotent. Steering a switch
/// rejected or did not confirm comes back as <see cref="SteeringFailed"/> on <see cref="Outcomes"/>.
/// </summary>
public interface ISteeringBackend
{
    ChannelReader<UeEvent> Outcomes { get; }

    Task InstallAsync(SteeringIntent intent, CancellationToken ct = default);

    Task RemoveAsync(UeId ue, SiteId switchSite, CancellationToken ct = default);

    /// <summary>The steering each switch holds now.</summary>
    Task<IReadOnlyList<SteeringIntent>> InventoryAsync(CancellationToken ct = default);
}

/// <summary>Turns ScheduleTimer commands into TimerFired events on <see cref="Outcomes"/>.</summary>
public interface ITimerScheduler
{
    ChannelReader<UeEvent> Outcomes { get; }

    void Schedule(ScheduleTimer timer);
}

/// <summary>Hears the MC's notifications (serve: REST/MEC webhooks). The UE's state before and after the decision that issued it.</summary>
public interface INotificationPublisher
{
    Task PublishAsync(UeState? before, UeState? after, Notify notification);
}

/// <summary>Whether a site may take one more PVM (serve: the site grains' capacity). Refused migrations fail with the reason.</summary>
public interface IMigrationAdmission
{
    Task<bool> TryAdmitAsync(string site, string ue);
}

/// <summary>
/// Where a new PVM may go (serve: the site grains' capacity): the site asked for when it has room, else the next best
/// that has (the host's ranking, e.g. <see cref="Policies.MigrationPolicies.Ranked"/>), admitted there; null when none
/// has room. A refused creation fails with the reason (<see cref="PvmFailed"/>), and the core asks again after its
/// back-off.
/// </summary>
public interface IPlacementAdmission
{
    Task<SiteId?> PlaceAsync(CreatePvm create);
}

/// <summary>Outcome channels: unbounded (a backend never waits on the MC: the MC may be what waits on the backend).</summary>
public static class OutcomeChannel
{
    /// <remarks>Several readers are allowed: silos of one process (the bench) may share a backend, each pumping into its own pipeline.</remarks>
    public static Channel<UeEvent> Create() =>
        Channel.CreateUnbounded<UeEvent>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false, AllowSynchronousContinuations = false });

    /// <summary>A completed, empty channel: for a backend whose outcomes are all known at once (its pump ends at once).</summary>
    public static ChannelReader<UeEvent> None()
    {
        var c = Create();
        c.Writer.Complete();
        return c.Reader;
    }
}
