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
}
