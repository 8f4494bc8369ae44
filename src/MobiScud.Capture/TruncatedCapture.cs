namespace MobiScud.Capture;

/// <summary>
/// A capture file that ends inside a record (the writer was killed, the copy was cut): the frames before the cut are
/// read, then the source ends; <see cref="Truncation"/> says where, so the caller warns instead of losing everything.
/// </summary>
public interface ITruncatableSource
{
    /// <summary>Null, or why the file ended early, naming the file and byte offset.</summary>
    CaptureFormatException? Truncation { get; }
}
