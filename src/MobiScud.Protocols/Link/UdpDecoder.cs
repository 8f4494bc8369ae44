using System.Buffers.Binary;

namespace MobiScud.Protocols.Link;

public readonly record struct UdpHeader(ushort SourcePort, ushort DestinationPort, int PayloadOffset, int PayloadLength);

/// <summary>UDP header (RFC 768); the length field is trusted only if it fits in what was captured.</summary>
public static class UdpDecoder
{
    public static bool TryDecode(ReadOnlySpan<byte> segment, out UdpHeader header, out TransportError error)
    {
        header = default;
        if (segment.Length < 8)
        {
            error = TransportError.TruncatedUdpHeader;
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(segment[4..]);
        if (length < 8 || length > segment.Length)
        {
            error = TransportError.BadUdpLength;
            return false;
        }

        header = new UdpHeader(BinaryPrimitives.ReadUInt16BigEndian(segment), BinaryPrimitives.ReadUInt16BigEndian(segment[2..]), 8, length - 8);
        error = TransportError.None;
        return true;
    }

    public static UdpHeader Decode(ReadOnlySpan<byte> segment) =>
        TryDecode(segment, out var header, out var error) ? header : throw new TransportDecodeException(error, 0);
}
