using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Publishes the MC's notifications to subscribers in the style of ETSI MEC 021 (application mobility:
/// MobilityProcedureNotification, INTERHOST_MOVEOUT_*) and MEC 012 (RNIS: CellChangeNotification, hoStatus).
/// Webhooks go out from one bounded queue per silo, in order; when subscribers are slower than the MC the oldest
/// notifications are dropped (counted), never the MC's own work.
/// </summary>
public sealed partial class NotificationHub : BackgroundService
{
    public const string MobilityType = "MobilityProcedureSubscription";
    public const string CellChangeType = "CellChangeSubscription";
    private readonly IGrainFactory _grains;
    private readonly HostingMetrics _metrics;
    private readonly ILogger<NotificationHub> _log;
    private readonly HttpClient _http;
    private readonly Api.WebhookPolicy _policy;
    private readonly Channel<(Subscription Sub, JsonObject Body)> _queue;
    private Task<Subscription[]> _subscriptionsTask = Task.FromResult<Subscription[]>([]);
    private DateTime _refreshedAt = DateTime.MinValue;
    private readonly Lock _refreshLock = new();
    private Task<Subscription[]>? _refresh;
    private readonly HashSet<EnbId> _nrNodes = [];

    public NotificationHub(IGrainFactory grains, HostingMetrics metrics, ILogger<NotificationHub> log, Api.WebhookPolicy policy, Microsoft.Extensions.Options.IOptions<Config.MobiScudOptions>? options = null)
    {
        // gNBs (issue 15): a cell change names them by NR CGI where an eNB has its ECGI.
        _nrNodes.UnionWith(options?.Value.Sites.SelectMany(s => s.Gnbs).Select(g => new EnbId(g)) ?? []);
        _policy = policy;
        _http = new HttpClient(policy.Handler()) { Timeout = policy.Options.Timeout };
        _grains = grains;
        _metrics = metrics;
        _log = log;
        _queue = Channel.CreateBounded<(Subscription, JsonObject)>(
            new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => _metrics.Webhook("dropped"));
    }

    /// <summary>Makes the next notification re-read the subscriptions (after this silo changed them).</summary>
    public void Invalidate()
    {
        lock (_refreshLock)
        {
            // A read already in flight may predate the change: the next caller starts a fresh one.
            _refresh = null;
            _refreshedAt = DateTime.MinValue;
        }
    }

    public async Task PublishAsync(UeState? before, UeState? after, Notify n)
    {
        var state = after ?? before;
        if (state is null)
        {
            return;
        }

        var type = n.Kind switch
        {
            NotificationKind.MigrationStarted or NotificationKind.MigrationCompleted or NotificationKind.MigrationFailed or NotificationKind.MigrationCancelled => MobilityType,
            NotificationKind.HandoverPreparing or NotificationKind.HandoverExecuting or NotificationKind.HandoverExecuted or NotificationKind.HandoverCancelled => CellChangeType,
            _ => null,
        };
        if (type is null)
        {
            return;
        }

        var subscriptions = await SubscriptionsAsync();
        JsonObject? body = null;
        foreach (var sub in subscriptions)
        {
            if (sub.SubscriptionType == type && Matches(sub, state))
            {
                // Built only when someone listens: most UEs have no subscriber, and this runs for every handover.
                body ??= type == MobilityType ? Mobility(before, after!, n) : CellChange(before, after!, n, _nrNodes);
                var copy = (JsonObject)body.DeepClone();
                copy["_links"] = new JsonObject { ["subscription"] = new JsonObject { ["href"] = $"/subscriptions/{sub.Id}" } };
                _queue.Writer.TryWrite((sub, copy));
            }
        }
    }

