using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using MobiScud.Control.Model;

namespace MobiScud.Hosting.Mec;

/// <summary>
/// The JSON shapes shared by ETSI GS MEC 021 (AMS) and MEC 012 (RNIS), as their OpenAPI files define them: TimeStamp,
/// AssociateId (integer type), Ecgi (28-bit cell id, PLMN), NRcgi (36-bit NR cell id, PLMN), links, ProblemDetails.
/// </summary>
internal static class MecJson
{
    /// <summary>AssociateId.type (MEC 012 Type): 1 = UE_IPv4_ADDRESS, 2 = UE_IPV6_ADDRESS, 3 = NATED_IP_ADDRESS, 4 = GTP_TEID.</summary>
    public const int UeIpv4 = 1;
    public const int UeIpv6 = 2;
    public const int NatedIp = 3;
    public const int GtpTeid = 4;

    public static JsonObject TimeStamp(TimeSpan unixTime) => new()
    {
        ["seconds"] = (long)Math.Floor(unixTime.TotalSeconds),
        ["nanoSeconds"] = (int)(((unixTime.Ticks % TimeSpan.TicksPerSecond) + TimeSpan.TicksPerSecond) % TimeSpan.TicksPerSecond * 100),
    };

    /// <summary>A TimeStamp body as Unix time; null (with the reason) when it is not one.</summary>
    public static TimeSpan? ReadTimeStamp(JsonNode? node, out string? problem)
    {
        problem = null;
        if (node is not JsonObject o || !TryInt(o["seconds"], out var seconds) || !TryInt(o["nanoSeconds"], out var nanos) || seconds < 0 || nanos is < 0 or > 999_999_999)
        {
            problem = "must be a TimeStamp {seconds, nanoSeconds} (Unix time, non-negative integers)";
            return null;
        }

        foreach (var key in o.Select(p => p.Key))
        {
            if (key is not "seconds" and not "nanoSeconds")
            {
                problem = $"has an unknown field '{Clip(key)}'";
                return null;
            }
        }

        return TimeSpan.FromSeconds(seconds) + TimeSpan.FromTicks(nanos / 100);
    }

    public static JsonObject Ecgi(Ecgi cell) => new()
    {
        // BIT STRING (SIZE (28)) as seven hex digits, as the specification's examples write it.
        ["cellId"] = cell.CellId.ToString("X7", CultureInfo.InvariantCulture),
        ["plmn"] = new JsonObject { ["mcc"] = cell.Mcc, ["mnc"] = cell.Mnc },
    };

    /// <summary>MEC 012's NRcgi: the 36-bit NR cell identity as nine hex digits (as Ecgi writes its 28 bits in seven) and the PLMN.</summary>
    public static JsonObject Nrcgi(Ncgi cell) => new()
    {
        ["nrcellId"] = cell.NrCellId.ToString("X9", CultureInfo.InvariantCulture),
        ["plmn"] = new JsonObject { ["mcc"] = cell.Mcc, ["mnc"] = cell.Mnc },
    };

    /// <summary>
    /// The Ecgi a 5G UE's notification must still carry (MEC 012 v2.1.1 requires it and has no NR alternative): the NR
    /// cell's PLMN and an empty cellId, which names no E-UTRA cell; the NR cell travels beside it as an NRcgi.
    /// </summary>
    public static JsonObject NoEutraCell(Ncgi cell) => new()
    {
        ["cellId"] = string.Empty,
        ["plmn"] = new JsonObject { ["mcc"] = cell.Mcc, ["mnc"] = cell.Mnc },
    };

    /// <summary>An Ecgi body; null (with the reason) when it is not one.</summary>
    public static Ecgi? ReadEcgi(JsonNode? node, out string? problem)
    {
        problem = null;
        if (node is not JsonObject o || o["cellId"] is not JsonValue id || !id.TryGetValue<string>(out var cellText) || o["plmn"] is not JsonObject plmn
            || plmn["mcc"]?.GetValueKind() != System.Text.Json.JsonValueKind.String || plmn["mnc"]?.GetValueKind() != System.Text.Json.JsonValueKind.String)
        {
            problem = "must be an Ecgi {cellId, plmn {mcc, mnc}}";
            return null;
        }

        var mcc = plmn["mcc"]!.GetValue<string>();
        var mnc = plmn["mnc"]!.GetValue<string>();
        if (mcc.Length != 3 || !mcc.All(char.IsAsciiDigit) || mnc.Length is not 2 and not 3 || !mnc.All(char.IsAsciiDigit))
        {
            problem = "has a PLMN that is not 3 MCC digits and 2 or 3 MNC digits";
            return null;
        }

        if (!uint.TryParse(cellText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var cell) || cellText.Length > 7 || cell > 0x0FFF_FFFF)
        {
            problem = $"has a cellId '{Clip(cellText)}' that is not a 28-bit cell identity in hex (7 digits)";
            return null;
        }

        return new Ecgi(mcc, mnc, cell);
    }

    /// <summary>The AssociateIds that name this UE: its address (IPv4 or IPv6), when known.</summary>
    public static JsonArray AssociateIds(IPAddress? address)
    {
        var ids = new JsonArray();
        if (address is not null)
        {
            ids.Add(new JsonObject { ["type"] = address.AddressFamily == AddressFamily.InterNetworkV6 ? UeIpv6 : UeIpv4, ["value"] = address.ToString() });
        }

        return ids;
    }

    public static string Teid(uint teid) => $"0x{teid:x8}";

    public static JsonObject Link(string href) => new() { ["href"] = href };

    /// <summary>ProblemDetails (application/problem+json), the error body of both specifications.</summary>
    public static Microsoft.AspNetCore.Http.IResult Problem(int status, string title, string detail, string? instance = null)
    {
        var body = new JsonObject { ["type"] = "about:blank", ["title"] = title, ["status"] = status, ["detail"] = detail };
        if (instance is not null)
        {
            body["instance"] = instance;
        }

        return Microsoft.AspNetCore.Http.Results.Json(body, contentType: "application/problem+json", statusCode: status);
    }

    /// <summary>A representation without its _links (which hold the resource's own id): what two equal requests share.</summary>
    public static string WithoutLinks(string representation)
    {
        if (JsonNode.Parse(representation) is JsonObject o)
        {
            o.Remove("_links");
            return o.ToJsonString();
        }

        return representation;
    }

    public static bool TryInt(JsonNode? node, out long value)
    {
        value = 0;
        return node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && v.TryGetValue(out value);
    }

    public static string Clip(string? value) => Api.ApiEndpoints.Clip(value);
}
