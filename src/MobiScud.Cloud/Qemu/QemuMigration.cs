using MobiScud.Cloud.Qmp;
using MobiScud.Control.Model;
using Microsoft.Extensions.Logging;

namespace MobiScud.Cloud.Qemu;

/// <summary>
/// One live migration of a PVM, from its start to its end (completed, or rolled back). Its phases, in order:
/// start the destination (-incoming defer); clean up what an earlier, rolled-back migration left on the source; set the
/// policy; mirror the disk over NBD until ready (write-blocking); pre-copy memory (migrate-incoming / migrate /
/// query-migrate) until QEMU completes; switch over (the destination runs: the PVM moves there, the MC is told) and
/// retire the source. Any failure rolls back: the source keeps (or resumes) running and the destination is dropped.
/// </summary>
internal sealed class QemuMigration
{
    /// <summary>Prefix of the NBD node each migration's mirror writes to (its own name per migration).</summary>
    public const string MirrorTargetPrefix = "mirror-target";

    private static readonly TimeSpan _qmpTimeout = TimeSpan.FromSeconds(10);

    private readonly IQemuHost _host;
    private readonly PvmEntry _entry;
    private readonly QemuInstance _src;
    private readonly CancellationTokenSource _requested = new();
    private readonly CancellationTokenSource _expired;
    private readonly CancellationTokenSource _cancel;
    private readonly string _mirrorJob;
    private readonly string _mirrorNode;
    private long _started;
    private bool _mirrorStarted;
    private bool _sourceReleased;

    // Set with the table's switch to the destination: from then on no failure may roll back.
    private bool _switchedOver;
    private TimeSpan _mirrorTime;
    private long _diskBytes;

    public QemuMigration(IQemuHost host, StartMigration command, MigrationPolicy policy, PvmEntry entry, QemuInstance source, PvmState stateBefore)
    {
        _host = host;
        _entry = entry;
        _src = source;
        Command = command;
        Policy = policy;
        StateBefore = stateBefore;
        _mirrorJob = $"mirror-{Id.Sequence}";

        // Its own node name per migration: a cancelled mirror's target node can outlive the rollback for a while (the
        // job winds down on its own), and a retry that reused the name failed with "Duplicate nodes".
        _mirrorNode = $"{MirrorTargetPrefix}-{Id.Sequence}";
        _expired = new CancellationTokenSource(host.MigrationTimeout, host.Time);
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(host.Shutdown, _requested.Token, _expired.Token);
    }

    public StartMigration Command { get; }

    public MigrationId Id => Command.Migration;

    public MigrationPolicy Policy { get; }

    /// <summary>Running or Suspended: what the PVM returns to (at either end) when the migration ends.</summary>
    public PvmState StateBefore { get; }

    /// <summary>The migration's run; completes when it has completed or been rolled back (never faults).</summary>
    public Task Task { get; private set; } = Task.CompletedTask;

    public QemuInstance? Destination { get; private set; }

    public MigrationPhase Phase { get; private set; }

    /// <summary>Source STOP to destination RESUME, by QEMU's own event time stamps.</summary>
    public TimeSpan? Pause { get; private set; }

    public DateTimeOffset? PausedAt { get; private set; }

    private TimeSpan Elapsed => _host.Time.GetElapsedTime(_started);

    /// <summary>Starts the run on the thread pool (the caller tracks <see cref="Task"/>).</summary>
    public Task Start() => Task = Task.Run(RunAsync);

    /// <summary>Asks the run to stop; it rolls back.</summary>
    public void Cancel() => _requested.Cancel();

