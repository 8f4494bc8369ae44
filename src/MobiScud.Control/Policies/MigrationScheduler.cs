using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// Budgets the scheduler enforces. <see cref="Graph"/> gives the routes (a migration occupies every link on its route)
/// and the site capacities; without it only the per-UE bookkeeping applies.
/// </summary>
public sealed record SchedulerConfig
{
    public SiteGraph? Graph { get; init; }

    /// <summary>At most this many migrations cross one link at once; null: no limit.</summary>
    public int? MaxConcurrentPerLink { get; init; }

    /// <summary>Migrations may use at most this share of a link's capacity, each counted at <see cref="MigrationGbps"/>; null: no limit.</summary>
    public double? MigrationShare { get; init; }

    /// <summary>The rate one migration is assumed to take on each link of its route.</summary>
    public double MigrationGbps { get; init; } = 1;

    /// <summary>How many migrations may run on link <paramref name="link"/> at once (at least 1).</summary>
    public int LinkBudget(int link)
    {
        var budget = MaxConcurrentPerLink ?? int.MaxValue;
        if (MigrationShare is { } share && Graph is { } g)
        {
            var byShare = (int)Math.Min(int.MaxValue, Math.Floor(share * g.Links[link].CapacityGbps / MigrationGbps));
            budget = Math.Min(budget, byShare);
        }

        return Math.Max(1, budget);
    }

    public void Validate()
    {
        if (MaxConcurrentPerLink is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentPerLink), MaxConcurrentPerLink, "MaxConcurrentPerLink must be at least 1");
        }

        if (MigrationShare is { } s && !(s > 0 && s <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(MigrationShare), s, "MigrationShare must be in (0, 1]");
        }

        if (!(MigrationGbps > 0) || double.IsInfinity(MigrationGbps))
        {
            throw new ArgumentOutOfRangeException(nameof(MigrationGbps), MigrationGbps, "MigrationGbps must be positive and finite");
        }
    }
}

/// <summary>What a host tells the scheduler (one at a time, in order).</summary>
public abstract record SchedulerRequest(TimeSpan At);

/// <summary>The core asked for a PVM (<see cref="CreatePvm"/>); <paramref name="Fallbacks"/> are the next best sites, best first.</summary>
public sealed record PlacementRequested(TimeSpan At, CreatePvm Create, IReadOnlyList<SiteId> Fallbacks) : SchedulerRequest(At);

/// <summary>A PVM that already exists (found after a restart, or created outside the scheduler) is counted where it is, whatever the capacity.</summary>
public sealed record PvmAdopted(TimeSpan At, UeId Ue, SiteId Site) : SchedulerRequest(At);

/// <summary>The UE's PVM is gone (destroyed, or crashed): its place is free.</summary>
public sealed record PvmGone(TimeSpan At, UeId Ue) : SchedulerRequest(At);

/// <summary>
/// The core asked for a migration. <paramref name="Benefit"/> orders the queue (higher first; <see cref="StartMigration.ExpectedBenefit"/>);
/// a request still queued at <paramref name="Deadline"/> is refused.
/// </summary>
public sealed record MigrationRequested(TimeSpan At, StartMigration Start, double Benefit, TimeSpan Deadline) : SchedulerRequest(At);

/// <summary>The core cancelled a migration. A queued one is dropped (<see cref="MigrationDropped"/>); a running one ends with <see cref="MigrationEnded"/> later.</summary>
public sealed record MigrationWithdrawn(TimeSpan At, MigrationId Migration) : SchedulerRequest(At);

/// <summary>A running migration ended: <paramref name="Landed"/> when the PVM now runs at the destination. Reported for a queued one, it leaves the queue.</summary>
public sealed record MigrationEnded(TimeSpan At, MigrationId Migration, bool Landed) : SchedulerRequest(At);

/// <summary>Time passed: queued requests past their deadline are refused.</summary>
public sealed record SchedulerTick(TimeSpan At) : SchedulerRequest(At);

/// <summary>What the host must do after a scheduler step.</summary>
public abstract record SchedulerGrant;

