using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobiScud.Hosting.Config;

/// <summary>An <see cref="IPAddress"/> as its text form, for serve's JSON and the CLI's replay JSON (one converter for both).</summary>
public sealed class IpAddressJsonConverter : JsonConverter<IPAddress>
{
    public override IPAddress? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var s = reader.GetString();
        return s is null ? null : IPAddress.TryParse(s, out var a) ? a : throw new JsonException($"'{s}' is not an IP address");
    }

    public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options)
    {
        // Formatted into a stack buffer: no string per address (replay writes one per event).
        Span<char> text = stackalloc char[64];
        if (value.TryFormat(text, out var written))
        {
            writer.WriteStringValue(text[..written]);
        }
        else
        {
            writer.WriteStringValue(value.ToString());
        }
    }
}
