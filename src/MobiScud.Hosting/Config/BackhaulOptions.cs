using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Hosting.Config;

/// <summary>
/// `MobiScud:Backhaul`: the links between the configured sites (and the core) and the migration budgets on them. Without
/// <see cref="Links"/> the sites form a full mesh of <see cref="PolicyServeOptions.InterSiteDelayMs"/> links; without a
/// budget (<see cref="MaxConcurrentPerLink"/> or <see cref="MigrationShare"/>) migrations start at once, as before.
/// With one, every migration goes through one scheduler for the cluster (<c>MigrationSchedulerGrain</c>).
/// </summary>
public sealed class BackhaulOptions
{
    /// <summary>The transport links; empty: a full mesh.</summary>
    public List<BackhaulLinkOptions> Links { get; set; } = [];

    /// <summary>At most this many migrations cross one link at once; null: no limit.</summary>
    public int? MaxConcurrentPerLink { get; set; }

    /// <summary>Migrations may take at most this share of a link's capacity, each counted at <see cref="MigrationGbps"/>; null: no limit.</summary>
    public double? MigrationShare { get; set; }

    public double MigrationGbps { get; set; } = 1;

    /// <summary>A migration still queued this long after it was asked for is refused (the MC retries after MigrationRetryAfter); null: MigrationDeadline, else 60 s.</summary>
    public TimeSpan? QueueDeadline { get; set; }

    /// <summary>How often queued migrations are checked against their deadline.</summary>
    public TimeSpan TickEvery { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>True when migrations are budgeted (a scheduler runs).</summary>
    public bool Scheduled => MaxConcurrentPerLink is not null || MigrationShare is not null;

    /// <summary>The site graph's links: the configured ones, or a full mesh.</summary>
    public IReadOnlyList<SiteLink> LinksFor(IReadOnlyList<SiteId> sites, double meshDelayMs)
    {
        if (Links.Count == 0)
        {
            var mesh = new List<SiteLink>();
            for (var i = 0; i < sites.Count; i++)
            {
                for (var j = i + 1; j < sites.Count; j++)
                {
                    mesh.Add(new SiteLink(sites[i], sites[j], meshDelayMs));
                }
            }

            return mesh;
        }

        return [.. Links.Select(l => new SiteLink(new SiteId(l.A), new SiteId(l.B), l.DelayMs, l.CapacityGbps))];
    }

    /// <summary>The scheduler's budgets over <paramref name="graph"/>'s links; site capacity stays with the site grains' admission.</summary>
    public SchedulerConfig ToSchedulerConfig(SiteGraph graph) => new()
    {
        Graph = SiteGraph.FromLinks(graph.Sites, graph.Links),
        MaxConcurrentPerLink = MaxConcurrentPerLink,
        MigrationShare = MigrationShare,
        MigrationGbps = MigrationGbps,
    };

    /// <summary>Configuration errors, each naming its key (<paramref name="sites"/>: the configured sites and the core).</summary>
    public IEnumerable<string> Problems(IReadOnlyCollection<string> sites)
    {
        const string p = MobiScudOptions.Section + ":Backhaul";
        if (MaxConcurrentPerLink is < 1)
        {
            yield return $"{p}:MaxConcurrentPerLink must be at least 1 (was {MaxConcurrentPerLink})";
        }

        if (MigrationShare is { } share && !(share > 0 && share <= 1))
        {
            yield return $"{p}:MigrationShare must be in (0, 1] (was {share})";
        }

        if (!(MigrationGbps > 0) || double.IsInfinity(MigrationGbps))
        {
            yield return $"{p}:MigrationGbps must be positive and finite (was {MigrationGbps})";
        }

        if (QueueDeadline is { } d && d <= TimeSpan.Zero)
        {
            yield return $"{p}:QueueDeadline must be positive (was {d})";
        }

        if (TickEvery <= TimeSpan.Zero)
        {
            yield return $"{p}:TickEvery must be positive (was {TickEvery})";
        }

        for (var i = 0; i < Links.Count; i++)
        {
            var l = Links[i];
            foreach (var (key, site) in new[] { ("A", l.A), ("B", l.B) })
            {
                if (!sites.Contains(site))
                {
                    yield return $"{p}:Links:{i}:{key}: '{site}' is not a configured site nor the core ({string.Join(", ", sites)})";
                }
            }

            if (l.A == l.B)
            {
                yield return $"{p}:Links:{i}: joins '{l.A}' to itself";
            }

            if (!(l.DelayMs >= 0) || double.IsInfinity(l.DelayMs))
            {
                yield return $"{p}:Links:{i}:DelayMs must be finite and not negative (was {l.DelayMs})";
            }

            if (!(l.CapacityGbps > 0) || double.IsInfinity(l.CapacityGbps))
            {
                yield return $"{p}:Links:{i}:CapacityGbps must be positive and finite (was {l.CapacityGbps})";
            }
        }
    }
}

/// <summary>One backhaul link between two sites (either may be the core), both directions.</summary>
public sealed class BackhaulLinkOptions
{
    public string A { get; set; } = "";

    public string B { get; set; } = "";

    public double DelayMs { get; set; } = 1;

    public double CapacityGbps { get; set; } = 10;
}
