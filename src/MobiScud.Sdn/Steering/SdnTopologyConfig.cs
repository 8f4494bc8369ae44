using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using MobiScud.Control.Model;

namespace MobiScud.Sdn.Steering;

/// <summary>
/// Loads the site -> switch wiring from JSON:
/// <code>
/// { "sites": [ { "site": "site-a", "datapathId": "0xa1", "endpoint": "10.77.0.254", "endpointMac": "02:00:00:00:00:fe",
///                "tunnelPort": 10, "pvmPort": 3,
///                "enbs": [ { "address": "10.77.0.1", "mac": "02:00:00:00:00:01", "port": 1 } ],
///                "sgws": [ { "address": "10.77.0.2", "mac": "02:00:00:00:00:02", "port": 2 } ],
///                "interSitePorts": { "site-b": 5 }, "tunnelMark": 1 } ] }
/// </code>
/// "tunnelMark" is optional (see <see cref="SiteTopology.TunnelMark"/>). Errors name the file, the site and the field.
/// </summary>
public static class SdnTopologyConfig
{
    public static SdnTopology Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path), path);
        }
        catch (FileNotFoundException)
        {
            throw new InvalidOperationException($"SDN topology file not found: {path}");
        }
    }

    public static SdnTopology Parse(string json, string source = "<inline>")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{source}: not valid JSON at line {e.LineNumber + 1}: {e.Message}");
        }

        using (doc)
        {
            if (!doc.RootElement.TryGetProperty("sites", out var sites) || sites.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidOperationException($"{source}: missing \"sites\" array");
            }

            var list = new List<SiteTopology>();
            var index = 0;
            foreach (var s in sites.EnumerateArray())
            {
                var where = $"{source}: sites[{index++}]";
                var site = Str(s, "site", where);
                where += $" ({site})";
                list.Add(new SiteTopology(
                    new SiteId(site),
                    Dpid(Str(s, "datapathId", where), where),
                    Ip(Str(s, "endpoint", where), where, "endpoint"),
                    Mac(Str(s, "endpointMac", where), where, "endpointMac"),
                    Port(s, "tunnelPort", where),
                    Port(s, "pvmPort", where),
                    Peers(s, "enbs", where),
                    Peers(s, "sgws", where),
                    InterSite(s, where),
                    Mark(s, where)));
            }

            try
            {
                return new SdnTopology(list);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException($"{source}: {e.Message}", e);
            }
        }
    }

    private static string Str(JsonElement e, string name, string where) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
            ? s
            : throw new InvalidOperationException($"{where}: \"{name}\" must be a non-empty string");

    private static uint Port(JsonElement e, string name, string where) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetUInt32(out var p)
            ? p
            : throw new InvalidOperationException($"{where}: \"{name}\" must be an OpenFlow port number");

    private static uint? Mark(JsonElement e, string where)
    {
        if (!e.TryGetProperty("tunnelMark", out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.Number && v.TryGetUInt32(out var m) && m != 0
            ? m
            : throw new InvalidOperationException($"{where}: \"tunnelMark\" must be a non-zero 32-bit packet mark (or absent)");
    }

    private static ulong Dpid(string s, string where)
    {
        var hex = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s;
        return ulong.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var d)
            ? d
            : throw new InvalidOperationException($"{where}: datapathId '{s}' is not a hex number");
    }

    private static IPAddress Ip(string s, string where, string field) =>
        IPAddress.TryParse(s, out var a) ? a : throw new InvalidOperationException($"{where}: {field} '{s}' is not an IP address");

    private static PhysicalAddress Mac(string s, string where, string field)
    {
        try
        {
            var mac = PhysicalAddress.Parse(s.Replace(':', '-'));
            return mac.GetAddressBytes().Length == 6 ? mac : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{where}: {field} '{s}' is not a MAC address");
        }
    }

    private static List<GtpPeer> Peers(JsonElement e, string name, string where)
    {
        var list = new List<GtpPeer>();
        if (!e.TryGetProperty(name, out var arr))
        {
            return list;
        }

        if (arr.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidOperationException($"{where}: \"{name}\" must be an array");
        }

        var i = 0;
        foreach (var p in arr.EnumerateArray())
        {
            var w = $"{where}.{name}[{i++}]";
            list.Add(new GtpPeer(Ip(Str(p, "address", w), w, "address"), Mac(Str(p, "mac", w), w, "mac"), Port(p, "port", w)));
        }

        return list;
    }

    private static Dictionary<SiteId, uint> InterSite(JsonElement e, string where)
    {
        var map = new Dictionary<SiteId, uint>();
        if (!e.TryGetProperty("interSitePorts", out var obj))
        {
            return map;
        }

        if (obj.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidOperationException($"{where}: \"interSitePorts\" must be an object of site -> port");
        }

        foreach (var p in obj.EnumerateObject())
        {
            map[new SiteId(p.Name)] = p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetUInt32(out var port)
                ? port
                : throw new InvalidOperationException($"{where}: interSitePorts.{p.Name} must be a port number");
        }

        return map;
    }
}
