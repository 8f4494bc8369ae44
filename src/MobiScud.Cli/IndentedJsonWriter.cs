using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace MobiScud.Cli;

/// <summary>
/// `replay --json`'s writer: the bytes an indented <see cref="Utf8JsonWriter"/> with the default encoder writes
/// (SkipValidation: the caller writes a well-formed document with one root value), for the calls the replay makes.
/// A property's comma, new line, indentation and name are one cached copy (<see cref="JsonName.Prefix"/>), where the
/// framework's writer spends a state check, an indentation fill and a name copy per property on the 1.66 M lines of a
/// large capture. Rare values (doubles, text to escape, serializer output) are written by a scratch
/// <see cref="Utf8JsonWriter"/> and copied, so they are its bytes by construction.
/// </summary>
/// <remarks>IndentedJsonWriterTests holds it to <see cref="Utf8JsonWriter"/> on random call sequences.</remarks>
internal sealed class IndentedJsonWriter(Stream stream)
{
    public const int IndentSize = 2;

    // Printable ASCII but the characters the default encoder escapes: text made of these alone is written as it is.
    private const string Plain = " !#$%()*,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~";

    private static readonly byte[] _newLine = Encoding.UTF8.GetBytes(new JsonWriterOptions().NewLine);
    private static readonly byte[] _spaces = CreateSpaces(128);
    private static readonly SearchValues<byte> _plainBytes = SearchValues.Create(Encoding.ASCII.GetBytes(Plain));
    private static readonly SearchValues<char> _plainChars = SearchValues.Create(Plain);

    private byte[] _buffer = new byte[1 << 17];
    private int _pending;
    private int _depth;
    private bool _needComma;
    private bool _afterName;
    private ArrayBufferWriter<byte>? _scratchBuffer;
    private Utf8JsonWriter? _scratch;
    private ArrayBufferWriter<byte>? _serializedBuffer;
    private Utf8JsonWriter? _serialized;

    public static ReadOnlySpan<byte> NewLine => _newLine;

    public long BytesPending => _pending;

    public void Flush()
    {
        stream.Write(_buffer, 0, _pending);
        _pending = 0;
    }

    public void WriteStartObject() => StartValue((byte)'{');

    public void WriteStartArray() => StartValue((byte)'[');

    public void WriteStartObject(JsonName name) => StartProperty(name, (byte)'{');

    public void WriteStartArray(JsonName name) => StartProperty(name, (byte)'[');

    public void WriteEndObject() => End((byte)'}');

    public void WriteEndArray() => End((byte)']');

    public void WritePropertyName(JsonName name)
    {
        Prefix(name, 0);
        _afterName = true;
    }

    public void WriteString(JsonName name, JsonEncodedText value)
    {
        var text = value.EncodedUtf8Bytes;
        Prefix(name, text.Length + 2);
        Quoted(text);
    }

    public void WriteString(JsonName name, ReadOnlySpan<byte> utf8Value)
    {
        if (utf8Value.ContainsAnyExcept(_plainBytes))
        {
            Prefix(name, 0);
            Raw(Escaped(utf8Value));
            return;
        }

        Prefix(name, utf8Value.Length + 2);
        Quoted(utf8Value);
    }

    public void WriteString(JsonName name, string value)
    {
        if (value.AsSpan().ContainsAnyExcept(_plainChars))
        {
            Prefix(name, 0);
            Raw(Escaped(value));
            return;
        }

        Prefix(name, value.Length + 2);
        QuotedAscii(value);
    }

    public void WriteNull(JsonName name)
    {
        Prefix(name, 4);
        Raw("null"u8);
    }

    public void WriteBoolean(JsonName name, bool value)
    {
        Prefix(name, 5);
        Raw(value ? "true"u8 : "false"u8);
    }

