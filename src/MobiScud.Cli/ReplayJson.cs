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
/// `replay --json` written straight to a stream with one writer (<see cref="IndentedJsonWriter"/>, or any
/// <see cref="Utf8JsonWriter"/>): no node tree per entry and no whole-document string, so a large capture's JSON costs
/// about what its bytes cost. Events and commands are written property by property (<see cref="ReplayJsonFast"/>, or
/// the serializer from their cached <see cref="JsonTypeInfo"/>), with the type name first and the summary last.
/// </summary>
internal static class ReplayJson
{
    private const int FlushBytes = 1 << 16;

    // The names written once per timeline entry, encoded once (a string name is transcoded and checked at every write).
    private static readonly JsonName _ue = new("ue");
    private static readonly JsonName _timeline = new("timeline");
    private static readonly JsonName _at = new("at");
    private static readonly JsonName _frame = new("frame");
    private static readonly JsonName _event = new("event");
    private static readonly JsonName _commands = new("commands");

    private static readonly JsonName _source = new("source");
    private static readonly JsonName _frames = new("frames");
    private static readonly JsonName _s1apMessages = new("s1apMessages");
    private static readonly JsonName _ngapMessages = new("ngapMessages");
    private static readonly JsonName _gtpcPackets = new("gtpcPackets");
    private static readonly JsonName _gtpuPackets = new("gtpuPackets");
    private static readonly JsonName _undecodable = new("undecodable");
    private static readonly JsonName _dropped = new("dropped");
    private static readonly JsonName _layer = new("layer");
    private static readonly JsonName _reason = new("reason");
    private static readonly JsonName _count = new("count");
    private static readonly JsonName _sites = new("sites");
    private static readonly JsonName _ues = new("ues");
    private static readonly JsonName _notes = new("notes");

    /// <summary>The options every CLI JSON output uses: camelCase, enums and ids as strings, IP addresses as text.</summary>
    /// <remarks>Built on first use: `replay --json`'s hand-written path never serializes, so it builds no converter.</remarks>
    public static JsonSerializerOptions Options => Serializer.Options;

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
    /// <remarks>Indented, it goes through <see cref="IndentedJsonWriter"/>: the same bytes as an indented <see cref="Utf8JsonWriter"/>, in less time.</remarks>
    public static void Write(ReplayResult result, TextWriter output, bool indented = true)
    {
        if (output is StreamWriter { BaseStream: { } stream } writer)
        {
            writer.Flush();
            WriteTo(stream, result, indented);
            stream.WriteByte((byte)'\n');
            stream.Flush();
        }
        else
        {
            var buffer = new MemoryStream();
            WriteTo(buffer, result, indented);
            output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }
    }

    public static void Write(Utf8JsonWriter w, ReplayResult result) => Write(new Utf8Out(w), result, serializerOnly: false);

    internal static void Write(Utf8JsonWriter w, ReplayResult result, bool serializerOnly) => Write(new Utf8Out(w), result, serializerOnly);

    private static void WriteTo(Stream stream, ReplayResult result, bool indented)
    {
        if (indented)
        {
            var json = new IndentedJsonWriter(stream);
            Write(new IndentedOut(json), result, serializerOnly: false);
            json.Flush();
        }
        else
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true });
            Write(json, result);
        }
    }

    internal static void Write<TOut>(TOut w, ReplayResult result, bool serializerOnly)
        where TOut : struct, IJsonOut
    {
        var s = result.Statistics;
        w.WriteStartObject();
        w.WriteString(_source, result.Source);
        w.WriteNumber(_frames, s.Frames);
        w.WriteNumber(_s1apMessages, s.S1apMessages);
        w.WriteNumber(_ngapMessages, s.NgapMessages);
        w.WriteNumber(_gtpcPackets, s.GtpcPackets);
        w.WriteNumber(_gtpuPackets, s.GtpuPackets);
        w.WriteNumber(_undecodable, s.Undecodable);
        w.WriteStartArray(_dropped);
        foreach (var (reason, count) in s.Dropped.OrderBy(d => d.Key.Layer).ThenBy(d => d.Key.Reason, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString(_layer, reason.Layer.ToString());
            w.WriteString(_reason, reason.Reason);
            w.WriteNumber(_count, count);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject(_sites);
        foreach (var (enb, site) in result.Sites.OrderBy(k => k.Key.Rat).ThenBy(k => k.Key.Value))
        {
            w.WriteString(new JsonName(JsonKey(enb)), site.Value);
        }

        w.WriteEndObject();
        w.WriteStartArray(_ues);
        WriteUes(w, result, serializerOnly);
        w.WriteEndArray();
        w.WriteStartArray(_notes);
        foreach (var note in result.Notes)
        {
            w.WriteStringValue(note);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The timeline by UE, in order of each UE's first entry.</summary>
    private static void WriteUes<TOut>(TOut w, ReplayResult result, bool serializerOnly)
        where TOut : struct, IJsonOut
    {
        var entries = result.Entries as List<ReplayEntry> ?? [.. result.Entries];
        var grouped = UeOrder.Of(result, entries);
        var all = CollectionsMarshal.AsSpan(entries);
        var order = grouped.Order;
        for (var u = 0; u < grouped.Ues.Length; u++)
        {
            w.WriteStartObject();
            w.WriteString(_ue, grouped.Ues[u].Value);
            w.WriteStartArray(_timeline);
            for (var k = grouped.Starts[u]; k < grouped.Starts[u + 1]; k++)
            {
                EntryPrefetch.Ahead(all, order, k);
                w.WriteStartObject();
                WriteEntryBody(w, all[order[k]], serializerOnly);
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
    }

    /// <summary>One timeline entry: time, frame, the event and the MC's commands, each with its type and summary.</summary>
    public static void WriteEntry(Utf8JsonWriter w, ReplayEntry e)
    {
        w.WriteStartObject();
        WriteEntryBody(new Utf8Out(w), e, serializerOnly: false);
        w.WriteEndObject();
    }

    /// <summary>The entry's properties, for callers that add their own around them (the live view).</summary>
    public static void WriteEntryBody(Utf8JsonWriter w, ReplayEntry e) => WriteEntryBody(new Utf8Out(w), e, serializerOnly: false);

    private static void WriteEntryBody<TOut>(TOut w, ReplayEntry e, bool serializerOnly)
        where TOut : struct, IJsonOut
    {
        if (serializerOnly)
        {
            w.WriteNumber(_at, e.At.TotalSeconds);
        }
        else
        {
            ReplayJsonFast.For<TOut>.Seconds(w, _at, e.At);
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

    /// <param name="serializerOnly">Every event and command through the serializer: the reference the tests hold the
    /// fast path (<see cref="ReplayJsonFast"/>) to.</param>
    internal static void WriteTyped(Utf8JsonWriter w, object value, bool serializerOnly = false) => WriteTyped(new Utf8Out(w), value, serializerOnly);

    private static void WriteTyped<TOut>(TOut w, object value, bool serializerOnly)
        where TOut : struct, IJsonOut
    {
        if (serializerOnly || !ReplayJsonFast.For<TOut>.TryWrite(w, value))
        {
            w.WriteSerialized(value, Options);
        }
    }

    /// <summary>An eNB id as its number (as before gNBs), a gNB id as "gnb-N": the two are distinct nodes.</summary>
    internal static string JsonKey(EnbId id) => id.IsGnb ? id.ToString() : id.Value.ToString(CultureInfo.InvariantCulture);

    private static class Serializer
    {
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
    }

    private sealed class ValueConverter<T>(Func<T, string> format) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(format(value));
    }
}
