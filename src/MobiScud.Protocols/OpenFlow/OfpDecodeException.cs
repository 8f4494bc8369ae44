namespace MobiScud.Protocols.OpenFlow;

/// <summary>Why an OpenFlow message could not be decoded.</summary>
public enum OfpDecodeError
{
    Truncated,
    BadLength,
    BadVersion,
    BadMatch,
    BadOxm,
    BadInstruction,
    BadAction,
    BadHelloElement,
    BadMultipart,
}

/// <summary>A malformed OpenFlow message: what was wrong, where (byte offset in the message) and in which structure.</summary>
public sealed class OfpDecodeException(OfpDecodeError error, int offset, string detail)
    : DecodeException("OpenFlow", error.ToString(), offset * 8L, detail)
{
    public OfpDecodeError Error { get; } = error;
}
