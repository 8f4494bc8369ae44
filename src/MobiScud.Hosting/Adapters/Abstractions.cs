using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Hosting.Adapters;

/// <summary>Where events for the MC go (the ordered, bounded pipeline in front of the UE grains).</summary>
public interface IEventSink
{
    /// <summary>Queues the event; waits while the UE's lane is full (backpressure).</summary>
    ValueTask PostAsync(UeEvent e, CancellationToken ct = default);
}

/// <summary>The service's time line: wall clock since the Unix epoch, so that it survives restarts.</summary>
public interface IServiceClock
{
    TimeSpan Now { get; }
}

public sealed class SystemServiceClock(TimeProvider time) : IServiceClock
{
    public TimeSpan Now => time.GetUtcNow() - DateTimeOffset.UnixEpoch;
}

/// <summary>What a hypervisor really holds for one PVM.</summary>
public sealed record PvmInventoryItem(UeId Ue, PvmId Pvm, SiteId Site, bool Running, IPAddress? Address, MigrationId? Migrating, SiteId? MigratingTo);

/// <summary>
/// The hypervisor side (simulated, or QEMU over QMP): commands are accepted quickly and their outcomes come back
/// later as events through the attached sink (PvmStarted, MigrationCompleted/Failed, PvmFailed).
/// </summary>
public interface IHypervisorAdapter
{
    /// <summary>Where outcomes go; null while the service is down (outcomes are then lost, as QMP events would be).</summary>
    void Attach(IEventSink? sink);

    /// <summary>Carries out a command. Returns its outcome when it is known at once (applied by the UE grain in the same
    /// turn, before the UE's next event), or null when it will come later through the sink.</summary>
    Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default);

    /// <summary>Whether PVM starts are reported at once by <see cref="ExecuteAsync"/> (then a UE's events are committed one
    /// by one around them, so each outcome lands right after its cause).</summary>
    bool ImmediateOutcomes => false;

    Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default);
}

/// <summary>The edge switches (in-memory, or OpenFlow 1.3 to Open vSwitch): per-UE steering, idempotent.</summary>
public interface ISteeringAdapter
{
    /// <summary>
    /// Where the adapter reports steering a switch rejected or did not confirm (SteeringFailed); null while the service
    /// is down. Adapters whose switches cannot fail (in memory) ignore it.
    /// </summary>
    void Attach(IEventSink? sink)
    {
    }

    Task InstallAsync(SteeringIntent intent, CancellationToken ct = default);

    Task RemoveAsync(UeId ue, SiteId switchSite, CancellationToken ct = default);

    /// <summary>The steering each switch holds now.</summary>
    Task<IReadOnlyList<SteeringIntent>> InventoryAsync(CancellationToken ct = default);
}

/// <summary>Carries out one UE's commands after its state is persisted.</summary>
public interface ICommandExecutor
{
    /// <summary>Returns the outcomes known at once (see <see cref="IHypervisorAdapter.ExecuteAsync"/>), in command order.</summary>
    Task<IReadOnlyList<UeEvent>> ExecuteAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default);

    /// <summary>See <see cref="IHypervisorAdapter.ImmediateOutcomes"/>.</summary>
    bool ImmediateOutcomes => false;
}
