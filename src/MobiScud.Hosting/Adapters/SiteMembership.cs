using System.Threading.Channels;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Site membership updates and admissions of this silo's UE grains, sent in batches: one call per site carries every
/// update queued meanwhile, in order, instead of one call per update (two per handover before). Membership is derived
/// data (rebuilt from the UE states by the restart reconciliation), so a UE grain only queues a forced admission or a
/// release; an admission against capacity (a migration into the site) waits for its answer, which counts every update
/// queued before it. The queue is bounded: a grain waits when it is full.
/// </summary>
public sealed class SiteMembership : IAsyncDisposable
{
    private const int MaxBatch = 8192;
    private readonly IGrainFactory _grains;
    private readonly ILogger _log;
    private readonly Channel<Op> _ops = Channel.CreateBounded<Op>(new BoundedChannelOptions(65536) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Lazy<Task> _loop;

    public SiteMembership(IGrainFactory grains, ILogger<SiteMembership> log)
    {
        _grains = grains;
        _log = log;
        _loop = new Lazy<Task>(() => Task.Run(RunAsync));
    }

    private sealed record Op(string Site, SiteUpdate Update, TaskCompletionSource<bool>? Answer);

    /// <summary>Counts the UE at the site whatever its capacity (its PVM is already there).</summary>
    public ValueTask AdmitAsync(string site, string ue) => Post(new Op(site, new SiteUpdate(ue, SiteUpdateKind.Admit), null));

    public ValueTask ReleaseAsync(string site, string ue) => Post(new Op(site, new SiteUpdate(ue, SiteUpdateKind.Release), null));

    /// <summary>Admission against capacity, counting every update queued before it.</summary>
    public async Task<bool> TryAdmitAsync(string site, string ue)
    {
        // No RunContinuationsAsynchronously: the awaiting grain's continuation goes to its own scheduler anyway.
        var answer = new TaskCompletionSource<bool>();
        await Post(new Op(site, new SiteUpdate(ue, SiteUpdateKind.TryAdmit), answer));
        return await answer.Task;
    }

    private ValueTask Post(Op op)
    {
        _ = _loop.Value;
        return _ops.Writer.TryWrite(op) ? ValueTask.CompletedTask : _ops.Writer.WriteAsync(op);
    }

    private async Task RunAsync()
    {
        var reader = _ops.Reader;
        var bySite = new Dictionary<string, List<Op>>(StringComparer.Ordinal);
        while (await reader.WaitToReadAsync())
        {
            bySite.Clear();
            for (var n = 0; n < MaxBatch && reader.TryRead(out var op); n++)
            {
                if (!bySite.TryGetValue(op.Site, out var list))
                {
                    bySite[op.Site] = list = [];
                }

                list.Add(op);
            }

            await Task.WhenAll(bySite.Select(kv => SendAsync(kv.Key, [.. kv.Value])));
        }
    }

    private async Task SendAsync(string site, Op[] ops)
    {
        var updates = Array.ConvertAll(ops, o => o.Update);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var admitted = await GrainRefs.Site(_grains, site).Update(updates);
                for (var i = 0; i < ops.Length; i++)
                {
                    ops[i].Answer?.TrySetResult(admitted[i]);
                }

                return;
            }
            catch (Exception e) when (attempt < 5)
            {
                _log.LogWarning("site {Site}: {Count} membership update(s) failed (attempt {Attempt}): {Error}", site, updates.Length, attempt, e.Message);
                await Task.Delay(100 * attempt);
            }
            catch (Exception e)
            {
                // Membership is derived data that the next restart reconciliation rebuilds; an admission waiting for
                // an answer fails with the grain's turn (its state is already persisted; the reconcile re-checks it).
                _log.LogError(e, "site {Site}: {Count} membership update(s) dropped", site, updates.Length);
                foreach (var op in ops)
                {
                    op.Answer?.TrySetException(e);
                }

                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _ops.Writer.TryComplete();
        if (_loop.IsValueCreated)
        {
            await _loop.Value.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
