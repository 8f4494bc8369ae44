using System.Net;
using System.Threading.Channels;
using MobiScud.Cloud.Qmp;
using MobiScud.Control.Model;
using Microsoft.Extensions.Logging;

namespace MobiScud.Cloud.Qemu;

/// <summary>
/// The QEMU backend of <see cref="IHypervisor"/>: every PVM is a TCG QEMU process at one of the registered sites
/// (a directory and a loopback port range on this machine), driven over QMP. Live migration starts the destination
/// with -incoming defer, mirrors the disk over NBD (blockdev-mirror, write-blocking) until ready, then moves memory
/// (migrate-incoming / migrate / query-migrate). Failures leave the source running and are reported as events.
/// </summary>
/// <remarks>
/// The parts: the <see cref="PvmTable"/> (PVMs, sizes, data addresses), <see cref="QemuSites"/> (sites and their
/// port blocks), one <see cref="QemuMigration"/> per migration (its phases and rollback), the
/// <see cref="QemuManifestStore"/> and <see cref="QemuAdoption"/> for detached QEMUs. This class runs the PVM
/// lifecycle and owns the background work.
/// </remarks>
public sealed class QemuHypervisor : IHypervisor, IQemuHost
{
    private readonly QemuHypervisorOptions _options;
    private readonly Channel<ControlEvent> _events = Channel.CreateUnbounded<ControlEvent>();
    private readonly PvmTable _table;
    private readonly QemuSites _sites = new();
    private readonly QemuLauncher _launcher;
    private readonly QemuManifestStore _manifests;
    private readonly List<Task> _background = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly long _createdAt;

    private int _staleMirrorTargetsRemoved;

    public QemuHypervisor(QemuHypervisorOptions options)
    {
        options.DataNetwork?.Validate();
        _options = options;
        _table = new PvmTable(options.DefaultSpec, options.DataNetwork);
        _manifests = new QemuManifestStore(options.Detached, options.Logger);
        _launcher = new QemuLauncher(options, _sites);
        _createdAt = options.TimeProvider.GetTimestamp();
    }

    public ChannelReader<ControlEvent> Events => _events.Reader;

    /// <summary>Raised for every finished migration (succeeded or not) with QEMU's full figures.</summary>
    public event Action<QemuMigrationReport>? MigrationReported;

    public MigrationPolicy Policy
    {
        get => _options.Policy;
        set => _options.Policy = value;
    }

    /// <summary>Stale mirror targets removed from sources before a migration (see <see cref="QemuMigration"/>).</summary>
    public int StaleMirrorTargetsRemoved => Volatile.Read(ref _staleMirrorTargetsRemoved);

    PvmTable IQemuHost.Table => _table;

    QemuManifestStore IQemuHost.Manifests => _manifests;

    TimeProvider IQemuHost.Time => _options.TimeProvider;

    ILogger IQemuHost.Logger => _options.Logger;

    TimeSpan IQemuHost.Now => Now;

    TimeSpan IQemuHost.MigrationTimeout => _options.MigrationTimeout;

    CancellationToken IQemuHost.Shutdown => _shutdown.Token;

    private TimeSpan Now => _options.Clock?.Invoke() ?? _options.TimeProvider.GetElapsedTime(_createdAt);

    /// <summary>Registers a site; QEMU processes a crashed earlier run left in its directory are killed.</summary>
    public void AddSite(QemuSite site)
    {
        var problem = site.PortCount < QemuPorts.Count ? $"port range {site.FirstPort}+{site.PortCount} holds no PVM (needs {QemuPorts.Count})"
            : _options.DataNetwork is not null && site.DataBridge is null ? $"the hypervisor has a data network ({_options.DataNetwork.Subnet}) but the site names no DataBridge for its PVMs' taps"
            : _options.DataNetwork is null && site.DataBridge is not null ? $"DataBridge {site.DataBridge.Bridge} given but QemuHypervisorOptions.DataNetwork is not set (no addresses to give PVMs)"
            : null;
        if (problem is not null)
        {
            throw new ArgumentException($"site {site.Id}: {problem}", nameof(site));
        }

        if (site.DataBridge is { } bridge)
        {
            DataLinks.RequireBridge(bridge, site.Id.Value);
        }

        // Full paths: they appear on QEMU's command line, which is how a later process recognises its QEMUs.
        site = site with { Directory = Path.GetFullPath(site.Directory) };
        Directory.CreateDirectory(site.Directory);
        if (!_options.Detached)
        {
            var killed = QemuInstance.KillLeftovers(site.Directory);
            if (killed > 0)
            {
                _options.Logger.LogInformation("site {Site}: killed {Count} QEMU processes a crashed earlier run left", site.Id, killed);
            }
        }

        _sites.Add(site);
    }

