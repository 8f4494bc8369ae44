namespace MobiScud.Protocols.Link;

/// <summary>Why a frame could not be taken apart below the application layer. Counted per reason by the pipeline.</summary>
public enum TransportError
{
    None = 0,
    UnsupportedLinkType,
    TruncatedLinkHeader,
    NotIp,
    TruncatedIpHeader,
    BadIpVersion,
    BadIpHeaderLength,
    BadIpTotalLength,
    IpFragment,
    IpFragmentDropped,
    UnsupportedIpv6ExtensionHeader,
    UnsupportedIpProtocol,
    TruncatedUdpHeader,
    BadUdpLength,
    TruncatedSctpHeader,
    TruncatedSctpChunk,
    BadSctpChunkLength,
    BadSctpDataChunk,
    BadSctpInitChunk,
    BadSctpSackChunk,
    BadSctpShutdownChunk,
    SctpDuplicateTsn,
    SctpFragmentOutOfOrder,
    SctpMessageTooLarge,
    BadSctpChecksum,
}

/// <summary>The typed decode error of the transport codecs: what was wrong and at which byte offset of the input.</summary>
public sealed class TransportDecodeException(TransportError error, int offset, string? detail = null)
    : DecodeException("transport", error.ToString(), offset * 8L, detail ?? error.ToString())
{
    public TransportError Error { get; } = error;
}
