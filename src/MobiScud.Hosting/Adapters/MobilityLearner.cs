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
/// </summary>
public sealed class MobilityLearner(McConfigProvider config, IGrainFactory grains, TimeProvider clock, ILogger<MobilityLearner> log) : BackgroundService
{
    private readonly object _lock = new();
    private readonly List<MobilityLesson> _pending = [];
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PolicyFacts _facts = PolicyFacts.None;

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
        if (Enabled)
        {
            Learn(MobilityLearning.Before(config.Current, before, e));
        }
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

        lock (_lock)
        {
            // What the cluster learned before, then what this silo learned while loading it, in the order the grain folds them.
            var stats = loaded;
            foreach (var lesson in _pending)
            {
                stats = MobilityLearning.Fold(stats, lesson);
            }

            Volatile.Write(ref _facts, _facts with { Mobility = stats });
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
