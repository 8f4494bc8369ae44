using MobiScud.Control.Policies;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Serve's link facts: every <c>Policy:OccupancyEvery</c> (the same period as the room facts) each silo reads the
/// cluster's migration scheduler's count of migrations granted and not yet ended on each backhaul link and hands it to
/// every decision as <see cref="PolicyFacts.LinkMigrations"/>, so that admission by expected completion
/// (<see cref="MigrationPolicies.ExpectedMigrationSeconds"/>) splits a link's rate with the migrations already on it,
/// as the simulator's lanes do. Off without a scheduler (no <c>Backhaul</c> budget: nothing counts them).
/// Stale by up to one period: a burst of moves decided within one period sees the same count and may all be admitted
/// where the live count would refuse some; the scheduler still budgets every link exactly (it queues what does not
/// fit and refuses what waits past its deadline), so a stale count costs a migration queued or refused and retried,
/// never a link over its budget. The simulator passes a live count because it has no such budget by default.
/// </summary>
internal sealed class LinkMigrationsWatch(McConfigProvider config, IGrainFactory grains, TimeProvider clock, ILogger<LinkMigrationsWatch> log)
    : PeriodicFactsWatch<IReadOnlyList<int>>(config.Options.Backhaul.Scheduled ? config.Options.Policy.OccupancyEvery : TimeSpan.Zero, clock)
{
    /// <summary>Migrations on each link of the MC config's site graph (by index into its Links) as last read; null until the first read (or when off).</summary>
    public IReadOnlyList<int>? LinkMigrations => Last;

    public override PolicyFacts? With(PolicyFacts? facts) => LinkMigrations is { } counts ? (facts ?? PolicyFacts.None) with { LinkMigrations = counts } : facts;

    protected override bool CanRead => config.Options.Backhaul.Scheduled && config.Current.Sites is not null;

    /// <summary>The scheduler's counts; when it does not answer, the last counts stand.</summary>
    protected override async Task<IReadOnlyList<int>?> ReadAsync(IReadOnlyList<int>? last)
    {
        int[] counts;
        try
        {
            counts = await grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key).InFlightPerLink();
        }
        catch (Exception e)
        {
            log.LogWarning("migrations per link not read, the last counts stand: {Error}", e.Message);
            return null;
        }

        // Every silo builds the graph from the same options; a scheduler on another graph would index other links.
        var links = config.Current.Sites!.Links.Count;
        if (counts.Length != links)
        {
            log.LogWarning("the scheduler counts {Counted} links, this silo's site graph has {Links}: migrations per link ignored", counts.Length, links);
            return null;
        }

        return Array.AsReadOnly(counts);
    }
}
