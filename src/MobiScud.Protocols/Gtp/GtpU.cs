using System.Buffers.Binary;

namespace MobiScud.Protocols.Gtp;

/// <summary>GTP-U message types (TS 29.281 6.1).</summary>
public static class GtpUMessageType
{
    public const byte EchoRequest = 1;
    public const byte EchoResponse = 2;
    public const byte ErrorIndication = 26;
    public const byte SupportedExtensionHeadersNotification = 31;
    public const byte EndMarker = 254;
    public const byte GPdu = 255;
}

/// <summary>
/// A decoded GTP-U header (TS 29.281 5.1/5.2): a value type with offsets into the decoded buffer, so the
/// per-packet path allocates nothing. The extension header chain is validated and counted.
/// </summary>
public readonly struct GtpUHeader
{
    public byte Flags { get; init; }

    public byte MessageType { get; init; }

    public uint Teid { get; init; }

    public ushort? SequenceNumber { get; init; }

    public byte? NPduNumber { get; init; }

    /// <summary>Number of extension headers in the chain.</summary>
    public int ExtensionHeaderCount { get; init; }

    /// <summary>QoS flow identifier of a PDU Session Container extension header (type 0x85, TS 38.415 5.5.2), when present.</summary>
    public byte? Qfi { get; init; }

    /// <summary>PDU type of the PDU Session Container: 0 DL PDU SESSION INFORMATION, 1 UL PDU SESSION INFORMATION.</summary>
    public byte? PduSessionPduType { get; init; }

    public int PayloadOffset { get; init; }

    public int PayloadLength { get; init; }

    public bool IsGPdu => MessageType == GtpUMessageType.GPdu;

    /// <summary>The T-PDU (inner IP packet for a G-PDU) as a slice of the decoded buffer.</summary>
    public ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> packet) => packet.Slice(PayloadOffset, PayloadLength);
}

/// <summary>TS 29.281 GTP-U header decoder and a minimal G-PDU writer.</summary>
public static class GtpU
{
    private const string Protocol = "GTP-U";

    /// <summary>Extension header type of the PDU Session Container (TS 29.281 5.2.1).</summary>
    public const byte PduSessionContainer = 0x85;

    public static GtpUHeader Decode(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 8)
        {
            throw new GtpDecodeException(Protocol, GtpError.Truncated, 0, $"header needs 8 octets, {packet.Length} present");
        }

        var flags = packet[0];
        if ((flags >> 5) != 1 || (flags & 0x10) == 0)
        {
            throw new GtpDecodeException(Protocol, GtpError.BadVersion, 0, $"version {flags >> 5}, PT {(flags >> 4) & 1}");
        }

        var type = packet[1];
        var length = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        var teid = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
        var end = 8 + length;
        if (end > packet.Length)
        {
            throw new GtpDecodeException(Protocol, GtpError.BadLength, 2, $"length {length} with {packet.Length - 8} octets after the header");
        }

        var pos = 8;
        ushort? seq = null;
        byte? npdu = null;
        var count = 0;
        byte? qfi = null, pduType = null;
        if ((flags & 0x07) != 0)
        {
            if (end - pos < 4)
            {
                throw new GtpDecodeException(Protocol, GtpError.Truncated, pos, "optional header fields need 4 octets");
            }

            if ((flags & 0x02) != 0)
            {
                seq = BinaryPrimitives.ReadUInt16BigEndian(packet[pos..]);
            }

            if ((flags & 0x01) != 0)
            {
                npdu = packet[pos + 2];
            }

            var next = (flags & 0x04) != 0 ? packet[pos + 3] : (byte)0;
            pos += 4;
            while (next != 0)
            {
                if (end - pos < 1)
                {
                    throw new GtpDecodeException(Protocol, GtpError.Truncated, pos, $"extension header 0x{next:x2} missing");
                }

                var units = packet[pos];
                if (units == 0 || units * 4 > end - pos)
                {
                    throw new GtpDecodeException(Protocol, GtpError.BadLength, pos, $"extension header 0x{next:x2} of {units} units");
                }

                if (next == PduSessionContainer)
                {
                    // Content after the length octet: PDU type in the high nibble, then QFI in the low 6 bits (DL and UL alike).
                    pduType = (byte)(packet[pos + 1] >> 4);
                    qfi = (byte)(packet[pos + 2] & 0x3F);
                }

                count++;
                pos += units * 4;
                next = packet[pos - 1];
            }
        }

        return new GtpUHeader
        {
            Flags = flags,
            MessageType = type,
            Teid = teid,
            SequenceNumber = seq,
            NPduNumber = npdu,
            ExtensionHeaderCount = count,
            Qfi = qfi,
            PduSessionPduType = pduType,
            PayloadOffset = pos,
            PayloadLength = end - pos,
        };
    }

    /// <summary>Writes a G-PDU (8-octet header, no options) around <paramref name="payload"/>; returns the octets written.</summary>
    public static int WriteGPdu(Span<byte> destination, uint teid, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > ushort.MaxValue || destination.Length < 8 + payload.Length)
        {
            throw new ArgumentException("destination too small or payload over 65535 octets");
        }

        destination[0] = 0x30;
        destination[1] = GtpUMessageType.GPdu;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], teid);
        payload.CopyTo(destination[8..]);
        return 8 + payload.Length;
    }
}
