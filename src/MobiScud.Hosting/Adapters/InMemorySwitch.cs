using System.Collections.Concurrent;
using MobiScud.Control.Model;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Edge switches held in memory, one flow table per site keyed by UE, replaced atomically per UE like the
/// OpenFlow programmer does with its per-UE cookie. Stands in for OVS until the sdn adapter is wired.
/// </summary>
public sealed class InMemorySwitch : ISteeringAdapter
{
    private readonly ConcurrentDictionary<(SiteId Site, UeId Ue), SteeringIntent> _rules = new();

    public int Installs;

    public Task InstallAsync(SteeringIntent intent, CancellationToken ct = default)
    {
        // An older version arriving late (a retried delivery) must not overwrite a newer one.
        _rules.AddOrUpdate((intent.SwitchSite, intent.Ue), intent, (_, old) => old.Version > intent.Version ? old : intent);
        Interlocked.Increment(ref Installs);
        return Task.CompletedTask;
    }

    public Task RemoveAsync(UeId ue, SiteId switchSite, CancellationToken ct = default)
    {
        _rules.TryRemove((switchSite, ue), out _);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SteeringIntent>> InventoryAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<SteeringIntent>>([.. _rules.Values]);
}
