using MobiScud.Control.Model;
using MobiScud.Sdn.OpenFlow;

namespace MobiScud.Sdn.Steering;

/// <summary>Outcome of one steering command, per site touched.</summary>
public sealed record SteeringResult(UeId Ue, bool Stale, IReadOnlyDictionary<SiteId, FlowBatchResult> Sites)
{
    /// <summary>Why the intent could not be compiled for the topology (nothing was sent); null when it was.</summary>
    public string? CompileError { get; init; }

    public bool Confirmed => !Stale && CompileError is null && Sites.Values.All(s => s.Confirmed);

    /// <summary>
    /// True when, after the barriers, the switches' datapath caches were also brought in line (see
    /// <see cref="OvsDatapathSync"/>): packets sent from now on take the new path.
    /// </summary>
    public bool DatapathSynced { get; init; }

    /// <summary>Where the command's time went, for the reaction-time breakdown; null when nothing was sent.</summary>
    public SteeringTimes? Times { get; init; }

    public IEnumerable<FlowModRejection> Rejections => Sites.Values.SelectMany(s => s.Rejections);

    /// <summary>
    /// Sites whose switch refused flow-mods (OFPT_ERROR) or did not confirm the batch (no BARRIER_REPLY in time), with a
    /// reason that starts with its <see cref="SteeringFailureKinds"/> kind. A site that is not connected is not listed:
    /// its flows are applied when it connects (see <see cref="Deferred"/>).
    /// </summary>
    public IReadOnlyList<(SiteId Site, string Reason)> Failures =>
        Stale ? [] : [.. Sites.Where(s => s.Value.Rejections.Count > 0 || s.Value.TimedOut).Select(s => (s.Key, SteeringFailureKinds.Describe(s.Value)))];

    /// <summary>Sites whose switch was not connected: their flows wait in the controller's desired state.</summary>
    public IEnumerable<SiteId> Deferred => Sites.Where(s => !s.Value.Confirmed && !s.Value.TimedOut).Select(s => s.Key);
}

/// <summary>
/// <see cref="System.Diagnostics.Stopwatch"/> timestamps of one steering command: the first site's flow-mods write issued,
/// the last site's BARRIER_REPLY read and its awaiting code resumed, the first datapath flush sent and the last one's
/// reply read (0 when no flush ran).
/// </summary>
public readonly record struct SteeringTimes(long Written, long BarrierRead, long Resumed, long FlushSent, long FlushReplied);

/// <summary>Why steering failed, as the first word of a SteeringFailed reason (and the label of the failure counter).</summary>
public static class SteeringFailureKinds
{
    /// <summary>The switch answered flow-mods with OFPT_ERROR.</summary>
    public const string Rejected = "rejected";

    /// <summary>The batch went out but no BARRIER_REPLY came back in time.</summary>
    public const string Unconfirmed = "unconfirmed";

    /// <summary>The switch was not connected within the deadline.</summary>
    public const string NotConnected = "not-connected";

    public static string Describe(FlowBatchResult r) => r.Rejections.Count > 0
        ? $"{Rejected}: the switch refused {r.Rejections.Count} of {r.FlowMods} flow-mod(s): {string.Join("; ", r.Rejections.Take(3))}"
        : $"{Unconfirmed}: no barrier reply to {r.FlowMods} flow-mod(s) in time";

    /// <summary>The kind a reason starts with; "other" for a reason from elsewhere.</summary>
    public static string KindOf(string reason)
    {
        foreach (var kind in (string[])[Rejected, Unconfirmed, NotConnected])
        {
            if (reason.StartsWith(kind + ":", StringComparison.Ordinal))
            {
                return kind;
            }
        }

        return "other";
    }
}

/// <summary>The MC's flow programmer adapter: executes InstallSteering / RemoveSteering.</summary>
public interface IFlowProgrammer
{
    Task<SteeringResult> ExecuteAsync(ControlCommand command, CancellationToken ct = default);
}

