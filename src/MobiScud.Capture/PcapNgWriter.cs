using System.Buffers.Binary;
using System.Text;
using MobiScud.Protocols.Link;

namespace MobiScud.Capture;

/// <summary>
/// Writes a pcapng file with one interface and nanosecond timestamps (if_tsresol 9): what `replay --live --write`
/// records alongside the live view. Buffered, and no allocation per frame. <see cref="Close"/> can append the
/// capture's drop counters as an Interface Statistics Block, which Wireshark shows.
/// </summary>
public sealed class PcapNgWriter : IDisposable
{
    private const uint SectionHeader = 0x0A0D0D0A;
    private const uint InterfaceDescription = 1;
    private const uint InterfaceStatistics = 5;
    private const uint EnhancedPacket = 6;
    private static readonly byte[] _padding = new byte[4];

    private readonly Stream _stream;
    private readonly byte[] _header = new byte[28];
    private bool _closed;

    public PcapNgWriter(Stream stream, LinkType linkType, string? interfaceName = null, int snapLength = 262144)
    {
        _stream = stream;
        // Section Header Block: byte-order magic, version 1.0, section length unknown (-1), no options.
        Span<byte> shb = stackalloc byte[28];
        BinaryPrimitives.WriteUInt32LittleEndian(shb, SectionHeader);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[4..], 28);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[8..], 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(shb[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(shb[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(shb[16..], -1);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[24..], 28);
        _stream.Write(shb);

        // Interface Description Block: if_name (2) if given, if_tsresol (9) = 10^-9, end of options.
        var name = interfaceName is null ? [] : Encoding.UTF8.GetBytes(interfaceName);
        var nameOption = name.Length == 0 ? 0 : 4 + Pad(name.Length);
        var length = 16 + nameOption + 8 + 4 + 4;
        var idb = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(idb, InterfaceDescription);
        BinaryPrimitives.WriteUInt32LittleEndian(idb.AsSpan(4), (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(idb.AsSpan(8), (ushort)linkType);
        BinaryPrimitives.WriteUInt32LittleEndian(idb.AsSpan(12), (uint)snapLength);
        var at = 16;
        if (name.Length > 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(idb.AsSpan(at), 2);
            BinaryPrimitives.WriteUInt16LittleEndian(idb.AsSpan(at + 2), (ushort)name.Length);
            name.CopyTo(idb, at + 4);
            at += nameOption;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(idb.AsSpan(at), 9);
        BinaryPrimitives.WriteUInt16LittleEndian(idb.AsSpan(at + 2), 1);
        idb[at + 4] = 9;
        at += 8;
        at += 4; // opt_endofopt (zeros)
        BinaryPrimitives.WriteUInt32LittleEndian(idb.AsSpan(at), (uint)length);
        _stream.Write(idb);
    }

    public long Frames { get; private set; }

    /// <summary>One Enhanced Packet Block.</summary>
    public void Write(long timestampNanos, ReadOnlySpan<byte> frame, int originalLength)
    {
        var padded = Pad(frame.Length);
        var total = 28 + padded + 4;
        var ts = (ulong)timestampNanos;
        BinaryPrimitives.WriteUInt32LittleEndian(_header, EnhancedPacket);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(4), (uint)total);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(12), (uint)(ts >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(16), (uint)ts);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(20), (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(24), (uint)Math.Max(originalLength, frame.Length));
        _stream.Write(_header);
        _stream.Write(frame);
        _stream.Write(_padding.AsSpan(0, padded - frame.Length));
        Span<byte> trailer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, (uint)total);
        _stream.Write(trailer);
        Frames++;
    }

    /// <summary>Ends the file, first recording the capture's counters (isb_ifrecv, isb_ifdrop, isb_osdrop) at <paramref name="timestampNanos"/>.</summary>
    public void Close(long timestampNanos, LiveCaptureStatistics? statistics)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        if (statistics is { } s)
        {
            // ISB: interface id, timestamp, options isb_ifrecv (4), isb_ifdrop (5), isb_osdrop (7), each a u64, then end.
            const int length = 20 + (3 * 12) + 4 + 4;
            Span<byte> isb = stackalloc byte[length];
            isb.Clear();
            var ts = (ulong)timestampNanos;
            BinaryPrimitives.WriteUInt32LittleEndian(isb, InterfaceStatistics);
            BinaryPrimitives.WriteUInt32LittleEndian(isb[4..], length);
            BinaryPrimitives.WriteUInt32LittleEndian(isb[12..], (uint)(ts >> 32));
            BinaryPrimitives.WriteUInt32LittleEndian(isb[16..], (uint)ts);
            var at = 20;
            foreach (var (code, value) in new (ushort, long)[] { (4, s.Received), (5, s.InterfaceDropped), (7, s.KernelDropped) })
            {
                BinaryPrimitives.WriteUInt16LittleEndian(isb[at..], code);
                BinaryPrimitives.WriteUInt16LittleEndian(isb[(at + 2)..], 8);
                BinaryPrimitives.WriteInt64LittleEndian(isb[(at + 4)..], value);
                at += 12;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(isb[(length - 4)..], length);
            _stream.Write(isb);
        }

        _stream.Flush();
    }

    public void Dispose()
    {
        if (!_closed)
        {
            _closed = true;
            _stream.Flush();
        }

        _stream.Dispose();
    }

    private static int Pad(int length) => (length + 3) & ~3;
}
