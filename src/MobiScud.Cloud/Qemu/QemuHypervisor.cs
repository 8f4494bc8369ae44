using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Channels;
using MobiScud.Cloud.Qmp;
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
    MigrationId Migration, SiteId From, SiteId To, MigrationPolicy Policy, bool Succeeded, string? FailureReason,
    TimeSpan WallTime, TimeSpan MirrorTime, TimeSpan QemuTotalTime, TimeSpan Downtime, TimeSpan SetupTime,
    long RamBytes, long DiskBytes, int Rounds, long NormalPages, long ZeroPages, long DowntimeBytes)
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
    PvmStatus Status, int ProcessId, QemuPorts Ports, string SerialLog, string DiskPath,
    int? DestinationProcessId, MigrationPhase? Phase, QemuDataNic? DataNic = null);

/// <summary>
/// The QEMU backend of <see cref="IHypervisor"/>: every PVM is a TCG QEMU process at one of the registered sites
/// (a directory and a loopback port range on this machine), driven over QMP. Live migration starts the destination
/// with -incoming defer, mirrors the disk over NBD (blockdev-mirror, write-blocking) until ready, then moves memory
/// (migrate-incoming / migrate / query-migrate). Failures leave the source running and are reported as events.
/// </summary>
public sealed class QemuHypervisor : IHypervisor
{
    private readonly QemuHypervisorOptions options;
    private readonly Channel<ControlEvent> events = Channel.CreateUnbounded<ControlEvent>();
    private readonly Dictionary<SiteId, SiteState> sites = [];
    private readonly Dictionary<PvmId, Entry> pvms = [];
    private readonly Dictionary<PvmId, PvmSpec> specs = [];
    private readonly List<Task> background = [];
    private readonly CancellationTokenSource shutdown = new();
    private readonly Stopwatch since = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private readonly Dictionary<PvmId, IPAddress> dataAddresses = [];
    private readonly List<string> manifestErrors = [];
    private int generation;

    /// <summary>Process-wide, so taps of hypervisors living side by side in one process never share a name.</summary>
    private static int tapCounter;

    private int staleMirrorTargetsRemoved;

    public QemuHypervisor(QemuHypervisorOptions options)
    {
        options.DataNetwork?.Validate();
        this.options = options;
    }

    /// <summary>The guest-visible data network (null: management networking only).</summary>
    public QemuDataNetwork? DataNetwork => options.DataNetwork;

    public ChannelReader<ControlEvent> Events => events.Reader;

    /// <summary>Raised for every finished migration (succeeded or not) with QEMU's full figures.</summary>
    public event Action<QemuMigrationReport>? MigrationReported;

    public MigrationPolicy Policy
    {
        get => options.Policy;
        set => options.Policy = value;
    }

    private TimeSpan Now => options.Clock?.Invoke() ?? since.Elapsed;

    /// <summary>Registers a site; QEMU processes a crashed earlier run left in its directory are killed.</summary>
    public void AddSite(QemuSite site)
    {
        if (site.PortCount < QemuPorts.Count)
        {
            throw new ArgumentException($"site {site.Id}: port range {site.FirstPort}+{site.PortCount} holds no PVM (needs {QemuPorts.Count})", nameof(site));
        }

        if (options.DataNetwork is not null && site.DataBridge is null)
        {
            throw new ArgumentException($"site {site.Id}: the hypervisor has a data network ({options.DataNetwork.Subnet}) but the site names no DataBridge for its PVMs' taps", nameof(site));
        }

        if (options.DataNetwork is null && site.DataBridge is not null)
        {
            throw new ArgumentException($"site {site.Id}: DataBridge {site.DataBridge.Bridge} given but QemuHypervisorOptions.DataNetwork is not set (no addresses to give PVMs)", nameof(site));
        }

        if (site.DataBridge is { } bridge)
        {
            DataLinks.RequireBridge(bridge, site.Id.Value);
        }

        // Full paths: they appear on QEMU's command line, which is how a later process recognises its QEMUs.
        site = site with { Directory = Path.GetFullPath(site.Directory) };
        Directory.CreateDirectory(site.Directory);
        if (!options.Detached)
        {
            QemuInstance.KillLeftovers(site.Directory);
        }

        lock (gate)
        {
            // New instance directories must not reuse the names of ones a previous run left (adoptable or not).
            foreach (var d in Directory.EnumerateDirectories(site.Directory))
            {
                var dot = d.LastIndexOf('.');
                if (dot > 0 && int.TryParse(d.AsSpan(dot + 1), out var g) && g > generation)
                {
                    generation = g;
                }
            }

            if (!sites.TryAdd(site.Id, new SiteState(site)))
            {
                throw new ArgumentException($"site {site.Id} is already registered", nameof(site));
            }
        }
    }

    /// <summary>Gives one PVM its own size (else <see cref="QemuHypervisorOptions.DefaultSpec"/>).</summary>
    public void DefinePvm(PvmId pvm, PvmSpec spec)
    {
        lock (gate)
        {
            specs[pvm] = spec;
        }
    }

    public IReadOnlyList<PvmStatus> Query()
    {
        lock (gate)
        {
            return [.. pvms.Values.Select(e => e.Status())];
        }
    }

    public QemuPvmInfo? Describe(PvmId pvm)
    {
        lock (gate)
        {
            if (!pvms.TryGetValue(pvm, out var e) || e.Active is null)
            {
                return null;
            }

            var a = e.Active;
            return new QemuPvmInfo(e.Status(), a.ProcessId, a.Ports, a.SerialLog, a.DiskPath, e.Migration?.Destination?.ProcessId, e.Migration?.Phase, a.DataNic);
        }
    }

    /// <summary>
    /// Asks the PVM's live QEMU over QMP what it is doing (`query-status`: "running", "paused", "postmigrate", ...).
    /// Null when there is no live instance, its process has exited, or QMP does not answer.
    /// </summary>
    public async Task<string?> QueryQemuStatusAsync(PvmId pvm, CancellationToken ct = default)
    {
        QemuInstance? active;
        lock (gate)
        {
            active = pvms.TryGetValue(pvm, out var e) ? e.Active : null;
        }

        if (active is null || active.Exited.IsCompleted)
        {
            return null;
        }

        try
        {
            var status = await active.Qmp.ExecuteAsync("query-status", null, TimeSpan.FromSeconds(10), ct);
            return status.TryGetProperty("status", out var s) ? s.GetString() : null;
        }
        catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException or QmpProtocolException or IOException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>Bytes of the PVM's RAM that are not zero (dumps its memory; the guest pauses for a moment).</summary>
    public async Task<long> MeasureNonZeroMemoryAsync(PvmId pvm, CancellationToken ct = default)
    {
        QemuInstance? active;
        lock (gate)
        {
            active = pvms.TryGetValue(pvm, out var e) && e.Migration is null ? e.Active : null;
        }

        if (active is null)
        {
            throw new InvalidOperationException($"{pvm} is not running here (or is migrating)");
        }

        return await GuestMemory.NonZeroBytesAsync(active.Qmp, Path.Combine(active.Directory, "memory.dump"), ct);
    }

    public Task ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(shutdown.IsCancellationRequested, this);
        switch (command)
        {
            case CreatePvm c:
                Create(c.Ue, c.Pvm, c.Site);
                return Task.CompletedTask;
            case ResumePvm r:
                return ResumeAsync(r, ct);
            case SuspendPvm s:
                return SuspendAsync(s, ct);
            case DestroyPvm d:
                return DestroyAsync(d.Pvm);
            case StartMigration m:
                StartMigrationRun(m);
                return Task.CompletedTask;
            case CancelMigration c:
                lock (gate)
                {
                    if (pvms.TryGetValue(c.Pvm, out var e) && e.Migration is { } run && run.Id == c.Migration)
                    {
                        run.Cancel.Cancel();
                    }
                }

                return Task.CompletedTask;
            default:
                throw new ArgumentException($"{command.GetType().Name} is not a hypervisor command", nameof(command));
        }
    }

