using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// What a decision about one UE needs to know about everyone else, supplied by the host at each
/// <see cref="MobiScudControl.Decide(McConfig, UeState?, UeEvent, PolicyFacts?)"/>: learned mobility, how full each
/// site is, how loaded each link is, and the load ratio of the cost model. The core only reads them; the host keeps
/// them (the simulator in its lane, serve in the site grains). Null or missing parts mean "not known": placement
/// ignores capacity and load, and the learned figures fall back to the configured priors.
/// </summary>
public sealed record PolicyFacts
{
    public static PolicyFacts None { get; } = new();

    /// <summary>Handover statistics learned so far (<see cref="MobilityStats.Observe"/>).</summary>
    public MobilityStats Mobility { get; init; } = MobilityStats.Empty;

    /// <summary>PVMs at or arriving at each site (count against <see cref="SiteGraph.Capacities"/>); null: unknown.</summary>
    public IReadOnlyDictionary<SiteId, int>? SiteOccupancy { get; init; }

    /// <summary>Utilisation in [0, 1) of each link of <see cref="McConfig.Sites"/> (by index into <see cref="SiteGraph.Links"/>), user traffic and migrations together; null: unknown.</summary>
    public IReadOnlyList<double>? LinkUtilisation { get; init; }

    /// <summary>
    /// Migrations on the wire now on each link of <see cref="McConfig.Sites"/> (by index into <see cref="SiteGraph.Links"/>);
    /// null: unknown. Predictive's admission reads it for the share a new migration would get (a live count: a host
    /// may pass a view that follows its links, the core reads it only within a decision).
    /// </summary>
    public IReadOnlyList<int>? LinkMigrations { get; init; }

    /// <summary>Share in [0, 1] of each link that user traffic takes (by index into <see cref="SiteGraph.Links"/>); null: unknown.</summary>
    public IReadOnlyList<double>? LinkBackground { get; init; }

    /// <summary>Q/R of the cost model: users now over the resource available (<see cref="WangCostModel.LoadRatio"/>).</summary>
    public double LoadRatio { get; init; }

    /// <summary>True when <paramref name="site"/> can take one more PVM (a UE already counted there is not counted twice: <paramref name="alreadyThere"/>).</summary>
    public bool HasRoom(SiteGraph? graph, SiteId site, bool alreadyThere = false)
    {
        if (alreadyThere || graph?.Capacity(site) is not { } capacity || SiteOccupancy is null)
        {
            return true;
        }

        return SiteOccupancy.GetValueOrDefault(site) < capacity;
    }
}
