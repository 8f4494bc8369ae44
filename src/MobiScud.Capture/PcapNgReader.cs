using System.Buffers.Binary;
using MobiScud.Protocols.Link;

namespace MobiScud.Capture;

/// <summary>
/// pcapng files (draft-ietf-opsawg-pcapng): sections in either byte order, any number of interfaces each with its own
/// link type, timestamp resolution (if_tsresol) and offset (if_tsoffset); Enhanced, Simple and obsolete Packet Blocks.
/// Other blocks are skipped by their length.
/// </summary>
internal sealed class PcapNgReader : IFrameSource, ITruncatableSource
{
    private const uint SectionHeader = 0x0A0D0D0A;
    private const uint InterfaceDescription = 1;
    private const uint ObsoletePacket = 2;
    private const uint SimplePacket = 3;
    private const uint EnhancedPacket = 6;
    private const int MaxBlockLength = 16 << 20;

    private readonly ByteWindow _window;
    private readonly string _name;
    private readonly List<Interface> _interfaces = [];
    private bool _bigEndian;
    private long _block;
    private long _number;

    public PcapNgReader(Stream stream, string name)
        : this(new ByteWindow(stream), name)
    {
    }

    internal PcapNgReader(ByteWindow window, string name)
    {
        _window = window;
        _name = name;
        if (!_window.Ensure(12) || BinaryPrimitives.ReadUInt32LittleEndian(_window.Peek(4)) != SectionHeader)
        {
            throw new CaptureFormatException(name, 0, 0, "not a pcapng file (no Section Header Block)");
        }
    }

    /// <summary>Interfaces of the current section: link type and timestamp units per second.</summary>
    public IReadOnlyList<(LinkType LinkType, ulong UnitsPerSecond)> Interfaces => _interfaces.Select(i => (i.LinkType, i.UnitsPerSecond)).ToList();

    public CaptureFormatException? Truncation { get; private set; }

    public bool TryReadNext(out CaptureFrame frame)
    {
        frame = default;
        while (true)
        {
            var at = _window.Position;
            if (!_window.Ensure(12))
            {
                if (_window.Available != 0)
                {
                    Truncation = new CaptureFormatException(_name, at, _block + 1, $"truncated block header ({_window.Available} bytes left)");
                }

                return false;
            }

            _block++;
            var head = _window.Peek(12);
            var type = BinaryPrimitives.ReadUInt32LittleEndian(head);
            if (type == SectionHeader)
            {
                // The byte-order magic decides how this section (including this block's length) is read.
                var bom = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
                _bigEndian = bom switch
                {
                    0x1A2B3C4D => false,
                    0x4D3C2B1A => true,
                    _ => Fail<bool>(at, $"bad byte-order magic 0x{bom:x8} in Section Header Block"),
                };
                _interfaces.Clear();
            }
            else
            {
                type = Read32(head);
            }

            var length = Read32(head[4..]);
            if (length < 12 || length % 4 != 0 || length > MaxBlockLength)
            {
                Fail(at, $"block type 0x{type:x} has an invalid total length {length}");
            }

            if (!_window.Ensure((int)length))
            {
                // The file ends inside this block: the frames before it stand (tshark shows them too).
                Truncation = new CaptureFormatException(_name, at, _block, $"block type 0x{type:x} is truncated: {length} bytes announced, {_window.Available} present");
                return false;
            }

            var block = _window.Peek((int)length);
            if (Read32(block[^4..]) != length)
            {
                Fail(at, $"block type 0x{type:x}: trailing length {Read32(block[^4..])} differs from leading length {length}");
            }

            var body = block[8..^4];
            switch (type)
            {
                case SectionHeader:
                    break;
                case InterfaceDescription:
                    _interfaces.Add(ReadInterface(body, at));
                    break;
                case EnhancedPacket:
                case ObsoletePacket:
                    {
                        if (body.Length < 20)
                        {
                            Fail(at, "packet block too short");
                        }

                        var id = type == EnhancedPacket ? (int)Read32(body) : Read16(body);
                        var tsHigh = Read32(body[4..]);
                        var tsLow = Read32(body[8..]);
                        var captured = Read32(body[12..]);
                        var original = Read32(body[16..]);
                        if (captured > body.Length - 20)
                        {
                            Fail(at, $"packet block claims {captured} captured bytes but holds {body.Length - 20}");
                        }

                        var iface = InterfaceFor(id, at);
                        _number++;
                        frame = new CaptureFrame(_number, iface.LinkType, iface.ToNanos(((ulong)tsHigh << 32) | tsLow), _window.PeekMemory(28, (int)captured), (int)Math.Min(original, int.MaxValue), id);
                        _window.Advance((int)length);
                        return true;
                    }

                case SimplePacket:
                    {
                        if (body.Length < 4)
                        {
                            Fail(at, "simple packet block too short");
                        }

                        var iface = InterfaceFor(0, at);
                        var original = Read32(body);
                        // No captured length field: the smaller of the original length and what the block holds.
                        var captured = (int)Math.Min(original, (uint)(body.Length - 4));
                        if (iface.SnapLength > 0)
                        {
                            captured = (int)Math.Min((uint)captured, iface.SnapLength);
                        }

                        _number++;
                        frame = new CaptureFrame(_number, iface.LinkType, 0, _window.PeekMemory(12, captured), (int)Math.Min(original, int.MaxValue), 0);
                        _window.Advance((int)length);
                        return true;
                    }
            }

            _window.Advance((int)length);
        }
    }