/// <summary>Create the PVM as <see cref="Create"/> says (its site may be a fallback: the core adopts it from PvmStarted).</summary>
public sealed record PlacementGranted(CreatePvm Create) : SchedulerGrant;

/// <summary>No site has room: report the creation failed (PvmFailed) so that the core tries again.</summary>
public sealed record PlacementRefused(CreatePvm Create, string Reason) : SchedulerGrant;

/// <summary>Start the migration now.</summary>
public sealed record MigrationGranted(StartMigration Start) : SchedulerGrant;

/// <summary>The migration waits for link budget; it is granted or refused later.</summary>
public sealed record MigrationQueued(StartMigration Start, int Position) : SchedulerGrant;

/// <summary>The migration will not run (destination full, or deadline passed in the queue): report MigrationFailed to the core.</summary>
public sealed record MigrationRefused(StartMigration Start, string Reason) : SchedulerGrant;

/// <summary>A queued migration the core withdrew: report it cancelled (MigrationFailed) to the core.</summary>
public sealed record MigrationDropped(StartMigration Start) : SchedulerGrant;

/// <summary>A migration on its way or waiting, with the links it occupies.</summary>
public sealed record ScheduledMigration(StartMigration Start, double Benefit, TimeSpan Deadline, TimeSpan RequestedAt, ImmutableArray<int> Links);

/// <summary>The scheduler's state: where each PVM counts, what runs, what waits. Immutable.</summary>
public sealed record SchedulerState
{
    public static SchedulerState Empty { get; } = new();

    /// <summary>The site each known PVM counts at (its source while it migrates).</summary>
    public ImmutableDictionary<UeId, SiteId> PvmAt { get; init; } = ImmutableDictionary<UeId, SiteId>.Empty;

    /// <summary>PVMs counted per site, including migrations on their way in.</summary>
    public ImmutableDictionary<SiteId, int> Occupancy { get; init; } = ImmutableDictionary<SiteId, int>.Empty;

    public ImmutableDictionary<MigrationId, ScheduledMigration> Running { get; init; } = ImmutableDictionary<MigrationId, ScheduledMigration>.Empty;

    /// <summary>Migrations running on each link (by index into <see cref="SiteGraph.Links"/>).</summary>
    public ImmutableDictionary<int, int> LinkInFlight { get; init; } = ImmutableDictionary<int, int>.Empty;

    /// <summary>Waiting migrations, best first (higher benefit, then earlier deadline, then earlier request).</summary>
    public ImmutableList<ScheduledMigration> Queue { get; init; } = [];
}

public readonly record struct SchedulerStep(SchedulerState State, IReadOnlyList<SchedulerGrant> Grants);