    /// <summary>
    /// The subscriptions, re-read from the control grain at most once a second. Concurrent callers share one read:
    /// otherwise every UE grain publishing in that second queues on the single control grain.
    /// </summary>
    private Task<Subscription[]> SubscriptionsAsync()
    {
        if ((DateTime.UtcNow - _refreshedAt).TotalSeconds <= 1)
        {
            return _subscriptionsTask;
        }

        lock (_refreshLock)
        {
            if (_refresh is null || _refresh.IsCompleted)
            {
                _refresh = Refresh();
            }

            return _refresh;
        }

        async Task<Subscription[]> Refresh()
        {
            var read = await _grains.GetGrain<IControlGrain>(GrainNames.Control).Subscriptions();
            _subscriptionsTask = Task.FromResult(read);
            _refreshedAt = DateTime.UtcNow;
            return read;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (sub, body) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await DeliverAsync(sub, body, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down; undelivered notifications are dropped (subscribers re-read state over REST).
        }
    }

    /// <summary>
    /// One notification, tried a bounded number of times (a subscriber that is down must not hold up the others for
    /// long). A 3xx is not followed: the subscriber gave its callback, a redirect must not send the MC elsewhere.
    /// </summary>
    private async Task DeliverAsync(Subscription sub, JsonObject body, CancellationToken ct)
    {
        var target = Redacted(sub.CallbackReference);
        for (var attempt = 1; ; attempt++)
        {
            string result;
            try
            {
                using var response = await _http.PostAsJsonAsync(sub.CallbackReference, body, ct);
                if (response.IsSuccessStatusCode)
                {
                    _metrics.Webhook("delivered");
                    return;
                }

                result = "rejected";
                _log.LogWarning("subscriber {Callback} answered {Status} to a notification (attempt {Attempt})", target, (int)response.StatusCode, attempt);
                if ((int)response.StatusCode < 500)
                {
                    // The subscriber refused it (or redirected): sending it again would get the same answer.
                    _metrics.Webhook(result);
                    return;
                }
            }
            catch (HttpRequestException e)
            {
                result = "failed";
                _log.LogWarning("subscriber {Callback} unreachable (attempt {Attempt}): {Error}", target, attempt, e.Message);
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                result = "timeout";
                _log.LogWarning("subscriber {Callback} timed out (attempt {Attempt})", target, attempt);
            }

            if (attempt >= _policy.Options.MaxAttempts)
            {
                _metrics.Webhook(result);
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct);
        }
    }

    /// <summary>A callback for the log without anything that could be a secret (credentials are refused, queries may hold tokens).</summary>
    private static string Redacted(string callback) =>
        Uri.TryCreate(callback, UriKind.Absolute, out var u) ? $"{u.Scheme}://{u.Authority}{u.AbsolutePath}" : "(invalid callback)";

    private static bool Matches(Subscription sub, UeState s) =>
        sub.AssociateIds.Length == 0
        || sub.AssociateIds.Any(id => id == s.Ue.Value || id == s.Imsi || id == s.UeAddress?.ToString());

    private static JsonObject TimeStamp(TimeSpan at) => new()
    {
        ["seconds"] = (long)at.TotalSeconds,
        ["nanoSeconds"] = (int)(at.Ticks % TimeSpan.TicksPerSecond * 100),
    };

    private static JsonArray AssociateId(UeState s)
    {
        var ids = new JsonArray();
        if (s.UeAddress is { } ip)
        {
            ids.Add(new JsonObject { ["type"] = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "UE_IPv6_ADDRESS" : "UE_IPv4_ADDRESS", ["value"] = ip.ToString() });
        }

        ids.Add(new JsonObject { ["type"] = "MOBISCUD_UE_ID", ["value"] = s.Ue.Value });
        return ids;
    }

    private static JsonObject Mobility(UeState? before, UeState after, Notify n)
    {
        var migration = after.Migration ?? before?.Migration;
        var status = n.Kind switch
        {
            NotificationKind.MigrationStarted => "INTERHOST_MOVEOUT_TRIGGERED",
            NotificationKind.MigrationCompleted => "INTERHOST_MOVEOUT_COMPLETED",
            _ => "INTERHOST_MOVEOUT_FAILED",
        };
        var target = new JsonObject { ["appInstanceId"] = after.Pvm.Value };
        if (after.PvmAddress is { } pvmIp)
        {
            target["commInterface"] = new JsonObject { ["ipAddresses"] = new JsonArray(new JsonObject { ["host"] = pvmIp.ToString(), ["port"] = 0 }) };
        }

        return new JsonObject
        {
            ["notificationType"] = "MobilityProcedureNotification",
            ["timeStamp"] = TimeStamp(n.At),
            ["associateId"] = AssociateId(after),
            ["mobilityStatus"] = status,
            ["targetAppInfo"] = target,
            ["sourceSite"] = migration?.From.Value,
            ["targetSite"] = migration?.To.Value,
            ["detail"] = n.Detail,
        };
    }

    private static JsonObject CellChange(UeState? before, UeState after, Notify n, HashSet<EnbId> nrNodes)
    {
        // The cells travel with the notification: before/after span a whole batch, which may hold several steps of
        // one handover. The state is only a fallback for notifications stored before they carried them.
        var (status, source, target) = n.Kind switch
        {
            NotificationKind.HandoverPreparing => ("IN_PREPARATION", n.Source ?? after.PendingHandover?.Source, n.Target ?? after.PendingHandover?.Target),
            NotificationKind.HandoverExecuting => ("IN_EXECUTION", n.Source ?? after.PendingHandover?.Source, n.Target ?? after.PendingHandover?.Target),
            NotificationKind.HandoverExecuted => ("COMPLETED", n.Source ?? before?.ServingEnb, n.Target ?? after.ServingEnb),
            _ => ("CANCELLED", n.Source ?? before?.PendingHandover?.Source, n.Target ?? before?.PendingHandover?.Target),
        };
        var body = new JsonObject
        {
            ["notificationType"] = "CellChangeNotification",
            ["timeStamp"] = TimeStamp(n.At),
            ["associateId"] = AssociateId(after),
            ["hoStatus"] = status,

            // The tracker keys eNBs by global eNB id; the cell id is not part of the MC's contract.
            ["srcEcgi"] = source is { } s ? new JsonObject { ["enbId"] = s.Value } : null,
            ["trgEcgi"] = target is { } t ? new JsonArray(new JsonObject { ["enbId"] = t.Value }) : new JsonArray(),
            ["detail"] = n.Detail,
        };
        NrCells(body, source, target, nrNodes);
        return body;
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
