using System.Collections.Concurrent;
using System.Text.Json;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.S1ap;

/// <summary>One protocol message as tshark dissected it: its raw bytes and every field (name, value) in tree order.</summary>
public sealed record TsharkMessage(string Capture, int Frame, byte[] Bytes, IReadOnlyList<KeyValuePair<string, string>> Fields)
{
    public IEnumerable<string> Values(string field) =>
        Fields.Where(f => f.Key == field).Select(f => f.Value);

    public IEnumerable<string> ValuesOf(IReadOnlySet<string> fields) =>
        Fields.Where(f => fields.Contains(f.Key)).Select(f => f.Value);

    public override string ToString() => $"{Capture} frame {Frame}";
}

/// <summary>
/// Runs tshark once per capture and protocol (cached for the whole test run) and returns every message's
/// bytes (from `-x` `proto_raw`) with tshark's own field values: the oracle our decoders are checked against.
/// </summary>
public static class TsharkCorpus
{
    private static readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<TsharkMessage>>> _cache = new();

    /// <summary>All messages of <paramref name="protocol"/> (tshark layer name: s1ap, gtpv2, gtp) in every shared capture.</summary>
    public static IReadOnlyList<TsharkMessage> All(string protocol) =>
        TestData.AllCaptures().AsParallel().AsOrdered().WithDegreeOfParallelism(2)
            .SelectMany(c => For(c, protocol)).ToList();

    /// <summary>Messages of <paramref name="protocol"/> in frames matching <paramref name="displayFilter"/> (default: the protocol name).</summary>
    public static IReadOnlyList<TsharkMessage> For(string capture, string protocol, string? displayFilter = null) =>
        _cache.GetOrAdd(capture + "|" + protocol + "|" + displayFilter, _ => new Lazy<IReadOnlyList<TsharkMessage>>(() => Load(capture, protocol, displayFilter ?? protocol))).Value;

    private static IReadOnlyList<TsharkMessage> Load(string capture, string protocol, string displayFilter)
    {
        var tshark = ExternalTool.Require("tshark", "tshark");
        var result = ExternalTool.RunAsync(
            tshark,
            ["-r", capture, "-Y", displayFilter, "-T", "json", "-x", "-J", protocol == "gtp" ? "frame udp gtp" : $"frame {protocol}"],
            TimeSpan.FromMinutes(3)).GetAwaiter().GetResult();
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"tshark failed on {capture}: {result.StdErr}");
        }

        var name = Path.GetFileName(capture);
        var messages = new List<TsharkMessage>();
        using var doc = JsonDocument.Parse(result.StdOut);
        foreach (var packet in doc.RootElement.EnumerateArray())
        {
            var layers = packet.GetProperty("_source").GetProperty("layers");
            var frame = int.Parse(layers.GetProperty("frame").GetProperty("frame.number").GetString()!);
            byte[]? bytes = null;
            byte[]? udpPayload = null;
            foreach (var layer in layers.EnumerateObject())
            {
                if (layer.Name == "udp" && layer.Value.TryGetProperty("udp.payload_raw", out var up))
                {
                    udpPayload = Convert.FromHexString(RawHex(up));
                }
                else if (layer.Name == protocol + "_raw" && protocol == "gtp")
                {
                    // gtp_raw covers the GTP-U header only: the message is the whole UDP payload.
                    bytes = udpPayload;
                }
                else if (layer.Name == protocol + "_raw")
                {
                    bytes = Convert.FromHexString(RawHex(layer.Value));
                }
                else if (layer.Name == protocol && bytes is not null)
                {
                    var fields = new List<KeyValuePair<string, string>>();
                    Walk(layer.Value, fields);
                    messages.Add(new TsharkMessage(name, frame, bytes, fields));
                    bytes = null;
                }
            }
        }

        return messages;
    }

    private static string RawHex(JsonElement raw) =>
        raw.ValueKind == JsonValueKind.Array ? raw[0].GetString()! : raw.GetString()!;

    private static void Walk(JsonElement e, List<KeyValuePair<string, string>> into)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var p in e.EnumerateObject())
        {
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.String:
                    into.Add(new(p.Name, p.Value.GetString()!));
                    break;
                case JsonValueKind.Object:
                    into.Add(new(p.Name, string.Empty));
                    Walk(p.Value, into);
                    break;
                case JsonValueKind.Array when p.Name.EndsWith("_raw", StringComparison.Ordinal):
                    if (p.Value.GetArrayLength() > 0 && p.Value[0].ValueKind == JsonValueKind.String)
                    {
                        into.Add(new(p.Name, p.Value[0].GetString()!));
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in p.Value.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.String)
                        {
                            into.Add(new(p.Name, item.GetString()!));
                        }
                        else
                        {
                            Walk(item, into);
                        }
                    }

                    break;
            }
        }
    }
}