    private void Create(UeId ue, PvmId pvm, SiteId siteId)
    {
        Entry entry;
        lock (gate)
        {
            if (pvms.TryGetValue(pvm, out var existing))
            {
                if (existing.Site == siteId && existing.State is PvmState.Running)
                {
                    Emit(new PvmStarted(Now, ue, pvm, siteId, existing.Address)); // idempotent: the MC may repeat itself
                }
                else if (existing.Site != siteId)
                {
                    Emit(new PvmFailed(Now, ue, pvm, siteId, $"{pvm} already exists at site {existing.Site}"));
                }

                return;
            }

            if (!sites.ContainsKey(siteId))
            {
                Emit(new PvmFailed(Now, ue, pvm, siteId, $"unknown site {siteId}"));
                return;
            }

            IPAddress? address = null;
            if (options.DataNetwork is { } net)
            {
                var wanted = specs.GetValueOrDefault(pvm, options.DefaultSpec).DataAddress;
                address = AllocateAddress(net, pvm, wanted, out var refusal);
                if (address is null)
                {
                    Emit(new PvmFailed(Now, ue, pvm, siteId, refusal!));
                    return;
                }
            }

            entry = new Entry(ue, pvm, siteId) { State = PvmState.Booting, Address = address };
            pvms[pvm] = entry;
        }

        Track(BootAsync(entry));
    }

    private async Task BootAsync(Entry entry)
    {
        try
        {
            var instance = await StartInstanceAsync(entry.Pvm, entry.Site, incoming: false, shutdown.Token, null, entry.Address);
            lock (gate)
            {
                if (entry.Destroyed)
                {
                    Track(instance.StopAsync());
                    return;
                }

                entry.Active = instance;
            }

            Supervise(entry, instance);
            await instance.WaitReadyAsync(options.BootTimeout, shutdown.Token);
            if (entry.Address is { } address)
            {
                var log = instance.ReadSerialLog();
                if (!log.Contains($" data={address}/", StringComparison.Ordinal))
                {
                    var why = log.Split('\n').FirstOrDefault(l => l.Contains("MOBISCUD-DATA-ERROR", StringComparison.Ordinal))?.Trim()
                              ?? "its ready line names no data address (guest image without data-NIC support?)";
                    throw new InvalidOperationException($"guest did not configure its data NIC {address}: {why}");
                }
            }
            lock (gate)
            {
                if (entry.State == PvmState.Booting)
                {
                    entry.State = PvmState.Running;
                }
            }

            WriteManifest(entry, instance);
            Emit(new PvmStarted(Now, entry.Ue, entry.Pvm, entry.Site, entry.Address));
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Fail(entry, $"boot failed: {e.Message}");
        }
    }

    private void Fail(Entry entry, string reason)
    {
        lock (gate)
        {
            if (entry.Destroyed || entry.State == PvmState.Failed)
            {
                return;
            }

            entry.State = PvmState.Failed;
        }

        Emit(new PvmFailed(Now, entry.Ue, entry.Pvm, entry.Site, reason));
    }

    /// <summary>A QEMU that exits while it is the PVM's live instance has crashed: tell the MC.</summary>
    private void Supervise(Entry entry, QemuInstance instance)
    {
        // Not tracked: it ends with the process, which DisposeAsync stops after the tracked work.
        _ = instance.Exited.ContinueWith(
            t =>
            {
                bool crashed;
                lock (gate)
                {
                    crashed = !instance.Stopping && ReferenceEquals(entry.Active, instance) && !entry.Destroyed;
                }

                if (crashed)
                {
                    var serial = instance.ReadSerialLog();
                    var panic = serial.Contains("Kernel panic", StringComparison.Ordinal) ? " (guest kernel panic)" : "";
                    Fail(entry, $"QEMU exited unexpectedly with code {t.Result}{panic}: {instance.StderrTail}".Trim());
                }
            },
            TaskScheduler.Default);
    }

