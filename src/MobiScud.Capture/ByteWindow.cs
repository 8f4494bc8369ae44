namespace MobiScud.Capture;

/// <summary>
/// A forward-only window over a stream (refilled in large reads) or over a byte array (no copy at all), tracking the
/// absolute offset for error messages.
/// </summary>
internal sealed class ByteWindow : IDisposable
{
    private readonly Stream? _stream;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private long _base;

    public ByteWindow(Stream stream, int bufferSize = 1 << 20)
    {
        if (stream is MemoryStream ms && ms.TryGetBuffer(out var segment))
        {
            _buffer = segment.Array!;
            _start = segment.Offset + (int)ms.Position;
            _end = segment.Offset + segment.Count;
            _base = -segment.Offset;
            _stream = null;
            ms.Dispose();
            return;
        }

        _stream = stream;
        _buffer = new byte[bufferSize];
    }

    public ByteWindow(ReadOnlyMemory<byte> memory)
    {
        _buffer = memory.ToArray();
        _end = _buffer.Length;
    }

    /// <summary>Absolute offset of the next unread byte.</summary>
    public long Position => _base + _start;

    public int Available => _end - _start;

    /// <summary>Makes <paramref name="count"/> bytes readable; false if the input ends first.</summary>
    public bool Ensure(int count)
    {
        if (_end - _start >= count)
        {
            return true;
        }

        if (_stream is null)
        {
            return false;
        }

        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _base += _start;
            _end -= _start;
            _start = 0;
        }

        if (count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(count, _buffer.Length * 2));
        }

        while (_end < count)
        {
            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                return false;
            }

            _end += read;
        }

        return true;
    }

    public ReadOnlySpan<byte> Peek(int count) => _buffer.AsSpan(_start, count);

    public ReadOnlyMemory<byte> PeekMemory(int offset, int count) => _buffer.AsMemory(_start + offset, count);

    public void Advance(int count) => _start += count;

    public void Dispose() => _stream?.Dispose();
}
