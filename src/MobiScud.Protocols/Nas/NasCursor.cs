using System.Buffers.Binary;

namespace MobiScud.Protocols.Nas;

/// <summary>
/// A bounds-checked reader over a NAS message (TS 24.007 11.2 formats V, LV, LV-E) for the EPS and 5G NAS decoders: an
/// overrun throws <see cref="NasDecodeException"/> at the octet where it happens. A missing octet is
/// <see cref="NasError.Truncated"/>; a length reaching past the end is <paramref name="overrun"/> (EPS NAS has always
/// called it truncated, 5G NAS a bad length).
/// </summary>
internal ref struct NasCursor(ReadOnlySpan<byte> buffer, int position, int end, NasError overrun)
{
    public readonly ReadOnlySpan<byte> Buffer = buffer;
    public int Position = position;
    private readonly int _end = end;

    public readonly int Remaining => _end - Position;

    public readonly bool AtEnd => Position >= _end;

    public readonly byte Peek() => Position < _end ? Buffer[Position] : throw Truncated();

    public byte Byte() => Position < _end ? Buffer[Position++] : throw Truncated();

    public ushort UInt16() => BinaryPrimitives.ReadUInt16BigEndian(Bytes(2));

    public ReadOnlySpan<byte> Bytes(int n)
    {
        if (n < 0 || n > _end - Position)
        {
            throw new NasDecodeException(overrun, Position, $"{n} octets needed, {_end - Position} left");
        }

        var s = Buffer.Slice(Position, n);
        Position += n;
        return s;
    }

    public ReadOnlySpan<byte> Lv() => Bytes(Byte());

    public ReadOnlySpan<byte> LvE() => Bytes((Byte() << 8) | Byte());

    private readonly NasDecodeException Truncated() => new(NasError.Truncated, Position, "message ends early");
}
