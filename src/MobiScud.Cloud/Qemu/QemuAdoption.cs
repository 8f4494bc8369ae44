using System.Net;
using MobiScud.Cloud.Qmp;
using MobiScud.Control.Model;
using Microsoft.Extensions.Logging;

namespace MobiScud.Cloud.Qemu;

/// <summary>
/// Takes back the detached QEMUs a previous process left in the sites' directories (see
/// <see cref="QemuHypervisor.AdoptAsync"/>): reads and checks each instance's manifest, reconnects QMP, settles a
/// migration that was in flight, and puts each PVM back into the <see cref="PvmTable"/>.
/// </summary>
internal sealed class QemuAdoption(IQemuHost host, QemuSites sites)
{
    private static readonly TimeSpan _connect = TimeSpan.FromSeconds(10);

    private readonly List<QemuAdoptionProblem> _problems = [];

    public async Task<QemuAdoptionReport> RunAsync(CancellationToken ct)
    {
        var adopted = new List<QemuAdoptedPvm>();
        var found = new List<QemuManifest>();
        foreach (var site in sites.All())
        {
            // Check reports (and removes) each directory that cannot be adopted.
            found.AddRange(Directory.EnumerateDirectories(site.Directory).Select(dir => Check(site, dir)).OfType<QemuManifest>());
        }

        foreach (var group in found.GroupBy(m => m.Pvm))
        {
            try
            {
                if (await AdoptPvmAsync([.. group.OrderByDescending(m => m.WrittenAt)], ct) is { } a)
                {
                    adopted.Add(a);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One PVM that cannot be taken back must not keep the others (or the service) from coming up.
                foreach (var m in group)
                {
                    Problem(QemuManifest.PathIn(m.Directory), $"adoption of {m.Pvm} failed: {e.Message}; its QEMU was killed");
                    QemuInstance.KillByPidFile(m.Directory);
                    QemuInstance.DeleteDirectory(m.Directory);
                }
            }
        }

        return new QemuAdoptionReport(adopted, [.. _problems]);
    }

    /// <summary>The manifest of an instance directory whose QEMU still runs; anything else is reported and removed.</summary>
    private QemuManifest? Check(QemuSite site, string dir)
    {
        var path = QemuManifest.PathIn(dir);
        if (!File.Exists(path))
        {
            return Discard(dir, dir, $"no {QemuManifest.FileName} (a PVM that never finished booting, or not a detached instance)");
        }

        var m = QemuManifest.TryRead(path, out var error);
        return m is null ? Discard(dir, path, error!)
            : Path.GetFullPath(m.Directory) != dir || m.Site != site.Id.Value ? Discard(dir, path, $"names directory {m.Directory} at site {m.Site}, but lies in {dir} of site {site.Id}")
            : !QemuInstance.IsInstanceProcess(m.Pid, dir) ? Discard(dir, path, $"QEMU pid {m.Pid} of {m.Pvm} is not running (the PVM's memory is lost; the MC boots it afresh)")
            : m;
    }

    /// <summary>Reports an instance directory that cannot be adopted, kills the QEMU of its pidfile (if it is one) and removes it.</summary>
    private QemuManifest? Discard(string dir, string path, string problem)
    {
        var killed = QemuInstance.KillByPidFile(dir);
        Problem(path, $"{problem}{(killed ? "; killed the QEMU of its pidfile" : "")}; instance directory removed");
        QemuInstance.DeleteDirectory(dir);
        return null;
    }

    private async Task<QemuAdoptedPvm?> AdoptPvmAsync(List<QemuManifest> manifests, CancellationToken ct)
    {
        var actives = manifests.Where(m => m.Role == QemuInstanceRole.Active).ToList();
        var destinations = manifests.Where(m => m.Role == QemuInstanceRole.Destination).ToList();
        foreach (var extra in actives.Skip(1))
        {
            Problem(QemuManifest.PathIn(extra.Directory), $"a second live instance of {extra.Pvm} (kept the newer {actives[0].Directory}); killed");
            await KillInstanceAsync(extra);
        }

        QemuInstance? active = null;
        string? note = null;
        QemuManifest? kept = null;
        if (actives.FirstOrDefault() is { } src)
        {
            var (source, error) = await TryAdoptAsync(src, ct);
            if (source is null)
            {
                // Its destinations are judged below as if it had no source.
                Problem(QemuManifest.PathIn(src.Directory), $"QMP of {src.Pvm} (pid {src.Pid}) does not answer: {error}; killed");
                await KillInstanceAsync(src);
            }
            else
            {
                var dst = src.MigrationSequence is { } seq ? destinations.FirstOrDefault(d => d.MigrationSequence == seq) : null;
                (active, kept, note) = src.MigrationSequence is null ? (source, src, null) : await SettleMigrationAsync(src, source, dst, ct);
                foreach (var other in destinations.Where(d => d != dst))
                {
                    Problem(QemuManifest.PathIn(other.Directory), $"destination of a migration of {other.Pvm} its source does not name; killed");
                    await KillInstanceAsync(other);
                }

                destinations.Clear();
            }
        }

        if (active is null)
        {
            // No live source: a destination that already runs is the PVM (the source quit after the switch-over).
            foreach (var d in destinations)
            {
                if (active is null)
                {
                    var (candidate, _) = await TryAdoptAsync(d, ct);
                    if (candidate is not null && (await candidate.TryQueryStatusAsync())?.Status is "running" or "paused")
                    {
                        active = candidate;
                        kept = d;
                        note = $"the destination of migration #{d.MigrationSequence} ran without its source: adopted";
                        continue;
                    }

                    if (candidate is not null)
                    {
                        await candidate.StopAsync();
                    }
                }

                Problem(QemuManifest.PathIn(d.Directory), $"destination of migration #{d.MigrationSequence} of {d.Pvm} without a live source, not running; killed");
                await KillInstanceAsync(d);
            }
        }

        if (active is null || kept is null)
        {
            return null;
        }

        TakeOverSharedDisk(active);
        var status = (await active.TryQueryStatusAsync())?.Status;
        var state = kept.State == PvmState.Suspended || status is not "running" ? PvmState.Suspended : PvmState.Running;
        var ue = new UeId(kept.Ue);
        var pvm = new PvmId(kept.Pvm);
        IPAddress? address = kept.Address is { } a && IPAddress.TryParse(a, out var ip) ? ip : null;
        var entry = new PvmEntry(ue, pvm, active.Site) { State = state, Address = address, Active = active };
        lock (host.Table.Gate)
        {
            if (host.Table.Find(pvm) is not null || !sites.MarkUsed(active.Site, active.Ports))
            {
                throw new InvalidOperationException($"{pvm} is already held here, or its site {active.Site} is not registered");
            }

            host.Table.Adopt(entry, active.Spec);
        }

        host.Manifests.Write(entry, active, state: state);
        host.Supervise(entry, active);
        host.Logger.LogInformation("adopted {Pvm} at {Site} (pid {Pid}, {State}){Note}", pvm, active.Site, active.ProcessId, state, note is null ? "" : $": {note}");
        return new QemuAdoptedPvm(ue, pvm, active.Site, active.ProcessId, state, note);
    }

    /// <summary>
    /// A migration was in flight when the previous process ended. The source's query-migrate decides: completed, the
    /// destination (once running) is the PVM and the source quits; anything else is cancelled, the destination quits and
    /// the source runs on (`cont` if the migration had paused it).
    /// </summary>
    private async Task<(QemuInstance? Active, QemuManifest? Kept, string? Note)> SettleMigrationAsync(QemuManifest src, QemuInstance source, QemuManifest? dst, CancellationToken ct)
    {
        var seq = src.MigrationSequence;
        string? migration;
        try
        {
            // No status at all: `migrate` was never issued (the crash came while the destination started or the disk mirrored).
            migration = (await source.Qmp.SendAsync(new QueryMigrate(), _connect, ct)).Status ?? "not started";
        }
        catch (Exception e) when (e.IsQmpFailure())
        {
            migration = $"unanswered ({e.Message})";
        }

        if (migration == "completed" && dst is not null && (await TryAdoptAsync(dst, ct)).Instance is { } destination)
        {
            try
            {
                await using (var waits = new QmpEventWaits(ct))
                {
                    var resumed = waits.Add(destination.Qmp, RunStateEvents.Resume, null, _connect);
                    await QemuMigration.WaitDestinationRunningAsync(destination, src.State == PvmState.Suspended, resumed, host.Time);
                }

                await destination.Qmp.TrySendAsync(new NbdServerStop(), _connect);

                // Before the source's directory goes: the shared image may still lie in it.
                TakeOverSharedDisk(destination);
                QemuManifestStore.Delete(source);
                await source.StopAsync();
                host.Release(source);
                return (destination, dst with { Role = QemuInstanceRole.Active, State = src.State }, $"migration #{seq} {src.MigrationFrom}->{src.MigrationTo} had completed: adopted at {src.MigrationTo}, source quit");
            }
            catch (Exception e) when (e is MigrationAbort || e.IsQmpFailure())
            {
                await destination.StopAsync();
                dst = null;
                migration = $"completed, but the destination did not run ({e.Message})";
            }
        }

        // Roll back: cancel what is left of the copy and the mirror, drop the destination, resume the source.
        await source.Qmp.TrySendAsync(new MigrateCancel(), _connect);
        await QemuMigration.RollBackAsync(source, src.MirrorJob, src.MirrorNode ?? $"{QemuMigration.MirrorTargetPrefix}-none", src.State, host.Time, host.Logger);
        if (dst is not null)
        {
            await KillInstanceAsync(dst);
        }

        return (source, src with { MigrationSequence = null, MigrationFrom = null, MigrationTo = null, MirrorJob = null, MirrorNode = null },
            $"migration #{seq} {src.MigrationFrom}->{src.MigrationTo} was '{migration}': cancelled, the PVM stays at {src.Site}");
    }

    private void Problem(string path, string message)
    {
        host.Logger.LogWarning("adoption: {Path}: {Problem}", path, message);
        _problems.Add(new(path, message));
    }

    /// <summary>
    /// A destination on shared storage opened its source's image: it moves into the destination's directory, as after a
    /// migration (QEMU's open file follows the rename). Already moved (a crash after the move): the manifest is behind.
    /// </summary>
    private static void TakeOverSharedDisk(QemuInstance instance)
    {
        if (instance.DiskPath.StartsWith(instance.Directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return;
        }

        var moved = Path.Combine(instance.Directory, "disk.raw");
        if (File.Exists(instance.DiskPath))
        {
            File.Move(instance.DiskPath, moved);
        }

        if (File.Exists(moved))
        {
            instance.DiskPath = moved;
        }
    }

    /// <summary>Reattaches to the QEMU of <paramref name="m"/>; null with the reason when it is not that QEMU or QMP does not answer.</summary>
    private async Task<(QemuInstance? Instance, string? Error)> TryAdoptAsync(QemuManifest m, CancellationToken ct)
    {
        try
        {
            return (await QemuInstance.AdoptAsync(m, _connect, ct, host.Time), null);
        }
        catch (Exception e) when (e is QmpConnectionClosedException or QmpProtocolException or QmpTimeoutException or InvalidOperationException)
        {
            return (null, e.Message);
        }
    }

    /// <summary>Kills an instance found on disk (by its pid, checked) and removes its directory.</summary>
    private async Task KillInstanceAsync(QemuManifest m)
    {
        if (QemuInstance.KillInstanceProcess(m.Pid, m.Directory))
        {
            for (var i = 0; i < 100 && QemuInstance.IsInstanceProcess(m.Pid, m.Directory); i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), host.Time);
            }
        }

        QemuInstance.DeleteDirectory(m.Directory);
    }
}
