namespace MobiScud.Hosting.Grains;

[GenerateSerializer]
public sealed class ControlRecord
{
    [Id(0)]
    public HashSet<string> Drained { get; set; } = [];

    [Id(1)]
    public List<Subscription> Subscriptions { get; set; } = [];

    [Id(2)]
    public List<MecRegistration> Registrations { get; set; } = [];
}

public sealed class ControlGrain([PersistentState("control", GrainNames.Storage)] IPersistentState<ControlRecord> store) : Grain, IControlGrain
{
    public Task<string[]> Drained() => Task.FromResult(store.State.Drained.Order(StringComparer.Ordinal).ToArray());

    public async Task<bool> SetDrained(string site, bool drained)
    {
        var next = Copy();
        var changed = drained ? next.Drained.Add(site) : next.Drained.Remove(site);
        if (changed)
        {
            await store.PersistAsync(next, this);
        }

        return changed;
    }

    public Task<bool> Repersist() => store.State.Drained.Count + store.State.Subscriptions.Count + store.State.Registrations.Count == 0
        ? Task.FromResult(false) : store.RepersistAsync(this);

    private ControlRecord Copy() => new() { Drained = [.. store.State.Drained], Subscriptions = [.. store.State.Subscriptions], Registrations = [.. store.State.Registrations] };

    public Task<Subscription[]> Subscriptions() => Task.FromResult(store.State.Subscriptions.ToArray());

    /// <summary>
    /// Stores the subscription unless one with the same client key (or, without one, the same type, callback and
    /// filter) exists: a client retrying a POST whose answer it lost gets the first one back, not a duplicate.
    /// </summary>
    public async Task<Subscription> Subscribe(Subscription subscription)
    {
        if (store.State.Subscriptions.FirstOrDefault(s => SameRequest(s, subscription)) is { } existing)
        {
            return existing;
        }

        var next = Copy();
        next.Subscriptions.Add(subscription);
        await store.PersistAsync(next, this);
        return subscription;
    }

    private static bool SameRequest(Subscription a, Subscription b) => a.ClientKey is not null || b.ClientKey is not null
        ? a.ClientKey == b.ClientKey && a.SubscriptionType == b.SubscriptionType
        : a.SubscriptionType == b.SubscriptionType && a.CallbackReference == b.CallbackReference && a.AssociateIds.SequenceEqual(b.AssociateIds)
            && SameFilter(a.Representation, b.Representation);

    /// <summary>The representations without their self links (which hold the id) are the same request.</summary>
    private static bool SameFilter(string? a, string? b) => a is null || b is null ? a == b : Mec.MecJson.WithoutLinks(a) == Mec.MecJson.WithoutLinks(b);

    public async Task<bool> Resubscribe(Subscription subscription)
    {
        var next = Copy();
        var i = next.Subscriptions.FindIndex(s => s.Id == subscription.Id);
        if (i < 0)
        {
            return false;
        }

        next.Subscriptions[i] = subscription;
        await store.PersistAsync(next, this);
        return true;
    }

    public Task<MecRegistration[]> Registrations() => Task.FromResult(store.State.Registrations.ToArray());

    public async Task<bool> Register(MecRegistration registration, bool replace)
    {
        var next = Copy();
        var i = next.Registrations.FindIndex(r => r.Id == registration.Id);
        if (replace != i >= 0)
        {
            return false;
        }

        if (i >= 0)
        {
            next.Registrations[i] = registration;
        }
        else
        {
            next.Registrations.Add(registration);
        }

        await store.PersistAsync(next, this);
        return true;
    }

    public async Task<bool> Deregister(string id)
    {
        var next = Copy();
        if (next.Registrations.RemoveAll(r => r.Id == id) == 0)
        {
            return false;
        }

        await store.PersistAsync(next, this);
        return true;
    }

    public async Task<bool> Unsubscribe(string id)
    {
        var next = Copy();
        if (next.Subscriptions.RemoveAll(s => s.Id == id) == 0)
        {
            return false;
        }

        await store.PersistAsync(next, this);
        return true;
    }
}