/// <summary>
/// Turns steering commands into per-site flow replacements. It keeps no steering of its own: each site's desired state
/// (the controller's, or the in-memory fabric's tables) holds the UE's flows tagged with the intent they were compiled
/// from, and that is what tells which sites a replacement must clear and whether an intent is stale (older).
/// </summary>
public abstract class SteeringProgrammerBase : IFlowProgrammer
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    protected SteeringProgrammerBase(SdnTopology topology) => Topology = topology;

    public SdnTopology Topology { get; }

    /// <summary>Replaces the cookie's flows at the site; <paramref name="intent"/> is what they were compiled from (null: none left).</summary>
    protected abstract Task<FlowBatchResult> ReplaceAsync(SiteTopology site, ulong cookie, IReadOnlyList<FlowEntry> flows, SteeringIntent? intent, CancellationToken ct);

    /// <summary>The intent whose flows the site's desired state holds under <paramref name="cookie"/>, or null.</summary>
    public abstract SteeringIntent? IntentAt(SiteId site, ulong cookie);

    /// <summary>The UE's steering as the switches' desired state holds it: the intent at its switch site.</summary>
    public SteeringIntent? Installed(UeId ue)
    {
        var cookie = SteeringCookies.ForUe(ue);
        foreach (var site in Topology.Sites)
        {
            if (IntentAt(site.Site, cookie) is { } intent && intent.SwitchSite == site.Site)
            {
                return intent;
            }
        }

        return null;
    }

    private List<SiteId> SitesHolding(ulong cookie) => [.. Topology.Sites.Where(s => IntentAt(s.Site, cookie) is not null).Select(s => s.Site)];

    /// <summary>
    /// After every touched site confirmed its batch: bring the datapath caches of the sites that changed in line.
    /// False when a touched site has nothing to do it with.
    /// </summary>
    /// <returns>Whether it was done, with the Stopwatch timestamps of the first flush sent and the last reply read (0: none).</returns>
    protected virtual Task<(bool Synced, long Sent, long Replied)> SyncDatapathAsync(IReadOnlyCollection<SiteId> touched, IReadOnlyCollection<SiteId> changed, CancellationToken ct) =>
        Task.FromResult((false, 0L, 0L));

    private async Task<SteeringResult> FinishAsync(UeId ue, Dictionary<SiteId, FlowBatchResult> results, CancellationToken ct)
    {
        var batches = results.Values.Where(r => r.Times is not null).Select(r => r.Times!.Value).ToList();
        var times = batches.Count == 0 ? (SteeringTimes?)null
            : new SteeringTimes(batches.Min(b => b.Written), batches.Max(b => b.BarrierRead), batches.Max(b => b.Resumed), 0, 0);
        var result = new SteeringResult(ue, false, results) { Times = times };
        var changed = results.Where(r => r.Value.FlowMods > 0).Select(r => r.Key).ToList();
        if (!result.Confirmed)
        {
            return result;
        }

        var (synced, sent, replied) = await SyncDatapathAsync(results.Keys, changed, ct);
        return result with { DatapathSynced = synced, Times = times is { } t ? t with { FlushSent = sent, FlushReplied = replied } : null };
    }

    public async Task<SteeringResult> ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return command switch
            {
                InstallSteering i => await InstallAsync(i.Intent, ct),
                RemoveSteering r => await RemoveAsync(r.Ue, ct),
                _ => throw new ArgumentException($"{command.GetType().Name} is not a steering command"),
            };
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<SteeringResult> InstallAsync(SteeringIntent intent, CancellationToken ct)
    {
        if (Installed(intent.Ue) is { } current && intent.Version < current.Version)
        {
            return new SteeringResult(intent.Ue, true, new Dictionary<SiteId, FlowBatchResult>());
        }

        var compiling = SteeringCompiler.TryCompile(intent, Topology);
        if (compiling.Flows is not { } compiled)
        {
            return new SteeringResult(intent.Ue, false, new Dictionary<SiteId, FlowBatchResult>()) { CompileError = compiling.Error };
        }

        var cookie = SteeringCookies.ForUe(intent.Ue);
        var held = SitesHolding(cookie);
        var results = new Dictionary<SiteId, FlowBatchResult>();

        // Make before break: the PVM's remote site first, then the switch site that redirects to it, then clean-up.
        foreach (var (site, flows) in compiled.OrderBy(kv => kv.Key == intent.SwitchSite ? 1 : 0))
        {
            results[site] = await ReplaceAsync(Topology[site], cookie, flows, intent, ct);
        }

        foreach (var gone in held.Where(s => !compiled.ContainsKey(s)))
        {
            results[gone] = await ReplaceAsync(Topology[gone], cookie, [], null, ct);
        }

        return await FinishAsync(intent.Ue, results, ct);
    }

    private async Task<SteeringResult> RemoveAsync(UeId ue, CancellationToken ct)
    {
        var results = new Dictionary<SiteId, FlowBatchResult>();
        var cookie = SteeringCookies.ForUe(ue);
        foreach (var site in SitesHolding(cookie))
        {
            results[site] = await ReplaceAsync(Topology[site], cookie, [], null, ct);
        }

        return await FinishAsync(ue, results, ct);
    }
}

