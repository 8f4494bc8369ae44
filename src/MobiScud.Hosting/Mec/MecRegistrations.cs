using System.Net;
using System.Text.Json.Nodes;
using MobiScud.Hosting.Grains;

namespace MobiScud.Hosting.Mec;

/// <summary>
/// MEC 021 application mobility service registrations (RegistrationInfo): the application instance (or MEC platform)
/// that registers, and the devices it serves (deviceInformation with each device's associateId). A mobility
/// subscription whose filterCriteria.appInstanceId names a registered instance hears about the devices it registered.
/// </summary>
internal static class MecRegistrations
{
    private static readonly string[] _fields = ["appMobilityServiceId", "serviceConsumerId", "deviceInformation", "expiryTime"];

    /// <summary>The normalised RegistrationInfo, or why it is refused. <paramref name="id"/> is the resource's id (absent in a POST body).</summary>
    public static JsonObject? Read(JsonNode? body, string id, bool create, out uint expiryTime, out string? problem)
    {
        expiryTime = 0;
        if (body is JsonObject wrapper && wrapper.Count == 1 && wrapper["RegistrationInfo"] is JsonObject inner)
        {
            // The official MEC 021 file wraps the body in {"RegistrationInfo": ...}; the specification's text does not.
            body = inner;
        }

        if (body is not JsonObject o)
        {
            problem = "the body must be a RegistrationInfo object";
            return null;
        }

        o = (JsonObject)o.DeepClone();
        if (o.Select(p => p.Key).FirstOrDefault(k => !_fields.Contains(k)) is { } unknown)
        {
            problem = $"RegistrationInfo has no field '{MecJson.Clip(unknown)}' (fields: {string.Join(", ", _fields)})";
            return null;
        }

        if (o["appMobilityServiceId"] is { } given)
        {
            if (create)
            {
                problem = "appMobilityServiceId must be absent in a POST: the service assigns it";
                return null;
            }

            if (given is not JsonValue gv || !gv.TryGetValue<string>(out var s) || s != id)
            {
                problem = $"appMobilityServiceId must be '{MecJson.Clip(id)}', the resource's id";
                return null;
            }
        }

        if (o["serviceConsumerId"] is not JsonObject consumer || consumer.Count == 0
            || consumer.Any(p => p.Key is not "appInstanceId" and not "mepId" || p.Value is not JsonValue v || !v.TryGetValue<string>(out _)))
        {
            problem = "serviceConsumerId is required: {appInstanceId} or {mepId} (strings)";
            return null;
        }

        if (o["deviceInformation"] is { } devices)
        {
            if (devices is not JsonArray list)
            {
                problem = "deviceInformation must be an array of DeviceInformation";
                return null;
            }

            foreach (var device in list)
            {
                if (Device(device) is { } why)
                {
                    problem = $"deviceInformation item {why}";
                    return null;
                }
            }
        }

        if (o["expiryTime"] is { } expiry)
        {
            if (!MecJson.TryInt(expiry, out var seconds) || seconds is < 0 or > uint.MaxValue)
            {
                problem = "expiryTime must be a number of seconds (0: never)";
                return null;
            }

            expiryTime = (uint)seconds;
        }

        o["appMobilityServiceId"] = id;
        problem = null;
        return o;
    }

    private static string? Device(JsonNode? node)
    {
        if (node is not JsonObject d || d.Any(p => p.Key is not "associateId" and not "appMobilityServiceLevel" and not "contextTransferState"))
        {
            return "must be {associateId, appMobilityServiceLevel, contextTransferState}";
        }

        if (d["associateId"] is not JsonObject a || a.Count != 2 || !MecJson.TryInt(a["type"], out var t) || t is < 1 or > 4 || a["value"] is not JsonValue v || !v.TryGetValue<string>(out _))
        {
            return "needs associateId {type: 1..4, value: string}";
        }

        if (d["appMobilityServiceLevel"] is { } level
            && (level is not JsonObject l || l.Count != 1 || !MecJson.TryInt(l["appMobilityServiceLevel"], out var n) || n is < 1 or > 3))
        {
            return "has an appMobilityServiceLevel that is not {appMobilityServiceLevel: 1..3}";
        }

        if (d["contextTransferState"] is { } state && (!MecJson.TryInt(state, out var c) || c is < 0 or > 1))
        {
            return "has a contextTransferState that is not 0 (NOT_TRANSFERRED) or 1 (USER_CONTEXT_TRANSFER_COMPLETED)";
        }

        return null;
    }

    /// <summary>Whether a registration by application instance <paramref name="app"/> lists the UE's address among its devices.</summary>
    public static bool Serves(IEnumerable<MecRegistration> registrations, string app, IPAddress? ue) => Registrants(registrations, ue).Contains(app);

    /// <summary>The first application instance (by registration id) that registered the UE's address among its devices.</summary>
    public static string? Registrant(IEnumerable<MecRegistration> registrations, IPAddress? ue) =>
        Registrants(registrations.OrderBy(r => r.Id, StringComparer.Ordinal), ue).FirstOrDefault();

    private static IEnumerable<string> Registrants(IEnumerable<MecRegistration> registrations, IPAddress? ue)
    {
        if (ue is null)
        {
            yield break;
        }

        foreach (var r in registrations)
        {
            if (JsonNode.Parse(r.Representation) is not JsonObject o || o["serviceConsumerId"]?["appInstanceId"]?.GetValue<string>() is not { } app)
            {
                continue;
            }

            foreach (var device in o["deviceInformation"] as JsonArray ?? [])
            {
                var a = device?["associateId"];
                if (MecJson.TryInt(a?["type"], out var t) && t is MecJson.UeIpv4 or MecJson.UeIpv6
                    && IPAddress.TryParse(a?["value"]?.GetValue<string>(), out var ip) && ip.Equals(ue))
                {
                    yield return app;
                    break;
                }
            }
        }
    }
}
