using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;

namespace MobiScud.Cli;

/// <summary>
/// `replay --json` written straight to a stream with one <see cref="Utf8JsonWriter"/>: no node tree per entry and no
/// whole-document string, so a large capture's JSON costs about what its bytes cost. Events and commands are written
/// property by property from their cached <see cref="JsonTypeInfo"/>, with the type name first and the summary last.
/// </summary>
internal static class ReplayJson
{
    private const int FlushBytes = 1 << 16;

    // The names written once per timeline entry, encoded once (a string name is transcoded and checked at every write).
    private static readonly JsonEncodedText _ue = JsonEncodedText.Encode("ue");
    private static readonly JsonEncodedText _timeline = JsonEncodedText.Encode("timeline");
    private static readonly JsonEncodedText _at = JsonEncodedText.Encode("at");
    private static readonly JsonEncodedText _frame = JsonEncodedText.Encode("frame");
    private static readonly JsonEncodedText _event = JsonEncodedText.Encode("event");
    private static readonly JsonEncodedText _commands = JsonEncodedText.Encode("commands");

    /// <summary>The options every CLI JSON output uses: camelCase, enums and ids as strings, IP addresses as text.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        Converters =
        {
            new JsonStringEnumConverter(),
            new IpAddressJsonConverter(),
            new ValueConverter<UeId>(v => v.Value),
            new ValueConverter<EnbId>(JsonKey),
            new ValueConverter<SiteId>(v => v.Value),
            new ValueConverter<PvmId>(v => v.Value),
            new ValueConverter<MigrationId>(v => v.ToString()),
        },
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { Tagged<UeEvent>(McText.Describe), Tagged<ControlCommand>(McText.Describe) } },
    };

    /// <summary>
    /// Events and commands are written as their own type, with its name first ("type") and its one-line description
    /// last ("summary"): both added to the type's contract, so each is one serializer call with cached accessors.
    /// </summary>
    private static Action<JsonTypeInfo> Tagged<TBase>(Func<TBase, string> describe) => info =>
    {
        if (info.Kind != JsonTypeInfoKind.Object || !typeof(TBase).IsAssignableFrom(info.Type) || info.Type.IsAbstract)
        {
            return;
        }

        var name = info.Type.Name;
        var type = info.CreateJsonPropertyInfo(typeof(string), "type");
        type.Get = _ => name;
        type.Order = int.MinValue;
        info.Properties.Insert(0, type);
        var summary = info.CreateJsonPropertyInfo(typeof(string), "summary");
        summary.Get = o => describe((TBase)o);
        summary.Order = int.MaxValue;
        info.Properties.Add(summary);
    };

    /// <summary>Writes the whole result; <paramref name="output"/> is flushed first, and its stream used when it has one.</summary>
    public static void Write(ReplayResult result, TextWriter output, bool indented = true)
    {
        if (output is StreamWriter { BaseStream: { } stream } writer)
        {
            writer.Flush();
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, SkipValidation = true });
            Write(json, result);
            json.Flush();
            stream.WriteByte((byte)'\n');
            stream.Flush();
        }
        else
        {
            var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
            {
                Write(json, result);
            }

            output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }
    }

    public static void Write(Utf8JsonWriter w, ReplayResult result) => Write(w, result, serializerOnly: false);

    internal static void Write(Utf8JsonWriter w, ReplayResult result, bool serializerOnly)
    {
        var s = result.Statistics;
        w.WriteStartObject();
        w.WriteString("source", result.Source);
        w.WriteNumber("frames", s.Frames);
        w.WriteNumber("s1apMessages", s.S1apMessages);
        w.WriteNumber("ngapMessages", s.NgapMessages);
        w.WriteNumber("gtpcPackets", s.GtpcPackets);
        w.WriteNumber("gtpuPackets", s.GtpuPackets);
        w.WriteNumber("undecodable", s.Undecodable);
        w.WriteStartArray("dropped");
        foreach (var (reason, count) in s.Dropped.OrderBy(d => d.Key.Layer).ThenBy(d => d.Key.Reason, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("layer", reason.Layer.ToString());
            w.WriteString("reason", reason.Reason);
            w.WriteNumber("count", count);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("sites");
        foreach (var (enb, site) in result.Sites.OrderBy(k => k.Key.Rat).ThenBy(k => k.Key.Value))
        {
            w.WriteString(JsonKey(enb), site.Value);
        }

        w.WriteEndObject();
        w.WriteStartArray("ues");
        foreach (var ue in ByUe(result.Entries))
        {
            w.WriteStartObject();
            w.WriteString(_ue, ue.Ue.Value);
            w.WriteStartArray(_timeline);
            foreach (var e in ue.Entries)
            {
                w.WriteStartObject();
                WriteEntryBody(w, e, serializerOnly);
                w.WriteEndObject();
                if (w.BytesPending > FlushBytes)
                {
                    // In chunks: a large capture's document is never held whole in memory.
                    w.Flush();
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("notes");
        foreach (var note in result.Notes)
        {
            w.WriteStringValue(note);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>One timeline entry: time, frame, the event and the MC's commands, each with its type and summary.</summary>
    public static void WriteEntry(Utf8JsonWriter w, ReplayEntry e)
    {
        w.WriteStartObject();
        WriteEntryBody(w, e);
        w.WriteEndObject();
    }

    /// <summary>The entry's properties, for callers that add their own around them (the live view).</summary>
    public static void WriteEntryBody(Utf8JsonWriter w, ReplayEntry e) => WriteEntryBody(w, e, serializerOnly: false);

    private static void WriteEntryBody(Utf8JsonWriter w, ReplayEntry e, bool serializerOnly)
    {
        if (serializerOnly)
        {
            w.WriteNumber(_at, e.At.TotalSeconds);
        }
        else
        {
            ReplayJsonFast.Seconds(w, _at, e.At);
        }

        w.WriteNumber(_frame, e.Frame);
        w.WritePropertyName(_event);
        WriteTyped(w, e.Event, serializerOnly);
        w.WriteStartArray(_commands);
        // As a span when the list is an array or a List (the MC's are): no interface call per command, and no boxed
        // enumerator, which a foreach over the interface would take.
        var commands = e.Commands;
        var span = commands switch
        {
            ControlCommand[] array => array,
            List<ControlCommand> list => CollectionsMarshal.AsSpan(list),
            _ => default,
        };
        if (span.Length == commands.Count)
        {
            foreach (var command in span)
            {
                WriteTyped(w, command, serializerOnly);
            }
        }
        else
        {
            for (var i = 0; i < commands.Count; i++)
            {
                WriteTyped(w, commands[i], serializerOnly);
            }
        }

        w.WriteEndArray();
    }

    /// <summary>
    /// The entries by UE, the UEs in order of first entry and each UE's entries in order: what GroupBy gives, keyed by
    /// the id's string, whose comparer the framework holds precompiled (GroupBy's over the UeId struct was left to the
    /// JIT in the composite build).
    /// </summary>
    internal static List<UeEntries> ByUe(IReadOnlyList<ReplayEntry> entries)
    {
        var groups = new List<UeEntries>();
        var byId = new Dictionary<string, UeEntries>();
        UeEntries? nullId = null;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var id = e.Event.Ue.Value;
            UeEntries? group;
            if (id is null)
            {
                group = nullId;
            }
            else
            {
                byId.TryGetValue(id, out group);
            }

            if (group is null)
            {
                group = new UeEntries(e.Event.Ue);
                groups.Add(group);
                if (id is null)
                {
                    nullId = group;
                }
                else
                {
                    byId.Add(id, group);
                }
            }

            group.Entries.Add(e);
        }

        return groups;
    }

    /// <summary>One UE's entries, in order.</summary>
    internal sealed class UeEntries(UeId ue)
    {
        public UeId Ue { get; } = ue;

        public List<ReplayEntry> Entries { get; } = [];
    }

    /// <param name="serializerOnly">Every event and command through the serializer: the reference the tests hold the
    /// fast path (<see cref="ReplayJsonFast"/>) to.</param>
    internal static void WriteTyped(Utf8JsonWriter w, object value, bool serializerOnly = false)
    {
        if (serializerOnly || !ReplayJsonFast.TryWrite(w, value))
        {
            JsonSerializer.Serialize(w, value, value.GetType(), Options);
        }
    }

    /// <summary>An eNB id as its number (as before gNBs), a gNB id as "gnb-N": the two are distinct nodes.</summary>
    internal static string JsonKey(EnbId id) => id.IsGnb ? id.ToString() : id.Value.ToString(CultureInfo.InvariantCulture);

    private sealed class ValueConverter<T>(Func<T, string> format) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(format(value));
    }
}
