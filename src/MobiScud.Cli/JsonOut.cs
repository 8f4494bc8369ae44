using System.Text.Json;

namespace MobiScud.Cli;

/// <summary>
/// What the replay's JSON writers (<see cref="ReplayJson"/>, <see cref="ReplayJsonFast{TOut}"/>) write through:
/// <see cref="Utf8Out"/> (any <see cref="Utf8JsonWriter"/>: the live view, nodes, the tests' reference) or
/// <see cref="IndentedOut"/> (`replay --json`'s own indented writer). The writers are generic over a struct of this,
/// so each output has its own compiled copy with direct calls, which the composite image precompiles.
/// </summary>
internal interface IJsonOut
{
    /// <summary>True when the text is escaped by an encoder other than the default (the cached text would differ).</summary>
    bool CustomEncoder { get; }

    long BytesPending { get; }

    void Flush();

    void WriteStartObject();

    void WriteStartObject(JsonName name);

    void WriteEndObject();

    void WriteStartArray();

    void WriteStartArray(JsonName name);

    void WriteEndArray();

    void WritePropertyName(JsonName name);

    void WriteString(JsonName name, JsonEncodedText value);

    void WriteString(JsonName name, string value);

    void WriteString(JsonName name, ReadOnlySpan<byte> utf8Value);

    void WriteNull(JsonName name);

    void WriteBoolean(JsonName name, bool value);

    void WriteNumber(JsonName name, long value);

    void WriteNumber(JsonName name, ulong value);

    void WriteNumber(JsonName name, double value);

    void WriteNumber(JsonName name, decimal value);

    void WriteNullValue();

    void WriteStringValue(JsonEncodedText value);

    void WriteStringValue(string value);

    void WriteStringValue(ReadOnlySpan<byte> utf8Value);

    /// <summary>A value through the serializer (the types with no hand-written form).</summary>
    void WriteSerialized(object value, JsonSerializerOptions options);
}

/// <summary>A property name: its encoded text, and for <see cref="IndentedJsonWriter"/> the bytes before its value at each depth.</summary>
internal sealed class JsonName(string name)
{
    // Depths of the replay document (entries at 5, bearers' endpoints at 10); a deeper property builds its bytes each time.
    private const int CachedDepths = 16;

    private readonly byte[]?[] _prefixes = new byte[]?[CachedDepths];

    public JsonEncodedText Text { get; } = JsonEncodedText.Encode(name);

    /// <summary>
    /// ",", the new line, the indentation of <paramref name="depth"/> and `"name": `: what an indented writer puts before
    /// a property's value (without the comma for a container's first property). Built on first use; threads that race
    /// build equal arrays.
    /// </summary>
    public byte[] Prefix(int depth)
    {
        if ((uint)depth < CachedDepths && _prefixes[depth] is { } cached)
        {
            return cached;
        }

        var text = Text.EncodedUtf8Bytes;
        var newLine = IndentedJsonWriter.NewLine;
        var prefix = new byte[1 + newLine.Length + (depth * IndentedJsonWriter.IndentSize) + text.Length + 4];
        prefix[0] = (byte)',';
        newLine.CopyTo(prefix.AsSpan(1));
        var at = 1 + newLine.Length;
        prefix.AsSpan(at, depth * IndentedJsonWriter.IndentSize).Fill((byte)' ');
        at += depth * IndentedJsonWriter.IndentSize;
        prefix[at++] = (byte)'"';
        text.CopyTo(prefix.AsSpan(at));
        at += text.Length;
        "\": "u8.CopyTo(prefix.AsSpan(at));
        if ((uint)depth < CachedDepths)
        {
            _prefixes[depth] = prefix;
        }

        return prefix;
    }
}

