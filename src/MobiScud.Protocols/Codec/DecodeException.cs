namespace MobiScud.Protocols;

/// <summary>
/// Root of every typed decode error of MobiScud's codecs (APER, S1AP, NGAP, NAS, GTP, SCTP and the link layers,
/// OpenFlow): malformed input is reported with the protocol, what was wrong and where, never as IndexOutOfRange or a
/// crash. Catch this to count undecodable input whatever its protocol.
/// </summary>
public abstract class DecodeException : Exception
{
    protected DecodeException(string protocol, string reason, long bitOffset, string detail)
        : base($"{protocol}: {detail} at bit {bitOffset} (byte {bitOffset / 8})")
    {
        Protocol = protocol;
        Reason = reason;
        BitOffset = bitOffset;
        Detail = detail;
    }

    /// <summary>Protocol whose decoder rejected the input (APER, S1AP, NAS, GTPv2-C, GTP-U, transport, OpenFlow ...).</summary>
    public string Protocol { get; }

    /// <summary>Machine-readable reason (an enum name of the protocol's error kinds), for counting by reason.</summary>
    public string Reason { get; }

    /// <summary>Bit offset within the decoded buffer where the problem was found.</summary>
    public long BitOffset { get; }

    /// <summary>Octet holding <see cref="BitOffset"/>: the offset byte-oriented protocols speak in.</summary>
    public long ByteOffset => BitOffset / 8;

    /// <summary>What was wrong, without the protocol and offset prefix.</summary>
    public string Detail { get; }
}
