using System.Threading.Channels;
using MobiScud.Cloud;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// `Hypervisor:Kind: Qemu`: the MC's PVM commands go to <see cref="QemuHypervisor"/> (MobiScud.Cloud), and its outcomes
/// (PvmStarted, PvmFailed, MigrationProgressed, MigrationCompleted, MigrationFailed) are forwarded, in order, to
/// <see cref="Outcomes"/> by a <see cref="HypervisorBackend"/> over the hypervisor it builds at start. Every site of the configuration (edge sites and the core) is a directory under the run directory
/// and a block of loopback ports. The inventory is QEMU's: the hypervisor's PVM table, with each live instance asked over
/// QMP whether it really runs.
/// Restarts: with <see cref="QemuServeOptions.KeepPvmsOnStop"/> (the default) the QEMUs are detached from the service's
/// process; its stop (graceful or a crash) leaves them running, and the next start adopts them (QMP reconnected, a migration
/// in flight settled) before the reconciler reads the inventory, so the MC keeps each PVM where it was. Without it, the
/// service's disposal ends its QEMUs and a start kills those an earlier run left, so the MC boots each PVM afresh. An
/// adapter that outlives the service (in-process, as tests do) keeps its QEMUs either way.
/// </summary>
internal sealed class QemuHypervisorAdapter : IPvmBackend, IHostedService, IAsyncDisposable, Dashboard.IMigrationProgressSource
{
    private readonly Dashboard.MigrationProgressTracker _progress;
    private readonly QemuServeOptions _options;
    private readonly IReadOnlyList<string> _sites;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly TaskCompletionSource<QemuHypervisor> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HypervisorBackend _backend;
    private int _started;
    private int _disposed;

    /// <param name="sites">Every site PVMs may be placed at (edge sites and the core site).</param>
    public QemuHypervisorAdapter(QemuServeOptions options, IReadOnlyList<string> sites, TimeProvider clock, ILogger<QemuHypervisorAdapter> log)
    {
        _options = options;
        _sites = sites;
        _clock = clock;
        _log = log;
        _progress = new Dashboard.MigrationProgressTracker(options.MemoryMiB * 1024L * 1024);
        _backend = new HypervisorBackend(ReadyAsync(), _progress.Track);
    }

    /// <summary>The QEMU backend once started (tests: describe a PVM's process).</summary>
    public Task<QemuHypervisor> Hypervisor => _ready.Task;

    /// <summary>QEMU's figures of every finished migration, as they come (logged; tests and the dashboard may watch).</summary>
    public event Action<QemuMigrationReport>? MigrationReported;

    /// <summary>QEMU's outcomes, as the hypervisor reported them (its control events for UEs).</summary>
    public ChannelReader<UeEvent> Outcomes => _backend.Outcomes;

