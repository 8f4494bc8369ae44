using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Control.Model;

namespace MobiScud.Hosting.Mec;

/// <summary>The two northbound APIs: MEC 021 Application Mobility Service and MEC 012 Radio Network Information.</summary>
internal enum MecApi
{
    Amsi,
    Rni,
}

/// <summary>A subscription type this MC emits: its API, the name of its filter attribute and the short name for list queries.</summary>
internal sealed record MecType(MecApi Api, string Name, string ShortName, string FilterKey)
{
    public const string MobilityProcedure = "MobilityProcedureSubscription";
    public const string AdjacentAppInfo = "AdjacentAppInfoSubscription";
    public const string CellChange = "CellChangeSubscription";
    public const string RabEst = "RabEstSubscription";
    public const string RabRel = "RabRelSubscription";
    public const string S1Bearer = "S1BearerSubscription";

    public static readonly MecType[] All =
    [
        new(MecApi.Amsi, MobilityProcedure, "mobility_proc", "filterCriteria"),
        new(MecApi.Amsi, AdjacentAppInfo, "adj_app_info", "filterCriteria"),
        new(MecApi.Rni, CellChange, "cell_change", "filterCriteriaAssocHo"),
        new(MecApi.Rni, RabEst, "rab_est", "filterCriteriaQci"),
        new(MecApi.Rni, RabRel, "rab_rel", "filterCriteriaQci"),
        new(MecApi.Rni, S1Bearer, "s1_bearer", "S1BearerSubscriptionCriteria"),
    ];

    public static MecType? Find(string? name) => All.FirstOrDefault(t => t.Name == name);

    /// <summary>RNIS types the specification defines but this MC has no source for (no measurement reports, no QoS modification seen).</summary>
    public static readonly string[] RniUnsupported = ["RabModSubscription", "MeasRepUeSubscription", "NrMeasRepUeSubscription", "MeasTaSubscription", "CaReconfSubscription"];
}

/// <summary>What a subscription selects, read from its stored representation.</summary>
internal sealed record MecFilter(
    IReadOnlyList<(long Type, string Value)> AssociateIds,
    IReadOnlyList<Ecgi> Cells,
    IReadOnlyList<long> Statuses,
    string? AppInstanceId,
    long? Qci,
    long? ERabId,
    IReadOnlyList<long> ERabIds,
    TimeSpan? ExpiryDeadline)
{
    /// <summary>No associateId filter, or one that names the UE (by address, or a GTP TEID of one of its bearers).</summary>
    public bool MatchesUe(IPAddress? address, IEnumerable<Bearer> bearers) =>
        AssociateIds.Count == 0 || AssociateIds.Any(a => a.Type switch
        {
            MecJson.UeIpv4 or MecJson.UeIpv6 => address is not null && IPAddress.TryParse(a.Value, out var ip) && ip.Equals(address),
            MecJson.GtpTeid => ParseTeid(a.Value) is { } teid && bearers.Any(b => b.Uplink.Teid == teid || b.Downlink.Teid == teid),
            _ => false,
        });

    /// <summary>No ecgi filter, or one naming one of these cells.</summary>
    public bool MatchesCell(params Ecgi?[] cells) => Cells.Count == 0 || cells.Any(c => c is not null && Cells.Contains(c));

    private static uint? ParseTeid(string s) =>
        s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? uint.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h) ? h : null
        : uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : null;
}

/// <summary>
/// Reads subscription requests as the specifications define them (the bare data type; the official MEC 021 file's
/// wrapper object {"MobilityProcedureSubscription": {...}} is accepted too) and keeps the representation that GET
/// returns: the request with the filter defaults the specifications prescribe and the self link.
/// </summary>
internal static class MecSubscriptions
{
    private static readonly string[] _amsFields = ["subscriptionType", "callbackReference", "requestTestNotification", "websockNotifConfig", "_links", "filterCriteria", "expiryDeadline"];

