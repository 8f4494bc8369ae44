using System.Collections.Frozen;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control;

/// <summary>Where PVMs live. The same MC code runs all three so that they can be compared on the same mobility.</summary>
public enum Strategy
{
    /// <summary>The PVM follows the user: it lives at the site serving the user's eNB and migrates on handover.</summary>
    MobiScud,

    /// <summary>The PVM stays at the site of first attach; after handovers traffic crosses sites to reach it.</summary>
    StaticEdge,

    /// <summary>The PVM lives in the core data centre behind the S-GW/P-GW; no edge steering.</summary>
    CoreAnchored,
}

/// <summary>The MC's static configuration: topology (which site serves which eNB) and policy.</summary>
public sealed record McConfig
{
    private readonly SiteGraph? _sites;
    private PvmSiteSet? _pvmSites;

    public McConfig(
        IReadOnlyDictionary<EnbId, SiteId> siteOfEnb,
        SiteId coreSite,
        Strategy strategy = Strategy.MobiScud,
        TimeSpan? idleSuspendAfter = null,
        TimeSpan? migrationDeadline = null,
        TimeSpan? migrationRetryAfter = null,
        IReadOnlySet<SiteId>? drainedSites = null,
        TimeSpan? steeringRetryAfter = null,
        TimeSpan? steeringRetryMax = null)
    {
        ArgumentNullException.ThrowIfNull(siteOfEnb);
        if (string.IsNullOrEmpty(coreSite.Value))
        {
            throw new ArgumentException("the core site needs a name", nameof(coreSite));
        }

        RequirePositive(idleSuspendAfter, nameof(idleSuspendAfter));
        RequirePositive(migrationDeadline, nameof(migrationDeadline));
        RequirePositive(migrationRetryAfter, nameof(migrationRetryAfter));
        RequirePositive(steeringRetryAfter, nameof(steeringRetryAfter));
        RequirePositive(steeringRetryMax, nameof(steeringRetryMax));
        SiteOfEnb = siteOfEnb.ToFrozenDictionary();
        CoreSite = coreSite;
        Strategy = strategy;
        IdleSuspendAfter = idleSuspendAfter;
        MigrationDeadline = migrationDeadline;
        MigrationRetryAfter = migrationRetryAfter ?? TimeSpan.FromSeconds(30);
        DrainedSites = (drainedSites ?? new HashSet<SiteId>()).ToFrozenSet();
        SteeringRetryAfter = steeringRetryAfter ?? TimeSpan.FromSeconds(1);
        SteeringRetryMax = steeringRetryMax ?? TimeSpan.FromSeconds(30);
        if (SteeringRetryMax < SteeringRetryAfter)
        {
            throw new ArgumentOutOfRangeException(nameof(steeringRetryMax), SteeringRetryMax, $"steeringRetryMax must be at least steeringRetryAfter ({SteeringRetryAfter})");
        }
    }

    /// <summary>The edge site that serves each eNB. An eNB not listed is served through the core site.</summary>
    public FrozenDictionary<EnbId, SiteId> SiteOfEnb { get; init; }

    /// <summary>The core data centre behind the S-GW/P-GW.</summary>
    public SiteId CoreSite { get; init; }

    public Strategy Strategy { get; init; }

    /// <summary>
    /// Under <see cref="Strategy.MobiScud"/>: whether, when and where the PVM follows (docs/policies.md). The default,
    /// <see cref="PolicyKind.Always"/>, follows on every inter-site handover. Other strategies ignore it.
    /// </summary>
    public PolicyConfig Policy { get; init; } = PolicyConfig.Default;

    /// <summary>
    /// The site graph (distances, routes, capacities) the policies and admission weigh; null: today's full mesh, every
    /// other site one hop away, no capacity limit. It must hold every site of <see cref="SiteOfEnb"/> and the core site.
    /// </summary>
    public SiteGraph? Sites
    {
        get => _sites;
        init
        {
            if (value is not null)
            {
                foreach (var site in SiteOfEnb.Values.Append(CoreSite))
                {
                    if (!value.Contains(site))
                    {
                        throw new ArgumentException($"site '{site}' (serving an eNB, or the core) is not in the site graph", nameof(Sites));
                    }
                }
            }

            _sites = value;
        }
    }

