using MobiScud.Control.Model;
using Microsoft.Extensions.Logging;

namespace MobiScud.Cloud.Qemu;

/// <summary>A migration in flight, as an instance's manifest records it (so a later process can settle it).</summary>
/// <param name="StateBefore">What the PVM was before the migration: what it returns to when the migration is rolled back.</param>
/// <param name="MirrorJob">The source's mirror job and its NBD target node (source only, with a disk mirror).</param>
internal sealed record ManifestMigration(int Sequence, SiteId From, SiteId To, PvmState StateBefore, string? MirrorJob = null, string? MirrorNode = null);

/// <summary>
/// Writes the manifest.json of each detached instance whenever what it records changes (see <see cref="QemuManifest"/>);
/// does nothing unless the hypervisor is <see cref="QemuHypervisorOptions.Detached"/>. A manifest that cannot be written
/// does not stop the PVM: it is logged as a warning (a restart cannot adopt that PVM).
/// </summary>
internal sealed class QemuManifestStore(bool detached, ILogger logger)
{
    /// <summary>
    /// The manifest of <paramref name="instance"/>, which runs <paramref name="entry"/> in <paramref name="role"/>.
    /// Its state is <paramref name="state"/>, else the entry's (or, mid-migration, the state before it).
    /// </summary>
    public void Write(PvmEntry entry, QemuInstance instance, QemuInstanceRole role = QemuInstanceRole.Active, ManifestMigration? migration = null, PvmState? state = null)
    {
        if (!detached)
        {
            return;
        }

        var st = state ?? (entry.State == PvmState.Migrating ? migration?.StateBefore ?? PvmState.Running : entry.State);
        var nic = instance.DataNic;
        var m = new QemuManifest
        {
            Ue = entry.Ue.Value,
            Pvm = entry.Pvm.Value,
            Site = instance.Site.Value,
            Role = role,
            State = st == PvmState.Suspended ? PvmState.Suspended : PvmState.Running,
            Pid = instance.ProcessId,
            Directory = instance.Directory,
            QmpSocket = instance.QmpSocket,
            Ports = instance.Ports,
            DiskPath = instance.DiskPath,
            MemoryMiB = instance.Spec.MemoryMiB,
            DiskMiB = instance.Spec.DiskMiB,
            DirtyMiB = instance.Spec.DirtyMiB,
            Address = entry.Address?.ToString(),
            DataNic = nic is null ? null : new QemuManifestNic(nic.Tap, nic.Address.ToString(), QemuDataNetwork.Colon(nic.Mac), nic.Attachment.Bridge, nic.Attachment.Namespace),
            MigrationSequence = migration?.Sequence,
            MigrationFrom = migration?.From.Value,
            MigrationTo = migration?.To.Value,
            MirrorJob = migration?.MirrorJob,
            MirrorNode = migration?.MirrorNode,
        };
        try
        {
            m.Write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("manifest of {Pvm} not written, a restart cannot adopt it: {Error}", entry.Pvm, $"{QemuManifest.PathIn(instance.Directory)}: {e.Message}");
        }
    }

    /// <summary>Removes an instance's manifest (it no longer runs the PVM); a manifest already gone is fine.</summary>
    public static void Delete(QemuInstance instance)
    {
        try
        {
            File.Delete(QemuManifest.PathIn(instance.Directory));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