/// <summary>
/// The live adapter: steering onto Open vSwitch through <see cref="OpenFlowController"/>. Construction registers each
/// site's fixed flows as desired state, so they are installed when the site's switch connects.
/// </summary>
public sealed class OpenFlowSteeringProgrammer : SteeringProgrammerBase
{
    private readonly OpenFlowController _controller;
    private readonly IReadOnlyDictionary<SiteId, OvsDatapathSync> _datapathSync;

    /// <param name="datapathSync">Per site, how to confirm changes in a co-located OVS's datapath (sites sharing one
    /// ovs-vswitchd may share one instance: it runs once per command). Sites not listed: barrier only.</param>
    public OpenFlowSteeringProgrammer(OpenFlowController controller, SdnTopology topology, IReadOnlyDictionary<SiteId, OvsDatapathSync>? datapathSync = null)
        : base(topology)
    {
        _controller = controller;
        _datapathSync = datapathSync ?? new Dictionary<SiteId, OvsDatapathSync>();
        foreach (var site in topology.Sites)
        {
            // Not connected yet: this only records desired state.
            controller.SetDesired(site.DatapathId, SteeringCookies.Infrastructure, SteeringCompiler.SiteBase(site));
        }
    }

    protected override Task<FlowBatchResult> ReplaceAsync(SiteTopology site, ulong cookie, IReadOnlyList<FlowEntry> flows, SteeringIntent? intent, CancellationToken ct) =>
        _controller.ReplaceFlowsAsync(site.DatapathId, cookie, flows, ct, intent);

    public override SteeringIntent? IntentAt(SiteId site, ulong cookie) =>
        Topology.TryGet(site, out var topology) ? _controller.DesiredTag(topology.DatapathId, cookie) as SteeringIntent : null;

    protected override Task<(bool Synced, long Sent, long Replied)> SyncDatapathAsync(IReadOnlyCollection<SiteId> touched, IReadOnlyCollection<SiteId> changed, CancellationToken ct)
    {
        if (touched.Any(s => _datapathSync.GetValueOrDefault(s) is null or { Mode: DatapathSyncMode.None }))
        {
            return Task.FromResult((false, 0L, 0L));
        }

        // Unchanged sites need no wait: their datapath already follows tables that did not move. Synchronous on
        // purpose: this runs on the reader thread that read the last barrier reply (see OvsDatapathSync.Sync).
        long first = 0, last = 0;
        foreach (var sync in changed.Select(s => _datapathSync[s]).Distinct())
        {
            var (sent, replied) = sync.Sync(ct);
            first = first == 0 ? sent : first;
            last = replied;
        }

        return Task.FromResult((true, first, last));
    }
}