    /// <summary>Builds or finds the guest image and registers the sites; idempotent, so an adapter may serve several service lifetimes.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            await _ready.Task.WaitAsync(cancellationToken);
            return;
        }

        try
        {
            var image = string.IsNullOrWhiteSpace(_options.Kernel)
                ? await GuestImageBuilder.EnsureAsync(ct: cancellationToken)
                : new GuestImage(Path.GetFullPath(_options.Kernel), Path.GetFullPath(_options.Initrd!), "configured", Path.GetDirectoryName(Path.GetFullPath(_options.Kernel))!);
            var hv = new QemuHypervisor(new QemuHypervisorOptions
            {
                Image = image,
                QemuBinary = _options.QemuBinary,
                Policy = _options.ToPolicy(),
                DefaultSpec = new PvmSpec(_options.MemoryMiB, _options.DiskMiB),
                BootTimeout = _options.BootTimeout,
                MigrationTimeout = _options.MigrationTimeout,
                DataNetwork = _options.DataNetwork?.ToNetwork(),
                Clock = () => _clock.ServiceNow(),
                Detached = _options.KeepPvmsOnStop,
                Logger = _log,
            });
            for (var i = 0; i < _sites.Count; i++)
            {
                var name = _sites[i];
                var bridge = _options.Sites.TryGetValue(name, out var s) && !string.IsNullOrWhiteSpace(s.DataBridge)
                    ? new QemuDataBridge(s.DataBridge, string.IsNullOrWhiteSpace(s.DataNamespace) ? null : s.DataNamespace)
                    : null;
                hv.AddSite(new QemuSite(new SiteId(name), Path.Combine(_options.RunDirectory, name), _options.FirstPort + (i * _options.PortsPerSite), _options.PortsPerSite)
                {
                    DataBridge = _options.DataNetwork is null ? null : bridge,
                });
            }

            if (_options.KeepPvmsOnStop)
            {
                // Before the reconciler's first inventory: what the previous process left is what the MC observes.
                var took = _clock.GetTimestamp();
                var report = await hv.AdoptAsync(cancellationToken);
                foreach (var a in report.Adopted)
                {
                    _log.LogInformation("adopted {Pvm} of {Ue} at {Site}: QEMU pid {Pid}, {State}{Note}", a.Pvm, a.Ue, a.Site, a.ProcessId, a.State, a.Note is null ? "" : $" ({a.Note})");
                }

                foreach (var problem in report.Problems)
                {
                    _log.LogError("QEMU instance not adopted: {Path}: {Problem}", problem.Path, problem.Message);
                }

                _log.LogInformation("QEMU adoption: {Adopted} PVM(s) taken back, {Problems} instance(s) cleaned up in {Ms} ms", report.Adopted.Count, report.Problems.Count, (long)_clock.GetElapsedTime(took).TotalMilliseconds);
            }

            hv.MigrationReported += OnMigrationReported;
            _log.LogInformation("QEMU hypervisor ready: {Sites} site(s) under {Dir}, guest kernel {Kernel}, policy {Policy}", _sites.Count, _options.RunDirectory, image.Kernel, hv.Policy);
            _ready.TrySetResult(hv);
        }
        catch (Exception e)
        {
            _ready.TrySetException(e);
            throw;
        }
    }

    /// <summary>The QEMUs outlive a stop of the service's host (a restart in-process keeps them); <see cref="DisposeAsync"/> ends them.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<UeEvent?> ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        await _backend.ExecuteAsync(command, ct);
        if (command is CancelMigration c)
        {
            var hv = await _ready.Task;

            // The rollback (migrate_cancel, mirror cancel, `cont`) runs on its own: wait for it, so whoever cancelled (the
            // restart reconciliation above all) reads a settled inventory next.
            await WaitAsync(() => !hv.Query().Any(p => p.Pvm == c.Pvm && p.Migration == c.Migration), _options.MigrationTimeout, ct);
        }

        return null;
    }

    public async Task<IReadOnlyList<PvmInventoryItem>> InventoryAsync(CancellationToken ct = default)
    {
        var hv = await _ready.Task.WaitAsync(ct);
        var items = new List<PvmInventoryItem>();
        foreach (var p in hv.Query())
        {
            // QEMU's own word: a PVM runs when its live instance answers QMP with "running".
            var qemu = await hv.QueryQemuStatusAsync(p.Pvm, ct);
            var running = qemu is "running" && p.State is PvmState.Running or PvmState.Migrating;
            items.Add(new PvmInventoryItem(p.Ue, p.Pvm, p.Site, running, p.Address, p.Migration, p.MigrationTarget));
        }

        return items;
    }

    /// <summary>The dashboard's bars for QEMU: RAM transferred at each pre-copy round (<see cref="Dashboard.MigrationProgressTracker"/>).</summary>
    public IReadOnlyDictionary<string, (long Sent, long Remaining, double ExpectedDowntimeMs)> Progress() => _progress.Progress();

    private async Task<IHypervisor> ReadyAsync() => await _ready.Task;

    private void OnMigrationReported(QemuMigrationReport r)
    {
        _log.LogInformation(
            "QEMU migration {Migration} {From}->{To} {Outcome}: wall {Wall} ms, downtime {Downtime} ms, RAM {Ram} MiB in {Rounds} round(s), disk {Disk} MiB{Reason}",
            r.Migration, r.From, r.To, r.Succeeded ? "completed" : "failed", (long)r.WallTime.TotalMilliseconds, (long)r.Downtime.TotalMilliseconds,
            r.RamBytes >> 20, r.Rounds, r.DiskBytes >> 20, r.FailureReason is null ? "" : $" ({r.FailureReason})");
        MigrationReported?.Invoke(r);
    }

    private static async Task WaitAsync(Func<bool> done, TimeSpan limit, CancellationToken ct)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (!done() && TimeProvider.System.GetElapsedTime(started) < limit)
        {
            await Task.Delay(20, ct);
        }
    }

    /// <summary>Stops every QEMU this adapter started and deletes their files; with KeepPvmsOnStop, running PVMs are left running.</summary>
    public async ValueTask DisposeAsync()
    {
        // Registered under two service types, so the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _backend.DisposeAsync();
        if (_ready.Task.IsCompletedSuccessfully)
        {
            await _ready.Task.Result.DisposeAsync();
        }
    }
}
