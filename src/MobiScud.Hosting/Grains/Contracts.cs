using MobiScud.Control;
using MobiScud.Control.Model;
using Orleans.Concurrency;

namespace MobiScud.Hosting.Grains;

/// <summary>One event on its way to a UE grain. <see cref="Seq"/> rises per pipeline lane so a retried delivery is applied once.</summary>
[GenerateSerializer]
[Immutable]
public sealed record EventEnvelope(
    [property: Id(0)] string Source,
    [property: Id(1)] long Seq,
    [property: Id(2)] UeEvent Event,
    [property: Id(3)] long EnqueuedTimestamp);

/// <summary>
/// One line of a UE's timeline: an event applied (kept as the event, with the commands the MC issued for it except
/// notifications; the text is made only when someone reads it) or a notification (kept as text, an entry of its own).
/// </summary>
[GenerateSerializer]
[Immutable]
public sealed record TimelineEntry(
    [property: Id(0)] TimeSpan At,
    [property: Id(1)] string Kind,
    [property: Id(2)] string? Text,
    [property: Id(3)] UeEvent? Event = null,
    [property: Id(4)] ControlCommand[]? Commands = null)
{
    public string Detail => Text ?? (Event is null ? "" : McText.Describe(Event));
}

[GenerateSerializer]
public sealed record UeSnapshot([property: Id(0)] UeState? State, [property: Id(1)] int Applied, [property: Id(2)] QuarantineNote? Quarantine = null, [property: Id(3)] Ecgi? Cell = null, [property: Id(4)] Ncgi? NrCell = null);

[GenerateSerializer]
public sealed record SiteSnapshot([property: Id(0)] string Name, [property: Id(1)] int Capacity, [property: Id(2)] string[] Ues);

/// <summary>
/// A MEC 021 or MEC 012 subscription with its webhook. <see cref="Representation"/> is the subscription resource as the
/// specification's data type (JSON, with its self link and filter defaults), what GET returns and what filters match on.
/// </summary>
[GenerateSerializer]
public sealed record Subscription(
    [property: Id(0)] string Id,
    [property: Id(1)] string SubscriptionType,
    [property: Id(2)] string CallbackReference,
    [property: Id(3)] string[] AssociateIds,
    [property: Id(4)] string? ClientKey = null,
    [property: Id(5)] string? Representation = null);

/// <summary>A MEC 021 application mobility service registration (RegistrationInfo as JSON) and when it expires (Unix time; null: never).</summary>
[GenerateSerializer]
public sealed record MecRegistration([property: Id(0)] string Id, [property: Id(1)] string Representation, [property: Id(2)] TimeSpan? ExpiresAt);

/// <summary>The MC state of one UE. Key: the UE id.</summary>
public interface IUeGrain : IGrainWithStringKey
{
    /// <summary>Applies the events in order, persists, then executes the commands. Returns how many were new.</summary>
    Task<int> Handle(Immutable<EventEnvelope[]> batch);

    Task<UeSnapshot> Get();

    Task<TimelineEntry[]> Timeline();

    /// <summary>Lifts a quarantine; false when the UE was not quarantined.</summary>
    Task<bool> Release();

    /// <summary>Writes what this activation knows when storage lost its record (wiped); false when storage has one.</summary>
    Task<bool> Repersist();
}

public enum SiteUpdateKind
{
    /// <summary>Count the UE's PVM at the site, whatever its capacity (the PVM is already there).</summary>
    Admit,

    Release,

    /// <summary>Admission against capacity (a migration into the site): refused when the site is full.</summary>
    TryAdmit,
}

/// <summary>One change of a site's membership.</summary>
[GenerateSerializer]
[Immutable]
public readonly record struct SiteUpdate([property: Id(0)] string Ue, [property: Id(1)] SiteUpdateKind Kind);

/// <summary>One edge site: which UEs' PVMs it holds or is receiving, and admission against its capacity. Key: site name.</summary>
public interface ISiteGrain : IGrainWithStringKey
{
    /// <summary>Applies membership changes in order (batched by a silo); the answer says, per update, whether it was
    /// admitted (always true but for a refused <see cref="SiteUpdateKind.TryAdmit"/>).</summary>
    Task<bool[]> Update(SiteUpdate[] updates);

    /// <summary>Replaces the membership (rebuilt from the UE states after a restart).</summary>
    Task Reset(string[] ues);

    Task<SiteSnapshot> Get();

    /// <summary>How many UEs the site counts (PVMs at or arriving at it: what admission counts against capacity).</summary>
    Task<int> Count();
}

/// <summary>One of <see cref="UePartitions.Partitions"/> shards of the set of known UEs (to list them and reconcile after a restart).</summary>
public interface IUeIndexGrain : IGrainWithIntegerKey
{
    Task Add(string ue);

    Task<bool> Contains(string ue);

    Task<string[]> List();

    /// <summary>Writes the in-memory set when storage lost its record (wiped).</summary>
    Task<bool> Repersist();
}

/// <summary>Cluster-wide operator settings: drained sites and notification subscriptions. Key: "control".</summary>
public interface IControlGrain : IGrainWithStringKey
{
    Task<string[]> Drained();

    Task<bool> SetDrained(string site, bool drained);

    Task<Subscription[]> Subscriptions();

    /// <summary>Stores the subscription, or returns the one already stored for the same request (idempotent).</summary>
    Task<Subscription> Subscribe(Subscription subscription);

    Task<bool> Unsubscribe(string id);

    /// <summary>Replaces a stored subscription (PUT); false when it does not exist.</summary>
    Task<bool> Resubscribe(Subscription subscription);

    Task<MecRegistration[]> Registrations();

    /// <summary>Stores a new registration, or replaces one (<paramref name="replace"/>); false when replacing one that does not exist.</summary>
    Task<bool> Register(MecRegistration registration, bool replace);

    Task<bool> Deregister(string id);

    /// <summary>Writes the in-memory settings when storage lost its record (wiped).</summary>
    Task<bool> Repersist();
}

public static class UePartitions
{
    public const int Partitions = 64;

    public static long PartitionOf(string ue) => (uint)StableHash(ue) % Partitions;

    public static int StableHash(string s)
    {
        // string.GetHashCode is randomised per process: partitions must agree across silos and restarts.
        unchecked
        {
            var h = (int)2166136261;
            foreach (var c in s)
            {
                h = (h ^ c) * 16777619;
            }

            return h;
        }
    }

    public static async Task<List<string>> AllAsync(IGrainFactory grains)
    {
        var parts = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(i => grains.GetGrain<IUeIndexGrain>(i).List()));
        return [.. parts.SelectMany(p => p).Order(StringComparer.Ordinal)];
    }
}

public static class GrainNames
{
    public const string Storage = "mc";
    public const string Control = "control";
}
