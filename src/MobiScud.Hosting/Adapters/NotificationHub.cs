using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// Publishes to ETSI MEC subscribers: MEC 021 (application mobility: MobilityProcedureNotification and
/// AdjacentAppInfoNotification from the MC's migration news) and MEC 012 (radio network information: cell changes and
/// E-RAB/S1 bearer news from the tracker's events, once the UE grain persisted them). Webhooks go out from one bounded
/// queue per silo, in order; when subscribers are slower than the MC the oldest work is dropped (counted), never the
/// MC's own work.
/// </summary>
internal sealed class NotificationHub : BackgroundService, Mec.IRanObserver
{
    private readonly IGrainFactory _grains;
    private readonly HostingMetrics _metrics;
    private readonly ILogger<NotificationHub> _log;
    private readonly HttpClient _http;
    private readonly Api.WebhookPolicy _policy;

    /// <summary>Deliveries (<see cref="NotificationDelivery"/>) and batches of persisted events to turn into MEC 012 news (<see cref="Mec.RanFact"/>[]).</summary>
    private readonly Channel<object> _queue;
    private Task<Subscription[]> _subscriptionsTask = Task.FromResult<Subscription[]>([]);
    private DateTime _refreshedAt = DateTime.MinValue;
    private readonly Lock _refreshLock = new();
    private Task<Subscription[]>? _refresh;
    private readonly ConditionalWeakTable<Subscription, Parsed> _parsed = [];

    private sealed record NotificationDelivery(Subscription Sub, JsonObject Body);

    /// <summary>A stored subscription read once: its type, representation (with the self link) and filter.</summary>
    private sealed record Parsed(Mec.MecType Type, JsonObject Representation, Mec.MecFilter Filter, string Self);