/// <summary>Any <see cref="Utf8JsonWriter"/>: each call is the writer's own.</summary>
internal readonly struct Utf8Out(Utf8JsonWriter writer) : IJsonOut
{
    public bool CustomEncoder => writer.Options.Encoder is not null;

    public long BytesPending => writer.BytesPending;

    public void Flush() => writer.Flush();

    public void WriteStartObject() => writer.WriteStartObject();

    public void WriteStartObject(JsonName name) => writer.WriteStartObject(name.Text);

    public void WriteEndObject() => writer.WriteEndObject();

    public void WriteStartArray() => writer.WriteStartArray();

    public void WriteStartArray(JsonName name) => writer.WriteStartArray(name.Text);

    public void WriteEndArray() => writer.WriteEndArray();

    public void WritePropertyName(JsonName name) => writer.WritePropertyName(name.Text);

    public void WriteString(JsonName name, JsonEncodedText value) => writer.WriteString(name.Text, value);

    public void WriteString(JsonName name, string value) => writer.WriteString(name.Text, value);

    public void WriteString(JsonName name, ReadOnlySpan<byte> utf8Value) => writer.WriteString(name.Text, utf8Value);

    public void WriteNull(JsonName name) => writer.WriteNull(name.Text);

    public void WriteBoolean(JsonName name, bool value) => writer.WriteBoolean(name.Text, value);

    public void WriteNumber(JsonName name, long value) => writer.WriteNumber(name.Text, value);

    public void WriteNumber(JsonName name, ulong value) => writer.WriteNumber(name.Text, value);

    public void WriteNumber(JsonName name, double value) => writer.WriteNumber(name.Text, value);

    public void WriteNumber(JsonName name, decimal value) => writer.WriteNumber(name.Text, value);

    public void WriteNullValue() => writer.WriteNullValue();

    public void WriteStringValue(JsonEncodedText value) => writer.WriteStringValue(value);

    public void WriteStringValue(string value) => writer.WriteStringValue(value);

    public void WriteStringValue(ReadOnlySpan<byte> utf8Value) => writer.WriteStringValue(utf8Value);

    public void WriteSerialized(object value, JsonSerializerOptions options) => JsonSerializer.Serialize(writer, value, value.GetType(), options);
}

/// <summary>`replay --json`'s <see cref="IndentedJsonWriter"/>.</summary>
internal readonly struct IndentedOut(IndentedJsonWriter writer) : IJsonOut
{
    public bool CustomEncoder => false;

    public long BytesPending => writer.BytesPending;

    public void Flush() => writer.Flush();

    public void WriteStartObject() => writer.WriteStartObject();

    public void WriteStartObject(JsonName name) => writer.WriteStartObject(name);

    public void WriteEndObject() => writer.WriteEndObject();

    public void WriteStartArray() => writer.WriteStartArray();

    public void WriteStartArray(JsonName name) => writer.WriteStartArray(name);

    public void WriteEndArray() => writer.WriteEndArray();

    public void WritePropertyName(JsonName name) => writer.WritePropertyName(name);

    public void WriteString(JsonName name, JsonEncodedText value) => writer.WriteString(name, value);

    public void WriteString(JsonName name, string value) => writer.WriteString(name, value);

    public void WriteString(JsonName name, ReadOnlySpan<byte> utf8Value) => writer.WriteString(name, utf8Value);

    public void WriteNull(JsonName name) => writer.WriteNull(name);

    public void WriteBoolean(JsonName name, bool value) => writer.WriteBoolean(name, value);

    public void WriteNumber(JsonName name, long value) => writer.WriteNumber(name, value);

    public void WriteNumber(JsonName name, ulong value) => writer.WriteNumber(name, value);

    public void WriteNumber(JsonName name, double value) => writer.WriteNumber(name, value);

    public void WriteNumber(JsonName name, decimal value) => writer.WriteNumber(name, value);

    public void WriteNullValue() => writer.WriteNullValue();

    public void WriteStringValue(JsonEncodedText value) => writer.WriteStringValue(value);

    public void WriteStringValue(string value) => writer.WriteStringValue(value);

    public void WriteStringValue(ReadOnlySpan<byte> utf8Value) => writer.WriteStringValue(utf8Value);

    public void WriteSerialized(object value, JsonSerializerOptions options) => writer.WriteSerialized(value, options);
}