    private async Task RunAsync()
    {
        _started = _host.Time.GetTimestamp();
        var ct = _cancel.Token;
        try
        {
            await using var waits = new QmpEventWaits(ct);
            var dst = await StartDestinationAsync(ct);
            await RemoveStaleMirrorTargetsAsync(ct);
            await ApplyPolicyAsync(dst, ct);
            if (Policy.MirrorDisk)
            {
                await MirrorDiskAsync(dst, waits, ct);
            }

            var (info, paused, resumed) = await PreCopyAsync(dst, waits, ct);
            var wall = await SwitchOverAsync(dst, resumed, info);
            await RetireSourceAsync(dst);

            // What the guest's users see: QEMU's "downtime" ends on the source side, before the destination resumes.
            // The events may trail the status polls that ended the waits above: give them a moment (after the MC knows).
            await Task.WhenAny(Task.WhenAll(paused, resumed), Task.Delay(TimeSpan.FromSeconds(2), _host.Time, CancellationToken.None));
            if (paused.IsCompletedSuccessfully && resumed.IsCompletedSuccessfully)
            {
                PausedAt = paused.Result.Timestamp;
                Pause = resumed.Result.Timestamp - paused.Result.Timestamp;
            }

            Report(true, null, wall, info);
        }
        catch (Exception e) when (_switchedOver)
        {
            // The PVM already runs at the destination and the MC knows it: a fault while tidying up the source must not
            // "roll back" (that stopped the live destination and reported the PVM failed at its new site).
            _host.Logger.LogWarning(e, "{Pvm}: migration {Migration} completed, but retiring the source at {From} failed", _entry.Pvm, Id, Command.From);
            await StopSourceAfterSwitchOverAsync();
            Report(true, null, Elapsed, null);
        }
        catch (Exception e)
        {
            await FailAsync(e);
        }
        finally
        {
            _cancel.Dispose();
            _expired.Dispose();
        }
    }

    private async Task<QemuInstance> StartDestinationAsync(CancellationToken ct)
    {
        Phase = MigrationPhase.StartingDestination;

        // Without a mirror the sites share storage: the destination opens the source's disk file (QEMU hands the
        // image over at switch-over), as on a real cluster with shared storage.
        var dst = await _host.StartInstanceAsync(Command.Pvm, Command.To, incoming: true, ct, Policy.MirrorDisk ? null : _src.DiskPath, _src.DataNic?.Address);
        Destination = dst;

        // Source first: a destination whose source names no migration is never adopted over it.
        var mark = new ManifestMigration(Id.Sequence, Command.From, Command.To, StateBefore);
        _host.Manifests.Write(_entry, _src, migration: Policy.MirrorDisk ? mark with { MirrorJob = _mirrorJob, MirrorNode = _mirrorNode } : mark);
        _host.Manifests.Write(_entry, dst, QemuInstanceRole.Destination, mark);
        return dst;
    }

    /// <summary>
    /// Mirror targets an earlier, rolled-back migration left on the source (still attached to a destination that is
    /// gone). QEMU flushes every node at switch-over, so such a node fails the next migration with an I/O error on the
    /// destination ("load of migration failed") and no reason on the source: remove them before migrating again.
    /// </summary>
    private async Task RemoveStaleMirrorTargetsAsync(CancellationToken ct)
    {
        // A job left running first: it holds its target node.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var jobs = await _src.Qmp.SendAsync(new QueryBlockJobs(), null, ct);
            if (jobs.Count == 0)
            {
                break;
            }

            foreach (var job in jobs)
            {
                if (job.Device is { } id)
                {
                    _host.Logger.LogInformation("{Pvm}: cancelling block job {Job} left by an earlier migration", _entry.Pvm, id);
                    await _src.Qmp.TrySendAsync(new BlockJobCancel(id, Force: true), _qmpTimeout);
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), _host.Time, ct);
        }

