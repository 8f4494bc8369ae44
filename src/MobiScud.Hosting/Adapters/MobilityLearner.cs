using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Serve's learned facts (issue 12): the core's <see cref="MobilityStats"/>, folded from the decisions this silo's UE
/// grains make with the core's own learning step (<see cref="MobilityLearning"/>, as the simulator's lanes do: the
/// handover before deciding, the outcome of predictive's watched move after), handed to every decision as
/// <see cref="PolicyFacts.Mobility"/>. Learned only for the policies that read them (predictive, mdp-threshold) with
/// `Policy:Learn` on. Persisted: new lessons go to the <see cref="MobilityGrain"/> every <see cref="FlushEvery"/> and
/// when the service stops; at start the silo loads what the cluster learned before.
/// <para>
/// Predictive's semi-Markov plan (`Plan: smdp`) is kept current here as <see cref="SingleThreadedMc"/> keeps it: after
/// the event's lesson is folded and before it is decided, <see cref="HandoverSmdp.Observe"/> at the event's time
/// re-solves it when due. The solution is derived state: not persisted, re-solved from the loaded statistics at start,
/// before the first decision. The 2-D plans (`mdp2d`, `mdp2d-path`) are not honoured (<see cref="PlanWarning"/>).
/// </para>
/// </summary>
public sealed class MobilityLearner(McConfigProvider config, IGrainFactory grains, TimeProvider clock, ILogger<MobilityLearner> log) : BackgroundService
{
    private readonly object _lock = new();
    private readonly List<MobilityLesson> _pending = [];
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PolicyFacts _facts = PolicyFacts.None;

    /// <summary>1 while a turn re-solves the semi-Markov plan: another turn due meanwhile decides with the plan it has instead of solving it twice.</summary>
    private int _solving;

    public static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(2);

    /// <summary>True when the configured policy learns from handovers.</summary>
    public bool Enabled { get; } = config.Current.Policy is { Learn: true, Kind: PolicyKind.Predictive or PolicyKind.MdpThreshold };

    /// <summary>
    /// Completes once what the cluster learned before is loaded (at once when not learning). The restart's
    /// reconciliation, and through it every tap, waits for it: a decision made before would not be the one a service
    /// that never stopped makes.
    /// </summary>
    public Task Loaded => _loaded.Task;

    /// <summary>What every decision is told (immutable; replaced as handovers are learned).</summary>
    public PolicyFacts Facts => Volatile.Read(ref _facts);

    /// <summary>Learns what event <paramref name="e"/> teaches before it is decided (<see cref="MobilityLearning.Before"/>), given the UE's state before it.</summary>
    public void Before(UeState? before, UeEvent e)
    {
        if (!Enabled)
        {
            return;
        }

        var current = config.Current;
        Learn(MobilityLearning.Before(current, before, e));
        if (SolvesSmdp(current))
        {
            KeepPlanCurrent(current, e.At);
        }
    }

    private static bool SolvesSmdp(McConfig config) => config is { Policy: { Kind: PolicyKind.Predictive, Plan: PredictivePlan.Smdp }, Cells: not null };

    /// <summary>
    /// Re-solves the semi-Markov plan when <see cref="HandoverSmdp.Observe"/> says it is due at <paramref name="at"/>
    /// (the event's time, as the single host: `PlanResolve` is in the events' time, whatever the silo's clock says), in
    /// this turn, so that this event is decided with it as the single host decides it. Solved outside the lock: other
    /// turns keep learning and deciding with the plan they have meanwhile (serve's order across UEs is not the single
    /// host's anyway). Not before the cluster's statistics are loaded: the load installs its own plan.
    /// </summary>
    private void KeepPlanCurrent(McConfig current, TimeSpan at)
    {
        if (!_loaded.Task.IsCompletedSuccessfully || Interlocked.CompareExchange(ref _solving, 1, 0) != 0)
        {
            return;
        }

        try
        {
            var mobility = Facts.Mobility;
            var started = clock.GetTimestamp();
            var smdp = HandoverSmdp.Observe(mobility.Smdp, current, mobility, at);
            if (ReferenceEquals(smdp, mobility.Smdp))
            {
                return;
            }

            lock (_lock)
            {
                Volatile.Write(ref _facts, _facts with { Mobility = _facts.Mobility with { Smdp = smdp } });
            }

            log.LogDebug("smdp plan solved at {At} on {Observations} handovers: {Sweeps} sweeps in {Ms:F0} ms", at, mobility.Observations, smdp.Sweeps, clock.GetElapsedTime(started).TotalMilliseconds);
        }
        finally
        {
            Volatile.Write(ref _solving, 0);
        }
    }

