using MobiScud.Hosting.Config;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace MobiScud.Hosting.Pipeline;

/// <summary>The generation marker: written once into a storage, so that a storage that lost it was wiped.</summary>
[GenerateSerializer]
public sealed class StorageGeneration
{
    [Id(0)]
    public string Generation { get; set; } = "";

    [Id(1)]
    public DateTime CreatedUtc { get; set; }
}

/// <summary>
/// Probes grain storage directly (not through a grain, whose state is cached): reachable or not, and still holding
/// the generation marker this service wrote. Storage that answers without the marker was wiped (a Redis restarted
/// without persistence, a FLUSHALL, a restored backup): that is logged as critical, /readyz fails, and the
/// reconciler writes back what the live grains know and squares it with the hypervisor and switch inventory.
/// </summary>
internal sealed class StorageWatch(
    IServiceProvider services,
    IOptions<MobiScudOptions> options,
    Reconciler reconciler,
    ResilienceMetrics metrics,
    TimeProvider time,
    ILogger<StorageWatch> log) : BackgroundService
{
    private static readonly GrainId _markerId = GrainId.Create("mobiscud-storage", "generation");
    private const string MarkerState = "generation";
    private string? _generation;
    private volatile string? _problem = "storage not probed yet";

    /// <summary>Why storage cannot be relied on right now, or null.</summary>
    public string? Problem => _problem;

    public long Wipes { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var storage = services.GetRequiredKeyedService<IGrainStorage>(Grains.GrainNames.Storage);
        var interval = options.Value.Storage.CheckInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            await ProbeAsync(storage, stoppingToken);
            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ProbeAsync(IGrainStorage storage, CancellationToken ct)
    {
        var state = new GrainState<StorageGeneration>(new StorageGeneration());
        try
        {
            await storage.ReadStateAsync(MarkerState, _markerId, state);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            Unreachable(e);
            return;
        }

        if (_problem is { } was && was.StartsWith("storage unreachable", StringComparison.Ordinal))
        {
            log.LogWarning("storage reachable again");
        }

        metrics.StorageReachable = true;
        try
        {
            if (_generation is null)
            {
                // First probe of this process: adopt the storage's generation, or mark a new storage.
                _generation = state is { RecordExists: true, State.Generation: { Length: > 0 } g } ? g : await MarkAsync(storage, state);
                _problem = null;
                return;
            }

            if (state.RecordExists && state.State?.Generation == _generation)
            {
                _problem = reconciler.Rebuilding ? _problem : null;
                return;
            }

            Wipes++;
            metrics.Wiped();
            _problem = $"storage was wiped (its generation marker {_generation} is {(state.RecordExists ? "replaced by " + state.State?.Generation : "gone")}): rebuilding from the live grains, the hypervisor and the switches";
            log.LogCritical("STORAGE WIPED: the generation marker {Generation} is gone from grain storage ({Kind}); writing back what the live grains hold and reconciling with the hypervisor and switch inventory. State of UEs no silo holds in memory is lost.", _generation, options.Value.Storage.Kind);
            _generation = await MarkAsync(storage, state);
            await reconciler.RebuildAfterWipeAsync(ct);
            _problem = null;
            log.LogWarning("storage rebuilt after the wipe; generation {Generation}", _generation);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            Unreachable(e);
        }
    }

    private void Unreachable(Exception e)
    {
        if (metrics.StorageReachable)
        {
            log.LogError("storage unreachable ({Kind}): {Error}", options.Value.Storage.Kind, e.Message);
        }

        metrics.StorageReachable = false;
        _problem = $"storage unreachable: {e.Message}";
    }

    private static async Task<string> MarkAsync(IGrainStorage storage, GrainState<StorageGeneration> state)
    {
        // A fresh ETag-less state: a wiped record must be created, not updated.
        var generation = Guid.NewGuid().ToString("N");
        var fresh = new GrainState<StorageGeneration>(new StorageGeneration { Generation = generation, CreatedUtc = TimeProvider.System.GetUtcNow().UtcDateTime });
        if (state.RecordExists)
        {
            fresh.ETag = state.ETag;
            fresh.RecordExists = true;
        }

        await storage.WriteStateAsync(MarkerState, _markerId, fresh);
        return generation;
    }
}
