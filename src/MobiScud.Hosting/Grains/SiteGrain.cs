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

    public Task<int> Count() => Task.FromResult(store.State.Ues.Count);

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
