using System.Buffers.Binary;
using System.Numerics;

namespace MobiScud.Testbed.Emulation;

public enum SctpChunkType : byte
{
    Data = 0,
    Init = 1,
    InitAck = 2,
    Sack = 3,
    Abort = 6,
    Shutdown = 7,
    ShutdownAck = 8,
    CookieEcho = 10,
    CookieAck = 11,
    ShutdownComplete = 14,
}

public readonly record struct SctpChunk(SctpChunkType Type, byte Flags, ReadOnlyMemory<byte> Value);

/// <summary>A decoded SCTP packet: common header and chunks (RFC 4960 section 3).</summary>
public sealed record SctpPacket(ushort SourcePort, ushort DestinationPort, uint VerificationTag, IReadOnlyList<SctpChunk> Chunks);

public sealed class SctpDecodeException(string message) : Exception(message);

/// <summary>
/// Writes and reads SCTP packets for the emulated S1-MME links. The checksum is CRC32c (RFC 4960 appendix B), stored
/// as the little-endian image of the complemented CRC, as Linux and Wireshark expect.
/// </summary>
public static class SctpCodec
{
    public const uint S1apPpid = 18;
    public const ushort S1apPort = 36412;

    /// <summary>RFC 6951 registered UDP encapsulation port.</summary>
    public const ushort UdpEncapsulationPort = 9899;

    public static byte[] Encode(ushort sourcePort, ushort destinationPort, uint verificationTag, params (SctpChunkType Type, byte Flags, byte[] Value)[] chunks)
    {
        var length = 12;
        foreach (var c in chunks)
        {
            length += Pad4(4 + c.Value.Length);
        }

        var packet = new byte[length];
        var s = packet.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(s, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(s[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(s[4..], verificationTag);
        var offset = 12;
        foreach (var c in chunks)
        {
            s[offset] = (byte)c.Type;
            s[offset + 1] = c.Flags;
            BinaryPrimitives.WriteUInt16BigEndian(s[(offset + 2)..], (ushort)(4 + c.Value.Length));
            c.Value.CopyTo(s[(offset + 4)..]);
            offset += Pad4(4 + c.Value.Length);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], Checksum(packet));
        return packet;
    }

    public static SctpPacket Decode(ReadOnlySpan<byte> packet, bool verifyChecksum = true)
    {
        if (packet.Length < 12)
        {
            throw new SctpDecodeException($"SCTP packet of {packet.Length} bytes is shorter than the 12-byte common header");
        }

        if (verifyChecksum)
        {
            var stored = BinaryPrimitives.ReadUInt32LittleEndian(packet[8..]);
            if (stored != Checksum(packet))
            {
                throw new SctpDecodeException($"SCTP checksum 0x{stored:x8} does not match the packet's CRC32c");
            }
        }

        var chunks = new List<SctpChunk>();
        var offset = 12;
        while (offset < packet.Length)
        {
            if (packet.Length - offset < 4)
            {
                throw new SctpDecodeException($"truncated chunk header at offset {offset}");
            }

            var len = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
            if (len < 4 || offset + len > packet.Length)
            {
                throw new SctpDecodeException($"chunk at offset {offset} claims length {len}, {packet.Length - offset} bytes left");
            }

            chunks.Add(new SctpChunk((SctpChunkType)packet[offset], packet[offset + 1], packet.Slice(offset + 4, len - 4).ToArray()));
            offset += Pad4(len);
        }

        return new SctpPacket(
            BinaryPrimitives.ReadUInt16BigEndian(packet),
            BinaryPrimitives.ReadUInt16BigEndian(packet[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
            chunks);
    }

    /// <summary>CRC32c over the packet with its checksum field taken as zero.</summary>
    public static uint Checksum(ReadOnlySpan<byte> packet)
    {
        var crc = 0xFFFFFFFFu;
        for (var i = 0; i < packet.Length; i++)
        {
            var b = i is >= 8 and < 12 ? (byte)0 : packet[i];
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    public static byte[] InitValue(uint initiateTag, uint aRwnd, ushort outStreams, ushort inStreams, uint initialTsn, byte[]? cookie = null)
    {
        var cookieParam = cookie is null ? 0 : Pad4(4 + cookie.Length);
        var v = new byte[16 + cookieParam];
        BinaryPrimitives.WriteUInt32BigEndian(v, initiateTag);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(4), aRwnd);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(8), outStreams);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(10), inStreams);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(12), initialTsn);
        if (cookie is not null)
        {
            // State Cookie parameter (type 7), only in INIT ACK.
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(16), 7);
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(18), (ushort)(4 + cookie.Length));
            cookie.CopyTo(v.AsSpan(20));
        }

        return v;
    }

    public static (uint InitiateTag, uint ARwnd, ushort OutStreams, ushort InStreams, uint InitialTsn, byte[]? Cookie) ReadInit(ReadOnlySpan<byte> v)
    {
        if (v.Length < 16)
        {
            throw new SctpDecodeException($"INIT value of {v.Length} bytes is shorter than 16");
        }

        byte[]? cookie = null;
        var offset = 16;
        while (v.Length - offset >= 4)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(v[offset..]);
            var len = BinaryPrimitives.ReadUInt16BigEndian(v[(offset + 2)..]);
            if (len < 4 || offset + len > v.Length)
            {
                throw new SctpDecodeException($"INIT parameter at {offset} claims length {len}");
            }

            if (type == 7)
            {
                cookie = v.Slice(offset + 4, len - 4).ToArray();
            }

            offset += Pad4(len);
        }

        return (BinaryPrimitives.ReadUInt32BigEndian(v), BinaryPrimitives.ReadUInt32BigEndian(v[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(v[8..]), BinaryPrimitives.ReadUInt16BigEndian(v[10..]),
            BinaryPrimitives.ReadUInt32BigEndian(v[12..]), cookie);
    }

    /// <summary>DATA chunk value: TSN, stream, stream sequence, PPID, user data (flags B|E set by the caller).</summary>
    public static byte[] DataValue(uint tsn, ushort stream, ushort ssn, uint ppid, ReadOnlySpan<byte> payload)
    {
        var v = new byte[12 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(v, tsn);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(4), stream);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(6), ssn);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(8), ppid);
        payload.CopyTo(v.AsSpan(12));
        return v;
    }

    public static byte[] SackValue(uint cumulativeTsnAck, uint aRwnd)
    {
        var v = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(v, cumulativeTsnAck);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(4), aRwnd);
        return v;
    }

    private static int Pad4(int n) => (n + 3) & ~3;
}
