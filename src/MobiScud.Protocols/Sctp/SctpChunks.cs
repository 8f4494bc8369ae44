using System.Buffers.Binary;
using MobiScud.Protocols.Link;

namespace MobiScud.Protocols.Sctp;

/// <summary>RFC 4960 (and later RFCs') chunk types.</summary>
public enum SctpChunkType : byte
{
    Data = 0,
    Init = 1,
    InitAck = 2,
    Sack = 3,
    Heartbeat = 4,
    HeartbeatAck = 5,
    Abort = 6,
    Shutdown = 7,
    ShutdownAck = 8,
    Error = 9,
    CookieEcho = 10,
    CookieAck = 11,
    Ecne = 12,
    Cwr = 13,
    ShutdownComplete = 14,
    Auth = 15,
    IData = 64,
    AsconfAck = 128,
    ReConfig = 130,
    Pad = 132,
    ForwardTsn = 192,
    Asconf = 193,
    IForwardTsn = 194,
}

/// <summary>SCTP common header (RFC 4960 3.1).</summary>
public readonly record struct SctpCommonHeader(ushort SourcePort, ushort DestinationPort, uint VerificationTag, uint Checksum)
{
    public const int Length = 12;

    public static bool TryDecode(ReadOnlySpan<byte> packet, out SctpCommonHeader header, out TransportError error)
    {
        if (packet.Length < Length)
        {
            header = default;
            error = TransportError.TruncatedSctpHeader;
            return false;
        }

        header = new SctpCommonHeader(
            BinaryPrimitives.ReadUInt16BigEndian(packet),
            BinaryPrimitives.ReadUInt16BigEndian(packet[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(packet[8..]));
        error = TransportError.None;
        return true;
    }
}

/// <summary>One chunk: its header and value (the bytes after the 4-byte chunk header, without padding).</summary>
public readonly ref struct SctpChunk
{
    public SctpChunk(SctpChunkType type, byte flags, ReadOnlySpan<byte> value, int offset)
    {
        Type = type;
        Flags = flags;
        Value = value;
        Offset = offset;
    }

    public SctpChunkType Type { get; }

    public byte Flags { get; }

    public ReadOnlySpan<byte> Value { get; }

    /// <summary>Offset of the chunk header in the SCTP packet.</summary>
    public int Offset { get; }
}

/// <summary>Walks the chunks of an SCTP packet (after the common header), honouring 4-byte padding.</summary>
public ref struct SctpChunkReader
{
    private readonly ReadOnlySpan<byte> _packet;
    private int _offset;

    /// <param name="packet">The whole SCTP packet, common header included.</param>
    public SctpChunkReader(ReadOnlySpan<byte> packet)
    {
        _packet = packet;
        _offset = SctpCommonHeader.Length;
    }

    public readonly int Offset => _offset;

    /// <summary>Next chunk; false at the end (error None) or on a bad chunk (error set, reading stops).</summary>
    public bool TryReadNext(out SctpChunk chunk, out TransportError error)
    {
        chunk = default;
        error = TransportError.None;
        var remaining = _packet.Length - _offset;
        if (remaining <= 0)
        {
            return false;
        }

        if (remaining < 4)
        {
            // A few stray bytes after the last chunk are padding a sender forgot to trim, or a truncated chunk.
            if (_packet[_offset..].ContainsAnyExcept((byte)0))
            {
                error = TransportError.TruncatedSctpChunk;
            }

            _offset = _packet.Length;
            return false;
        }

        var type = _packet[_offset];
        var flags = _packet[_offset + 1];
        int length = BinaryPrimitives.ReadUInt16BigEndian(_packet[(_offset + 2)..]);
        if (length < 4)
        {
            error = TransportError.BadSctpChunkLength;
            _offset = _packet.Length;
            return false;
        }

        if (length > remaining)
        {
            error = TransportError.TruncatedSctpChunk;
            _offset = _packet.Length;
            return false;
        }

        chunk = new SctpChunk((SctpChunkType)type, flags, _packet.Slice(_offset + 4, length - 4), _offset);
        // The padding of the last chunk may be missing in captures; never step past the end.
        _offset = Math.Min(_packet.Length, _offset + ((length + 3) & ~3));
        return true;
    }
}

/// <summary>A DATA chunk (RFC 4960 3.3.1).</summary>
public readonly ref struct SctpDataChunk
{
    public const byte FlagEnding = 0x01;
    public const byte FlagBeginning = 0x02;
    public const byte FlagUnordered = 0x04;
    public const byte FlagImmediate = 0x08;

    private SctpDataChunk(byte flags, uint tsn, ushort streamId, ushort ssn, uint ppid, ReadOnlySpan<byte> userData)
    {
        Flags = flags;
        Tsn = tsn;
        StreamId = streamId;
        StreamSequenceNumber = ssn;
        PayloadProtocolId = ppid;
        UserData = userData;
    }

    public byte Flags { get; }

    public uint Tsn { get; }

    public ushort StreamId { get; }

    public ushort StreamSequenceNumber { get; }

    public uint PayloadProtocolId { get; }

    public ReadOnlySpan<byte> UserData { get; }

    public bool Beginning => (Flags & FlagBeginning) != 0;

    public bool Ending => (Flags & FlagEnding) != 0;

    public bool Unordered => (Flags & FlagUnordered) != 0;

    public static bool TryParse(in SctpChunk chunk, out SctpDataChunk data, out TransportError error)
    {
        data = default;
        if (chunk.Type != SctpChunkType.Data || chunk.Value.Length < 12)
        {
            error = TransportError.BadSctpDataChunk;
            return false;
        }

        var v = chunk.Value;
        data = new SctpDataChunk(
            chunk.Flags,
            BinaryPrimitives.ReadUInt32BigEndian(v),
            BinaryPrimitives.ReadUInt16BigEndian(v[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(v[6..]),
            BinaryPrimitives.ReadUInt32BigEndian(v[8..]),
            v[12..]);
        error = TransportError.None;
        return true;
    }
}

/// <summary>INIT and INIT-ACK fixed part (RFC 4960 3.3.2/3.3.3); parameters follow and are not needed here.</summary>
public readonly record struct SctpInitChunk(uint InitiateTag, uint AdvertisedReceiverWindow, ushort OutboundStreams, ushort InboundStreams, uint InitialTsn)
{
    public static bool TryParse(in SctpChunk chunk, out SctpInitChunk init, out TransportError error)
    {
        init = default;
        if (chunk.Type is not (SctpChunkType.Init or SctpChunkType.InitAck) || chunk.Value.Length < 16)
        {
            error = TransportError.BadSctpInitChunk;
            return false;
        }

        var v = chunk.Value;
        init = new SctpInitChunk(
            BinaryPrimitives.ReadUInt32BigEndian(v),
            BinaryPrimitives.ReadUInt32BigEndian(v[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(v[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(v[10..]),
            BinaryPrimitives.ReadUInt32BigEndian(v[12..]));
        error = TransportError.None;
        return true;
    }

    /// <summary>The State Cookie parameter (RFC 4960 3.3.3.1) among the parameters after the fixed part of an INIT ACK.</summary>
    public static bool TryFindStateCookie(in SctpChunk chunk, out ReadOnlySpan<byte> cookie, out TransportError error)
    {
        cookie = default;
        var v = chunk.Value;
        if (chunk.Type != SctpChunkType.InitAck || v.Length < 16)
        {
            error = TransportError.BadSctpInitChunk;
            return false;
        }

        var offset = 16;
        while (v.Length - offset >= 4)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(v[offset..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(v[(offset + 2)..]);
            if (length < 4 || length > v.Length - offset)
            {
                error = TransportError.BadSctpInitChunk;
                return false;
            }

            if (type == SctpPacketWriter.StateCookieParameter)
            {
                cookie = v.Slice(offset + 4, length - 4);
                error = TransportError.None;
                return !cookie.IsEmpty;
            }

            offset += (length + 3) & ~3;
        }

        // RFC 4960 3.3.3: the State Cookie is mandatory in INIT ACK.
        error = TransportError.BadSctpInitChunk;
        return false;
    }
}

/// <summary>SACK fixed part (RFC 4960 3.3.4); the gap/duplicate lists are length-checked against the chunk.</summary>
public readonly record struct SctpSackChunk(uint CumulativeTsnAck, uint AdvertisedReceiverWindow, ushort GapAckBlocks, ushort DuplicateTsns)
{
    public static bool TryParse(in SctpChunk chunk, out SctpSackChunk sack, out TransportError error)
    {
        sack = default;
        var v = chunk.Value;
        if (chunk.Type != SctpChunkType.Sack || v.Length < 12)
        {
            error = TransportError.BadSctpSackChunk;
            return false;
        }

        var gaps = BinaryPrimitives.ReadUInt16BigEndian(v[8..]);
        var dups = BinaryPrimitives.ReadUInt16BigEndian(v[10..]);
        if (12 + (gaps * 4) + (dups * 4) > v.Length)
        {
            error = TransportError.BadSctpSackChunk;
            return false;
        }

        sack = new SctpSackChunk(BinaryPrimitives.ReadUInt32BigEndian(v), BinaryPrimitives.ReadUInt32BigEndian(v[4..]), gaps, dups);
        error = TransportError.None;
        return true;
    }
}

/// <summary>SHUTDOWN (RFC 4960 3.3.8): the cumulative TSN acknowledged.</summary>
internal readonly record struct SctpShutdownChunk(uint CumulativeTsnAck)
{
    public static bool TryParse(in SctpChunk chunk, out SctpShutdownChunk shutdown, out TransportError error)
    {
        shutdown = default;
        if (chunk.Type != SctpChunkType.Shutdown || chunk.Value.Length < 4)
        {
            error = TransportError.BadSctpShutdownChunk;
            return false;
        }

        shutdown = new SctpShutdownChunk(BinaryPrimitives.ReadUInt32BigEndian(chunk.Value));
        error = TransportError.None;
        return true;
    }
}