    public NotificationHub(IGrainFactory grains, HostingMetrics metrics, ILogger<NotificationHub> log, Api.WebhookPolicy policy)
    {
        _policy = policy;
        _http = new HttpClient(policy.Handler()) { Timeout = policy.Options.Timeout };
        _grains = grains;
        _metrics = metrics;
        _log = log;
        _queue = Channel.CreateBounded<object>(
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

    /// <summary>Queues one notification for a subscription (test and expiry notifications).</summary>
    internal void Enqueue(Subscription sub, JsonObject body) => _queue.Writer.TryWrite(new NotificationDelivery(sub, body));

    /// <summary>The MC's migration news for MEC 021 subscribers.</summary>
    public async Task PublishAsync(UeState? before, UeState? after, Notify n)
    {
        var state = after ?? before;
        var status = Mec.MecNotifications.MobilityStatus(n.Kind);
        if (state is null || status is null)
        {
            return;
        }

        var subscriptions = await SubscriptionsAsync();
        JsonObject? mobility = null;
        JsonObject? adjacent = null;
        MecRegistration[]? registrations = null;
        foreach (var sub in subscriptions)
        {
            if (Parse(sub) is not { } p || p.Type.Api != Mec.MecApi.Amsi)
            {
                continue;
            }

            JsonObject? body;
            if (p.Type.Name == Mec.MecType.MobilityProcedure && p.Filter.Statuses.Contains(status.Value) && p.Filter.MatchesUe(state.UeAddress, state.Bearers))
            {
                // Built only when someone listens: most UEs have no subscriber, and this runs for every migration.
                body = mobility ??= Mec.MecNotifications.Mobility(state, n, status.Value);
            }
            else if (p.Type.Name == Mec.MecType.AdjacentAppInfo && n.Kind == NotificationKind.MigrationCompleted)
            {
                body = adjacent ??= Mec.MecNotifications.AdjacentAppInfo(state, n);
            }
            else
            {
                continue;
            }

            if (body is null)
            {
                _metrics.Webhook("incomplete");
                continue;
            }

            if (p.Filter.AppInstanceId is { } app && app != state.Pvm.Value)
            {
                registrations ??= await _grains.GetGrain<IControlGrain>(GrainNames.Control).Registrations();
                if (!Mec.MecRegistrations.Serves(registrations, app, state.UeAddress))
                {
                    continue;
                }
            }

            var copy = (JsonObject)body.DeepClone();
            copy["_links"] = new JsonObject { ["subscription"] = Mec.MecJson.Link(p.Self) };
            _queue.Writer.TryWrite(new NotificationDelivery(sub, copy));
        }
    }

    /// <summary>Persisted events for MEC 012 news: matched against the subscriptions on the hub's own loop, off the grain's turn.</summary>
    void Mec.IRanObserver.Observe(IReadOnlyList<Mec.RanFact> facts) => _queue.Writer.TryWrite(facts.ToArray());

    private async Task PublishRanAsync(Mec.RanFact[] facts, CancellationToken ct)
    {
        var subscriptions = await SubscriptionsAsync();
        var rni = subscriptions.Select(s => (Sub: s, Parsed: Parse(s))).Where(x => x.Parsed?.Type.Api == Mec.MecApi.Rni).ToList();
        if (rni.Count == 0)
        {
            return;
        }

        foreach (var fact in facts)
        {
            var news = Mec.MecNotifications.News(fact, out var incomplete);
            if (incomplete > 0)
            {
                _metrics.Webhook("incomplete");
                _log.LogDebug("{Event} of {Ue} lacks the cells MEC 012 needs: no notification", fact.Event.GetType().Name, fact.Event.Ue);
            }

            foreach (var item in news)
            {
                foreach (var (sub, p) in rni)
                {
                    if (p!.Type.Name == item.Type && Mec.MecNotifications.Selects(p.Filter, item))
                    {
                        await DeliverAsync(sub, (JsonObject)item.Body.DeepClone(), ct);
                    }
                }
            }
        }
    }

    /// <summary>The subscription's type, representation and filter; null for a type this version no longer offers.</summary>
    private Parsed? Parse(Subscription sub)
    {
        if (_parsed.TryGetValue(sub, out var known))
        {
            return known;
        }

        if (Mec.MecType.Find(sub.SubscriptionType) is not { } type)
        {
            return null;
        }

        // Subscriptions stored before the representation was kept (MobilityProcedure and CellChange only): no filter, the defaults.
        var stored = sub.Representation is { } r ? JsonNode.Parse(r) as JsonObject : null;
        stored ??= Mec.MecSubscriptions.Read(type.Api, new JsonObject
        {
            ["subscriptionType"] = type.Name,
            ["callbackReference"] = sub.CallbackReference,
            [type.FilterKey] = new JsonObject(),
        }, out _, out _) ?? [];
        var self = stored["_links"]?["self"]?["href"]?.GetValue<string>() ?? $"/{(type.Api == Mec.MecApi.Amsi ? "amsi/v1" : "rni/v2")}/subscriptions/{sub.Id}";
        var parsed = new Parsed(type, stored, Mec.MecSubscriptions.Filter(type, stored), self);
        _parsed.AddOrUpdate(sub, parsed);
        return parsed;
    }

    /// <summary>
    /// The subscriptions, re-read from the control grain at most once a second. Concurrent callers share one read:
    /// otherwise every UE grain publishing in that second queues on the single control grain.
    /// </summary>
    private Task<Subscription[]> SubscriptionsAsync()
    {
        if ((TimeProvider.System.GetUtcNow().UtcDateTime - _refreshedAt).TotalSeconds <= 1)
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
            _refreshedAt = TimeProvider.System.GetUtcNow().UtcDateTime;
            return read;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var work in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                if (work is NotificationDelivery d)
                {
                    await DeliverAsync(d.Sub, d.Body, stoppingToken);
                }
                else if (work is Mec.RanFact[] facts)
                {
                    await PublishRanAsync(facts, stoppingToken);
                }
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
        if (sub.CallbackReference.Length == 0)
        {
            // A MEC 021 WebSocket subscription: its grain hands the notification to the silos holding its sockets.
            var taken = await _grains.GetGrain<Mec.IMecSocketGrain>(sub.Id).Push(body.ToJsonString());
            _metrics.Webhook(taken > 0 ? "delivered" : "no-socket");
            return;
        }

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

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
