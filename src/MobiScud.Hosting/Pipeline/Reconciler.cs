using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Pipeline;

/// <summary>
/// Runs once the silo is up: squares the persisted MC state with what the hypervisor and the switches really hold.
/// Migrations still copying are cancelled first (their outcome would otherwise race the observation); then every
/// known UE gets a PvmObserved (adopting a migration that finished while the MC was down, rolling back one that did
/// not) and a ReconcileRequested (steering re-sent, placement re-checked). PVMs no UE owns are destroyed and
/// steering no UE wants is removed, so no PVM or rule is duplicated.
/// </summary>
/// <remarks>
/// It also runs the service's <see cref="OutcomePump"/>: timers reach the MC from the start, the hypervisor's and the
/// switches' outcomes once migrations left running are settled (what they reported before is dropped: the inventory
/// says it), and nothing after the service stops.
/// </remarks>
public sealed class Reconciler(
    IGrainFactory grains,
    EventPipeline pipeline,
    CommandDispatcher dispatcher,
    TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<Config.MobiScudOptions> options,
    ILogger<Reconciler> log,
    ILogger<OutcomePump> pumpLog,
    BackhaulGate? gate = null,
    MobilityLearner? learner = null) : BackgroundService
{
    private readonly string[] _siteNames = [.. options.Value.Sites.Select(s => s.Name), options.Value.CoreSite];
    private readonly IPvmBackend _hypervisor = dispatcher.Pvms;
    private readonly ISteeringBackend _steering = dispatcher.Steering;
    private readonly OutcomePump _pump = new(pipeline, pumpLog);

    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool Ready => _done.Task.IsCompletedSuccessfully;

    public Task Completed => _done.Task;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _pump.StopAsync();
        if (dispatcher.Timers is IDisposable timers)
        {
            // Pending timers die with the service (a restart re-decides what they would have).
            timers.Dispose();
        }

        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken);
            _done.TrySetResult();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _done.TrySetCanceled(stoppingToken);
        }
        catch (Exception e)
        {
            log.LogError(e, "restart reconciliation failed");
            _done.TrySetException(e);
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        _pump.Start("timers", dispatcher.Timers.Outcomes);
        _pump.Start("admission", dispatcher.Outcomes);
        if (gate is not null)
        {
            // Refusals and withdrawals of queued migrations, and what a backend reported for one started late.
            _pump.Start("scheduler", gate.Outcomes);
        }

        if (learner is not null)
        {
            // Reconciliation decides (and the taps wait for it): with what was learned before, as a service that never stopped.
            await learner.Loaded.WaitAsync(ct);
        }

        var inventory = await _hypervisor.InventoryAsync(ct);
        foreach (var item in inventory.Where(i => i.Migrating is not null))
        {
            log.LogInformation("cancelling migration {Migration} of {Pvm} left running while the MC was down", item.Migrating, item.Pvm);
            await _hypervisor.ExecuteAsync(new CancelMigration(item.Ue, item.Migrating!.Value, item.Pvm, item.Site, item.MigratingTo!.Value), ct);
        }

        // From here outcomes reach the MC; anything reported earlier was about migrations we just settled.
        _pump.Start("hypervisor", _hypervisor.Outcomes, dropBacklog: true);
        _pump.Start("steering", _steering.Outcomes, dropBacklog: true);
        await ReconcileAsync(destroyOrphans: true, ct);
    }

    /// <summary>True while the state is being written back after storage was wiped.</summary>
    public bool Rebuilding { get; private set; }

    /// <summary>
    /// Storage came back wiped: the live grains write back what they hold (operator settings, the UE index, every UE
    /// state), then the usual reconciliation squares it with the hypervisor and switch inventory. PVMs no UE owns are
    /// kept (their UE's state may be what was lost) and logged, not destroyed.
    /// </summary>
    public async Task RebuildAfterWipeAsync(CancellationToken ct)
    {
        await Completed.ContinueWith(_ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);
        Rebuilding = true;
        try
        {
            await grains.GetGrain<IControlGrain>(GrainNames.Control).Repersist();
            var ues = new List<string>();
            for (var i = 0; i < UePartitions.Partitions; i++)
            {
                var index = grains.GetGrain<IUeIndexGrain>(i);
                await index.Repersist();
                ues.AddRange(await index.List());
            }

            var rewritten = 0;
            foreach (var ue in ues)
            {
                rewritten += await grains.GetGrain<IUeGrain>(ue).Repersist() ? 1 : 0;
            }

            log.LogWarning("after the storage wipe: wrote back {Rewritten} of {Ues} indexed UE state(s) held in memory", rewritten, ues.Count);
            await ReconcileAsync(destroyOrphans: false, ct);
        }
        finally
        {
            Rebuilding = false;
        }
    }

    private async Task ReconcileAsync(bool destroyOrphans, CancellationToken ct)
    {
        var inventory = await _hypervisor.InventoryAsync(ct);
        var held = inventory.ToDictionary(i => i.Ue);
        var ues = await UePartitions.AllAsync(grains);
        var known = new HashSet<UeId>();
        var observed = 0;
        foreach (var id in ues)
        {
            var ue = new UeId(id);
            known.Add(ue);
            var snapshot = await grains.GetGrain<IUeGrain>(id).Get();
            if (snapshot.State is not { } state)
            {
                continue;
            }

            var now = clock.ServiceNow();
            held.TryGetValue(ue, out var pvm);
            if (pvm is not null || state.PvmStatus != PvmStatus.None)
            {
                await pipeline.PostAsync(new PvmObserved(now, ue, state.Pvm, pvm?.Site, pvm?.Running ?? false, pvm?.Address), ct);
                observed++;
            }

            await pipeline.PostAsync(new ReconcileRequested(now, ue), ct);
        }

        foreach (var orphan in inventory.Where(i => !known.Contains(i.Ue)))
        {
            if (!destroyOrphans)
            {
                log.LogError("{Pvm} of {Ue} at {Site} is kept although no UE state owns it: its state was lost with the storage wipe", orphan.Pvm, orphan.Ue, orphan.Site);
                continue;
            }

            log.LogWarning("destroying {Pvm} at {Site}: no UE state owns it", orphan.Pvm, orphan.Site);
            await _hypervisor.ExecuteAsync(new DestroyPvm(orphan.Ue, orphan.Pvm, orphan.Site), ct);
        }

        await pipeline.FlushAsync(ct);

        // Site membership is derived from the UE states: rebuild it so admission counts what is really there.
        var members = new Dictionary<string, List<string>>();
        foreach (var id in ues)
        {
            if ((await grains.GetGrain<IUeGrain>(id).Get()).State is { } s)
            {
                foreach (var site in new[] { s.PvmStatus != PvmStatus.None ? s.PvmSite?.Value : null, s.Migration?.To.Value }.OfType<string>().Distinct())
                {
                    (members.TryGetValue(site, out var list) ? list : members[site] = []).Add(id);
                }
            }
        }

        foreach (var site in _siteNames.Concat(members.Keys).Distinct())
        {
            await grains.GetGrain<ISiteGrain>(site).Reset(members.TryGetValue(site, out var list) ? [.. list] : []);
        }

        var removed = 0;
        foreach (var rule in await _steering.InventoryAsync(ct))
        {
            var state = (await grains.GetGrain<IUeGrain>(rule.Ue.Value).Get()).State;
            if (state?.Steering is not { } wanted || wanted.SwitchSite != rule.SwitchSite)
            {
                await _steering.RemoveAsync(rule.Ue, rule.SwitchSite, ct);
                removed++;
            }
        }

        log.LogInformation("reconciled {Ues} UE(s) with the hypervisor ({Pvms} PVMs held, {Observed} observed) and removed {Removed} stale steering rule(s)", ues.Count, inventory.Count, observed, removed);
    }
}
