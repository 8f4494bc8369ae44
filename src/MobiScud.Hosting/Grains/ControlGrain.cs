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

    public Task<bool> SetDrained(string site, bool drained) => ChangeAsync(next => drained ? next.Drained.Add(site) : next.Drained.Remove(site));

    public Task<bool> Repersist() => store.State.Drained.Count + store.State.Subscriptions.Count + store.State.Registrations.Count == 0
        ? Task.FromResult(false) : store.RepersistAsync(this);

    /// <summary>
    /// Applies <paramref name="change"/> to a copy of the record and persists the copy when the change says it changed
    /// something (persist, then acknowledge: the current record stays as it was until storage has the copy).
    /// </summary>
    private async Task<bool> ChangeAsync(Func<ControlRecord, bool> change)
    {
        var next = new ControlRecord { Drained = [.. store.State.Drained], Subscriptions = [.. store.State.Subscriptions], Registrations = [.. store.State.Registrations] };
        if (!change(next))
        {
            return false;
        }

        await store.PersistAsync(next, this);
        return true;
    }

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

        await ChangeAsync(next =>
        {
            next.Subscriptions.Add(subscription);
            return true;
        });
        return subscription;
    }

    private static bool SameRequest(Subscription a, Subscription b) => a.ClientKey is not null || b.ClientKey is not null
        ? a.ClientKey == b.ClientKey && a.SubscriptionType == b.SubscriptionType
        : a.SubscriptionType == b.SubscriptionType && a.CallbackReference == b.CallbackReference && a.AssociateIds.SequenceEqual(b.AssociateIds)
            && SameFilter(a.Representation, b.Representation);

    /// <summary>The representations without their self links (which hold the id) are the same request.</summary>
    private static bool SameFilter(string? a, string? b) => a is null || b is null ? a == b : Mec.MecJson.WithoutLinks(a) == Mec.MecJson.WithoutLinks(b);

    public Task<bool> Resubscribe(Subscription subscription) => ChangeAsync(next =>
    {
        var i = next.Subscriptions.FindIndex(s => s.Id == subscription.Id);
        if (i >= 0)
        {
            next.Subscriptions[i] = subscription;
        }

        return i >= 0;
    });

    public Task<MecRegistration[]> Registrations() => Task.FromResult(store.State.Registrations.ToArray());

    public Task<bool> Register(MecRegistration registration, bool replace) => ChangeAsync(next =>
    {
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

        return true;
    });

    public Task<bool> Deregister(string id) => ChangeAsync(next => next.Registrations.RemoveAll(r => r.Id == id) != 0);

    public Task<bool> Unsubscribe(string id) => ChangeAsync(next => next.Subscriptions.RemoveAll(s => s.Id == id) != 0);
}