    /// <summary>
    /// The normalised representation of a subscription request for <paramref name="api"/>, or the reason it is refused
    /// (the body is not echoed: it may hold a callback with credentials).
    /// </summary>
    public static JsonObject? Read(MecApi api, JsonNode? body, out MecType? type, out string? problem)
    {
        type = null;
        if (body is JsonObject wrapper && wrapper.Count == 1 && MecType.Find(wrapper.First().Key) is { } wrapped && wrapper.First().Value is JsonObject inner)
        {
            body = inner;
            _ = wrapped;
        }

        if (body is not JsonObject o)
        {
            problem = "the body must be a JSON object (a subscription data type)";
            return null;
        }

        o = (JsonObject)o.DeepClone();
        var name = o["subscriptionType"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        type = MecType.Find(name);
        if (type is null || type.Api != api)
        {
            var offered = string.Join(", ", MecType.All.Where(t => t.Api == api).Select(t => t.Name));
            problem = api == MecApi.Rni && MecType.RniUnsupported.Contains(name)
                ? $"subscriptionType '{name}' is not offered: this MC has no source for it (offered: {offered})"
                : $"subscriptionType must be one of {offered} (was '{MecJson.Clip(name)}')";
            return null;
        }

        string[] allowed = api == MecApi.Amsi ? _amsFields
            : ["subscriptionType", "callbackReference", "_links", "expiryDeadline", type.FilterKey, .. type.Name == MecType.S1Bearer ? ["eventType"] : Array.Empty<string>()];
        if (o.Select(p => p.Key).FirstOrDefault(k => !allowed.Contains(k)) is { } unknown)
        {
            problem = $"{type.Name} has no field '{MecJson.Clip(unknown)}' (fields: {string.Join(", ", allowed)})";
            return null;
        }

        o.Remove("_links");
        if (o["requestTestNotification"] is { } test && test.GetValueKind() is not JsonValueKind.True and not JsonValueKind.False)
        {
            problem = "requestTestNotification must be a boolean";
            return null;
        }

        if (o["websockNotifConfig"] is { } ws)
        {
            if (ws is not JsonObject wo || wo.Any(p => p.Key is not "websocketUri" and not "requestWebsocketUri")
                || (wo["requestWebsocketUri"] is { } r && r.GetValueKind() is not JsonValueKind.True and not JsonValueKind.False))
            {
                problem = "websockNotifConfig must be {requestWebsocketUri: boolean}";
                return null;
            }
        }

        var wantsWebsocket = o["websockNotifConfig"]?["requestWebsocketUri"]?.GetValueKind() == JsonValueKind.True;
        if (o["callbackReference"] is null && !wantsWebsocket)
        {
            problem = api == MecApi.Amsi ? "callbackReference or websockNotifConfig.requestWebsocketUri is required" : "callbackReference is required";
            return null;
        }

        if (o["callbackReference"] is { } cb && (cb is not JsonValue cv || !cv.TryGetValue<string>(out _)))
        {
            problem = "callbackReference must be a string (URI)";
            return null;
        }

        if (o["expiryDeadline"] is { } deadline && MecJson.ReadTimeStamp(deadline, out var why) is null)
        {
            problem = $"expiryDeadline {why}";
            return null;
        }

        if (o[type.FilterKey] is not JsonObject filter)
        {
            problem = $"{type.FilterKey} is required and must be an object";
            return null;
        }

        problem = type.Name switch
        {
            MecType.MobilityProcedure => Check(filter, "filterCriteria", ["appInstanceId", "associateId", "mobilityStatus"], statuses: ("mobilityStatus", 1, 3)),
            MecType.AdjacentAppInfo => Check(filter, "filterCriteria", ["appInstanceId"]),
            MecType.CellChange => Check(filter, "filterCriteriaAssocHo", ["appInstanceId", "associateId", "ecgi", "hoStatus"], statuses: ("hoStatus", 1, 5)),
            MecType.RabEst => Check(filter, "filterCriteriaQci", ["appInstanceId", "ecgi", "qci"], required: ["qci"]),
            MecType.RabRel => Check(filter, "filterCriteriaQci", ["appInstanceId", "ecgi", "erabId", "qci"], required: ["erabId", "qci"]),
            _ => Check(filter, "S1BearerSubscriptionCriteria", ["associateId", "ecgi", "erabId"]),
        };
        if (problem is not null)
        {
            return null;
        }

        // Defaults the specifications prescribe, "included in the response": mobilityStatus 1 (MEC 021), hoStatus 3 (MEC 012).
        if (type.Name == MecType.MobilityProcedure && filter["mobilityStatus"] is null)
        {
            filter["mobilityStatus"] = new JsonArray(1);
        }

        if (type.Name == MecType.CellChange && filter["hoStatus"] is null)
        {
            filter["hoStatus"] = new JsonArray(3);
        }

        if (type.Name == MecType.S1Bearer)
        {
            if (o["eventType"] is not JsonArray events || events.Count == 0 || events.Any(e => !MecJson.TryInt(e, out var n) || n is < 1 or > 3))
            {
                problem = "eventType must list one or more of 1 = S1_BEARER_ESTABLISH, 2 = S1_BEARER_MODIFY, 3 = S1_BEARER_RELEASE";
                return null;
            }
        }

        return o;
    }

    /// <summary>Checks a filter object: known fields, integer fields, AssociateId and Ecgi lists, status ranges.</summary>
    private static string? Check(JsonObject filter, string name, string[] fields, (string Field, int Min, int Max)? statuses = null, string[]? required = null)
    {
        foreach (var (key, value) in filter)
        {
            if (!fields.Contains(key))
            {
                return $"{name} has no field '{MecJson.Clip(key)}' (fields: {string.Join(", ", fields)})";
            }

            switch (key)
            {
                case "appInstanceId" when value is not JsonValue av || !av.TryGetValue<string>(out _):
                    return $"{name}.appInstanceId must be a string";
                case "associateId":
                    if (value is not JsonArray ids)
                    {
                        return $"{name}.associateId must be an array of AssociateId";
                    }

                    foreach (var id in ids)
                    {
                        if (id is not JsonObject a || !MecJson.TryInt(a["type"], out var t) || t is < 1 or > 4 || a["value"] is not JsonValue idv || !idv.TryGetValue<string>(out _)
                            || a.Count != 2)
                        {
                            return $"{name}.associateId items must be {{type: 1..4 (UE_IPv4_ADDRESS, UE_IPV6_ADDRESS, NATED_IP_ADDRESS, GTP_TEID), value: string}}";
                        }
                    }

                    break;
                case "ecgi":
                    if (value is not JsonArray cells)
                    {
                        return $"{name}.ecgi must be an array of Ecgi";
                    }

                    foreach (var cell in cells)
                    {
                        if (MecJson.ReadEcgi(cell, out var why) is null)
                        {
                            return $"{name}.ecgi item {why}";
                        }
                    }

                    break;
                case "qci" when !MecJson.TryInt(value, out var qci) || qci is < 0 or > 255:
                    return $"{name}.qci must be an integer 0..255";
                case "erabId" when name == "S1BearerSubscriptionCriteria":
                    if (value is not JsonArray erabs || erabs.Any(e => !MecJson.TryInt(e, out var n) || n is < 0 or > 15))
                    {
                        return $"{name}.erabId must be an array of E-RAB ids 0..15";
                    }

                    break;
                case "erabId" when !MecJson.TryInt(value, out var erab) || erab is < 0 or > 15:
                    return $"{name}.erabId must be an E-RAB id 0..15";
            }
        }

        if (statuses is { } st && filter[st.Field] is { } list
            && (list is not JsonArray values || values.Any(e => !MecJson.TryInt(e, out var n) || n < st.Min || n > st.Max)))
        {
            return $"{name}.{st.Field} must be an array of integers {st.Min}..{st.Max}";
        }

        foreach (var field in required ?? [])
        {
            if (filter[field] is null)
            {
                return $"{name}.{field} is required";
            }
        }

        return null;
    }

    /// <summary>The filter of a stored representation (validated when it was stored).</summary>
    public static MecFilter Filter(MecType type, JsonObject representation)
    {
        var f = representation[type.FilterKey] as JsonObject ?? [];
        var ids = (f["associateId"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(a => (Type: a["type"]!.GetValue<long>(), Value: a["value"]!.GetValue<string>())).ToList();
        var cells = (f["ecgi"] as JsonArray ?? []).Select(c => MecJson.ReadEcgi(c, out _)).OfType<Ecgi>().ToList();
        var statuses = type.Name switch
        {
            MecType.MobilityProcedure => Longs(f["mobilityStatus"]),
            MecType.CellChange => Longs(f["hoStatus"]),
            MecType.S1Bearer => Longs(representation["eventType"]),
            _ => [],
        };
        long? qci = MecJson.TryInt(f["qci"], out var q) ? q : null;
        long? erab = f["erabId"] is JsonValue && MecJson.TryInt(f["erabId"], out var e) ? e : null;
        var erabs = f["erabId"] is JsonArray ? Longs(f["erabId"]) : [];
        var app = f["appInstanceId"] is JsonValue av && av.TryGetValue<string>(out var a2) ? a2 : null;
        var deadline = representation["expiryDeadline"] is { } d ? MecJson.ReadTimeStamp(d, out _) : null;
        return new MecFilter(ids, cells, statuses, app, qci, erab, erabs, deadline);
    }

    private static List<long> Longs(JsonNode? node) => [.. (node as JsonArray ?? []).Select(n => MecJson.TryInt(n, out var v) ? v : -1)];
}
