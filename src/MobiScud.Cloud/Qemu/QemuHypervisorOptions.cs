using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Qemu;

public sealed class QemuHypervisorOptions
{
    public required GuestImage Image { get; init; }

    public string QemuBinary { get; init; } = "qemu-system-x86_64";

    /// <summary>Size of PVMs that were not given one with <see cref="QemuHypervisor.DefinePvm"/>.</summary>
    public PvmSpec DefaultSpec { get; init; } = new();

    public MigrationPolicy Policy { get; set; } = MigrationPolicy.Tuned;

    public TimeSpan BootTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>Longest a migration may take (mirror + memory) before it is cancelled and reported failed.</summary>
    public TimeSpan MigrationTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Gives every PVM a second NIC (eth1) on a tap plugged into its site's <see cref="QemuSite.DataBridge"/>, with a
    /// stable address from this network's pool (same address and MAC at every site it migrates to). Null: management
    /// networking only.
    /// </summary>
    public QemuDataNetwork? DataNetwork { get; init; }

    /// <summary>The time stamped on events (the MC's clock); defaults to time since the hypervisor was made.</summary>
    public Func<TimeSpan>? Clock { get; init; }

    /// <summary>
    /// QEMUs outlive this hypervisor: each runs in its own session with stdio on files and a manifest.json in its
    /// directory; <see cref="QemuHypervisor.DisposeAsync"/> leaves running PVMs running (it only closes QMP), and a later
    /// hypervisor over the same site directories takes them back with <see cref="QemuHypervisor.AdoptAsync"/>. False
    /// (default): QEMUs die with the hypervisor, and leftovers of a crashed run are killed when a site is added.
    /// </summary>
    public bool Detached { get; init; }

    /// <summary>The clock behind timeouts, waits and measured times (and event times when <see cref="Clock"/> is null).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where migrations, rollbacks, adoption and clean-up say what they did (nothing by default).</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>One PVM taken back by <see cref="QemuHypervisor.AdoptAsync"/>.</summary>
/// <param name="Note">What was done beyond reattaching (a migration in flight adopted or rolled back), or null.</param>
public sealed record QemuAdoptedPvm(UeId Ue, PvmId Pvm, SiteId Site, int ProcessId, PvmState State, string? Note);

/// <summary>Something in a site directory that could not be adopted, and what was done with it.</summary>
/// <param name="Path">The manifest (or instance directory) concerned.</param>
public sealed record QemuAdoptionProblem(string Path, string Message);

public sealed record QemuAdoptionReport(IReadOnlyList<QemuAdoptedPvm> Adopted, IReadOnlyList<QemuAdoptionProblem> Problems);

/// <summary>Where a migration is, for callers that watch it (tests, the dashboard).</summary>
public enum MigrationPhase
{
    StartingDestination,
    MirroringDisk,
    CopyingMemory,
    SwitchingOver,
}

/// <summary>Everything QEMU told about one finished migration (the MC gets the <see cref="MigrationStats"/> part).</summary>
/// <param name="WallTime">From StartMigration to the destination running, including destination start and disk mirror.</param>
/// <param name="MirrorTime">Time until the disk mirror was ready (zero without mirroring).</param>
/// <param name="QemuTotalTime">QEMU's total-time of the memory migration.</param>
/// <param name="Downtime">QEMU's measured downtime (source stopped to destination running).</param>
/// <param name="RamBytes">ram.transferred.</param>
/// <param name="DiskBytes">Bytes the mirror job copied (its final offset).</param>
public sealed record QemuMigrationReport(
    MigrationId Migration, SiteId From, SiteId To, bool Succeeded, string? FailureReason,
    TimeSpan WallTime, TimeSpan MirrorTime, TimeSpan QemuTotalTime, TimeSpan Downtime, long RamBytes, long DiskBytes, int Rounds)
{
    /// <summary>
    /// The guest's real interruption: from the source's STOP event to the destination's RESUME event, by QEMU's own
    /// time stamps. Longer than <see cref="Downtime"/>, which QEMU measures on the source side only (under TCG the
    /// destination's device load and resume add tens to hundreds of ms). Null when the PVM was suspended.
    /// </summary>
    public TimeSpan? Pause { get; init; }

    /// <summary>When the source stopped for the switch-over (QEMU's STOP event time stamp, UTC).</summary>
    public DateTimeOffset? PausedAt { get; init; }
}

/// <summary>QEMU-level view of a PVM: its process, forwarded ports and files.</summary>
/// <param name="DataNic">The live instance's data NIC (tap, address, MAC, bridge); null without a data network.</param>
public sealed record QemuPvmInfo(
    PvmReport Status, int ProcessId, QemuPorts Ports, string SerialLog, string DiskPath,
    int? DestinationProcessId, MigrationPhase? Phase, QemuDataNic? DataNic = null);
