using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Api;
using MobiScud.Hosting.Grains;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MobiScud.Hosting.Mec;

/// <summary>
/// ETSI GS MEC 021 Application Mobility Service (/amsi/v1) and GS MEC 012 Radio Network Information (/rni/v2), as
/// their OpenAPI files define the resources, bodies, enums and errors (ProblemDetails). Request and response bodies are
/// the bare data types the specifications' text names (the official MEC 021 file's wrapper objects are accepted in
/// requests). Retried creations with the same Idempotency-Key header return the first resource.
/// </summary>
internal static class MecEndpoints
{
    public static void Map(WebApplication app)
    {
        var amsi = app.MapGroup("/amsi/v1").WithTags("mec021").AddEndpointFilter(ApiEndpoints.Unavailable);
        MapSubscriptions(amsi, MecApi.Amsi, "subscriptiontype");
        amsi.MapGet("/app_mobility_services", async (IGrainFactory g) =>
            Results.Json(new JsonArray([.. (await Control(g).Registrations()).Select(r => JsonNode.Parse(r.Representation))])));
        amsi.MapPost("/app_mobility_services", async (IGrainFactory g, TimeProvider clock, HttpRequest request) =>
        {
            if (await Body(request) is not { } body)
            {
                return BadJson(request);
            }

            var id = Guid.NewGuid().ToString("N");
            if (MecRegistrations.Read(body.Node, id, create: true, out var expiry, out var problem) is not { } info)
            {
                return MecJson.Problem(400, "Bad Request", problem!);
            }

            await Control(g).Register(new MecRegistration(id, info.ToJsonString(), Expires(clock, expiry)), replace: false);
            return new WithLocation(Location(request, $"/amsi/v1/app_mobility_services/{id}"), Results.Json(info, statusCode: 201));
        });
        amsi.MapGet("/app_mobility_services/{id}", async (IGrainFactory g, string id) =>
            (await Control(g).Registrations()).FirstOrDefault(r => r.Id == id) is { } r
                ? Results.Json(JsonNode.Parse(r.Representation)) : NotFound($"application mobility service '{MecJson.Clip(id)}' does not exist"));
        amsi.MapPut("/app_mobility_services/{id}", async (IGrainFactory g, TimeProvider clock, HttpRequest request, string id) =>
        {
            if (await Body(request) is not { } body)
            {
                return BadJson(request);
            }

            if (MecRegistrations.Read(body.Node, id, create: false, out var expiry, out var problem) is not { } info)
            {
                return MecJson.Problem(400, "Bad Request", problem!);
            }

            return await Control(g).Register(new MecRegistration(id, info.ToJsonString(), Expires(clock, expiry)), replace: true)
                ? Results.Json(info) : NotFound($"application mobility service '{MecJson.Clip(id)}' does not exist");
        });
        amsi.MapDelete("/app_mobility_services/{id}", async (IGrainFactory g, string id) =>
            await Control(g).Deregister(id) ? Results.NoContent() : NotFound($"application mobility service '{MecJson.Clip(id)}' does not exist"));
        amsi.MapPost("/app_mobility_services/{id}/deregister_task", async (IGrainFactory g, string id) =>
            await Control(g).Deregister(id) ? Results.NoContent() : NotFound($"application mobility service '{MecJson.Clip(id)}' does not exist"));

        amsi.MapGet("/queries/adjacent_app_instances", MecQueries.AdjacentAppInstances);

        amsi.MapGet("/websocket/{id}", async (IGrainFactory g, MecSockets sockets, HttpContext context, string id) =>
        {
            if (Find(await Control(g).Subscriptions(), MecApi.Amsi, id) is not { CallbackReference: "" })
            {
                return NotFound($"subscription '{MecJson.Clip(id)}' has no WebSocket delivery");
            }

            if (!context.WebSockets.IsWebSocketRequest)
            {
                return MecJson.Problem(400, "Bad Request", "this URI takes a WebSocket upgrade");
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await sockets.ServeAsync(id, socket, context.RequestAborted);
            return Results.Empty;
        });

        var rni = app.MapGroup("/rni/v2").WithTags("mec012").AddEndpointFilter(ApiEndpoints.Unavailable);
        MapSubscriptions(rni, MecApi.Rni, "subscription_type");
        rni.MapGet("/queries/rab_info", RabInfo);
        rni.MapGet("/queries/s1_bearer_info", S1BearerInfo);
        rni.MapGet("/queries/plmn_info", MecQueries.PlmnInfo);
        rni.MapGet("/queries/layer2_meas", MecQueries.Layer2Meas);
    }

    private static IControlGrain Control(IGrainFactory g) => g.GetGrain<IControlGrain>(GrainNames.Control);

    private static TimeSpan? Expires(TimeProvider clock, uint expiryTime) => expiryTime == 0 ? null : clock.ServiceNow() + TimeSpan.FromSeconds(expiryTime);

    private static void MapSubscriptions(RouteGroupBuilder group, MecApi api, string typeParameter)
    {
        var prefix = api == MecApi.Amsi ? "/amsi/v1" : "/rni/v2";
        group.MapGet("/subscriptions", async (IGrainFactory g, HttpRequest request) =>
        {
            var asked = request.Query[typeParameter].ToString();
            var type = asked.Length == 0 ? null : MecType.All.FirstOrDefault(t => t.Api == api && t.ShortName == asked);
            if (asked.Length > 0 && type is null)
            {
                var known = string.Join(", ", MecType.All.Where(t => t.Api == api).Select(t => t.ShortName));
                return MecJson.Problem(400, "Bad Request", $"{typeParameter} must be one of {known} (was '{MecJson.Clip(asked)}')");
            }

            var links = new JsonArray();
            foreach (var s in await Control(g).Subscriptions())
            {
                if (MecType.Find(s.SubscriptionType) is { } t && t.Api == api && (type is null || t == type))
                {
                    links.Add(new JsonObject { ["href"] = Location(request, $"{prefix}/subscriptions/{s.Id}"), ["subscriptionType"] = t.Name });
                }
            }

            return Results.Json(new JsonObject
            {
                ["_links"] = new JsonObject { ["self"] = MecJson.Link(Location(request, $"{prefix}/subscriptions")), ["subscription"] = links },
            });
        });
        group.MapPost("/subscriptions", async (IGrainFactory g, NotificationHub hub, WebhookPolicy policy, HttpRequest request) =>
        {
            if (await Body(request) is not { } body)
            {
                return BadJson(request);
            }

            var id = Guid.NewGuid().ToString("N");
            if (Checked(api, body.Node, policy, request, $"{prefix}/subscriptions/{id}", out var type, out var representation) is { } refused)
            {
                return refused;
            }

            var key = request.Headers["Idempotency-Key"].ToString();
            if (key.Length > 200)
            {
                return MecJson.Problem(400, "Bad Request", "the Idempotency-Key header is longer than 200 characters");
            }

            var asked = Stored(id, type!, representation!, key.Length == 0 ? null : key);

            // Stored only once persisted (a failure is a 503 and nothing is kept); the same request again returns the first.
            var sub = await Control(g).Subscribe(asked);
            hub.Invalidate();
            var stored = (JsonObject)JsonNode.Parse(sub.Representation ?? representation!.ToJsonString())!;
            var self = stored["_links"]?["self"]?["href"]?.GetValue<string>() ?? Location(request, $"{prefix}/subscriptions/{sub.Id}");
            if (sub.Id != asked.Id)
            {
                return Results.Json(stored);
            }

            // MEC 021: a test notification "via HTTP on the callbackReference URI".
            if (representation!["requestTestNotification"]?.GetValueKind() == JsonValueKind.True && sub.CallbackReference.Length > 0)
            {
                hub.Enqueue(sub, MecNotifications.Test(self));
            }

            return new WithLocation(self, Results.Json(stored, statusCode: 201));
        });
        group.MapGet("/subscriptions/{id}", async (IGrainFactory g, string id) =>
            Find(await Control(g).Subscriptions(), api, id) is { } s && s.Representation is { } r
                ? Results.Json(JsonNode.Parse(r)) : NotFound($"subscription '{MecJson.Clip(id)}' does not exist"));
        group.MapPut("/subscriptions/{id}", async (IGrainFactory g, NotificationHub hub, WebhookPolicy policy, HttpRequest request, string id) =>
        {
            if (await Body(request) is not { } body)
            {
                return BadJson(request);
            }

            if (Find(await Control(g).Subscriptions(), api, id) is not { } existing)
            {
                return NotFound($"subscription '{MecJson.Clip(id)}' does not exist");
            }

            if (Checked(api, body.Node, policy, request, $"{prefix}/subscriptions/{id}", out var type, out var representation) is { } refused)
            {
                return refused;
            }

            if (type!.Name != existing.SubscriptionType)
            {
                return MecJson.Problem(422, "Unprocessable Entity", $"subscription '{MecJson.Clip(id)}' is a {existing.SubscriptionType}; a PUT cannot make it a {type.Name}");
            }

            // The self link stays the one given at creation.
            if (existing.Representation is { } old && JsonNode.Parse(old)?["_links"] is { } links)
            {
                representation!["_links"] = links.DeepClone();
            }

            if (!await Control(g).Resubscribe(Stored(id, type, representation!, existing.ClientKey)))
            {
                return NotFound($"subscription '{MecJson.Clip(id)}' does not exist");
            }

            hub.Invalidate();
            return Results.Json(representation);
        });
        group.MapDelete("/subscriptions/{id}", async (IGrainFactory g, NotificationHub hub, string id) =>
        {
            if (Find(await Control(g).Subscriptions(), api, id) is null || !await Control(g).Unsubscribe(id))
            {
                return NotFound($"subscription '{MecJson.Clip(id)}' does not exist");
            }

            hub.Invalidate();
            return Results.NoContent();
        });
    }

    private static Subscription? Find(Subscription[] all, MecApi api, string id) =>
        all.FirstOrDefault(s => s.Id == id && MecType.Find(s.SubscriptionType)?.Api == api);

    private static Subscription Stored(string id, MecType type, JsonObject representation, string? clientKey)
    {
        var ids = (representation[type.FilterKey]?["associateId"] as JsonArray ?? []).Select(a => a?["value"]?.GetValue<string>()).OfType<string>().ToArray();
        var callback = representation["callbackReference"]?.GetValue<string>() ?? "";
        return new Subscription(id, type.Name, callback, ids, clientKey, representation.ToJsonString());
    }

    /// <summary>A request's subscription as stored (with its self link), or the error response.</summary>
    private static IResult? Checked(MecApi api, JsonNode? body, WebhookPolicy policy, HttpRequest request, string path, out MecType? type, out JsonObject? representation)
    {
        representation = MecSubscriptions.Read(api, body, out type, out var problem);
        if (representation is null)
        {
            return MecJson.Problem(400, "Bad Request", problem!);
        }

        if (representation["callbackReference"] is null)
        {
            // Only MEC 021 reaches here (websockNotifConfig.requestWebsocketUri): notifications go over a WebSocket the
            // subscriber opens at the URI the service chose (MEC 009 6.12a).
            var scheme = request.IsHttps ? "wss" : "ws";
            representation["websockNotifConfig"] = new JsonObject
            {
                ["websocketUri"] = $"{scheme}://{request.Host}{request.PathBase}{path.Replace("/subscriptions/", "/websocket/", StringComparison.Ordinal)}",
                ["requestWebsocketUri"] = true,
            };
            representation["_links"] = new JsonObject { ["self"] = MecJson.Link(Location(request, path)) };
            return null;
        }

        if (policy.Problem(representation["callbackReference"]!.GetValue<string>()) is { } refused)
        {
            // Not echoed: the URI may hold the very credentials it is refused for.
            return MecJson.Problem(400, "Bad Request", $"callbackReference {refused}");
        }

        // A consumer that offers both gets the HTTP callback (MEC 009 6.12a: the service picks one and returns only that).
        representation.Remove("websockNotifConfig");
        representation["_links"] = new JsonObject { ["self"] = MecJson.Link(Location(request, path)) };
        return null;
    }

    private sealed record JsonBody(JsonNode? Node);

    /// <summary>The request's JSON body; null when it is not JSON (the caller answers 400 or 415).</summary>
    private static async Task<JsonBody?> Body(HttpRequest request)
    {
        if (request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            return new JsonBody(await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IResult BadJson(HttpRequest request) =>
        request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            ? MecJson.Problem(415, "Unsupported Media Type", $"the body must be application/json (was '{MecJson.Clip(type)}')")
            : MecJson.Problem(400, "Bad Request", "the body is not valid JSON");

    private static IResult NotFound(string detail) => MecJson.Problem(404, "Not Found", detail);

    /// <summary>An absolute URI of this service (links are URIs in both specifications).</summary>
    private static string Location(HttpRequest request, string path) => $"{request.Scheme}://{request.Host}{request.PathBase}{path}";

    /// <summary>A result with a Location header (201 Created, as both specifications ask).</summary>
    private sealed class WithLocation(string location, IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }

    /// <summary>The values of a query parameter given as a comma-separated list and/or repeated (form style, explode).</summary>
    internal static List<string> List(HttpRequest request, string name) =>
        [.. request.Query[name].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    /// <summary>The UEs the MC knows with their serving cell, for the queries.</summary>
    private static async Task<List<UeSnapshot>> Ues(IGrainFactory g)
    {
        var snaps = await Task.WhenAll((await UePartitions.AllAsync(g)).Select(id => g.GetGrain<IUeGrain>(id).Get()));
        return [.. snaps.Where(s => s.State is { Connection: ConnectionState.Connected } && s.Cell is not null && !s.State.Bearers.IsEmpty)];
    }

    /// <summary>Query filters shared by rab_info and s1_bearer_info; null (with the reason) on a malformed parameter.</summary>
    internal sealed record QueryFilter(List<uint> Cells, List<IPAddress> Addresses, List<uint> Teids, List<int> ERabs, int? Qci, bool Nated)
    {
        public bool Ue(UeSnapshot s) =>
            (Cells.Count == 0 || Cells.Contains(s.Cell!.CellId))
            && (Addresses.Count == 0 || (s.State!.UeAddress is { } a && Addresses.Contains(a)))
            && !Nated
            && (Teids.Count == 0 || s.State!.Bearers.Any(b => Teids.Contains(b.Uplink.Teid) || Teids.Contains(b.Downlink.Teid)));

        public bool Bearer(Bearer b) => (ERabs.Count == 0 || ERabs.Contains(b.ERabId)) && (Qci is null || b.Qci == Qci);
    }

    internal static QueryFilter? Query(HttpRequest request, out string? problem)
    {
        problem = null;
        var cells = new List<uint>();
        foreach (var c in List(request, "cell_id"))
        {
            if (!uint.TryParse(c, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var cell) || cell > 0x0FFF_FFFF)
            {
                problem = $"cell_id '{MecJson.Clip(c)}' is not a 28-bit E-UTRAN cell identity in hex";
                return null;
            }

            cells.Add(cell);
        }

        var addresses = new List<IPAddress>();
        foreach (var a in List(request, "ue_ipv4_address").Concat(List(request, "ue_ipv6_address")))
        {
            if (!IPAddress.TryParse(a, out var ip))
            {
                problem = $"'{MecJson.Clip(a)}' is not an IP address";
                return null;
            }

            addresses.Add(ip);
        }

        var teids = new List<uint>();
        foreach (var t in List(request, "gtp_teid"))
        {
            var hex = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
            if (!uint.TryParse(hex ? t[2..] : t, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var teid))
            {
                problem = $"gtp_teid '{MecJson.Clip(t)}' is not a TEID (decimal or 0x-hex)";
                return null;
            }

            teids.Add(teid);
        }

        var erabs = new List<int>();
        foreach (var e in List(request, "erab_id"))
        {
            if (!int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out var erab) || erab > 15)
            {
                problem = $"erab_id '{MecJson.Clip(e)}' is not an E-RAB id 0..15";
                return null;
            }

            erabs.Add(erab);
        }

        int? qci = null;
        if (request.Query["qci"].ToString() is { Length: > 0 } q)
        {
            if (!int.TryParse(q, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 255)
            {
                problem = $"qci '{MecJson.Clip(q)}' is not a QCI 0..255";
                return null;
            }

            qci = n;
        }

        foreach (var unsupported in new[] { "erab_mbr_dl", "erab_mbr_ul", "erab_gbr_dl", "erab_gbr_ul", "temp_ue_id" })
        {
            if (request.Query.ContainsKey(unsupported))
            {
                problem = $"{unsupported} cannot be answered: the MC does not keep it";
                return null;
            }
        }

        // The MC sees UE addresses before any NAT: a NATed address names none of them.
        return new QueryFilter(cells, addresses, teids, erabs, qci, List(request, "nated_ip_address").Count > 0);
    }

    /// <summary>GET /rni/v2/queries/rab_info: RabInfo, the E-RABs of the connected UEs per cell.</summary>
    private static async Task<IResult> RabInfo(IGrainFactory g, TimeProvider clock, HttpRequest request)
    {
        if (Query(request, out var problem) is not { } filter)
        {
            return MecJson.Problem(400, "Bad Request", problem!);
        }

        var cells = new JsonArray();
        foreach (var cell in (await Ues(g)).Where(filter.Ue).GroupBy(s => s.Cell!).OrderBy(c => c.Key.CellId))
        {
            var ues = new JsonArray();
            foreach (var s in cell)
            {
                var erabs = new JsonArray();
                foreach (var b in s.State!.Bearers.Where(filter.Bearer))
                {
                    var erab = new JsonObject { ["erabId"] = b.ERabId };
                    if (b.Qci is { } qci)
                    {
                        erab["erabQosParameters"] = new JsonObject { ["qci"] = qci };
                    }

                    erabs.Add(erab);
                }

                if (erabs.Count > 0)
                {
                    ues.Add(new JsonObject { ["associateId"] = MecJson.AssociateIds(s.State.UeAddress), ["erabInfo"] = erabs });
                }
            }

            if (ues.Count > 0)
            {
                cells.Add(new JsonObject { ["ecgi"] = MecJson.Ecgi(cell.Key), ["ueInfo"] = ues });
            }
        }

        return Results.Json(new JsonObject
        {
            ["appInstanceId"] = request.Query["app_ins_id"].ToString(),
            ["cellUserInfo"] = cells,
            ["requestId"] = Guid.NewGuid().ToString("N"),
            ["timeStamp"] = MecJson.TimeStamp(clock.ServiceNow()),
        });
    }

    /// <summary>GET /rni/v2/queries/s1_bearer_info: S1BearerInfo, the S1-U tunnels of the matching UEs (404 when none matches: it needs one).</summary>
    private static async Task<IResult> S1BearerInfo(IGrainFactory g, TimeProvider clock, HttpRequest request)
    {
        if (Query(request, out var problem) is not { } filter)
        {
            return MecJson.Problem(400, "Bad Request", problem!);
        }

        var ues = new JsonArray();
        foreach (var s in (await Ues(g)).Where(filter.Ue))
        {
            var bearers = s.State!.Bearers.Where(filter.Bearer).Select(MecNotifications.S1Bearer).ToArray();
            var ids = MecJson.AssociateIds(s.State.UeAddress);
            if (bearers.Length > 0 && ids.Count > 0)
            {
                ues.Add(new JsonObject { ["associateId"] = ids, ["ecgi"] = new JsonArray(MecJson.Ecgi(s.Cell!)), ["s1BearerInfoDetailed"] = new JsonArray(bearers) });
            }
        }

        return ues.Count == 0
            ? NotFound("no connected UE with S1 bearers matches the query")
            : Results.Json(new JsonObject { ["s1UeInfo"] = ues, ["timeStamp"] = MecJson.TimeStamp(clock.ServiceNow()) });
    }
}