    private async Task ResumeAsync(ResumePvm r, CancellationToken ct)
    {
        Entry? entry;
        lock (gate)
        {
            pvms.TryGetValue(r.Pvm, out entry);
        }

        if (entry is null)
        {
            // Nothing to resume (never created, or lost in a restart): boot it afresh where the MC wants it.
            Create(r.Ue, r.Pvm, r.Site);
            return;
        }

        if (entry.Site != r.Site || entry.Active is null)
        {
            Emit(new PvmFailed(Now, r.Ue, r.Pvm, r.Site, $"{r.Pvm} is at site {entry.Site} in state {entry.State}, cannot resume it at {r.Site}"));
            return;
        }

        try
        {
            await entry.Active.Qmp.ExecuteAsync("cont", null, null, ct);
            lock (gate)
            {
                if (entry.State == PvmState.Suspended)
                {
                    entry.State = PvmState.Running;
                }
            }

            WriteManifest(entry, entry.Active);
            Emit(new PvmStarted(Now, r.Ue, r.Pvm, r.Site, entry.Address));
        }
        catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException)
        {
            Fail(entry, $"resume failed: {e.Message}");
        }
    }

    private async Task SuspendAsync(SuspendPvm s, CancellationToken ct)
    {
        Entry? entry;
        lock (gate)
        {
            pvms.TryGetValue(s.Pvm, out entry);
        }

        if (entry?.Active is null || entry.Site != s.Site)
        {
            Emit(new PvmFailed(Now, s.Ue, s.Pvm, s.Site, $"{s.Pvm} is not running at site {s.Site}"));
            return;
        }

        try
        {
            await entry.Active.Qmp.ExecuteAsync("stop", null, null, ct);
            lock (gate)
            {
                if (entry.State == PvmState.Running)
                {
                    entry.State = PvmState.Suspended;
                }
            }

            WriteManifest(entry, entry.Active);
        }
        catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException)
        {
            Fail(entry, $"suspend failed: {e.Message}");
        }
    }

    private async Task DestroyAsync(PvmId pvm)
    {
        Entry? entry;
        lock (gate)
        {
            if (!pvms.Remove(pvm, out entry))
            {
                return;
            }

            entry.Destroyed = true;
            dataAddresses.Remove(pvm);
        }

        if (entry.Migration is { } run)
        {
            run.Cancel.Cancel();
            await run.Task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (entry.Active is { } active)
        {
            await active.StopAsync();
            Release(active);
        }
    }

    private void StartMigrationRun(StartMigration m)
    {
        lock (gate)
        {
            string? refusal = null;
            if (!pvms.TryGetValue(m.Pvm, out var entry) || entry.Active is null)
            {
                refusal = $"{m.Pvm} does not exist";
            }
            else if (entry.Site != m.From)
            {
                refusal = $"{m.Pvm} is at site {entry.Site}, not {m.From}";
            }
            else if (entry.Migration is not null)
            {
                refusal = $"{m.Pvm} is already migrating ({entry.Migration.Id})";
            }
            else if (entry.State is not (PvmState.Running or PvmState.Suspended))
            {
                refusal = $"{m.Pvm} is {entry.State}";
            }
            else if (!sites.ContainsKey(m.To))
            {
                refusal = $"unknown destination site {m.To}";
            }
            else if (m.To == m.From)
            {
                refusal = $"source and destination are both {m.To}";
            }

            if (refusal is not null)
            {
                Emit(new MigrationFailed(Now, m.Migration, refusal));
                return;
            }

            var run = new MigrationRun(m, options.Policy, CancellationTokenSource.CreateLinkedTokenSource(shutdown.Token), entry!.State);
            entry.Migration = run;
            entry.State = PvmState.Migrating;
            run.Task = Task.Run(() => MigrateAsync(entry, run));
            background.Add(run.Task);
        }
    }

    private async Task MigrateAsync(Entry entry, MigrationRun run)
    {
        var m = run.Command;
        var started = Stopwatch.StartNew();
        var src = entry.Active!;
        QemuInstance? dst = null;
        var mirrorJob = $"mirror-{run.Id.Sequence}";

        // Its own node name per migration: a cancelled mirror's target node can outlive the rollback for a while (the
        // job winds down on its own), and a retry that reused the name failed with "Duplicate nodes".
        var mirrorNode = $"mirror-target-{run.Id.Sequence}";
        var mirrorStarted = false;
        var mirrorTime = TimeSpan.Zero;
        long diskBytes = 0;
        var ct = run.Cancel.Token;
        run.Cancel.CancelAfter(options.MigrationTimeout);
        try
        {
            run.Phase = MigrationPhase.StartingDestination;
            // Without a mirror the sites share storage: the destination opens the source's disk file (QEMU hands the
            // image over at switch-over), as on a real cluster with shared storage.
            dst = await StartInstanceAsync(m.Pvm, m.To, incoming: true, ct, run.Policy.MirrorDisk ? null : src.DiskPath, src.DataNic?.Address);
            run.Destination = dst;

            // Source first: a destination whose source names no migration is never adopted over it.
            WriteManifest(entry, src, run: run, mirrorJob: run.Policy.MirrorDisk ? mirrorJob : null, mirrorNode: run.Policy.MirrorDisk ? mirrorNode : null);
            WriteManifest(entry, dst, QemuInstanceRole.Destination, run);
            await RemoveStaleMirrorTargetsAsync(src, ct);
            await ApplyPolicyAsync(src.Qmp, dst.Qmp, run.Policy, ct);

            if (run.Policy.MirrorDisk)
            {
                run.Phase = MigrationPhase.MirroringDisk;
                await dst.Qmp.ExecuteAsync("nbd-server-start", new { addr = new { type = "inet", data = new { host = "127.0.0.1", port = dst.Ports.Nbd.ToString() } } }, null, ct);
                await dst.Qmp.ExecuteAsync("block-export-add", new Dictionary<string, object>
                {
                    ["type"] = "nbd",
                    ["id"] = "export0",
                    ["node-name"] = QemuInstance.DiskNode,
                    ["writable"] = true,
                    ["name"] = QemuInstance.DiskNode,
                }, null, ct);
                await src.Qmp.ExecuteAsync("blockdev-add", new Dictionary<string, object>
                {
                    ["driver"] = "nbd",
                    ["node-name"] = mirrorNode,
                    ["server"] = new { type = "inet", host = "127.0.0.1", port = dst.Ports.Nbd.ToString() },
                    ["export"] = QemuInstance.DiskNode,
                }, null, ct);
                var ready = src.Qmp.WaitForEventAsync("BLOCK_JOB_READY", e => e.DataString("device") == mirrorJob, options.MigrationTimeout, ct);
                var ended = src.Qmp.WaitForEventAsync("BLOCK_JOB_COMPLETED", e => e.DataString("device") == mirrorJob, options.MigrationTimeout, ct);

                // Set before the command: a cancel that interrupts our wait for its answer does not stop QEMU from
                // creating the job, and a job the rollback does not cancel keeps its filter above the disk, failing
                // every later mirror ("Need a root block node") and migration.
                mirrorStarted = true;

                // write-blocking: once ready, guest writes reach both disks before they complete, so the copy cannot lag.
                await src.Qmp.ExecuteAsync("blockdev-mirror", new Dictionary<string, object>
                {
                    ["job-id"] = mirrorJob,
                    ["device"] = QemuInstance.DiskNode,
                    ["target"] = mirrorNode,
                    ["sync"] = "full",
                    ["copy-mode"] = "write-blocking",
                }, null, ct);
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

                var readyEvent = await ready;
                diskBytes = readyEvent.Data.TryGetProperty("offset", out var off) ? off.GetInt64() : 0;
                mirrorTime = started.Elapsed;
            }

            run.Phase = MigrationPhase.CopyingMemory;
            var uri = $"tcp:127.0.0.1:{dst.Ports.Migration}";

            // Events wake the waits below at once (polls are the fallback): every ms between the switch-over and
            // MigrationCompleted is a ms the MC still steers the PVM's traffic to the stopped source.
            var finished = src.Qmp.WaitForEventAsync("MIGRATION", e => e.DataString("status") is "completed" or "failed" or "cancelled", options.MigrationTimeout, ct);
            var resumed = dst.Qmp.WaitForEventAsync("RESUME", null, options.MigrationTimeout, ct);
            var paused = src.Qmp.WaitForEventAsync("STOP", null, options.MigrationTimeout, ct);
            _ = finished.ContinueWith(t => t.Exception, TaskScheduler.Default);
            _ = resumed.ContinueWith(t => t.Exception, TaskScheduler.Default);
            _ = paused.ContinueWith(t => t.Exception, TaskScheduler.Default);
            await dst.Qmp.ExecuteAsync("migrate-incoming", new { uri }, null, ct);
            await src.Qmp.ExecuteAsync("migrate", new { uri }, null, ct);
            var info = await PollMigrationAsync(src, dst, run, finished, ct);

            run.Phase = MigrationPhase.SwitchingOver;
            await WaitDestinationRunningAsync(dst, run.StateBefore == PvmState.Suspended, resumed);
            if (!run.Policy.MirrorDisk)
            {
                // The open image follows the rename; the file now lives (and dies) with its new site's instance.
                var moved = Path.Combine(dst.Directory, "disk.raw");
                File.Move(src.DiskPath, moved);
                dst.DiskPath = moved;
            }

            lock (gate)
            {
                entry.Active = dst;
                entry.Site = m.To;
                entry.State = run.StateBefore;
                entry.Migration = null;
            }

            // The source's manifest goes first: a crash in between leaves a lone running destination, which is adopted.
            DeleteManifest(src);
            WriteManifest(entry, dst);

            // The PVM runs at the destination: tell the MC now, and tidy up the source side after.
            var wall = started.Elapsed;
            Supervise(entry, dst);
            Emit(new MigrationCompleted(Now, m.Migration, new MigrationStats(wall, Ms(info, "downtime"), Ram(info, "transferred"), (int)Ram(info, "dirty-sync-count"))));
            try
            {
                if (mirrorStarted)
                {
                    // QEMU's documented sequence: after memory moved, cancel the (ready) mirror on the source, which
                    // completes it without pivoting; the destination then stops serving its disk.
                    var done = src.Qmp.WaitForEventAsync("BLOCK_JOB_COMPLETED", e => e.DataString("device") == mirrorJob, TimeSpan.FromSeconds(20), CancellationToken.None);
                    await src.Qmp.ExecuteAsync("block-job-cancel", new Dictionary<string, object> { ["device"] = mirrorJob }, null, CancellationToken.None);
                    var completed = await done;
                    diskBytes = completed.Data.TryGetProperty("offset", out var off) ? off.GetInt64() : diskBytes;
                    mirrorStarted = false;
                    await IgnoreQmpErrors(src.Qmp.ExecuteAsync("blockdev-del", new Dictionary<string, object> { ["node-name"] = mirrorNode }));
                    await IgnoreQmpErrors(dst.Qmp.ExecuteAsync("nbd-server-stop"));
                }
            }
            catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException or QmpProtocolException or IOException)
            {
                // The destination already runs the PVM; a source that cannot tidy up is simply stopped below.
            }
            finally
            {
                Release(src);
                await src.StopAsync();
            }

            // What the guest's users see: QEMU's "downtime" ends on the source side, before the destination resumes.
            // The events may trail the status polls that ended the waits above: give them a moment (after the MC knows).
            await Task.WhenAny(Task.WhenAll(paused, resumed), Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
            if (paused.IsCompletedSuccessfully && resumed.IsCompletedSuccessfully)
            {
                run.PausedAt = paused.Result.Timestamp;
                run.Pause = resumed.Result.Timestamp - paused.Result.Timestamp;
            }

            Report(run, true, null, wall, mirrorTime, info, diskBytes);
        }
        catch (Exception e)
        {
            var reason = e switch
            {
                OperationCanceledException when shutdown.IsCancellationRequested => "hypervisor shutting down",
                OperationCanceledException when started.Elapsed >= options.MigrationTimeout => $"timed out after {options.MigrationTimeout}",
                OperationCanceledException => "cancelled on request",
                _ when dst is { Exited.IsCompleted: true, Stopping: false } => $"destination QEMU exited with code {dst.Exited.Result}: {e.Message}",
                _ => e.Message,
            };
            await RollBackAsync(src, mirrorStarted ? mirrorJob : null, mirrorNode, run.StateBefore);
            if (dst is not null)
            {
                Release(dst);
                await dst.StopAsync();
            }

            var sourceAlive = !src.Exited.IsCompleted;
            lock (gate)
            {
                entry.Migration = null;
                if (entry.State == PvmState.Migrating)
                {
                    entry.State = sourceAlive ? run.StateBefore : PvmState.Failed;
                }
            }

            if (sourceAlive)
            {
                WriteManifest(entry, src, state: run.StateBefore);
            }

            Report(run, false, reason, started.Elapsed, mirrorTime, null, diskBytes);
            Emit(new MigrationFailed(Now, m.Migration, reason));
            if (!sourceAlive)
            {
                Emit(new PvmFailed(Now, entry.Ue, entry.Pvm, entry.Site, $"source QEMU exited during migration with code {src.Exited.Result}"));
            }
        }
    }

    private async Task<JsonElement> PollMigrationAsync(QemuInstance src, QemuInstance dst, MigrationRun run, Task finished, CancellationToken ct)
    {
        var lastRound = 0;
        var cancelled = false;
        while (true)
        {
            if (ct.IsCancellationRequested && !cancelled)
            {
                cancelled = true;
                await IgnoreQmpErrors(src.Qmp.ExecuteAsync("migrate_cancel", null, TimeSpan.FromSeconds(10)));
            }

            var info = await src.Qmp.ExecuteAsync("query-migrate", null, TimeSpan.FromSeconds(10));
            var status = info.TryGetProperty("status", out var s) ? s.GetString() : null;
            switch (status)
            {
                case "completed":
                    // QEMU announces "completed" a moment before it fills in total-time and downtime: ask again.
                    for (var i = 0; i < 100 && Ms(info, "total-time") == TimeSpan.Zero; i++)
                    {
                        await Task.Delay(5, CancellationToken.None);
                        info = await src.Qmp.ExecuteAsync("query-migrate", null, TimeSpan.FromSeconds(10));
                    }

                    return info;
                case "failed":
                    var desc = info.TryGetProperty("error-desc", out var d) ? d.GetString() : "no reason given";
                    if (dst.Exited.IsCompleted)
                    {
                        throw new MigrationAbort($"destination QEMU exited with code {dst.Exited.Result} mid-migration ({desc})");
                    }

                    // The source often knows no reason; the destination says why on its stderr.
                    var tail = dst.StderrTail.Trim();
                    var srcTail = src.StderrTail.Trim();
                    throw new MigrationAbort($"QEMU reports the migration failed: {desc}{(tail.Length > 0 ? $"; destination says: {tail}" : "")}{(srcTail.Length > 0 ? $"; source says: {srcTail}" : "")}");
                case "cancelled":
                    ct.ThrowIfCancellationRequested();
                    throw new MigrationAbort("migration was cancelled inside QEMU");
            }

            var round = (int)Ram(info, "dirty-sync-count");
            if (round != lastRound && round > 0)
            {
                lastRound = round;
                Emit(new MigrationProgressed(Now, run.Id, round, Ram(info, "transferred")));
            }

            if (dst.Exited.IsCompleted && !cancelled)
            {
                // The source notices a dead peer only when its socket errors; cancel so it stops trying now.
                cancelled = true;
                await IgnoreQmpErrors(src.Qmp.ExecuteAsync("migrate_cancel", null, TimeSpan.FromSeconds(10)));
                throw new MigrationAbort($"destination QEMU exited with code {dst.Exited.Result} mid-migration");
            }

            await Task.WhenAny(Task.Delay(50, CancellationToken.None), dst.Exited, finished.IsCompleted ? Task.Delay(50, CancellationToken.None) : finished);
        }
    }

    /// <summary>After a failed or cancelled migration: stop QEMU's migration and mirror, and keep the source running.</summary>
    private static async Task RollBackAsync(QemuInstance src, string? mirrorJob, string mirrorNode, PvmState stateBefore)
    {
        if (src.Exited.IsCompleted)
        {
            return;
        }

        await IgnoreQmpErrors(src.Qmp.ExecuteAsync("migrate_cancel", null, TimeSpan.FromSeconds(10)));
        for (var i = 0; i < 100; i++)
        {
            try
            {
                var info = await src.Qmp.ExecuteAsync("query-migrate", null, TimeSpan.FromSeconds(10));
                var status = info.TryGetProperty("status", out var s) ? s.GetString() : null;
                if (status is null or "completed" or "failed" or "cancelled" or "none")
                {
                    break;
                }
            }
            catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException)
            {
                break;
            }

            await Task.Delay(50);
        }

        if (mirrorJob is not null)
        {
            var done = src.Qmp.WaitForEventAsync("BLOCK_JOB_COMPLETED", e => e.DataString("device") == mirrorJob, TimeSpan.FromSeconds(10), CancellationToken.None);
            var cancelled = src.Qmp.WaitForEventAsync("BLOCK_JOB_CANCELLED", e => e.DataString("device") == mirrorJob, TimeSpan.FromSeconds(10), CancellationToken.None);
            try
            {
                await src.Qmp.ExecuteAsync("block-job-cancel", new Dictionary<string, object> { ["device"] = mirrorJob, ["force"] = true }, TimeSpan.FromSeconds(10));
                await Task.WhenAny(done, cancelled);
            }
            catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException)
            {
                // job already gone
            }

            _ = done.ContinueWith(t => t.Exception, TaskScheduler.Default);
            _ = cancelled.ContinueWith(t => t.Exception, TaskScheduler.Default);
        }

        await DeleteNodeAsync(src, mirrorNode);
        if (stateBefore == PvmState.Running)
        {
            try
            {
                var status = await src.Qmp.ExecuteAsync("query-status", null, TimeSpan.FromSeconds(10));
                if (status.TryGetProperty("running", out var r) && !r.GetBoolean())
                {
                    await src.Qmp.ExecuteAsync("cont", null, TimeSpan.FromSeconds(10));
                }
            }
            catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException)
            {
                // the supervisor reports a dead source
            }
        }
    }

    private static async Task WaitDestinationRunningAsync(QemuInstance dst, bool wasSuspended, Task resumed)
    {
        for (var i = 0; i < 400; i++)
        {
            var status = await dst.Qmp.ExecuteAsync("query-status", null, TimeSpan.FromSeconds(10));
            var s = status.TryGetProperty("status", out var v) ? v.GetString() : null;
            if (s == "running" || (wasSuspended && s is "paused"))
            {
                return;
            }

            if (s is not ("inmigrate" or "paused" or "prelaunch"))
            {
                throw new MigrationAbort($"destination is '{s}' after the migration completed");
            }

            await Task.WhenAny(Task.Delay(resumed.IsCompleted ? 5 : 25), dst.Exited, resumed.IsCompleted ? Task.Delay(25) : resumed);
            if (dst.Exited.IsCompleted)
            {
                throw new MigrationAbort($"destination QEMU exited with code {dst.Exited.Result} at switch-over");
            }
        }

        throw new MigrationAbort("destination did not start running within 10 s of the migration completing");
    }

    /// <summary>Capabilities go to both ends (multifd must match; "events" makes QEMU emit MIGRATION); parameters to the source.</summary>
    private static async Task ApplyPolicyAsync(QmpClient src, QmpClient dst, MigrationPolicy p, CancellationToken ct)
    {
        var caps = new List<object>
        {
            new { capability = "events", state = true },
            new { capability = "auto-converge", state = p.AutoConverge },
            new { capability = "xbzrle", state = p.Xbzrle },
            new { capability = "multifd", state = p.MultifdChannels > 0 },
        };
        await src.ExecuteAsync("migrate-set-capabilities", new { capabilities = caps }, null, ct);
        await dst.ExecuteAsync("migrate-set-capabilities", new { capabilities = caps }, null, ct);
        var parameters = new Dictionary<string, object>();
        if (p.MaxBandwidthBytesPerSecond is { } bw)
        {
            parameters["max-bandwidth"] = bw;
        }

        if (p.DowntimeLimit is { } dl)
        {
            parameters["downtime-limit"] = (long)dl.TotalMilliseconds;
        }

        if (p.XbzrleCacheBytes is { } xc)
        {
            parameters["xbzrle-cache-size"] = xc;
        }

        var both = new Dictionary<string, object>();
        if (p.MultifdChannels > 0)
        {
            both["multifd-channels"] = p.MultifdChannels;
            both["multifd-compression"] = p.MultifdCompression ?? "none";
        }

        foreach (var (k, v) in both)
        {
            parameters[k] = v;
        }

        if (parameters.Count > 0)
        {
            await src.ExecuteAsync("migrate-set-parameters", parameters, null, ct);
        }

        if (both.Count > 0)
        {
            await dst.ExecuteAsync("migrate-set-parameters", both, null, ct);
        }
    }

    private void Report(MigrationRun run, bool ok, string? reason, TimeSpan wall, TimeSpan mirror, JsonElement? info, long diskBytes)
    {
        var handler = MigrationReported;
        if (handler is null)
        {
            return;
        }

        var i = info ?? default;
        var has = info is not null;
        handler(new QemuMigrationReport(
            run.Id, run.Command.From, run.Command.To, run.Policy, ok, reason, wall, mirror,
            has ? Ms(i, "total-time") : TimeSpan.Zero, has ? Ms(i, "downtime") : TimeSpan.Zero, has ? Ms(i, "setup-time") : TimeSpan.Zero,
            has ? Ram(i, "transferred") : 0, diskBytes, has ? (int)Ram(i, "dirty-sync-count") : 0,
            has ? Ram(i, "normal") : 0, has ? Ram(i, "duplicate") : 0, has ? Ram(i, "downtime-bytes") : 0)
        {
            Pause = run.Pause,
            PausedAt = run.PausedAt,
        });
    }

    private static TimeSpan Ms(JsonElement info, string name) =>
        info.ValueKind == JsonValueKind.Object && info.TryGetProperty(name, out var v) && v.TryGetInt64(out var ms) ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;

    private static long Ram(JsonElement info, string name) =>
        info.ValueKind == JsonValueKind.Object && info.TryGetProperty("ram", out var ram) && ram.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) ? n : 0;

    /// <summary>
    /// Deletes a block node, retrying while it is still in use (a cancelled mirror job lets go of its target a moment
    /// after BLOCK_JOB_CANCELLED). True once it is gone, false if it stayed in use.
    /// </summary>
    private static async Task<bool> DeleteNodeAsync(QemuInstance instance, string node)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                await instance.Qmp.ExecuteAsync("blockdev-del", new Dictionary<string, object> { ["node-name"] = node }, TimeSpan.FromSeconds(10));
                return true;
            }
            catch (QmpException e) when (e.Desc.Contains("find", StringComparison.OrdinalIgnoreCase))
            {
                return true; // "Failed to find node with node-name=..."
            }
            catch (QmpException)
            {
                await Task.Delay(100);
            }
            catch (Exception e) when (e is QmpConnectionClosedException or QmpTimeoutException or QmpProtocolException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// Mirror targets an earlier, rolled-back migration left on the source (still attached to a destination that is
    /// gone). QEMU flushes every node at switch-over, so such a node fails the next migration with an I/O error on the
    /// destination ("load of migration failed") and no reason on the source: remove them before migrating again.
    /// </summary>
    private async Task RemoveStaleMirrorTargetsAsync(QemuInstance src, CancellationToken ct)
    {
        // A job left running first: it holds its target node.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var jobs = await src.Qmp.ExecuteAsync("query-block-jobs", null, null, ct);
            if (jobs.ValueKind != JsonValueKind.Array || jobs.GetArrayLength() == 0)
            {
                break;
            }

            foreach (var job in jobs.EnumerateArray())
            {
                if (job.TryGetProperty("device", out var d) && d.GetString() is { } id)
                {
                    await IgnoreQmpErrors(src.Qmp.ExecuteAsync("block-job-cancel", new Dictionary<string, object> { ["device"] = id, ["force"] = true }, TimeSpan.FromSeconds(10)));
                }
            }

            await Task.Delay(100, ct);
        }

        var nodes = await src.Qmp.ExecuteAsync("query-named-block-nodes", new Dictionary<string, object> { ["flat"] = true }, null, ct);
        if (nodes.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var node in nodes.EnumerateArray())
        {
            if (node.TryGetProperty("node-name", out var n) && n.GetString() is { } name && name.StartsWith("mirror-target", StringComparison.Ordinal))
            {
                if (await DeleteNodeAsync(src, name))
                {
                    Interlocked.Increment(ref staleMirrorTargetsRemoved);
                }
            }
        }
    }

    private static async Task IgnoreQmpErrors(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException or QmpProtocolException)
        {
        }
    }

    /// <summary>Under <see cref="gate"/>: the PVM's data address (pinned, kept from before, or the lowest free one).</summary>
    private IPAddress? AllocateAddress(QemuDataNetwork net, PvmId pvm, IPAddress? wanted, out string? refusal)
    {
        refusal = null;
        if (dataAddresses.TryGetValue(pvm, out var kept))
        {
            return kept;
        }

        if (wanted is not null)
        {
            var holder = dataAddresses.Where(kv => kv.Value.Equals(wanted)).Select(kv => (PvmId?)kv.Key).FirstOrDefault();
            if (!net.InPool(wanted))
            {
                refusal = $"data address {wanted} pinned for {pvm} is outside the pool {net.PoolFirst}-{net.PoolLast}";
                return null;
            }

            if (holder is not null)
            {
                refusal = $"data address {wanted} pinned for {pvm} is already held by {holder}";
                return null;
            }

            dataAddresses[pvm] = wanted;
            return wanted;
        }

        var used = dataAddresses.Values.ToHashSet();
        foreach (var a in net.Pool())
        {
            if (!used.Contains(a))
            {
                dataAddresses[pvm] = a;
                return a;
            }
        }

        refusal = $"no free data address for {pvm}: pool {net.PoolFirst}-{net.PoolLast} is exhausted ({used.Count} PVMs hold one)";
        return null;
    }

    private async Task<QemuInstance> StartInstanceAsync(PvmId pvm, SiteId siteId, bool incoming, CancellationToken ct, string? sharedDisk, IPAddress? dataAddress)
    {
        SiteState site;
        PvmSpec spec;
        int first;
        string dir;
        QemuDataNic? nic = null;
        lock (gate)
        {
            site = sites[siteId];
            spec = specs.GetValueOrDefault(pvm, options.DefaultSpec);
            first = site.Allocate();
            dir = Path.Combine(site.Site.Directory, $"{pvm.Value}.{Interlocked.Increment(ref generation)}");
            if (dataAddress is not null && site.Site.DataBridge is { } bridge)
            {
                nic = new QemuDataNic(TapName(), dataAddress, QemuDataNetwork.PvmMac(dataAddress), bridge);
            }
        }

        QemuInstance? instance = null;
        try
        {
            instance = await QemuInstance.StartAsync(
                options.QemuBinary, options.Image, siteId, dir, QemuPorts.From(first), spec, incoming, sharedDisk, ct,
                nic, nic is null ? null : options.DataNetwork!.KernelArguments(nic.Address), options.Detached);
            if (nic is not null)
            {
                // QMP answers only after QEMU set up its netdevs, so the tap exists now.
                await DataLinks.AttachAsync(nic, ct);
            }

            return instance;
        }
        catch
        {
            if (instance is not null)
            {
                await instance.StopAsync(deleteDirectory: false);
            }

            lock (gate)
            {
                site.Free(first);
            }

            try
            {
                Directory.Delete(dir, true);
            }
            catch (IOException)
            {
            }

            throw;
        }
    }

    private void Release(QemuInstance instance)
    {
        lock (gate)
        {
            if (sites.TryGetValue(instance.Site, out var s))
            {
                s.Free(instance.Ports.Echo);
            }
        }
    }

    /// <summary>Stale mirror targets removed from sources before a migration (see RemoveStaleMirrorTargetsAsync).</summary>
    public int StaleMirrorTargetsRemoved => Volatile.Read(ref staleMirrorTargetsRemoved);

    /// <summary>Manifests that could not be written (disk full, permissions): the PVM runs on, but a restart cannot adopt it.</summary>
    public IReadOnlyList<string> ManifestErrors
    {
        get
        {
            lock (manifestErrors)
            {
                return [.. manifestErrors];
            }
        }
    }

    private void WriteManifest(
        Entry entry, QemuInstance instance, QemuInstanceRole role = QemuInstanceRole.Active, MigrationRun? run = null,
        string? mirrorJob = null, string? mirrorNode = null, PvmState? state = null)
    {
        if (!options.Detached)
        {
            return;
        }

        var st = state ?? (entry.State == PvmState.Migrating ? run?.StateBefore ?? PvmState.Running : entry.State);
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
            MigrationSequence = run?.Id.Sequence,
            MigrationFrom = run?.Command.From.Value,
            MigrationTo = run?.Command.To.Value,
            MirrorJob = mirrorJob,
            MirrorNode = mirrorNode,
        };
        try
        {
            m.Write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            lock (manifestErrors)
            {
                manifestErrors.Add($"{QemuManifest.PathIn(instance.Directory)}: {e.Message}");
            }
        }
    }

    private static void DeleteManifest(QemuInstance instance)
    {
        try
        {
            File.Delete(QemuManifest.PathIn(instance.Directory));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// Takes back the detached QEMUs a previous process left in the registered sites' directories (call after the last
    /// <see cref="AddSite"/>, before the first command). Each instance directory's manifest is read, its pid checked to be
    /// that very QEMU (/proc/pid/cmdline names the directory), QMP reconnected and the PVM table rebuilt. A migration that
    /// was in flight is settled by the source's query-migrate: completed, the destination is adopted and the source quit;
    /// otherwise it is cancelled, the destination quit and the source resumed if the migration paused it. Directories
    /// that cannot be adopted (no manifest, a broken one, a dead pid) are reported, their QEMU (if any) killed and the
    /// directory removed. Never throws for what it finds on disk. No events are emitted: the caller reconciles with
    /// <see cref="Query"/>.
    /// </summary>
    public async Task<QemuAdoptionReport> AdoptAsync(CancellationToken ct = default)
    {
        if (!options.Detached)
        {
            throw new InvalidOperationException("AdoptAsync needs QemuHypervisorOptions.Detached (without it, AddSite kills leftovers instead)");
        }

        var adopted = new List<QemuAdoptedPvm>();
        var problems = new List<QemuAdoptionProblem>();
        List<SiteState> siteList;
        lock (gate)
        {
            siteList = [.. sites.Values];
        }

        var found = new List<QemuManifest>();
        foreach (var site in siteList)
        {
            foreach (var dir in Directory.EnumerateDirectories(site.Site.Directory))
            {
                var path = QemuManifest.PathIn(dir);
                if (!File.Exists(path))
                {
                    var killed = QemuInstance.KillByPidFile(dir);
                    problems.Add(new(dir, $"no {QemuManifest.FileName} (a PVM that never finished booting, or not a detached instance){(killed ? "; killed its QEMU" : "")}; directory removed"));
                    RemoveDirectory(dir);
                    continue;
                }

                var m = QemuManifest.TryRead(path, out var error);
                if (m is null)
                {
                    var killed = QemuInstance.KillByPidFile(dir);
                    problems.Add(new(path, $"{error}{(killed ? "; killed the QEMU of its pidfile" : "")}; instance directory removed"));
                    RemoveDirectory(dir);
                    continue;
                }

                if (Path.GetFullPath(m.Directory) != dir || m.Site != site.Site.Id.Value)
                {
                    problems.Add(new(path, $"names directory {m.Directory} at site {m.Site}, but lies in {dir} of site {site.Site.Id}; instance directory removed"));
                    QemuInstance.KillByPidFile(dir);
                    RemoveDirectory(dir);
                    continue;
                }

                if (!QemuInstance.IsInstanceProcess(m.Pid, dir))
                {
                    problems.Add(new(path, $"QEMU pid {m.Pid} of {m.Pvm} is not running (the PVM's memory is lost; the MC boots it afresh); instance directory removed"));
                    RemoveDirectory(dir);
                    continue;
                }

                found.Add(m);
            }
        }

        foreach (var group in found.GroupBy(m => m.Pvm))
        {
            try
            {
                if (await AdoptPvmAsync([.. group.OrderByDescending(m => m.WrittenAt)], problems, ct) is { } a)
                {
                    adopted.Add(a);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One PVM that cannot be taken back must not keep the others (or the service) from coming up.
                foreach (var m in group)
                {
                    problems.Add(new(QemuManifest.PathIn(m.Directory), $"adoption of {m.Pvm} failed: {e.Message}; its QEMU was killed"));
                    QemuInstance.KillByPidFile(m.Directory);
                    RemoveDirectory(m.Directory);
                }
            }
        }

        return new QemuAdoptionReport(adopted, problems);
    }

    private async Task<QemuAdoptedPvm?> AdoptPvmAsync(List<QemuManifest> manifests, List<QemuAdoptionProblem> problems, CancellationToken ct)
    {
        var connect = TimeSpan.FromSeconds(10);
        var actives = manifests.Where(m => m.Role == QemuInstanceRole.Active).ToList();
        var destinations = manifests.Where(m => m.Role == QemuInstanceRole.Destination).ToList();
        foreach (var extra in actives.Skip(1))
        {
            problems.Add(new(QemuManifest.PathIn(extra.Directory), $"a second live instance of {extra.Pvm} (kept the newer {actives[0].Directory}); killed"));
            await KillInstanceAsync(extra);
        }

        QemuInstance? active = null;
        string? note = null;
        QemuManifest? kept = null;
        if (actives.FirstOrDefault() is { } src)
        {
            QemuInstance? source = null;
            try
            {
                source = await QemuInstance.AdoptAsync(src, connect, ct);
            }
            catch (Exception e) when (e is QmpConnectionClosedException or QmpProtocolException or QmpTimeoutException or InvalidOperationException)
            {
                // Its destinations are judged below as if it had no source.
                problems.Add(new(QemuManifest.PathIn(src.Directory), $"QMP of {src.Pvm} (pid {src.Pid}) does not answer: {e.Message}; killed"));
                await KillInstanceAsync(src);
            }

            if (source is not null)
            {
                var dst = src.MigrationSequence is { } seq ? destinations.FirstOrDefault(d => d.MigrationSequence == seq) : null;
                (active, kept, note) = src.MigrationSequence is null ? (source, src, null) : await SettleMigrationAsync(src, source, dst, ct);
                foreach (var other in destinations.Where(d => d != dst))
                {
                    problems.Add(new(QemuManifest.PathIn(other.Directory), $"destination of a migration of {other.Pvm} its source does not name; killed"));
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
                    var candidate = await TryAdoptAsync(d, connect, ct);
                    if (candidate is not null && await StatusAsync(candidate) is "running" or "paused")
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

                problems.Add(new(QemuManifest.PathIn(d.Directory), $"destination of migration #{d.MigrationSequence} of {d.Pvm} without a live source, not running; killed"));
                await KillInstanceAsync(d);
            }
        }

        if (active is null || kept is null)
        {
            return null;
        }

        TakeOverSharedDisk(active);
        var status = await StatusAsync(active);
        var state = kept.State == PvmState.Suspended || status is not "running" ? PvmState.Suspended : PvmState.Running;
        var ue = new UeId(kept.Ue);
        var pvm = new PvmId(kept.Pvm);
        IPAddress? address = kept.Address is { } a && IPAddress.TryParse(a, out var ip) ? ip : null;
        var entry = new Entry(ue, pvm, active.Site) { State = state, Address = address, Active = active };
        lock (gate)
        {
            if (pvms.ContainsKey(pvm) || !sites.TryGetValue(active.Site, out var site))
            {
                throw new InvalidOperationException($"{pvm} is already held here, or its site {active.Site} is not registered");
            }

            site.MarkUsed(active.Ports.Echo);
            pvms[pvm] = entry;
            specs[pvm] = active.Spec with { DataAddress = address };
            if (address is not null)
            {
                dataAddresses[pvm] = address;
            }
        }

        WriteManifest(entry, active, state: state);
        Supervise(entry, active);
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
        string? migration = null;
        try
        {
            var info = await source.Qmp.ExecuteAsync("query-migrate", null, TimeSpan.FromSeconds(10), ct);

            // No status at all: `migrate` was never issued (the crash came while the destination started or the disk mirrored).
            migration = info.TryGetProperty("status", out var st) ? st.GetString() : "not started";
        }
        catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException)
        {
            migration = $"unanswered ({e.Message})";
        }

        if (migration == "completed" && dst is not null && await TryAdoptAsync(dst, TimeSpan.FromSeconds(10), ct) is { } destination)
        {
            try
            {
                var resumed = destination.Qmp.WaitForEventAsync("RESUME", null, TimeSpan.FromSeconds(10), ct);
                _ = resumed.ContinueWith(t => t.Exception, TaskScheduler.Default);
                await WaitDestinationRunningAsync(destination, src.State == PvmState.Suspended, resumed);
                await IgnoreQmpErrors(destination.Qmp.ExecuteAsync("nbd-server-stop", null, TimeSpan.FromSeconds(10)));

                // Before the source's directory goes: the shared image may still lie in it.
                TakeOverSharedDisk(destination);
                DeleteManifest(source);
                await source.StopAsync();
                Release(source);
                return (destination, dst with { Role = QemuInstanceRole.Active, State = src.State }, $"migration #{seq} {src.MigrationFrom}->{src.MigrationTo} had completed: adopted at {src.MigrationTo}, source quit");
            }
            catch (Exception e) when (e is MigrationAbort or QmpException or QmpConnectionClosedException or QmpTimeoutException)
            {
                await destination.StopAsync();
                dst = null;
                migration = $"completed, but the destination did not run ({e.Message})";
            }
        }

        // Roll back: cancel what is left of the copy and the mirror, drop the destination, resume the source.
        await IgnoreQmpErrors(source.Qmp.ExecuteAsync("migrate_cancel", null, TimeSpan.FromSeconds(10)));
        await RollBackAsync(source, src.MirrorJob, src.MirrorNode ?? "mirror-target-none", src.State);
        if (dst is not null)
        {
            await KillInstanceAsync(dst);
        }

        return (source, src with { MigrationSequence = null, MigrationFrom = null, MigrationTo = null, MirrorJob = null, MirrorNode = null },
            $"migration #{seq} {src.MigrationFrom}->{src.MigrationTo} was '{migration ?? "unknown"}': cancelled, the PVM stays at {src.Site}");
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

    private static async Task<QemuInstance?> TryAdoptAsync(QemuManifest m, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            return await QemuInstance.AdoptAsync(m, timeout, ct);
        }
        catch (Exception e) when (e is QmpConnectionClosedException or QmpProtocolException or QmpTimeoutException or InvalidOperationException)
        {
            return null;
        }
    }

    private static async Task<string?> StatusAsync(QemuInstance instance)
    {
        try
        {
            var status = await instance.Qmp.ExecuteAsync("query-status", null, TimeSpan.FromSeconds(10));
            return status.TryGetProperty("status", out var s) ? s.GetString() : null;
        }
        catch (Exception e) when (e is QmpException or QmpConnectionClosedException or QmpTimeoutException or QmpProtocolException)
        {
            return null;
        }
    }

    /// <summary>Kills an instance found on disk (by its pid, checked) and removes its directory.</summary>
    private static async Task KillInstanceAsync(QemuManifest m)
    {
        if (QemuInstance.IsInstanceProcess(m.Pid, m.Directory))
        {
            try
            {
                using var p = Process.GetProcessById(m.Pid);
                p.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }

            for (var i = 0; i < 100 && QemuInstance.IsInstanceProcess(m.Pid, m.Directory); i++)
            {
                await Task.Delay(50);
            }
        }

        RemoveDirectory(m.Directory);
    }

    private static void RemoveDirectory(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void Emit(ControlEvent e) => events.Writer.TryWrite(e);

    /// <summary>Unique on this host while this process lives (pid in hex), at most 15 characters.</summary>
    private static string TapName()
    {
        var pid = Environment.ProcessId.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var n = (uint)Interlocked.Increment(ref tapCounter);
        var room = QemuDataNic.MaxTapName - 3 - pid.Length;
        var seq = (n % (uint)Math.Pow(16, Math.Min(room, 7))).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        return $"ms{pid}t{seq}";
    }

    private void Track(Task t)
    {
        lock (gate)
        {
            background.RemoveAll(b => b.IsCompleted);
            background.Add(t);
        }
    }

    /// <summary>
    /// Stops every migration (rolled back) and every QEMU process this hypervisor holds and removes their files; with
    /// <see cref="QemuHypervisorOptions.Detached"/>, running and suspended PVMs are left running for a later process.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (shutdown.IsCancellationRequested)
        {
            return;
        }

        shutdown.Cancel();
        Task[] pending;
        lock (gate)
        {
            pending = [.. background];
        }

        await Task.WhenAll(pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        List<QemuInstance> instances;
        List<QemuInstance> kept;
        lock (gate)
        {
            // Detached: running and suspended PVMs (migrations were rolled back above) stay up for the next process;
            // a PVM still booting has no manifest yet and goes.
            bool Keep(Entry e) => options.Detached && e.State is PvmState.Running or PvmState.Suspended && !e.Active!.Exited.IsCompleted;
            var live = pvms.Values.Where(e => e.Active is not null).ToList();
            instances = [.. live.Where(e => !Keep(e)).Select(e => e.Active!)];
            kept = [.. live.Where(Keep).Select(e => e.Active!)];
            foreach (var e in pvms.Values)
            {
                e.Destroyed = true;
            }

            pvms.Clear();
            dataAddresses.Clear();
        }

        await Task.WhenAll(instances.Select(i => i.StopAsync()).Concat(kept.Select(i => i.DetachAsync())));
        events.Writer.TryComplete();
    }

    private sealed class MigrationAbort(string message) : Exception(message);

    private sealed class Entry(UeId ue, PvmId pvm, SiteId site)
    {
        public UeId Ue { get; } = ue;

        public PvmId Pvm { get; } = pvm;

        public SiteId Site { get; set; } = site;

        public PvmState State { get; set; }

        public QemuInstance? Active { get; set; }

        public MigrationRun? Migration { get; set; }

        public bool Destroyed { get; set; }

        /// <summary>Data-plane address, kept for the PVM's whole life (every site it migrates to).</summary>
        public IPAddress? Address { get; init; }

        public PvmStatus Status() => new(Ue, Pvm, Site, State, Migration?.Id, Migration?.Command.To, Address);
    }

    private sealed class MigrationRun(StartMigration command, MigrationPolicy policy, CancellationTokenSource cancel, PvmState stateBefore)
    {
        public StartMigration Command { get; } = command;

        public MigrationId Id => Command.Migration;

        public MigrationPolicy Policy { get; } = policy;

        public CancellationTokenSource Cancel { get; } = cancel;

        public PvmState StateBefore { get; } = stateBefore;

        public Task Task { get; set; } = Task.CompletedTask;

        public QemuInstance? Destination { get; set; }

        public MigrationPhase Phase { get; set; }

        /// <summary>Source STOP to destination RESUME, by QEMU's own event time stamps.</summary>
        public TimeSpan? Pause { get; set; }

        public DateTimeOffset? PausedAt { get; set; }
    }

    private sealed class SiteState(QemuSite site)
    {
        private readonly HashSet<int> used = [];

        public QemuSite Site { get; } = site;

        /// <summary>First port of a free block of <see cref="QemuPorts.Count"/>, skipping ports something else holds.</summary>
        public int Allocate()
        {
            for (var p = Site.FirstPort; p + QemuPorts.Count <= Site.FirstPort + Site.PortCount; p += QemuPorts.Count)
            {
                if (!used.Contains(p) && Enumerable.Range(p, QemuPorts.Count).All(IsFree))
                {
                    used.Add(p);
                    return p;
                }
            }

            throw new InvalidOperationException($"site {Site.Id}: no free ports left in {Site.FirstPort}..{Site.FirstPort + Site.PortCount - 1}");
        }

        public void Free(int first) => used.Remove(first);

        /// <summary>An adopted instance's ports (a block outside this site's range, after a change of configuration, is simply not tracked).</summary>
        public void MarkUsed(int first) => used.Add(first);

        private static bool IsFree(int port)
        {
            try
            {
                using var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                l.Stop();
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
