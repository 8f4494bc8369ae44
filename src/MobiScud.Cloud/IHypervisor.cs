using System.Threading.Channels;
using MobiScud.Control.Model;

namespace MobiScud.Cloud;

/// <summary>
/// Executes the MC's PVM commands (create, resume, suspend, destroy, start/cancel migration) against some
/// hypervisor (QEMU, or a simulated model) and reports what happened as control events.
/// </summary>
public interface IHypervisor : IAsyncDisposable
{
    /// <summary>
    /// Starts a command. Returns once it is accepted; outcomes (PvmStarted, PvmFailed, MigrationProgressed,
    /// MigrationCompleted, MigrationFailed) arrive on <see cref="Events"/>. Commands that are not PVM commands
    /// throw <see cref="ArgumentException"/>; everything else that goes wrong is reported as an event.
    /// </summary>
    Task ExecuteAsync(ControlCommand command, CancellationToken ct = default);

    /// <summary>Outcomes of commands, and unsolicited failures (a PVM that crashed). One reader.</summary>
    ChannelReader<ControlEvent> Events { get; }

    /// <summary>What the hypervisor really holds now, for reconciliation after a restart of the caller.</summary>
    IReadOnlyList<PvmReport> Query();
}

public enum PvmState
{
    /// <summary>Started, guest not yet ready.</summary>
    Booting,
    Running,
    Suspended,

    /// <summary>Running at <see cref="PvmReport.Site"/> while being copied to <see cref="PvmReport.MigrationTarget"/>.</summary>
    Migrating,

    /// <summary>The PVM's process died or never came up; destroy it to forget it.</summary>
    Failed,
}

/// <param name="Address">The PVM's data-plane IPv4 address, when the hypervisor gives PVMs one (stable across migrations).</param>
public sealed record PvmReport(
    UeId Ue, PvmId Pvm, SiteId Site, PvmState State, MigrationId? Migration = null, SiteId? MigrationTarget = null, System.Net.IPAddress? Address = null);
