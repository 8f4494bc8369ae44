using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace MobiScud.Hosting.Grains;

/// <summary>
/// Cached grain references. GetGrain resolves the interface type on every call, which showed up as a tenth of the
/// CPU time of `serve --bench`; a reference is immutable and valid for the life of its factory.
/// </summary>
public static class GrainRefs
{
    private static readonly ConditionalWeakTable<IGrainFactory, Cache> _caches = [];

    public static ISiteGrain Site(IGrainFactory grains, string site) =>
        _caches.GetValue(grains, _ => new Cache()).Sites.GetOrAdd(site, static (s, g) => g.GetGrain<ISiteGrain>(s), grains);

    public static IUeGrain Ue(IGrainFactory grains, string ue) =>
        _caches.GetValue(grains, _ => new Cache()).Ues.GetOrAdd(ue, static (u, g) => g.GetGrain<IUeGrain>(u), grains);

    private sealed class Cache
    {
        public ConcurrentDictionary<string, ISiteGrain> Sites { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, IUeGrain> Ues { get; } = new(StringComparer.Ordinal);
    }
}