    /// <summary>Gives one PVM its own size (else <see cref="QemuHypervisorOptions.DefaultSpec"/>).</summary>
    public void DefinePvm(PvmId pvm, PvmSpec spec) => _table.Define(pvm, spec);

    public IReadOnlyList<PvmReport> Query() => _table.Statuses();

    public QemuPvmInfo? Describe(PvmId pvm)
    {
        lock (_table.Gate)
        {
            if (_table.Find(pvm) is not { Active: { } a } e)
            {
                return null;
            }

            return new QemuPvmInfo(e.Status(), a.ProcessId, a.Ports, a.SerialLog, a.DiskPath, e.Migration?.Destination?.ProcessId, e.Migration?.Phase, a.DataNic);
        }
    }

    /// <summary>
    /// Asks the PVM's live QEMU over QMP what it is doing (`query-status`: "running", "paused", "postmigrate", ...).
    /// Null when there is no live instance, its process has exited, or QMP does not answer.
    /// </summary>
    public async Task<string?> QueryQemuStatusAsync(PvmId pvm, CancellationToken ct = default)
    {
        var active = _table.Find(pvm)?.Active;
        return active is null || active.Exited.IsCompleted ? null : (await active.TryQueryStatusAsync(ct))?.Status;
    }

    /// <summary>Bytes of the PVM's RAM that are not zero (dumps its memory; the guest pauses for a moment).</summary>
    public async Task<long> MeasureNonZeroMemoryAsync(PvmId pvm, CancellationToken ct = default)
    {
        QemuInstance? active;
        lock (_table.Gate)
        {
            active = _table.Find(pvm) is { Migration: null } e ? e.Active : null;
        }

        if (active is null)
        {
            throw new InvalidOperationException($"{pvm} is not running here (or is migrating)");
        }

        return await GuestMemory.NonZeroBytesAsync(active.Qmp, Path.Combine(active.Directory, "memory.dump"), ct);
    }

