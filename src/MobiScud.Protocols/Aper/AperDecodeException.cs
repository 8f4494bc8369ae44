namespace MobiScud.Protocols.Aper;

/// <summary>Why an APER (or APER-based protocol such as S1AP) decode failed.</summary>
public enum AperError
{
    /// <summary>The input ended before the field did.</summary>
    Truncated,

    /// <summary>A value lies outside its constraint (e.g. a choice index beyond the root).</summary>
    ConstraintViolation,

    /// <summary>A length determinant is malformed or larger than the data that follows.</summary>
    BadLength,

    /// <summary>An open type's content does not decode as the type its id says it holds.</summary>
    BadOpenType,

    /// <summary>A value is too large for this implementation (e.g. integers over 64 bits).</summary>
    Unsupported,
}

/// <summary>Typed APER/S1AP decode error: the reason and the bit offset where decoding stopped.</summary>
internal sealed class AperDecodeException : DecodeException
{
    public AperDecodeException(AperError error, long bitOffset, string message, string protocol = "APER")
        : base(protocol, error.ToString(), bitOffset, message)
    {
        Error = error;
    }

    public AperError Error { get; }
}
