using System.Buffers.Binary;

namespace MobiScud.Protocols.OpenFlow;

/// <summary>Growable big-endian writer with back-patching of length fields.</summary>
public sealed class OfpWriter
{
    private byte[] buffer;

    public OfpWriter(int capacity = 256) => buffer = new byte[Math.Max(16, capacity)];

    public int Position { get; private set; }

    public ReadOnlySpan<byte> WrittenSpan => buffer.AsSpan(0, Position);

    public ReadOnlyMemory<byte> WrittenMemory => buffer.AsMemory(0, Position);

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Clear() => Position = 0;

    private Span<byte> Grab(int count)
    {
        if (Position + count > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, Position + count));
        }

        var s = buffer.AsSpan(Position, count);
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

    public void PatchU16(int at, ushort v) => BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(at, 2), v);
}
