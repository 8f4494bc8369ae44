using MobiScud.Protocols;
using MobiScud.Protocols.Nas;

namespace MobiScud.Tracking;

/// <summary>
/// Reduces decoded 5G NAS (TS 24.501) to the tracker's <see cref="NasFacts"/>, in the EPS terms the tracker already
/// uses: an initial (or emergency) Registration Request is an attach, a mobility/periodic one a tracking area update,
/// Deregistration a detach, the 5G-TMSI plays the M-TMSI. Ciphered NAS is reported as such, never guessed.
/// </summary>
internal static class Nas5gFactsReader
{
    private const byte Epd5gmm = 0x7E;

    /// <param name="nullCiphering">The UE's Security Mode Command selected 5G-EA0, so "ciphered" messages are readable.</param>
    public static NasFacts? Read(ReadOnlySpan<byte> pdu, bool nullCiphering)
    {
        if (pdu.IsEmpty)
        {
            return null;
        }

        Nas5gMessage m;
        try
        {
            m = Nas5gDecoder.Decode(pdu, nullCiphering);
        }
        catch (DecodeException)
        {
            return new NasFacts(NasKind.Other);
        }

        if (m.Ciphered)
        {
            return new NasFacts(NasKind.Ciphered);
        }

        var kind = m.Epd != Epd5gmm ? NasKind.Other : m.MessageType switch
        {
            // TS 24.501 9.11.3.7: 1 initial, 2 mobility updating, 3 periodic updating, 4 emergency.
            Nas5gMessageType.RegistrationRequest => m.RegistrationType is 2 or 3 ? NasKind.TrackingAreaUpdateRequest : NasKind.AttachRequest,
            Nas5gMessageType.RegistrationAccept => NasKind.AttachAccept,
            Nas5gMessageType.RegistrationReject => NasKind.AttachReject,
            Nas5gMessageType.IdentityResponse => NasKind.IdentityResponse,
            Nas5gMessageType.ServiceRequest => NasKind.ServiceRequest,
            Nas5gMessageType.DeregistrationRequestUeOriginating or Nas5gMessageType.DeregistrationRequestUeTerminated => NasKind.DetachRequest,
            Nas5gMessageType.SecurityModeCommand => NasKind.SecurityModeCommand,
            _ => NasKind.Other,
        };

        // The inner message (a Registration Request's NAS message container, a NAS transport's 5GSM payload) fills gaps.
        string? imsi = null;
        uint? tmsi = null;
        System.Net.IPAddress? address = null;
        foreach (var part in m.SelfAndInner())
        {
            imsi ??= part.Imsi;
            tmsi ??= part.Guti?.Tmsi ?? part.STmsi?.Tmsi;
            address ??= part.PduAddress?.Ipv4;
        }

        return new NasFacts(kind, imsi, tmsi, address, m.SelectedCipheringAlgorithm);
    }

    /// <summary>The facts of several NAS-PDUs of one message (the NAS-PDU IE, then those of PDU session items).</summary>
    public static NasFacts? ReadAll(IReadOnlyList<byte[]> pdus, bool nullCiphering) =>
        NasFacts.ReadAll(pdus, pdu => Read(pdu, nullCiphering));
}
