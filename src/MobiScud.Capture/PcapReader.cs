using System.Buffers.Binary;
using MobiScud.Protocols.Link;

namespace MobiScud.Capture;

/// <summary>Classic libpcap files: either byte order, microsecond or nanosecond timestamps.</summary>
internal sealed class PcapReader : IFrameSource, ITruncatableSource
{
    /// <summary>Frames larger than this are taken as corruption (the largest snaplen any tool writes is 256 KiB).</summary>
    public const int MaxFrameLength = 1 << 20;

    private readonly ByteWindow _window;
    private readonly string _name;
    private readonly bool _bigEndian;
    private readonly bool _nanos;
    private long _number;

    public PcapReader(Stream stream, string name)
        : this(new ByteWindow(stream), name)
    {
    }

    internal PcapReader(ByteWindow window, string name)
    {
        _window = window;
        _name = name;
        if (!_window.Ensure(24))
        {
            throw new CaptureFormatException(name, _window.Position, null, "file too short for a pcap header (24 bytes)");
        }

        var header = _window.Peek(24);
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        (_bigEndian, _nanos) = magic switch
        {
            0xA1B2C3D4 => (false, false),
            0xA1B23C4D => (false, true),
            0xD4C3B2A1 => (true, false),
            0x4D3CB2A1 => (true, true),
            _ => throw new CaptureFormatException(name, 0, null, $"not a pcap file (magic 0x{magic:x8})"),
        };
        var network = Read32(header[20..]);
        // The upper bits may carry FCS length information (pcap-savefile(5)); the link type is the low 16 bits.
        LinkType = (LinkType)(network & 0xFFFF);
        SnapLength = Read32(header[16..]);
        _window.Advance(24);
    }

    public LinkType LinkType { get; }

    public uint SnapLength { get; }

    public bool NanosecondResolution => _nanos;

    public CaptureFormatException? Truncation { get; private set; }

    public bool TryReadNext(out CaptureFrame frame)
    {
        frame = default;
        var at = _window.Position;
        if (!_window.Ensure(16))
        {
            if (_window.Available != 0)
            {
                Truncation = new CaptureFormatException(_name, at, null, $"truncated record header ({_window.Available} of 16 bytes)");
            }

            return false;
        }

        var record = _window.Peek(16);
        var seconds = Read32(record);
        var fraction = Read32(record[4..]);
        var included = Read32(record[8..]);
        var original = Read32(record[12..]);
        if (included > MaxFrameLength)
        {
            throw new CaptureFormatException(_name, at, null, $"record {_number + 1} claims {included} captured bytes (corrupt length)");
        }

        if (!_window.Ensure(16 + (int)included))
        {
            // The file ends inside this record: the frames before it stand (tshark shows them too).
            Truncation = new CaptureFormatException(_name, at, null, $"record {_number + 1} is truncated: {included} bytes announced, {_window.Available - 16} present");
            return false;
        }

        _number++;
        var nanos = (seconds * 1_000_000_000L) + (_nanos ? fraction : fraction * 1000L);
        frame = new CaptureFrame(_number, LinkType, nanos, _window.PeekMemory(16, (int)included), (int)Math.Min(original, int.MaxValue), 0);
        _window.Advance(16 + (int)included);
        return true;
    }

    public void Dispose() => _window.Dispose();

    private uint Read32(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);
}
