using MobiScud.Protocols;
using MobiScud.Protocols.Nas;

namespace MobiScud.Tracking;

/// <summary>Reduces decoded NAS (TS 24.301) to the facts the tracker uses. Ciphered NAS is reported as such, never guessed.</summary>
internal static class NasFactsReader
{
    // Facts without identities are values: one instance each rather than one per message (most NAS is ciphered).
    private static readonly NasFacts _cipheredFacts = new(NasKind.Ciphered);
    private static readonly NasFacts _otherFacts = new(NasKind.Other);

    /// <param name="nullCiphering">The UE's Security Mode Command selected EEA0, so "ciphered" messages are readable.</param>
    public static NasFacts? Read(ReadOnlySpan<byte> pdu, bool nullCiphering)
    {
        if (pdu.IsEmpty)
        {
            return null;
        }

        // Security header type 2 or 4 (ciphered) of an EMM message, with its MAC and sequence number: what NasDecoder
        // returns as Ciphered when the UE does not use EEA0, known without decoding (and allocating) a NasMessage.
        if (!nullCiphering && pdu.Length >= 6 && (pdu[0] & 0x0F) == 7 && (pdu[0] >> 4) is 2 or 4)
        {
            return _cipheredFacts;
        }

        // Readable EMM messages of a type the decoder reads nothing from (authentication, security mode complete, EMM
        // information, ...): "other", known from the two header bytes without decoding (and allocating) a NasMessage.
        // ReadByDecoding is the reference; NasFactsReaderTests holds the two equal on every header and message type.
        if (IsFactlessEmm(pdu))
        {
            return _otherFacts;
        }

        return ReadByDecoding(pdu, nullCiphering);
    }

    /// <summary>The facts as the decoder's <see cref="NasMessage"/> gives them: what <see cref="Read"/> must equal.</summary>
    internal static NasFacts? ReadByDecoding(ReadOnlySpan<byte> pdu, bool nullCiphering)
    {
        if (pdu.IsEmpty)
        {
            return null;
        }

        NasMessage m;
        try
        {
            m = NasDecoder.Decode(pdu, nullCiphering);
        }
        catch (DecodeException)
        {
            return _otherFacts;
        }

        if (m.Ciphered)
        {
            return _cipheredFacts;
        }

        var kind = m.ProtocolDiscriminator != 7 && m.MessageType != NasMessageType.ServiceRequest
            ? NasKind.Other
            : m.MessageType switch
            {
                NasMessageType.AttachRequest => NasKind.AttachRequest,
                NasMessageType.AttachAccept => NasKind.AttachAccept,
                NasMessageType.AttachReject => NasKind.AttachReject,
                NasMessageType.IdentityResponse => NasKind.IdentityResponse,
                NasMessageType.ServiceRequest or NasMessageType.ExtendedServiceRequest => NasKind.ServiceRequest,
                NasMessageType.DetachRequest => NasKind.DetachRequest,
                NasMessageType.TrackingAreaUpdateRequest => NasKind.TrackingAreaUpdateRequest,
                NasMessageType.TrackingAreaUpdateAccept => NasKind.TrackingAreaUpdateAccept,
                NasMessageType.SecurityModeCommand => NasKind.SecurityModeCommand,
                _ => NasKind.Other,
            };
        var pdn = m.EsmMessage?.PdnAddress ?? m.PdnAddress;
        return new NasFacts(kind, m.Imsi, m.Guti?.MTmsi ?? m.MTmsi, pdn?.Ipv4, m.SelectedCipheringAlgorithm);
    }

    /// <summary>
    /// A plain EMM message, or one under security header 1-4 that <see cref="Read"/> has not already answered as
    /// ciphered, whose type is none that <c>NasDecoder</c> reads fields of or that has a kind of its own.
    /// </summary>
    internal static bool IsFactlessEmm(ReadOnlySpan<byte> pdu)
    {
        if (pdu.IsEmpty)
        {
            return false;
        }

        var header = pdu[0] >> 4;
        if ((pdu[0] & 0x0F) != 7 || header > 4)
        {
            return false; // ESM (may carry a PDN address), other protocols, Service Request, reserved headers: decoded.
        }

        // Security header: MAC (4 bytes) and sequence number before the inner message.
        var inner = header == 0 ? 0 : 6;
        if (pdu.Length < inner + 2 || pdu[inner] != 0x07)
        {
            return false; // truncated, or not a plain EMM message inside: the decoder says what it is.
        }

        return pdu[inner + 1] is not (NasMessageType.AttachRequest or NasMessageType.AttachAccept or NasMessageType.AttachComplete
            or NasMessageType.AttachReject or NasMessageType.TrackingAreaUpdateReject or NasMessageType.ServiceReject
            or NasMessageType.DetachRequest or NasMessageType.TrackingAreaUpdateRequest or NasMessageType.ExtendedServiceRequest
            or NasMessageType.TrackingAreaUpdateAccept or NasMessageType.IdentityResponse or NasMessageType.SecurityModeCommand
            or NasMessageType.ServiceRequest);
    }
}