    /// <summary>
    /// Why serve will not decide with the plan <paramref name="config"/> asks for, as the simulator would (null: it
    /// will). Logged as a warning at start.
    /// </summary>
    internal static string? PlanWarning(McConfig config)
    {
        if (config.Policy is not { Kind: PolicyKind.Predictive } policy || policy.Plan == PredictivePlan.Mdp)
        {
            return null;
        }

        var name = policy.Plan switch
        {
            PredictivePlan.Mdp2d => "mdp2d",
            PredictivePlan.Mdp2dPath => "mdp2d-path",
            _ => "smdp",
        };
        if (policy.Plan is PredictivePlan.Mdp2d or PredictivePlan.Mdp2dPath)
        {
            return $"MobiScud:Policy:Plan {name} is solved by run (the simulator) only: its per-cell slot chain (CellChain) is sampled from every event of every UE, which serve's silos neither share nor persist; serve decides as with plan mdp instead. Plan smdp is solved in serve.";
        }

        if (!policy.Learn)
        {
            return $"MobiScud:Policy:Plan {name} is solved on learned statistics, and with MobiScud:Policy:Learn false serve learns none: serve decides as with plan mdp instead.";
        }

        return config.Cells is null
            ? $"MobiScud:Policy:Plan {name} needs cell positions (MobiScud:Cells), as in the simulator: without them serve decides as with plan mdp instead."
            : null;
    }

    /// <summary>Learns what the decision teaches (<see cref="MobilityLearning.After"/>), given the UE's states before and after it.</summary>
    public void After(UeState? before, UeState? decided)
    {
        if (Enabled)
        {
            Learn(MobilityLearning.After(config.Current, before, decided));
        }
    }

    private void Learn(MobilityLesson? lesson)
    {
        if (lesson is null)
        {
            return;
        }

        lock (_lock)
        {
            _pending.Add(lesson);
            Volatile.Write(ref _facts, _facts with { Mobility = MobilityLearning.Fold(_facts.Mobility, lesson) });
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (PlanWarning(config.Current) is { } warning)
        {
            log.LogWarning("{Warning}", warning);
        }

        if (!Enabled)
        {
            _loaded.TrySetResult();
            return;
        }

        MobilityStats loaded;
        try
        {
            loaded = await LoadAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _loaded.TrySetCanceled(stoppingToken);
            return;
        }

        // With handovers learned before, the plan is solved on them before the first decision: the restart's
        // reconciliation decides for every UE at once, and a turn racing a solve decides with the plan there is. At the
        // service's time, as an event now would. A cluster that learned nothing solves at its first event, as the single host.
        var current = config.Current;
        var started = clock.GetTimestamp();
        var plan = loaded.Observations > 0 && SolvesSmdp(current)
            ? HandoverSmdp.Observe(HandoverSmdp.Empty, current, loaded, clock.ServiceNow())
            : HandoverSmdp.Empty;
        if (!ReferenceEquals(plan, HandoverSmdp.Empty))
        {
            log.LogInformation("smdp plan solved on the loaded statistics: {Sweeps} sweeps in {Ms:F0} ms", plan.Sweeps, clock.GetElapsedTime(started).TotalMilliseconds);
        }

        lock (_lock)
        {
            // What the cluster learned before, then what this silo learned while loading it, in the order the grain folds them.
            var stats = loaded;
            foreach (var lesson in _pending)
            {
                stats = MobilityLearning.Fold(stats, lesson);
            }

            Volatile.Write(ref _facts, _facts with { Mobility = stats with { Smdp = plan } });
        }

        _loaded.TrySetResult();
        log.LogInformation("mobility statistics loaded: {Observations} handovers and {Outcomes} move outcomes learned before", loaded.Observations, loaded.MoveOutcomes.Observations);
        using var timer = new PeriodicTimer(FlushEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the last flush is in StopAsync.
        }
    }

    /// <summary>Reads the persisted statistics, retrying while storage fails (deciding without them would forget them).</summary>
    private async Task<MobilityStats> LoadAsync(CancellationToken ct)
    {
        var wait = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                return MobilityRows.ToStats(await grains.GetGrain<IMobilityGrain>(IMobilityGrain.Key).Get());
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogWarning("mobility statistics not loaded, retrying in {Wait} ms: {Error}", wait.TotalMilliseconds, e.Message);
                await Task.Delay(wait, clock, ct);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (Enabled)
        {
            await FlushAsync();
        }
    }

    /// <summary>Sends the lessons not yet persisted; on failure they stay for the next flush.</summary>
    public async Task FlushAsync()
    {
        MobilityLesson[] batch;
        lock (_lock)
        {
            batch = [.. _pending];
            _pending.Clear();
        }

        if (batch.Length == 0)
        {
            return;
        }

        try
        {
            await grains.GetGrain<IMobilityGrain>(IMobilityGrain.Key).Add(batch);
        }
        catch (Exception e)
        {
            log.LogWarning("mobility statistics: {Count} lesson(s) not persisted, kept for the next flush: {Error}", batch.Length, e.Message);
            lock (_lock)
            {
                _pending.InsertRange(0, batch);
            }
        }
    }
}
