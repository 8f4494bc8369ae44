using System.Collections.Frozen;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Grains;
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
internal sealed class SiteOccupancyWatch(McConfigProvider config, IGrainFactory grains, TimeProvider clock, ILogger<SiteOccupancyWatch> log)
    : PeriodicFactsWatch<FrozenDictionary<SiteId, int>>(config.Options.Policy.OccupancyEvery, clock)
{
    /// <summary>The counts of the sites with a capacity as last read; null until the first read (or when off).</summary>
    public IReadOnlyDictionary<SiteId, int>? Occupancy => Last;

    public override PolicyFacts? With(PolicyFacts? facts) => Occupancy is { } occupancy ? (facts ?? PolicyFacts.None) with { SiteOccupancy = occupancy } : facts;

    protected override bool CanRead => config.Current.Sites is not null;

    /// <summary>Every site's count; a site that does not answer keeps its last count (or none: room, admission decides).</summary>
    protected override async Task<FrozenDictionary<SiteId, int>?> ReadAsync(FrozenDictionary<SiteId, int>? last)
    {
        var sites = config.Current.Sites!.Capacities.Keys.ToArray();
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

        return next.ToFrozenDictionary();
    }
}
