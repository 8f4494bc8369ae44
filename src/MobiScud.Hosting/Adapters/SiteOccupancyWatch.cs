using System.Collections.Frozen;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Serve's room facts (issue 12): every <c>Policy:OccupancyEvery</c> each silo reads the site grains' admitted counts
/// (PVMs at or arriving at the site, what admission counts against capacity) and hands them to every decision as
/// <see cref="PolicyFacts.SiteOccupancy"/>, so that the policies and <see cref="MigrationPolicies.Place"/> choose a site
/// with room, as the simulator's lanes do. Immutable, swapped atomically. Stale by up to one period: a site that filled
/// meanwhile still refuses (its one activation admits exactly) and the dispatcher falls back or the MC retries, as
/// without these facts; a site that emptied meanwhile is passed over until the next read. Neither loses a PVM.
/// </summary>
internal sealed class SiteOccupancyWatch(McConfigProvider config, IGrainFactory grains, TimeProvider clock, ILogger<SiteOccupancyWatch> log) : BackgroundService
{
    private readonly SemaphoreSlim _reading = new(1, 1);
    private FrozenDictionary<SiteId, int>? _occupancy;

    /// <summary>How often the counts are read; zero: never (the policies believe every site has room).</summary>
    public TimeSpan Every { get; } = config.Options.Policy.OccupancyEvery;

    /// <summary>The counts of the sites with a capacity as last read; null until the first read (or when off).</summary>
    public IReadOnlyDictionary<SiteId, int>? Occupancy => Volatile.Read(ref _occupancy);

    /// <summary><paramref name="facts"/> with the last counts read (unchanged before the first read).</summary>
    public PolicyFacts? With(PolicyFacts? facts) => Occupancy is { } occupancy ? (facts ?? PolicyFacts.None) with { SiteOccupancy = occupancy } : facts;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Every <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(Every, clock);
        try
        {
            do
            {
                await RefreshAsync();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Reads every site's count; a site that does not answer keeps its last count (or none: room, admission decides).</summary>
    public async Task RefreshAsync()
    {
        var graph = config.Current.Sites;
        if (graph is null)
        {
            return;
        }

        // One read at a time, so that an older read never replaces a newer one.
        await _reading.WaitAsync();
        try
        {
            await ReadAsync(graph);
        }
        finally
        {
            _reading.Release();
        }
    }

    private async Task ReadAsync(SiteGraph graph)
    {
        var sites = graph.Capacities.Keys.ToArray();
        var counts = await Task.WhenAll(sites.Select(async site =>
        {
            try
            {
                return (int?)await GrainRefs.Site(grains, site.Value).Count();
            }
            catch (Exception e)
            {
                log.LogWarning("site {Site}: occupancy not read, the last count stands: {Error}", site, e.Message);
                return null;
            }
        }));

        var last = Occupancy;
        var next = new Dictionary<SiteId, int>(sites.Length);
        for (var i = 0; i < sites.Length; i++)
        {
            if (counts[i] is { } n)
            {
                next[sites[i]] = n;
            }
            else if (last is not null && last.TryGetValue(sites[i], out var kept))
            {
                next[sites[i]] = kept;
            }
        }

        Volatile.Write(ref _occupancy, next.ToFrozenDictionary());
    }

    public override void Dispose()
    {
        base.Dispose();
        _reading.Dispose();
    }
}
