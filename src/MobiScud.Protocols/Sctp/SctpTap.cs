using MobiScud.Protocols.Link;

namespace MobiScud.Protocols.Sctp;

/// <summary>Receives what <see cref="SctpTap"/> takes out of SCTP packets.</summary>
public interface ISctpSink
{
    /// <summary>A whole user message (reassembled if it was fragmented). <paramref name="message"/> is only valid during the call.</summary>
    void OnMessage(in SctpAssociationKey association, SctpDirection direction, ushort streamId, uint payloadProtocolId, ReadOnlySpan<byte> message);

    /// <summary>Something in the packet was dropped (bad chunk, retransmission, fragment gap ...).</summary>
    void OnDropped(TransportError reason);
}

/// <summary>
/// Passive SCTP receiver for a tap: walks every chunk of a packet, restarts TSN tracking on INIT/INIT-ACK, and hands
/// whole user messages (bundled chunks split, fragments reassembled, retransmissions dropped) to a sink.
/// </summary>
public sealed class SctpTap(SctpReassembler? reassembler = null)
{
    public SctpReassembler Reassembler { get; } = reassembler ?? new SctpReassembler();

    /// <summary>Decodes one SCTP packet (common header included). Returns false if the common header itself is unusable.</summary>
    public bool Process(NetAddress source, NetAddress destination, ReadOnlySpan<byte> packet, ISctpSink sink)
    {
        if (!SctpCommonHeader.TryDecode(packet, out var header, out var error))
        {
            sink.OnDropped(error);
            return false;
        }

        var key = SctpAssociationKey.From(new NetEndpoint(source, header.SourcePort), new NetEndpoint(destination, header.DestinationPort), out var direction);
        var reader = new SctpChunkReader(packet);
        while (reader.TryReadNext(out var chunk, out error))
        {
            switch (chunk.Type)
            {
                case SctpChunkType.Data:
                    if (!SctpDataChunk.TryParse(chunk, out var data, out error))
                    {
                        sink.OnDropped(error);
                        break;
                    }

                    switch (Reassembler.Accept(key, direction, header.VerificationTag, data, out var message))
                    {
                        case SctpDataResult.Delivered:
                            sink.OnMessage(key, direction, data.StreamId, data.PayloadProtocolId, message);
                            break;
                        case SctpDataResult.Duplicate:
                            sink.OnDropped(TransportError.SctpDuplicateTsn);
                            break;
                        case SctpDataResult.OutOfOrderFragment:
                            sink.OnDropped(TransportError.SctpFragmentOutOfOrder);
                            break;
                        case SctpDataResult.TooLarge:
                            sink.OnDropped(TransportError.SctpMessageTooLarge);
                            break;
                    }

                    break;
                case SctpChunkType.Init or SctpChunkType.InitAck:
                    if (SctpInitChunk.TryParse(chunk, out _, out error))
                    {
                        Reassembler.Restart(key, direction);
                    }
                    else
                    {
                        sink.OnDropped(error);
                    }

                    break;
            }
        }

        if (error != TransportError.None)
        {
            sink.OnDropped(error);
        }

        return true;
    }
}
