using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Options;

namespace MobiScud.Hosting.Grains;

[GenerateSerializer]
public sealed class SiteRecord
{
    [Id(0)]
    public HashSet<string> Ues { get; set; } = [];
}

/// <summary>
/// An edge site: the UEs whose PVM it holds or receives, and admission against the configured capacity. The
/// membership is derived data (every UE grain knows where its PVM is), so it is written behind, at most every
/// half second, and rebuilt from the UE states by the restart reconciliation; admission stays exact meanwhile
/// because one activation owns the set.
/// </summary>
public sealed class SiteGrain(
    [PersistentState("site", GrainNames.Storage)] IPersistentState<SiteRecord> store,
    IOptions<MobiScudOptions> options,
    HostingMetrics metrics) : Grain, ISiteGrain
{
    private bool _dirty;

    private int Capacity => options.Value.Sites.FirstOrDefault(s => s.Name == this.GetPrimaryKeyString())?.Capacity ?? int.MaxValue;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        metrics.SitePvms(this.GetPrimaryKeyString(), store.State.Ues.Count);
        this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500)) { Interleave = false });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await Flush();

    public Task<bool> Admit(string ue, bool force)
    {
        if (store.State.Ues.Contains(ue))
        {
            return Task.FromResult(true);
        }

        if (!force && store.State.Ues.Count >= Capacity)
        {
            return Task.FromResult(false);
        }

        store.State.Ues.Add(ue);
        Changed();
        return Task.FromResult(true);
    }

    public Task Release(string ue)
    {
        if (store.State.Ues.Remove(ue))
        {
            Changed();
        }

        return Task.CompletedTask;
    }

    public Task<bool[]> Update(SiteUpdate[] updates)
    {
        var changed = false;
        var results = new bool[updates.Length];
        var capacity = Capacity;
        for (var i = 0; i < updates.Length; i++)
        {
            var u = updates[i];
            switch (u.Kind)
            {
                case SiteUpdateKind.Release:
                    changed |= store.State.Ues.Remove(u.Ue);
                    results[i] = true;
                    break;
                case SiteUpdateKind.TryAdmit when !store.State.Ues.Contains(u.Ue) && store.State.Ues.Count >= capacity:
                    results[i] = false;
                    break;
                default:
                    changed |= store.State.Ues.Add(u.Ue);
                    results[i] = true;
                    break;
            }
        }

        if (changed)
        {
            Changed();
        }

        return Task.FromResult(results);
    }

    public async Task Reset(string[] ues)
    {
        store.State.Ues = [.. ues];
        Changed();
        await Flush();
    }

    public Task<SiteSnapshot> Get() =>
        Task.FromResult(new SiteSnapshot(this.GetPrimaryKeyString(), Capacity, [.. store.State.Ues.Order(StringComparer.Ordinal)]));

    private void Changed()
    {
        _dirty = true;
        metrics.SitePvms(this.GetPrimaryKeyString(), store.State.Ues.Count);
    }

    private async Task Flush()
    {
        if (_dirty)
        {
            _dirty = false;
            try
            {
                await store.WriteStateAsync();
            }
            catch (Orleans.Storage.InconsistentStateException)
            {
                // The record went (storage wiped): write what this activation holds, afresh.
                await store.RepersistAsync(this);
            }
            catch
            {
                // Written again at the next flush; the membership is rebuilt from the UE states at a restart anyway.
                _dirty = true;
                throw;
            }
        }
    }
}

[GenerateSerializer]
public sealed class UeIndexRecord
{
    [Id(0)]
    public HashSet<string> Ues { get; set; } = [];
}

public sealed class UeIndexGrain([PersistentState("index", GrainNames.Storage)] IPersistentState<UeIndexRecord> store) : Grain, IUeIndexGrain
{
    public async Task Add(string ue)
    {
        if (!store.State.Ues.Contains(ue))
        {
            await store.PersistAsync(new UeIndexRecord { Ues = [.. store.State.Ues, ue] }, this);
        }
    }

    public Task<bool> Contains(string ue) => Task.FromResult(store.State.Ues.Contains(ue));

    public Task<string[]> List() => Task.FromResult(store.State.Ues.ToArray());

    public Task<bool> Repersist() => store.State.Ues.Count == 0 ? Task.FromResult(false) : store.RepersistAsync(this);
}

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
