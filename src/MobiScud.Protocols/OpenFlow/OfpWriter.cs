using System.Buffers.Binary;

namespace MobiScud.Protocols.OpenFlow;

/// <summary>Growable big-endian writer with back-patching of length fields.</summary>
public sealed class OfpWriter
{
    private byte[] _buffer;

    public OfpWriter(int capacity = 256) => _buffer = new byte[Math.Max(16, capacity)];

    public int Position { get; private set; }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, Position);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Position);

    public byte[] ToArray() => WrittenSpan.ToArray();

    private Span<byte> Grab(int count)
    {
        if (Position + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Position + count));
        }

        var s = _buffer.AsSpan(Position, count);
        Position += count;
        return s;
    }

    public void U8(byte v) => Grab(1)[0] = v;

    public void U16(ushort v) => BinaryPrimitives.WriteUInt16BigEndian(Grab(2), v);

    public void U32(uint v) => BinaryPrimitives.WriteUInt32BigEndian(Grab(4), v);

    public void U64(ulong v) => BinaryPrimitives.WriteUInt64BigEndian(Grab(8), v);

    public void Bytes(ReadOnlySpan<byte> v) => v.CopyTo(Grab(v.Length));

    public void Zeros(int count) => Grab(count).Clear();

    public void PadTo8(int start)
    {
        var len = Position - start;
        Zeros(((len + 7) / 8 * 8) - len);
    }

    /// <summary>Starts an action or instruction: its type and a length that <see cref="EndPadded"/> fills in.</summary>
    internal int BeginPadded(ushort type)
    {
        var start = Position;
        U16(type);
        U16(0);
        return start;
    }

    /// <summary>Pads the action or instruction begun at <paramref name="start"/> to 8 bytes and writes its length.</summary>
    internal void EndPadded(int start)
    {
        PadTo8(start);
        PatchU16(start + 2, (ushort)(Position - start));
    }

    /// <summary>An action or instruction whose body is one 32-bit value (set_queue, group, meter).</summary>
    internal void PaddedU32(ushort type, uint value)
    {
        var s = BeginPadded(type);
        U32(value);
        EndPadded(s);
    }

    public void PatchU16(int at, ushort v) => BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(at, 2), v);
}
