namespace MobiScud.Protocols;

/// <summary>
/// Base of every typed decode error in MobiScud.Protocols: malformed input is reported with the protocol,
/// what was wrong and where, never as IndexOutOfRange or a crash. Catch this to count undecodable packets.
/// </summary>
public abstract class DecodeException : Exception
{
    protected DecodeException(string protocol, string reason, long bitOffset, string message)
        : base($"{protocol}: {message} at bit {bitOffset} (byte {bitOffset / 8})")
    {
        Protocol = protocol;
        Reason = reason;
        BitOffset = bitOffset;
    }

    /// <summary>Protocol whose decoder rejected the input (APER, S1AP, NAS, GTPv2-C, GTP-U ...).</summary>
    public string Protocol { get; }

    /// <summary>Machine-readable reason (an enum name of the protocol's error kinds), for counting by reason.</summary>
    public string Reason { get; }

    /// <summary>Bit offset within the decoded buffer where the problem was found.</summary>
    public long BitOffset { get; }
}