        foreach (var node in await _src.Qmp.SendAsync(new QueryNamedBlockNodes(Flat: true), null, ct))
        {
            if (node.NodeName is { } name && name.StartsWith(MirrorTargetPrefix, StringComparison.Ordinal) && await DeleteNodeAsync(_src, name, _host.Time))
            {
                _host.Logger.LogInformation("{Pvm}: removed stale mirror target {Node} from the source", _entry.Pvm, name);
                _host.StaleMirrorTargetRemoved();
            }
        }
    }

    /// <summary>Capabilities go to both ends (multifd must match; "events" makes QEMU emit MIGRATION); parameters to the source.</summary>
    private async Task ApplyPolicyAsync(QemuInstance dst, CancellationToken ct)
    {
        var p = Policy;
        var caps = new MigrateSetCapabilities(
        [
            new("events", true),
            new("auto-converge", p.AutoConverge),
            new("xbzrle", p.Xbzrle),
            new("multifd", p.MultifdChannels > 0),
        ]);
        await _src.Qmp.SendAsync(caps, null, ct);
        await dst.Qmp.SendAsync(caps, null, ct);
        var both = p.MultifdChannels > 0
            ? new MigrateSetParameters { MultifdChannels = p.MultifdChannels, MultifdCompression = p.MultifdCompression ?? "none" }
            : new MigrateSetParameters();
        var source = both with
        {
            MaxBandwidth = p.MaxBandwidthBytesPerSecond,
            DowntimeLimit = p.DowntimeLimit is { } dl ? (long)dl.TotalMilliseconds : null,
            XbzrleCacheSize = p.XbzrleCacheBytes,
        };
        if (!source.IsEmpty)
        {
            await _src.Qmp.SendAsync(source, null, ct);
        }

        if (!both.IsEmpty)
        {
            await dst.Qmp.SendAsync(both, null, ct);
        }
    }

    /// <summary>The destination serves its (empty) disk over NBD; the source mirrors into it until the job is ready.</summary>
    private async Task MirrorDiskAsync(QemuInstance dst, QmpEventWaits waits, CancellationToken ct)
    {
        Phase = MigrationPhase.MirroringDisk;
        var nbd = QmpInetAddress.Loopback(dst.Ports.Nbd);
        await dst.Qmp.SendAsync(new NbdServerStart(new QmpLegacyInetSocket(nbd)), null, ct);
        await dst.Qmp.SendAsync(new BlockExportAddNbd("export0", QemuInstance.DiskNode, Writable: true, ExportName: QemuInstance.DiskNode), null, ct);
        await _src.Qmp.SendAsync(new BlockdevAddNbd(_mirrorNode, QmpInetSocket.From(nbd), QemuInstance.DiskNode), null, ct);
        var ready = waits.Add(_src.Qmp, BlockJobEvents.Ready, BlockJobEvents.Of(_mirrorJob), _host.MigrationTimeout);
        var ended = waits.Add(_src.Qmp, BlockJobEvents.Completed, BlockJobEvents.Of(_mirrorJob), _host.MigrationTimeout);

        // Set before the command: a cancel that interrupts our wait for its answer does not stop QEMU from creating
        // the job, and a job the rollback does not cancel keeps its filter above the disk, failing every later mirror
        // ("Need a root block node") and migration.
        _mirrorStarted = true;

        // write-blocking: once ready, guest writes reach both disks before they complete, so the copy cannot lag.
        await _src.Qmp.SendAsync(new BlockdevMirror(_mirrorJob, QemuInstance.DiskNode, _mirrorNode, Sync: "full", CopyMode: "write-blocking"), null, ct);
        var first = await Task.WhenAny(ready, ended, dst.Exited);
        if (first == dst.Exited)
        {
            throw new MigrationAbort($"destination QEMU exited with code {dst.Exited.Result} during the disk mirror");
        }

        if (first == ended)
        {
            var ev = await ended;
            throw new MigrationAbort($"disk mirror ended before it was ready: {ev.DataString("error") ?? "no error given"}");
        }

        _diskBytes = BlockJobEvents.Offset(await ready) ?? 0;
        _mirrorTime = Elapsed;
    }

    /// <summary>Moves memory until QEMU reports the migration completed (it stops the source for the last round).</summary>
    private async Task<(MigrationInfo Info, Task<QmpEvent> Paused, Task<QmpEvent> Resumed)> PreCopyAsync(QemuInstance dst, QmpEventWaits waits, CancellationToken ct)
    {
        Phase = MigrationPhase.CopyingMemory;
        var uri = $"tcp:127.0.0.1:{dst.Ports.Migration}";

        // Events wake the waits below at once (polls are the fallback): every ms between the switch-over and
        // MigrationCompleted is a ms the MC still steers the PVM's traffic to the stopped source.
        var finished = waits.Add(_src.Qmp, MigrationEvents.Migration, MigrationEvents.IsFinal, _host.MigrationTimeout);
        var resumed = waits.Add(dst.Qmp, RunStateEvents.Resume, null, _host.MigrationTimeout);
        var paused = waits.Add(_src.Qmp, RunStateEvents.Stop, null, _host.MigrationTimeout);
        await dst.Qmp.SendAsync(new MigrateIncoming(uri), null, ct);
        await _src.Qmp.SendAsync(new Migrate(uri), null, ct);
        var info = await PollAsync(dst, finished, ct);
        return (info, paused, resumed);
    }

    /// <summary>How often a long pre-copy round reports its bytes sent (a new round reports at once).</summary>
    internal static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(500);

    private async Task<MigrationInfo> PollAsync(QemuInstance dst, Task finished, CancellationToken ct)
    {
        var lastRound = 0;
        var lastSent = 0L;
        var lastReported = 0L;
        var cancelled = false;
        var tick = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            if (ct.IsCancellationRequested && !cancelled)
            {
                cancelled = true;
                await _src.Qmp.TrySendAsync(new MigrateCancel(), _qmpTimeout);
            }

            var info = await _src.Qmp.SendAsync(new QueryMigrate(), _qmpTimeout);
            switch (info.Status)
            {
                case "completed":
                    // QEMU announces "completed" a moment before it fills in total-time and downtime: ask again.
                    for (var i = 0; i < 100 && info.TotalTime == TimeSpan.Zero; i++)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(5), _host.Time, CancellationToken.None);
                        info = await _src.Qmp.SendAsync(new QueryMigrate(), _qmpTimeout);
                    }

                    // Rounds that began and ended between two polls (a short migration) are still reported, once, so
                    // every completed migration has told its rounds before MigrationCompleted.
                    if (info.Rounds > lastRound)
                    {
                        _host.Emit(new MigrationProgressed(_host.Now, Id, info.Rounds, info.RamTransferred));
                    }

                    return info;
                case "failed":
                    var desc = info.ErrorDesc ?? "no reason given";
                    if (dst.Exited.IsCompleted)
                    {
                        throw new MigrationAbort($"destination QEMU exited with code {dst.Exited.Result} mid-migration ({desc})");
                    }

                    // The source often knows no reason; the destination says why on its stderr.
                    var tail = dst.StderrTail.Trim();
                    var srcTail = _src.StderrTail.Trim();
                    throw new MigrationAbort($"QEMU reports the migration failed: {desc}{(tail.Length > 0 ? $"; destination says: {tail}" : "")}{(srcTail.Length > 0 ? $"; source says: {srcTail}" : "")}");
                case "cancelled":
                    ct.ThrowIfCancellationRequested();
                    throw new MigrationAbort("migration was cancelled inside QEMU");
            }

            // Each new pre-copy round, and within a long round the bytes sent at most every ProgressEvery: the dashboard's
            // bar moves while a round copies, without an event per poll for the MC.
            var round = info.Rounds;
            if (round > 0 && (round != lastRound || (info.RamTransferred != lastSent && _host.Time.GetElapsedTime(lastReported) >= ProgressEvery)))
            {
                lastRound = round;
                lastSent = info.RamTransferred;
                lastReported = _host.Time.GetTimestamp();
                _host.Emit(new MigrationProgressed(_host.Now, Id, round, info.RamTransferred));
            }

            if (dst.Exited.IsCompleted && !cancelled)
            {
                // The source notices a dead peer only when its socket errors; cancel so it stops trying now.
                await _src.Qmp.TrySendAsync(new MigrateCancel(), _qmpTimeout);
                throw new MigrationAbort($"destination QEMU exited with code {dst.Exited.Result} mid-migration");
            }

            await Task.WhenAny(Task.Delay(tick, _host.Time, CancellationToken.None), dst.Exited, finished.IsCompleted ? Task.Delay(tick, _host.Time, CancellationToken.None) : finished);
        }
    }

    /// <summary>Once the destination runs, the PVM is there: the table, the manifests and the MC learn it. Returns the wall time.</summary>
    private async Task<TimeSpan> SwitchOverAsync(QemuInstance dst, Task resumed, MigrationInfo info)
    {
        Phase = MigrationPhase.SwitchingOver;
        await WaitDestinationRunningAsync(dst, StateBefore == PvmState.Suspended, resumed, _host.Time);
        if (!Policy.MirrorDisk)
        {
            // The open image follows the rename; the file now lives (and dies) with its new site's instance.
            var moved = Path.Combine(dst.Directory, "disk.raw");
            File.Move(_src.DiskPath, moved);
            dst.DiskPath = moved;
        }

        lock (_host.Table.Gate)
        {
            _entry.Active = dst;
            _entry.Site = Command.To;
            _entry.State = StateBefore;
            _entry.Migration = null;
            _switchedOver = true;
        }

        // The source's manifest goes first: a crash in between leaves a lone running destination, which is adopted.
        QemuManifestStore.Delete(_src);
        _host.Manifests.Write(_entry, dst);

        // The PVM runs at the destination: tell the MC now, and tidy up the source side after.
        var wall = Elapsed;
        _host.Supervise(_entry, dst);
        _host.Emit(new MigrationCompleted(_host.Now, Id, new MigrationStats(wall, info.Downtime, info.RamTransferred, info.Rounds)));
        return wall;
    }

    /// <summary>Ends the mirror (QEMU's documented sequence), stops the destination's NBD server and the source QEMU.</summary>
    private async Task RetireSourceAsync(QemuInstance dst)
    {
        // Not bound to the run's token: the PVM already runs at the destination, so shutting down must not undo this.
        await using var waits = new QmpEventWaits(CancellationToken.None);
        try
        {
            if (_mirrorStarted)
            {
                // After memory moved, cancel the (ready) mirror on the source, which completes it without pivoting;
                // the destination then stops serving its disk.
                var done = waits.Add(_src.Qmp, BlockJobEvents.Completed, BlockJobEvents.Of(_mirrorJob), TimeSpan.FromSeconds(20));
                await _src.Qmp.SendAsync(new BlockJobCancel(_mirrorJob), null, CancellationToken.None);
                _diskBytes = BlockJobEvents.Offset(await done) ?? _diskBytes;
                _mirrorStarted = false;
                await _src.Qmp.TrySendAsync(new BlockdevDel(_mirrorNode));
                await dst.Qmp.TrySendAsync(new NbdServerStop());
            }
        }
        catch (Exception e) when (e.IsQmpFailure() || e is IOException)
        {
            // The destination already runs the PVM; a source that cannot tidy up is simply stopped below.
            _host.Logger.LogDebug("{Pvm}: source of migration {Migration} did not tidy up its mirror: {Error}", _entry.Pvm, Id, e.Message);
        }
        finally
        {
            await StopSourceAfterSwitchOverAsync();
        }
    }

    /// <summary>Frees the source's ports once (a second free could free a block a new instance took since) and stops it.</summary>
    private async Task StopSourceAfterSwitchOverAsync()
    {
        if (_sourceReleased)
        {
            return;
        }

        _sourceReleased = true;
        try
        {
            _host.Release(_src);
            await _src.StopAsync();
        }
        catch (Exception e)
        {
            _host.Logger.LogWarning(e, "{Pvm}: could not stop the source QEMU of migration {Migration}", _entry.Pvm, Id);
        }
    }

    private async Task FailAsync(Exception e)
    {
        var reason = e switch
        {
            OperationCanceledException when _host.Shutdown.IsCancellationRequested => "hypervisor shutting down",
            OperationCanceledException when _expired.IsCancellationRequested => $"timed out after {_host.MigrationTimeout}",
            OperationCanceledException => "cancelled on request",
            _ when Destination is { Exited.IsCompleted: true, Stopping: false } d => $"destination QEMU exited with code {d.Exited.Result}: {e.Message}",
            _ => e.Message,
        };
        _host.Logger.LogWarning("migration {Migration} of {Pvm} {From}->{To} failed in {Phase}, rolling back: {Reason}", Id, _entry.Pvm, Command.From, Command.To, Phase, reason);
        await RollBackAsync(_src, _mirrorStarted ? _mirrorJob : null, _mirrorNode, StateBefore, _host.Time, _host.Logger);
        if (Destination is { } dst)
        {
            _host.Release(dst);
            await dst.StopAsync();
        }

        var sourceAlive = !_src.Exited.IsCompleted;
        lock (_host.Table.Gate)
        {
            _entry.Migration = null;
            if (_entry.State == PvmState.Migrating)
            {
                _entry.State = sourceAlive ? StateBefore : PvmState.Failed;
            }
        }

        if (sourceAlive)
        {
            _host.Manifests.Write(_entry, _src, state: StateBefore);
        }

        Report(false, reason, Elapsed, null);
        _host.Emit(new MigrationFailed(_host.Now, Id, reason));
        if (!sourceAlive)
        {
            _host.Emit(new PvmFailed(_host.Now, _entry.Ue, _entry.Pvm, _entry.Site, $"source QEMU exited during migration with code {_src.Exited.Result}"));
        }
    }

    private void Report(bool ok, string? reason, TimeSpan wall, MigrationInfo? info) =>
        _host.Report(new QemuMigrationReport(
            Id, Command.From, Command.To, ok, reason, wall, _mirrorTime, info?.TotalTime ?? TimeSpan.Zero, info?.Downtime ?? TimeSpan.Zero,
            info?.RamTransferred ?? 0, _diskBytes, info?.Rounds ?? 0)
        {
            Pause = Pause,
            PausedAt = PausedAt,
        });

    /// <summary>
    /// After a failed or cancelled migration (here, or one a previous process left in flight): stop QEMU's migration
    /// and the mirror, delete the mirror's target node, and keep the source running (`cont` if it ran before).
    /// </summary>
    internal static async Task RollBackAsync(QemuInstance src, string? mirrorJob, string mirrorNode, PvmState stateBefore, TimeProvider time, ILogger logger)
    {
        if (src.Exited.IsCompleted)
        {
            return;
        }

        await src.Qmp.TrySendAsync(new MigrateCancel(), _qmpTimeout);
        for (var i = 0; i < 100; i++)
        {
            try
            {
                if ((await src.Qmp.SendAsync(new QueryMigrate(), _qmpTimeout)).Status is null or "completed" or "failed" or "cancelled" or "none")
                {
                    break;
                }
            }
            catch (Exception e) when (e.IsQmpFailure())
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), time);
        }

        if (mirrorJob is not null)
        {
            await using var waits = new QmpEventWaits(CancellationToken.None);
            var done = waits.Add(src.Qmp, BlockJobEvents.Completed, BlockJobEvents.Of(mirrorJob), _qmpTimeout);
            var cancelled = waits.Add(src.Qmp, BlockJobEvents.Cancelled, BlockJobEvents.Of(mirrorJob), _qmpTimeout);
            try
            {
                await src.Qmp.SendAsync(new BlockJobCancel(mirrorJob, Force: true), _qmpTimeout);
                await Task.WhenAny(done, cancelled);
            }
            catch (Exception e) when (e.IsQmpFailure())
            {
                logger.LogDebug("mirror job {Job} not cancelled (already gone?): {Error}", mirrorJob, e.Message);
            }
        }

        if (!await DeleteNodeAsync(src, mirrorNode, time))
        {
            logger.LogWarning("mirror target {Node} is still in use after the rollback; the next migration removes it", mirrorNode);
        }

        // A source that does not answer is left to the supervisor, which reports it dead.
        if (stateBefore == PvmState.Running && await src.TryQueryStatusAsync() is { Running: false })
        {
            await src.Qmp.TrySendAsync(new Cont(), _qmpTimeout);
        }
    }

    /// <summary>Waits until a migrated destination runs (or, for a suspended PVM, is paused with its state loaded).</summary>
    internal static async Task WaitDestinationRunningAsync(QemuInstance dst, bool wasSuspended, Task resumed, TimeProvider time)
    {
        for (var i = 0; i < 400; i++)
        {
            var s = (await dst.Qmp.SendAsync(new QueryStatus(), _qmpTimeout)).Status;
            if (s == "running" || (wasSuspended && s is "paused"))
            {
                return;
            }

            if (s is not ("inmigrate" or "paused" or "prelaunch"))
            {
                throw new MigrationAbort($"destination is '{s}' after the migration completed");
            }

            await Task.WhenAny(
                Task.Delay(TimeSpan.FromMilliseconds(resumed.IsCompleted ? 5 : 25), time),
                dst.Exited,
                resumed.IsCompleted ? Task.Delay(TimeSpan.FromMilliseconds(25), time) : resumed);
            if (dst.Exited.IsCompleted)
            {
                throw new MigrationAbort($"destination QEMU exited with code {dst.Exited.Result} at switch-over");
            }
        }

        throw new MigrationAbort("destination did not start running within 10 s of the migration completing");
    }

    /// <summary>
    /// Deletes a block node, retrying while it is still in use (a cancelled mirror job lets go of its target a moment
    /// after BLOCK_JOB_CANCELLED). True once it is gone, false if it stayed in use.
    /// </summary>
    private static async Task<bool> DeleteNodeAsync(QemuInstance instance, string node, TimeProvider time)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                await instance.Qmp.SendAsync(new BlockdevDel(node), _qmpTimeout);
                return true;
            }
            catch (QmpException e) when (e.Desc.Contains("find", StringComparison.OrdinalIgnoreCase))
            {
                return true; // "Failed to find node with node-name=..."
            }
            catch (QmpException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), time);
            }
            catch (Exception e) when (e is QmpConnectionClosedException or QmpTimeoutException or QmpProtocolException)
            {
                return false;
            }
        }

        return false;
    }
}

/// <summary>A migration step found the migration cannot go on; the message says why (it becomes the failure reason).</summary>
internal sealed class MigrationAbort(string message) : Exception(message);
