using System.Buffers.Binary;
using System.Numerics;
using MobiScud.Protocols.Link;

namespace MobiScud.Protocols.Sctp;

/// <summary>Registered SCTP numbers of the S1 and NG control planes.</summary>
public static class SctpWellKnown
{
    /// <summary>Payload protocol identifier of S1AP (TS 36.412 7).</summary>
    public const uint S1apPpid = 18;

    /// <summary>Payload protocol identifier of NGAP (TS 38.412 7).</summary>
    public const uint NgapPpid = 60;

    public const ushort S1apPort = 36412;

    public const ushort NgapPort = 38412;

    /// <summary>RFC 6951 registered UDP encapsulation port.</summary>
    public const ushort UdpEncapsulationPort = 9899;
}

/// <summary>One chunk to write: its type, flags and value (the bytes after the 4-byte chunk header, unpadded).</summary>
public readonly record struct SctpOutgoingChunk(SctpChunkType Type, byte Flags, ReadOnlyMemory<byte> Value);

/// <summary>
/// Builds SCTP packets (RFC 4960 section 3) for the emulators: common header, chunks padded to 4 bytes, and the
/// CRC32c checksum. The reading side is <see cref="SctpCommonHeader"/> and <see cref="SctpChunkReader"/>.
/// </summary>
public static class SctpPacketWriter
{
    /// <summary>State Cookie parameter of INIT ACK (RFC 4960 3.3.3.1).</summary>
    public const ushort StateCookieParameter = 7;

    public static byte[] Packet(ushort sourcePort, ushort destinationPort, uint verificationTag, params ReadOnlySpan<SctpOutgoingChunk> chunks)
    {
        var length = SctpCommonHeader.Length;
        foreach (var c in chunks)
        {
            length += Pad4(4 + c.Value.Length);
        }

        var packet = new byte[length];
        var s = packet.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(s, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(s[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(s[4..], verificationTag);
        var offset = SctpCommonHeader.Length;
        foreach (var c in chunks)
        {
            if (c.Value.Length > ushort.MaxValue - 4)
            {
                throw new ArgumentException($"{c.Type} chunk value of {c.Value.Length} bytes does not fit the 16-bit chunk length", nameof(chunks));
            }

            s[offset] = (byte)c.Type;
            s[offset + 1] = c.Flags;
            BinaryPrimitives.WriteUInt16BigEndian(s[(offset + 2)..], (ushort)(4 + c.Value.Length));
            c.Value.Span.CopyTo(s[(offset + 4)..]);
            offset += Pad4(4 + c.Value.Length);
        }

        SctpChecksum.Write(packet);
        return packet;
    }

    /// <summary>DATA (RFC 4960 3.3.1); by default one whole message (B and E set).</summary>
    public static SctpOutgoingChunk Data(uint tsn, ushort stream, ushort ssn, uint ppid, ReadOnlySpan<byte> payload, byte flags = SctpDataChunk.FlagBeginning | SctpDataChunk.FlagEnding)
    {
        var v = new byte[12 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(v, tsn);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(4), stream);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(6), ssn);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(8), ppid);
        payload.CopyTo(v.AsSpan(12));
        return new SctpOutgoingChunk(SctpChunkType.Data, flags, v);
    }

    /// <summary>INIT (RFC 4960 3.3.2) with no optional parameters.</summary>
    public static SctpOutgoingChunk Init(uint initiateTag, uint advertisedWindow, ushort outStreams, ushort inStreams, uint initialTsn) =>
        new(SctpChunkType.Init, 0, InitValue(initiateTag, advertisedWindow, outStreams, inStreams, initialTsn, []));

    /// <summary>INIT ACK (RFC 4960 3.3.3) carrying the mandatory State Cookie.</summary>
    public static SctpOutgoingChunk InitAck(uint initiateTag, uint advertisedWindow, ushort outStreams, ushort inStreams, uint initialTsn, ReadOnlySpan<byte> stateCookie)
    {
        if (stateCookie.IsEmpty)
        {
            throw new ArgumentException("INIT ACK needs a non-empty State Cookie (RFC 4960 3.3.3)", nameof(stateCookie));
        }

        return new(SctpChunkType.InitAck, 0, InitValue(initiateTag, advertisedWindow, outStreams, inStreams, initialTsn, stateCookie));
    }

    /// <summary>COOKIE ECHO (RFC 4960 3.3.11): the State Cookie of the INIT ACK, returned as received.</summary>
    public static SctpOutgoingChunk CookieEcho(ReadOnlySpan<byte> stateCookie) => new(SctpChunkType.CookieEcho, 0, stateCookie.ToArray());

    /// <summary>COOKIE ACK (RFC 4960 3.3.12).</summary>
    public static SctpOutgoingChunk CookieAck() => new(SctpChunkType.CookieAck, 0, ReadOnlyMemory<byte>.Empty);

    /// <summary>SACK (RFC 4960 3.3.4) without gap blocks or duplicate TSNs.</summary>
    public static SctpOutgoingChunk Sack(uint cumulativeTsnAck, uint advertisedWindow)
    {
        var v = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(v, cumulativeTsnAck);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(4), advertisedWindow);
        return new SctpOutgoingChunk(SctpChunkType.Sack, 0, v);
    }

    private static byte[] InitValue(uint initiateTag, uint advertisedWindow, ushort outStreams, ushort inStreams, uint initialTsn, ReadOnlySpan<byte> stateCookie)
    {
        // The last parameter's padding is the chunk's padding (RFC 4960 3.2), not part of the chunk length.
        var cookieParameter = stateCookie.IsEmpty ? 0 : 4 + stateCookie.Length;
        var v = new byte[16 + cookieParameter];
        BinaryPrimitives.WriteUInt32BigEndian(v, initiateTag);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(4), advertisedWindow);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(8), outStreams);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(10), inStreams);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(12), initialTsn);
        if (!stateCookie.IsEmpty)
        {
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(16), StateCookieParameter);
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(18), (ushort)(4 + stateCookie.Length));
            stateCookie.CopyTo(v.AsSpan(20));
        }

        return v;
    }

    private static int Pad4(int n) => (n + 3) & ~3;
}

/// <summary>
/// The SCTP checksum (RFC 4960 appendix B, CRC32c), computed with the checksum field taken as zero and stored as the
/// little-endian image of the complemented CRC, as Linux and Wireshark expect.
/// </summary>
public static class SctpChecksum
{
    public static uint Compute(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < SctpCommonHeader.Length)
        {
            throw new TransportDecodeException(TransportError.TruncatedSctpHeader, 0, $"SCTP packet of {packet.Length} bytes is shorter than the 12-byte common header");
        }

        var crc = Crc(0xFFFFFFFFu, packet[..8]);
        crc = BitOperations.Crc32C(crc, 0u);
        return ~Crc(crc, packet[12..]);
    }

    public static bool IsValid(ReadOnlySpan<byte> packet) =>
        packet.Length >= SctpCommonHeader.Length && BinaryPrimitives.ReadUInt32LittleEndian(packet[8..]) == Compute(packet);

    /// <summary>Fills the checksum field of a built packet.</summary>
    public static void Write(Span<byte> packet) => BinaryPrimitives.WriteUInt32LittleEndian(packet[8..], Compute(packet));

    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
