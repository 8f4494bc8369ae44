using MobiScud.Protocols;
using MobiScud.Protocols.Nas;

namespace MobiScud.Tracking;

/// <summary>Reduces decoded NAS (TS 24.301) to the facts the tracker uses. Ciphered NAS is reported as such, never guessed.</summary>
internal static class NasFactsReader
{
    /// <param name="nullCiphering">The UE's Security Mode Command selected EEA0, so "ciphered" messages are readable.</param>
    public static NasFacts? Read(ReadOnlySpan<byte> pdu, bool nullCiphering)
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
            return new NasFacts(NasKind.Other);
        }

        if (m.Ciphered)
        {
            return new NasFacts(NasKind.Ciphered);
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
