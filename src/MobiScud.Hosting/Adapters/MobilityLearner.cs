using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Serve's learned facts (issue 12): the handover statistics of the core's <see cref="MobilityStats"/>, folded from the
/// handovers this silo's UE grains apply (per eNB and hour of the day, as the simulator does), handed to every decision
/// as <see cref="PolicyFacts.Mobility"/>. Learned only for the policies that read them (predictive, mdp-threshold) with
/// `Policy:Learn` on. Persisted: new observations go to the <see cref="MobilityGrain"/> every
/// <see cref="FlushEvery"/> and when the service stops; at start the silo loads what the cluster learned before.
/// </summary>
public sealed class MobilityLearner(McConfigProvider config, IGrainFactory grains, ILogger<MobilityLearner> log) : BackgroundService
{
    private readonly object _lock = new();
    private readonly List<HandoverObservation> _pending = [];
    private PolicyFacts _facts = PolicyFacts.None;

    public static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(2);

    /// <summary>True when the configured policy learns from handovers.</summary>
    public bool Enabled { get; } = config.Current.Policy is { Learn: true, Kind: PolicyKind.Predictive or PolicyKind.MdpThreshold };

    /// <summary>What every decision is told (immutable; replaced as handovers are learned).</summary>
    public PolicyFacts Facts => Volatile.Read(ref _facts);

    /// <summary>Folds the handover <paramref name="e"/> makes (given the UE's state before it), if any, into the statistics.</summary>
    public void Learn(UeState? before, UeEvent e)
    {
        if (!Enabled || MobilityStats.ObservationOf(before, e) is not { } seen)
        {
            return;
        }

        lock (_lock)
        {
            _pending.Add(seen);
            Volatile.Write(ref _facts, _facts with { Mobility = MobilityStats.Observe(_facts.Mobility, seen) });
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        var loaded = await grains.GetGrain<IMobilityGrain>(IMobilityGrain.Key).Get();
        lock (_lock)
        {
            // What the cluster learned before, then what this silo saw while loading it.
            var stats = MobilityRows.ToStats(loaded);
            foreach (var o in _pending)
            {
                stats = MobilityStats.Observe(stats, o);
            }

            Volatile.Write(ref _facts, _facts with { Mobility = stats });
        }

        log.LogInformation("mobility statistics loaded: {Observations} handovers learned before", MobilityRows.ToStats(loaded).Observations);
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

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (Enabled)
        {
            await FlushAsync();
        }
    }

    /// <summary>Sends the observations not yet persisted; on failure they stay for the next flush.</summary>
    public async Task FlushAsync()
    {
        HandoverObservation[] batch;
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
            log.LogWarning("mobility statistics: {Count} observation(s) not persisted, kept for the next flush: {Error}", batch.Length, e.Message);
            lock (_lock)
            {
                _pending.InsertRange(0, batch);
            }
        }
    }
}

/// <summary>The statistics as stored: one row per (eNB, hour, next eNB).</summary>
public static class MobilityRows
{
    public static MobilityStats ToStats(IEnumerable<MobilityRow> rows)
    {
        var stats = MobilityStats.Empty;
        foreach (var r in rows.OrderBy(r => r.From).ThenBy(r => r.Hour).ThenBy(r => r.To))
        {
            var key = (new EnbId(r.From), r.Hour);
            var to = new EnbId(r.To);
            var hour = stats.ByEnbHour.GetValueOrDefault(key) ?? EnbMobility.Empty;
            var all = stats.ByEnb.GetValueOrDefault(key.Item1) ?? EnbMobility.Empty;
            stats = stats with
            {
                ByEnbHour = stats.ByEnbHour.SetItem(key, Add(hour, to, r.Count, r.DwellSeconds)),
                ByEnb = stats.ByEnb.SetItem(key.Item1, Add(all, to, r.Count, r.DwellSeconds)),
                Observations = stats.Observations + r.Count,
                TotalDwellSeconds = stats.TotalDwellSeconds + r.DwellSeconds,
            };
        }

        return stats;
    }

    private static EnbMobility Add(EnbMobility m, EnbId to, int count, double dwell) =>
        new(m.Next.SetItem(to, m.Next.GetValueOrDefault(to) + count), m.Departures + count, m.DwellSeconds + dwell);
}

[GenerateSerializer]
[Immutable]
public sealed record MobilityRow([property: Id(0)] uint From, [property: Id(1)] int Hour, [property: Id(2)] uint To, [property: Id(3)] int Count, [property: Id(4)] double DwellSeconds);