/// <summary>
/// Migration scheduling and PVM admission as a pure function <c>(state, request) -> (state, grants)</c> that every host
/// runs between the core's commands and the hypervisor: per-link budgets (concurrent migrations or a bandwidth share),
/// a queue ordered by expected benefit with deadlines, and site capacity at creation (with fallback to the next best
/// site) as well as at migration. The core decides where a PVM should be; this decides what the shared network and
/// sites can take now.
/// </summary>
public static class MigrationScheduler
{
    public static SchedulerStep Step(SchedulerConfig config, SchedulerState state, SchedulerRequest request)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(request);
        var grants = new List<SchedulerGrant>(2);
        state = request switch
        {
            PlacementRequested p => Place(config, state, p, grants),
            PvmAdopted a => Count(Release(state, a.Ue), a.Ue, a.Site),
            PvmGone g => Gone(state, g, grants),
            MigrationRequested m => Request(config, state, m, grants),
            MigrationWithdrawn w => Withdraw(state, w, grants),
            MigrationEnded e => Drain(config, Ended(state, e), e.At, grants),
            SchedulerTick t => Drain(config, state, t.At, grants),
            _ => throw new ArgumentException($"unknown scheduler request {request.GetType().Name}", nameof(request)),
        };
        return new SchedulerStep(state, grants);
    }

    /// <summary>True when <paramref name="site"/> has room for one more PVM.</summary>
    public static bool HasRoom(SchedulerConfig config, SchedulerState state, SiteId site) =>
        config.Graph?.Capacity(site) is not { } capacity || state.Occupancy.GetValueOrDefault(site) < capacity;

    private static SchedulerState Place(SchedulerConfig config, SchedulerState state, PlacementRequested p, List<SchedulerGrant> grants)
    {
        var ue = p.Create.Ue;
        state = Release(state, ue);
        foreach (var site in p.Fallbacks.Prepend(p.Create.Site).Distinct())
        {
            if (HasRoom(config, state, site))
            {
                grants.Add(new PlacementGranted(p.Create with { Site = site }));
                return Count(state, ue, site);
            }
        }

        grants.Add(new PlacementRefused(p.Create, $"no room for {p.Create.Pvm}: {string.Join(", ", p.Fallbacks.Prepend(p.Create.Site).Distinct().Select(s => $"{s} {state.Occupancy.GetValueOrDefault(s)}/{config.Graph?.Capacity(s)}"))}"));
        return state;
    }

    private static SchedulerState Request(SchedulerConfig config, SchedulerState state, MigrationRequested m, List<SchedulerGrant> grants)
    {
        var start = m.Start;
        if (start.From == start.To)
        {
            grants.Add(new MigrationRefused(start, $"migration {start.Migration} goes nowhere ({start.From})"));
            return state;
        }

        if (state.Running.Values.Any(r => r.Start.Ue == start.Ue) || state.Queue.Any(q => q.Start.Ue == start.Ue))
        {
            grants.Add(new MigrationRefused(start, $"{start.Ue} already has a migration scheduled"));
            return state;
        }

        if (!state.PvmAt.ContainsKey(start.Ue))
        {
            // A PVM the scheduler has not heard of (created before it ran) counts where the core says it is.
            state = Count(state, start.Ue, start.From);
        }

        if (!HasRoom(config, state, start.To))
        {
            grants.Add(new MigrationRefused(start, $"site {start.To} is full ({state.Occupancy.GetValueOrDefault(start.To)}/{config.Graph?.Capacity(start.To)})"));
            return state;
        }

        var links = config.Graph is { } g && g.Contains(start.From) && g.Contains(start.To) ? [.. g.Path(start.From, start.To)] : ImmutableArray<int>.Empty;

        // The destination's place is held from now, so that a full site is not promised twice.
        state = state with { Occupancy = Add(state.Occupancy, start.To, 1) };
        var item = new ScheduledMigration(start, m.Benefit, m.Deadline, m.At, links);
        if (Fits(config, state, links))
        {
            grants.Add(new MigrationGranted(start));
            return Run(state, item);
        }

        var queue = state.Queue.Insert(Position(state.Queue, item), item);
        grants.Add(new MigrationQueued(start, queue.IndexOf(item)));
        return state with { Queue = queue };
    }

    private static SchedulerState Gone(SchedulerState state, PvmGone g, List<SchedulerGrant> grants)
    {
        // A queued migration of a PVM that no longer exists will never run; a running one ends through MigrationEnded.
        foreach (var queued in state.Queue.Where(q => q.Start.Ue == g.Ue).ToList())
        {
            grants.Add(new MigrationDropped(queued.Start));
            state = state with { Queue = state.Queue.Remove(queued), Occupancy = Add(state.Occupancy, queued.Start.To, -1) };
        }

        return Release(state, g.Ue);
    }

    private static SchedulerState Withdraw(SchedulerState state, MigrationWithdrawn w, List<SchedulerGrant> grants)
    {
        var queued = state.Queue.FirstOrDefault(q => q.Start.Migration == w.Migration);
        if (queued is null)
        {
            return state;
        }

        grants.Add(new MigrationDropped(queued.Start));
        return state with { Queue = state.Queue.Remove(queued), Occupancy = Add(state.Occupancy, queued.Start.To, -1) };
    }

    private static SchedulerState Ended(SchedulerState state, MigrationEnded e)
    {
        if (!state.Running.TryGetValue(e.Migration, out var run))
        {
            // An end reported for one still waiting (the host gave up on it) takes it out of the queue.
            var queued = state.Queue.FirstOrDefault(q => q.Start.Migration == e.Migration);
            return queued is null ? state : state with { Queue = state.Queue.Remove(queued), Occupancy = Add(state.Occupancy, queued.Start.To, -1) };
        }

        var inFlight = state.LinkInFlight;
        foreach (var link in run.Links)
        {
            var n = inFlight.GetValueOrDefault(link) - 1;
            inFlight = n > 0 ? inFlight.SetItem(link, n) : inFlight.Remove(link);
        }

        state = state with { Running = state.Running.Remove(e.Migration), LinkInFlight = inFlight };
        var start = run.Start;
        if (!e.Landed)
        {
            return state with { Occupancy = Add(state.Occupancy, start.To, -1) };
        }

        // The PVM left its source: the place held at the destination becomes its place.
        var occupancy = state.PvmAt.TryGetValue(start.Ue, out var at) ? Add(state.Occupancy, at, -1) : state.Occupancy;
        return state with { Occupancy = occupancy, PvmAt = state.PvmAt.SetItem(start.Ue, start.To) };
    }

    /// <summary>Refuses queued requests past their deadline, then grants the best waiting ones that fit (not only the head: one blocked link must not stall others).</summary>
    private static SchedulerState Drain(SchedulerConfig config, SchedulerState state, TimeSpan at, List<SchedulerGrant> grants)
    {
        if (state.Queue.IsEmpty)
        {
            return state;
        }

        var waiting = state.Queue.ToBuilder();
        var occupancy = state.Occupancy;
        for (var i = 0; i < waiting.Count;)
        {
            var q = waiting[i];
            if (at >= q.Deadline)
            {
                waiting.RemoveAt(i);
                occupancy = Add(occupancy, q.Start.To, -1);
                grants.Add(new MigrationRefused(q.Start, $"waited for link budget past its deadline ({q.Deadline - q.RequestedAt})"));
                continue;
            }

            i++;
        }

        state = state with { Occupancy = occupancy };
        for (var i = 0; i < waiting.Count;)
        {
            var q = waiting[i];
            if (Fits(config, state, q.Links))
            {
                waiting.RemoveAt(i);
                grants.Add(new MigrationGranted(q.Start));
                state = Run(state, q);
                continue;
            }

            i++;
        }

        return state with { Queue = waiting.ToImmutable() };
    }

    private static bool Fits(SchedulerConfig config, SchedulerState state, ImmutableArray<int> links)
    {
        foreach (var link in links)
        {
            if (state.LinkInFlight.GetValueOrDefault(link) >= config.LinkBudget(link))
            {
                return false;
            }
        }

        return true;
    }

    private static SchedulerState Run(SchedulerState state, ScheduledMigration item)
    {
        var inFlight = state.LinkInFlight;
        foreach (var link in item.Links)
        {
            inFlight = inFlight.SetItem(link, inFlight.GetValueOrDefault(link) + 1);
        }

        return state with { Running = state.Running.SetItem(item.Start.Migration, item), LinkInFlight = inFlight };
    }

    private static int Position(ImmutableList<ScheduledMigration> queue, ScheduledMigration item)
    {
        var i = 0;
        while (i < queue.Count && !Before(item, queue[i]))
        {
            i++;
        }

        return i;
    }

    private static bool Before(ScheduledMigration a, ScheduledMigration b) =>
        a.Benefit != b.Benefit ? a.Benefit > b.Benefit
        : a.Deadline != b.Deadline ? a.Deadline < b.Deadline
        : a.RequestedAt < b.RequestedAt;

    private static SchedulerState Count(SchedulerState state, UeId ue, SiteId site) =>
        state with { PvmAt = state.PvmAt.SetItem(ue, site), Occupancy = Add(state.Occupancy, site, 1) };

    private static SchedulerState Release(SchedulerState state, UeId ue)
    {
        if (!state.PvmAt.TryGetValue(ue, out var site))
        {
            return state;
        }

        return state with { PvmAt = state.PvmAt.Remove(ue), Occupancy = Add(state.Occupancy, site, -1) };
    }

    private static ImmutableDictionary<SiteId, int> Add(ImmutableDictionary<SiteId, int> counts, SiteId site, int delta)
    {
        var n = counts.GetValueOrDefault(site) + delta;
        return n > 0 ? counts.SetItem(site, n) : counts.Remove(site);
    }
}