    public void WriteNumber(JsonName name, long value)
    {
        Prefix(name, 20);
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_pending), out var written);
        _pending += written;
    }

    public void WriteNumber(JsonName name, ulong value)
    {
        Prefix(name, 20);
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_pending), out var written);
        _pending += written;
    }

    public void WriteNumber(JsonName name, decimal value)
    {
        // What Utf8JsonWriter.WriteNumber(decimal) formats with; 31 bytes: 29 digits, a sign and a point.
        Prefix(name, 31);
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_pending), out var written);
        _pending += written;
    }

    public void WriteNumber(JsonName name, double value)
    {
        var scratch = Scratch();
        scratch.WriteNumberValue(value);
        Prefix(name, 0);
        Raw(Written());
    }

    public void WriteNullValue()
    {
        Value(4);
        Raw("null"u8);
    }

    public void WriteStringValue(JsonEncodedText value)
    {
        var text = value.EncodedUtf8Bytes;
        Value(text.Length + 2);
        Quoted(text);
    }

    public void WriteStringValue(string value)
    {
        if (value.AsSpan().ContainsAnyExcept(_plainChars))
        {
            var escaped = Escaped(value);
            Value(escaped.Length);
            Raw(escaped);
            return;
        }

        Value(value.Length + 2);
        QuotedAscii(value);
    }

    public void WriteStringValue(ReadOnlySpan<byte> utf8Value)
    {
        if (utf8Value.ContainsAnyExcept(_plainBytes))
        {
            var escaped = Escaped(utf8Value);
            Value(escaped.Length);
            Raw(escaped);
            return;
        }

        Value(utf8Value.Length + 2);
        Quoted(utf8Value);
    }

    /// <summary>
    /// The serializer's indented text of <paramref name="value"/>, from a root-level writer, with this depth's
    /// indentation after each of its new lines (its strings hold none: the writer escapes them).
    /// </summary>
    public void WriteSerialized(object value, JsonSerializerOptions options)
    {
        _serializedBuffer ??= new ArrayBufferWriter<byte>(1024);
        _serialized ??= new Utf8JsonWriter(_serializedBuffer, new JsonWriterOptions { Indented = true, SkipValidation = true });
        _serializedBuffer.ResetWrittenCount();
        _serialized.Reset();
        JsonSerializer.Serialize(_serialized, value, value.GetType(), options);
        _serialized.Flush();
        var text = _serializedBuffer.WrittenSpan;
        var indent = _depth * IndentSize;
        Value(text.Length + (text.Count((byte)'\n') * indent));
        while (text.IndexOf((byte)'\n') is var at and >= 0)
        {
            Raw(text[..(at + 1)]);
            Indent(indent);
            text = text[(at + 1)..];
        }

        Raw(text);
    }

    private static byte[] CreateSpaces(int count)
    {
        var spaces = new byte[count];
        spaces.AsSpan().Fill((byte)' ');
        return spaces;
    }

    /// <summary>What comes before a property's value, with room for <paramref name="extra"/> more bytes.</summary>
    private void Prefix(JsonName name, int extra)
    {
        var prefix = name.Prefix(_depth).AsSpan(_needComma ? 0 : 1);
        Ensure(prefix.Length + extra);
        prefix.CopyTo(_buffer.AsSpan(_pending));
        _pending += prefix.Length;
        _needComma = true;
    }

    /// <summary>What comes before a value in an array (or at the root, or after its property's name).</summary>
    private void Value(int extra)
    {
        if (_afterName || _depth == 0)
        {
            _afterName = false;
            Ensure(extra);
        }
        else
        {
            Ensure(1 + _newLine.Length + (_depth * IndentSize) + extra);
            if (_needComma)
            {
                _buffer[_pending++] = (byte)',';
            }

            NewLineAndIndent();
        }

        _needComma = true;
    }

    private void StartValue(byte open)
    {
        Value(1);
        _buffer[_pending++] = open;
        _depth++;
        _needComma = false;
    }

    private void StartProperty(JsonName name, byte open)
    {
        Prefix(name, 1);
        _buffer[_pending++] = open;
        _depth++;
        _needComma = false;
    }

    private void End(byte close)
    {
        _depth--;
        if (_needComma)
        {
            Ensure(1 + _newLine.Length + (_depth * IndentSize));
            NewLineAndIndent();
        }
        else
        {
            Ensure(1);
        }

        _buffer[_pending++] = close;
        _needComma = true;
    }

    private void NewLineAndIndent()
    {
        _newLine.CopyTo(_buffer.AsSpan(_pending));
        _pending += _newLine.Length;
        Indent(_depth * IndentSize);
    }

    private void Indent(int count)
    {
        Ensure(count);
        if (count <= _spaces.Length)
        {
            _spaces.AsSpan(0, count).CopyTo(_buffer.AsSpan(_pending));
        }
        else
        {
            _buffer.AsSpan(_pending, count).Fill((byte)' ');
        }

        _pending += count;
    }

    private void Quoted(ReadOnlySpan<byte> text)
    {
        var to = _buffer.AsSpan(_pending);
        to[0] = (byte)'"';
        text.CopyTo(to[1..]);
        to[text.Length + 1] = (byte)'"';
        _pending += text.Length + 2;
    }

    private void QuotedAscii(string text)
    {
        var to = _buffer.AsSpan(_pending);
        to[0] = (byte)'"';
        Encoding.ASCII.GetBytes(text, to[1..]);
        to[text.Length + 1] = (byte)'"';
        _pending += text.Length + 2;
    }

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_pending));
        _pending += bytes.Length;
    }

    private ReadOnlySpan<byte> Escaped(ReadOnlySpan<byte> utf8Value)
    {
        Scratch().WriteStringValue(utf8Value);
        return Written();
    }

    private ReadOnlySpan<byte> Escaped(string value)
    {
        Scratch().WriteStringValue(value);
        return Written();
    }

    private Utf8JsonWriter Scratch()
    {
        _scratchBuffer ??= new ArrayBufferWriter<byte>(256);
        _scratch ??= new Utf8JsonWriter(_scratchBuffer, new JsonWriterOptions { SkipValidation = true });
        _scratchBuffer.ResetWrittenCount();
        _scratch.Reset();
        return _scratch;
    }

    private ReadOnlySpan<byte> Written()
    {
        _scratch!.Flush();
        return _scratchBuffer!.WrittenSpan;
    }

    private void Ensure(int count)
    {
        if (_buffer.Length - _pending < count)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _pending + count));
        }
    }
}
