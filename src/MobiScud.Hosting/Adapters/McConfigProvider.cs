using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Options;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// The McConfig each silo decides with: topology from the options, drained sites from the control grain (shared by
/// the cluster). Refreshed before every ReconcileRequested, which is what a drain sends.
/// </summary>
public sealed class McConfigProvider(IOptions<MobiScudOptions> options, IGrainFactory grains)
{
    private readonly MobiScudOptions _options = options.Value;
    private McConfig? _current;

    public McConfig Current => _current ??= _options.ToMcConfig();

    public async Task RefreshAsync()
    {
        var drained = await grains.GetGrain<IControlGrain>(GrainNames.Control).Drained();
        var set = drained.Select(d => new SiteId(d)).ToHashSet();
        if (!set.SetEquals(Current.DrainedSites))
        {
            _current = _options.ToMcConfig(set);
        }
    }

    public MobiScudOptions Options => _options;
}
