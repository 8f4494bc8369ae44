using MobiScud.Protocols.Link;

namespace MobiScud.Capture;

/// <summary>One captured frame. <see cref="Data"/> belongs to the reader and is valid until it reads the next frame.</summary>
public readonly struct CaptureFrame(long number, LinkType linkType, long timestampNanos, ReadOnlyMemory<byte> data, int originalLength, int interfaceId)
{
    private static readonly DateTime _unixEpoch = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>1-based frame number, as tshark counts them.</summary>
    public long Number { get; } = number;

    public LinkType LinkType { get; } = linkType;

    /// <summary>Nanoseconds since the Unix epoch (UTC).</summary>
    public long TimestampNanos { get; } = timestampNanos;

    public ReadOnlyMemory<byte> Data { get; } = data;

    public int OriginalLength { get; } = originalLength;

    public int InterfaceId { get; } = interfaceId;

    public DateTime Timestamp => _unixEpoch.AddTicks(TimestampNanos / 100);
}

/// <summary>A pull source of frames (file reader or live device).</summary>
public interface IFrameSource : IDisposable
{
    /// <summary>Next frame, or false at the end. Broken input throws <see cref="CaptureFormatException"/>.</summary>
    bool TryReadNext(out CaptureFrame frame);
}

/// <summary>A capture file that cannot be read further: which file, where (byte offset, pcapng block number) and why.</summary>
public sealed class CaptureFormatException(string file, long offset, long? block, string problem)
    : Exception($"{file}: {problem} at byte offset {offset}{(block is null ? string.Empty : $" (block {block})")}")
{
    public string File { get; } = file;

    public long Offset { get; } = offset;

    public long? Block { get; } = block;

    public string Problem { get; } = problem;
}
