using System.Buffers.Binary;

namespace MobiScud.Protocols.OpenFlow;

/// <summary>Reads one item (an action, an instruction) and moves past it.</summary>
internal delegate T OfpItemReader<out T>(ref OfpReader r);

/// <summary>Bounds-checked big-endian reader: every read names what it was reading when the input runs out.</summary>
internal ref struct OfpReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _baseOffset;

    public OfpReader(ReadOnlySpan<byte> buffer, int baseOffset = 0)
    {
        _buffer = buffer;
        _baseOffset = baseOffset;
        Position = 0;
    }

    public int Position { get; private set; }

    public readonly int Remaining => _buffer.Length - Position;

    public readonly int AbsolutePosition => _baseOffset + Position;

    public ReadOnlySpan<byte> Take(int count, string what)
    {
        if (count < 0 || count > Remaining)
        {
            throw new OfpDecodeException(OfpDecodeError.Truncated, AbsolutePosition, $"{what}: need {count} bytes, {Remaining} left");
        }

        var s = _buffer.Slice(Position, count);
        Position += count;
        return s;
    }

    /// <summary>A sub-reader over the next <paramref name="count"/> bytes, keeping absolute offsets for errors.</summary>
    public OfpReader Sub(int count, string what)
    {
        var start = AbsolutePosition;
        var span = Take(count, what);
        return new OfpReader(span, start);
    }

    /// <summary>
    /// An action or instruction (type, length, body padded to 8 bytes): a reader over its body. A length below 8 or not a
    /// multiple of 8 is <paramref name="error"/> at <paramref name="at"/>, the TLV's start.
    /// </summary>
    public OfpReader Padded(string kind, OfpDecodeError error, out ushort type, out int at)
    {
        at = AbsolutePosition;
        type = U16($"{kind} type");
        var len = U16($"{kind} length");
        if (len < 8 || len % 8 != 0)
        {
            throw new OfpDecodeException(error, at, $"{kind} type {type} has length {len} (must be a multiple of 8, >= 8)");
        }

        return Sub(len - 4, $"{kind} type {type} body");
    }

    /// <summary>Items read one after another up to the end of this reader (action and instruction lists).</summary>
    public List<T> ReadAll<T>(OfpItemReader<T> read)
    {
        var list = new List<T>();
        while (Remaining > 0)
        {
            list.Add(read(ref this));
        }

        return list;
    }

    public byte U8(string what) => Take(1, what)[0];

    public ushort U16(string what) => BinaryPrimitives.ReadUInt16BigEndian(Take(2, what));

    public uint U32(string what) => BinaryPrimitives.ReadUInt32BigEndian(Take(4, what));

    public ulong U64(string what) => BinaryPrimitives.ReadUInt64BigEndian(Take(8, what));

    public void Skip(int count, string what) => Take(count, what);

    public byte[] Rest() => Take(Remaining, "rest").ToArray();

    public readonly OfpDecodeException Error(OfpDecodeError error, string detail) => new(error, AbsolutePosition, detail);
}