    public void Dispose() => _window.Dispose();

    private Interface InterfaceFor(int id, long at) =>
        id >= 0 && id < _interfaces.Count ? _interfaces[id] : Fail<Interface>(at, $"packet refers to interface {id}, but only {_interfaces.Count} are described");

    private Interface ReadInterface(ReadOnlySpan<byte> body, long at)
    {
        if (body.Length < 8)
        {
            Fail(at, "Interface Description Block too short");
        }

        var link = (LinkType)Read16(body);
        var snap = Read32(body[4..]);
        ulong units = 1_000_000;
        long offsetSeconds = 0;
        var options = body[8..];
        while (options.Length >= 4)
        {
            var code = Read16(options);
            var len = Read16(options[2..]);
            if (code == 0)
            {
                break;
            }

            if (4 + len > options.Length)
            {
                Fail(at, $"interface option {code} overruns its block");
            }

            var value = options.Slice(4, len);
            if (code == 9 && len >= 1)
            {
                // if_tsresol: high bit set means a negative power of 2, else of 10.
                var r = value[0];
                var exp = r & 0x7F;
                if ((r & 0x80) != 0 ? exp > 63 : exp > 19)
                {
                    Fail(at, $"unsupported timestamp resolution 0x{r:x2}");
                }

                units = (r & 0x80) != 0 ? 1UL << exp : Pow10(exp);
            }
            else if (code == 14 && len >= 8)
            {
                offsetSeconds = (long)(_bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(value) : BinaryPrimitives.ReadUInt64LittleEndian(value));
            }

            options = options[Math.Min(options.Length, 4 + ((len + 3) & ~3))..];
        }

        return new Interface(link, snap, units, offsetSeconds);
    }

    private static ulong Pow10(int e)
    {
        ulong v = 1;
        for (var i = 0; i < e; i++)
        {
            v *= 10;
        }

        return v;
    }

    private uint Read32(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);

    private ushort Read16(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);

    private void Fail(long at, string problem) => throw new CaptureFormatException(_name, at, _block, problem);

    private T Fail<T>(long at, string problem) => throw new CaptureFormatException(_name, at, _block, problem);

    private sealed record Interface(LinkType LinkType, uint SnapLength, ulong UnitsPerSecond, long OffsetSeconds)
    {
        public long ToNanos(ulong ticks)
        {
            var nanos = (UInt128)ticks * 1_000_000_000UL / UnitsPerSecond;
            return (long)(ulong)nanos + (OffsetSeconds * 1_000_000_000L);
        }
    }
}