    public Task ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_shutdown.IsCancellationRequested, this);
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
                BeginMigration(m);
                return Task.CompletedTask;
            case CancelMigration c:
                lock (_table.Gate)
                {
                    if (_table.Find(c.Pvm) is { Migration: { } run } && run.Id == c.Migration)
                    {
                        run.Cancel();
                    }
                }

                return Task.CompletedTask;
            default:
                throw new ArgumentException($"{command.GetType().Name} is not a hypervisor command", nameof(command));
        }
    }

    private void Create(UeId ue, PvmId pvm, SiteId siteId)
    {
        PvmEntry entry;
        lock (_table.Gate)
        {
            if (_table.Find(pvm) is { } existing)
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

            if (!_sites.Contains(siteId))
            {
                Emit(new PvmFailed(Now, ue, pvm, siteId, $"unknown site {siteId}"));
                return;
            }

            var address = _table.AllocateAddress(pvm, out var refusal);
            if (refusal is not null)
            {
                Emit(new PvmFailed(Now, ue, pvm, siteId, refusal));
                return;
            }

            entry = new PvmEntry(ue, pvm, siteId) { State = PvmState.Booting, Address = address };
            _table.Add(entry);
        }

        Track(BootAsync(entry));
    }

    private async Task BootAsync(PvmEntry entry)
    {
        try
        {
            var instance = await _launcher.StartAsync(entry.Pvm, _table.SpecOf(entry.Pvm), entry.Site, incoming: false, sharedDisk: null, entry.Address, _shutdown.Token);
            lock (_table.Gate)
            {
                if (entry.Destroyed)
                {
                    Track(instance.StopAsync());
                    return;
                }

                entry.Active = instance;
            }

            Track(SuperviseAsync(entry, instance));
            await instance.WaitReadyAsync(_options.BootTimeout, _shutdown.Token);
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

            lock (_table.Gate)
            {
                if (entry.State == PvmState.Booting)
                {
                    entry.State = PvmState.Running;
                }
            }

            _manifests.Write(entry, instance);
            Emit(new PvmStarted(Now, entry.Ue, entry.Pvm, entry.Site, entry.Address));
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Fail(entry, $"boot failed: {e.Message}");
        }
    }

    private void Fail(PvmEntry entry, string reason)
    {
        lock (_table.Gate)
        {
            if (entry.Destroyed || entry.State == PvmState.Failed)
            {
                return;
            }

            entry.State = PvmState.Failed;
        }

        _options.Logger.LogWarning("{Pvm} at {Site} failed: {Reason}", entry.Pvm, entry.Site, reason);
        Emit(new PvmFailed(Now, entry.Ue, entry.Pvm, entry.Site, reason));
    }

    /// <summary>A QEMU that exits while it is the PVM's live instance has crashed: tell the MC.</summary>
    private async Task SuperviseAsync(PvmEntry entry, QemuInstance instance)
    {
        // Ends at shutdown too: DisposeAsync awaits the tracked work before it stops (or detaches) the QEMUs.
        await Task.WhenAny(instance.Exited, Task.Delay(Timeout.InfiniteTimeSpan, _options.TimeProvider, _shutdown.Token));
        if (!instance.Exited.IsCompleted)
        {
            return;
        }

        bool crashed;
        lock (_table.Gate)
        {
            crashed = !instance.Stopping && ReferenceEquals(entry.Active, instance) && !entry.Destroyed;
        }

        if (crashed)
        {
            var serial = instance.ReadSerialLog();
            var panic = serial.Contains("Kernel panic", StringComparison.Ordinal) ? " (guest kernel panic)" : "";
            Fail(entry, $"QEMU exited unexpectedly with code {instance.Exited.Result}{panic}: {instance.StderrTail}".Trim());
        }
    }

    private async Task ResumeAsync(ResumePvm r, CancellationToken ct)
    {
        var entry = _table.Find(r.Pvm);
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

        if (await SetRunStateAsync(entry, new Cont(), PvmState.Suspended, PvmState.Running, ct))
        {
            Emit(new PvmStarted(Now, r.Ue, r.Pvm, r.Site, entry.Address));
        }
    }

    private async Task SuspendAsync(SuspendPvm s, CancellationToken ct)
    {
        var entry = _table.Find(s.Pvm);
        if (entry?.Active is null || entry.Site != s.Site)
        {
            Emit(new PvmFailed(Now, s.Ue, s.Pvm, s.Site, $"{s.Pvm} is not running at site {s.Site}"));
            return;
        }

        await SetRunStateAsync(entry, new Stop(), PvmState.Running, PvmState.Suspended, ct);
    }

    /// <summary>
    /// Sends `cont` or `stop` to the PVM's live QEMU; then a PVM still <paramref name="from"/> is <paramref name="to"/>
    /// (a migration or failure meanwhile keeps its own state). False when QEMU did not do it: the PVM failed.
    /// </summary>
    private async Task<bool> SetRunStateAsync(PvmEntry entry, QmpBareCommand command, PvmState from, PvmState to, CancellationToken ct)
    {
        try
        {
            await entry.Active!.Qmp.SendAsync(command, null, ct);
        }
        catch (Exception e) when (e.IsQmpFailure())
        {
            Fail(entry, $"{(command is Cont ? "resume" : "suspend")} failed: {e.Message}");
            return false;
        }

        lock (_table.Gate)
        {
            if (entry.State == from)
            {
                entry.State = to;
            }
        }

        _manifests.Write(entry, entry.Active!);
        return true;
    }

    private async Task DestroyAsync(PvmId pvm)
    {
        if (_table.Remove(pvm) is not { } entry)
        {
            return;
        }

        if (entry.Migration is { } run)
        {
            run.Cancel();
            await run.Task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (entry.Active is { } active)
        {
            await active.StopAsync();
            _sites.Free(active.Site, active.Ports);
        }
    }

    private void BeginMigration(StartMigration m)
    {
        lock (_table.Gate)
        {
            var entry = _table.Find(m.Pvm);
            var refusal = entry?.Active is null ? $"{m.Pvm} does not exist"
                : entry.Site != m.From ? $"{m.Pvm} is at site {entry.Site}, not {m.From}"
                : entry.Migration is not null ? $"{m.Pvm} is already migrating ({entry.Migration.Id})"
                : entry.State is not (PvmState.Running or PvmState.Suspended) ? $"{m.Pvm} is {entry.State}"
                : !_sites.Contains(m.To) ? $"unknown destination site {m.To}"
                : m.To == m.From ? $"source and destination are both {m.To}"
                : null;

            // No refusal: the entry and its live instance are there.
            if (refusal is not null || entry is not { Active: { } source })
            {
                Emit(new MigrationFailed(Now, m.Migration, refusal!));
                return;
            }

            var run = new QemuMigration(this, m, _options.Policy, entry, source, entry.State);
            entry.Migration = run;
            entry.State = PvmState.Migrating;
            _background.Add(run.Start());
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
        if (!_options.Detached)
        {
            throw new InvalidOperationException("AdoptAsync needs QemuHypervisorOptions.Detached (without it, AddSite kills leftovers instead)");
        }

        return await new QemuAdoption(this, _sites).RunAsync(ct);
    }

    Task<QemuInstance> IQemuHost.StartInstanceAsync(PvmId pvm, SiteId site, bool incoming, CancellationToken ct, string? sharedDisk, IPAddress? dataAddress) =>
        _launcher.StartAsync(pvm, _table.SpecOf(pvm), site, incoming, sharedDisk, dataAddress, ct);

    void IQemuHost.Release(QemuInstance instance) => _sites.Free(instance.Site, instance.Ports);

    void IQemuHost.Supervise(PvmEntry entry, QemuInstance instance) => Track(SuperviseAsync(entry, instance));

    void IQemuHost.Emit(ControlEvent e) => Emit(e);

    void IQemuHost.Report(QemuMigrationReport report) => MigrationReported?.Invoke(report);

    void IQemuHost.StaleMirrorTargetRemoved() => Interlocked.Increment(ref _staleMirrorTargetsRemoved);

    private void Emit(ControlEvent e) => _events.Writer.TryWrite(e);

    private void Track(Task t)
    {
        lock (_table.Gate)
        {
            _background.RemoveAll(b => b.IsCompleted);
            _background.Add(t);
        }
    }

    /// <summary>
    /// Stops every migration (rolled back) and every QEMU process this hypervisor holds and removes their files; with
    /// <see cref="QemuHypervisorOptions.Detached"/>, running and suspended PVMs are left running for a later process.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_shutdown.IsCancellationRequested)
        {
            return;
        }

        _shutdown.Cancel();
        Task[] pending;
        lock (_table.Gate)
        {
            pending = [.. _background];
        }

        await Task.WhenAll(pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        List<(QemuInstance Instance, bool Keep)> live;
        lock (_table.Gate)
        {
            // Detached: running and suspended PVMs (migrations were rolled back above) stay up for the next process;
            // a PVM still booting has no manifest yet and goes.
            bool Keep(PvmEntry e) => _options.Detached && e.State is PvmState.Running or PvmState.Suspended && !e.Active!.Exited.IsCompleted;
            live = [.. _table.RemoveAll().Where(e => e.Active is not null).Select(e => (e.Active!, Keep(e)))];
        }

        await Task.WhenAll(live.Select(l => l.Keep ? l.Instance.DetachAsync() : l.Instance.StopAsync()));
        _events.Writer.TryComplete();
    }
}
