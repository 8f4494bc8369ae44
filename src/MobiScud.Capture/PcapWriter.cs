using System.Buffers.Binary;
using MobiScud.Protocols.Link;

namespace MobiScud.Capture;

/// <summary>Writes classic pcap files (little-endian, nanosecond timestamps). Used by the bench capture generator and tests.</summary>
public sealed class PcapWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _header = new byte[16];

    public PcapWriter(Stream stream, LinkType linkType, int snapLength = 262144)
    {
        _stream = stream;
        Span<byte> global = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(global, 0xA1B23C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(global[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(global[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(global[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(global[20..], (uint)linkType);
        _stream.Write(global);
    }

    public void Write(long timestampNanos, ReadOnlySpan<byte> frame, int? originalLength = null)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_header, (uint)(timestampNanos / 1_000_000_000L));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(4), (uint)(timestampNanos % 1_000_000_000L));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(12), (uint)(originalLength ?? frame.Length));
        _stream.Write(_header);
        _stream.Write(frame);
    }

    public void Dispose() => _stream.Dispose();
}