    /// <summary>
    /// Where the cells and sites are (rings of cells, Wang et al.'s distance); null: the policies measure distance in
    /// hops of <see cref="Sites"/>. With it, myopic, mdp-threshold and predictive weigh the distance their cost model
    /// charges: user cell to PVM site (transmission), PVM site to PVM site (migration).
    /// </summary>
    public CellGeometry? Cells { get; init; }

    /// <summary>The sites a PVM may live at: every site that serves an eNB, and the core.</summary>
    public FrozenSet<SiteId> PvmSites => PvmSiteSets().Sites;

    /// <summary>
    /// <see cref="PvmSites"/> in ordinal name order: a frozen set enumerates in its hashes' order, which changes from
    /// process to process, and sorting the set on every decision was most of what a policy's candidate list cost.
    /// </summary>
    internal IReadOnlyList<SiteId> PvmSitesByName => PvmSiteSets().ByName;

    /// <summary>
    /// Hops between two sites: from <see cref="Sites"/>, or 1 between any two sites without one (a full mesh). A site
    /// the graph does not know (an operator's pin elsewhere) is taken as one hop from everything.
    /// </summary>
    public int Hops(SiteId a, SiteId b) =>
        a == b ? 0 : _sites is { } g && g.Contains(a) && g.Contains(b) ? g.Hops(a, b) : 1;

    /// <summary>One-way delay between two sites along the route (0 without a graph or for a site it does not know).</summary>
    public double DelayMs(SiteId a, SiteId b) =>
        a != b && _sites is { } g && g.Contains(a) && g.Contains(b) ? g.DelayMs(a, b) : 0;

    /// <summary>Suspend a PVM after its UE has been idle this long; null keeps idle PVMs running.</summary>
    public TimeSpan? IdleSuspendAfter { get; init; }

    /// <summary>Cancel a live migration that has not finished after this long; null lets it run.</summary>
    public TimeSpan? MigrationDeadline { get; init; }

    /// <summary>After a failed migration, wait this long before trying again (a failing link must not loop).</summary>
    public TimeSpan MigrationRetryAfter { get; init; }

    /// <summary>After a switch rejected or did not confirm steering, send it again after this long; doubled per consecutive failure.</summary>
    public TimeSpan SteeringRetryAfter { get; init; }

    /// <summary>The longest wait between steering retries (the doubling stops here).</summary>
    public TimeSpan SteeringRetryMax { get; init; }

    /// <summary>The wait before the retry that follows the <paramref name="failures"/>-th consecutive failure (1-based).</summary>
    public TimeSpan SteeringRetryDelay(int failures)
    {
        var delay = SteeringRetryAfter;
        for (var i = 1; i < failures && delay < SteeringRetryMax; i++)
        {
            delay += delay;
        }

        return delay < SteeringRetryMax ? delay : SteeringRetryMax;
    }

    /// <summary>Sites being emptied: no PVM is placed there, and PVMs there move out.</summary>
    public FrozenSet<SiteId> DrainedSites { get; init; }

    /// <summary>The site whose switch sees the eNB's backhaul traffic.</summary>
    public SiteId SwitchSiteFor(EnbId enb) => SiteOfEnb.TryGetValue(enb, out var site) ? site : CoreSite;

    /// <summary>Where a PVM serving a UE at this eNB belongs, drained sites falling back to the core.</summary>
    public SiteId PlacementFor(EnbId enb)
    {
        var site = SwitchSiteFor(enb);
        return DrainedSites.Contains(site) ? CoreSite : site;
    }

    private static void RequirePositive(TimeSpan? value, string name)
    {
        if (value is { } v && v <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, v, $"{name} must be positive");
        }
    }

    private PvmSiteSet PvmSiteSets()
    {
        // Cached per (SiteOfEnb, CoreSite) so that a copy made with `with` that changes them does not see a stale set.
        var cached = _pvmSites;
        if (cached is null || cached.Source != SiteOfEnb || cached.Core != CoreSite)
        {
            var sites = SiteOfEnb.Values.Append(CoreSite).ToFrozenSet();
            cached = new PvmSiteSet(SiteOfEnb, CoreSite, sites, [.. sites.Order(Comparer<SiteId>.Create(static (a, b) => string.CompareOrdinal(a.Value, b.Value)))]);
            _pvmSites = cached;
        }

        return cached;
    }

    private sealed record PvmSiteSet(FrozenDictionary<EnbId, SiteId> Source, SiteId Core, FrozenSet<SiteId> Sites, SiteId[] ByName);
}
