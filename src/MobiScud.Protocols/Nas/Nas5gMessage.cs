using System.Net;

namespace MobiScud.Protocols.Nas;

/// <summary>5GS security header type (TS 24.501 9.3.1).</summary>
public enum Nas5gSecurityHeaderType : byte
{
    Plain = 0,
    IntegrityProtected = 1,
    IntegrityProtectedAndCiphered = 2,
    IntegrityProtectedNewContext = 3,
    IntegrityProtectedAndCipheredNewContext = 4,
}

/// <summary>5GMM (EPD 0x7E) and 5GSM (EPD 0x2E) message types the MC looks at (TS 24.501 9.7).</summary>
public static class Nas5gMessageType
{
    public const byte RegistrationRequest = 0x41;
    public const byte RegistrationAccept = 0x42;
    public const byte RegistrationComplete = 0x43;
    public const byte RegistrationReject = 0x44;
    public const byte DeregistrationRequestUeOriginating = 0x45;
    public const byte DeregistrationAcceptUeOriginating = 0x46;
    public const byte DeregistrationRequestUeTerminated = 0x47;
    public const byte DeregistrationAcceptUeTerminated = 0x48;
    public const byte ServiceRequest = 0x4C;
    public const byte ServiceReject = 0x4D;
    public const byte ServiceAccept = 0x4E;
    public const byte IdentityRequest = 0x5B;
    public const byte IdentityResponse = 0x5C;
    public const byte SecurityModeCommand = 0x5D;
    public const byte SecurityModeComplete = 0x5E;
    public const byte UlNasTransport = 0x67;
    public const byte DlNasTransport = 0x68;

    public const byte PduSessionEstablishmentRequest = 0xC1;
    public const byte PduSessionEstablishmentAccept = 0xC2;
    public const byte PduSessionEstablishmentReject = 0xC3;
    public const byte PduSessionReleaseCommand = 0xD3;
}

/// <summary>5G-GUTI: PLMN (TBCD octets), AMF region, AMF set (10 bits), AMF pointer (6 bits), 5G-TMSI.</summary>
public readonly record struct FiveGGuti(byte Plmn0, byte Plmn1, byte Plmn2, byte AmfRegionId, ushort AmfSetId, byte AmfPointer, uint Tmsi)
{
    public override string ToString() => $"5g-guti-{Plmn0:x2}{Plmn1:x2}{Plmn2:x2}-{AmfRegionId:x2}-{AmfSetId:x3}-{AmfPointer:x2}-{Tmsi:x8}";
}

/// <summary>PDU address (TS 24.501 9.11.4.10): IPv4, IPv6 interface identifier, or both.</summary>
public sealed record Nas5gPduAddress(byte PduSessionType, IPAddress? Ipv4, ulong? Ipv6InterfaceId)
{
    public override string ToString() => NasIpAddress.Format(Ipv4, Ipv6InterfaceId);
}

/// <summary>
/// A decoded 5G NAS message: header, type and the identities/addresses the UE tracker uses. A ciphered message that is
/// not known to use 5G-EA0 is reported with <see cref="Ciphered"/> set and nothing else decoded: never guessed.
/// </summary>
public sealed record Nas5gMessage
{
    public Nas5gSecurityHeaderType SecurityHeaderType { get; init; }

    /// <summary>Extended protocol discriminator of the (inner) message: 0x7E 5GMM, 0x2E 5GSM.</summary>
    public byte Epd { get; init; }

    public byte MessageType { get; init; }

    public bool Ciphered { get; init; }

    public uint? MessageAuthenticationCode { get; init; }

    public byte? SequenceNumber { get; init; }

    /// <summary>SUPI as an IMSI, from a SUCI with the null protection scheme (or an IMSI-format SUCI's plain MSIN).</summary>
    public string? Imsi { get; init; }

    /// <summary>True when the UE sent a SUCI with a protection scheme other than null: the SUPI is concealed.</summary>
    public bool ConcealedSuci { get; init; }

    public FiveGGuti? Guti { get; init; }

    /// <summary>5G-S-TMSI of a Service Request (AMF set, pointer, 5G-TMSI).</summary>
    public (ushort AmfSetId, byte AmfPointer, uint Tmsi)? STmsi { get; init; }

    public byte? RegistrationType { get; init; }

    public byte? DeregistrationType { get; init; }

    public byte? ServiceType { get; init; }

    public byte? Cause { get; init; }

    /// <summary>Security Mode Command: selected ciphering (0 = 5G-EA0) and integrity algorithms.</summary>
    public byte? SelectedCipheringAlgorithm { get; init; }

    public byte? SelectedIntegrityAlgorithm { get; init; }

    /// <summary>The 5GSM message in a UL/DL NAS Transport's payload container, or the message in a NAS message container.</summary>
    public Nas5gMessage? Inner { get; init; }

    /// <summary>5GSM: the PDU session identity.</summary>
    public byte? PduSessionId { get; init; }

    /// <summary>PDU Session Establishment Accept: the PDU address (UE IP).</summary>
    public Nas5gPduAddress? PduAddress { get; init; }

    public IEnumerable<Nas5gMessage> SelfAndInner()
    {
        for (var m = this; m is not null; m = m.Inner)
        {
            yield return m;
        }
    }

    public string MessageName => Ciphered ? "Ciphered" : (Epd, MessageType) switch
    {
        (0x7E, Nas5gMessageType.RegistrationRequest) => "RegistrationRequest",
        (0x7E, Nas5gMessageType.RegistrationAccept) => "RegistrationAccept",
        (0x7E, Nas5gMessageType.RegistrationComplete) => "RegistrationComplete",
        (0x7E, Nas5gMessageType.RegistrationReject) => "RegistrationReject",
        (0x7E, Nas5gMessageType.DeregistrationRequestUeOriginating) => "DeregistrationRequest(UE originating)",
        (0x7E, Nas5gMessageType.DeregistrationAcceptUeOriginating) => "DeregistrationAccept(UE originating)",
        (0x7E, Nas5gMessageType.DeregistrationRequestUeTerminated) => "DeregistrationRequest(UE terminated)",
        (0x7E, Nas5gMessageType.DeregistrationAcceptUeTerminated) => "DeregistrationAccept(UE terminated)",
        (0x7E, Nas5gMessageType.ServiceRequest) => "ServiceRequest",
        (0x7E, Nas5gMessageType.ServiceAccept) => "ServiceAccept",
        (0x7E, Nas5gMessageType.ServiceReject) => "ServiceReject",
        (0x7E, Nas5gMessageType.IdentityResponse) => "IdentityResponse",
        (0x7E, Nas5gMessageType.SecurityModeCommand) => "SecurityModeCommand",
        (0x7E, Nas5gMessageType.SecurityModeComplete) => "SecurityModeComplete",
        (0x7E, Nas5gMessageType.UlNasTransport) => "ULNASTransport",
        (0x7E, Nas5gMessageType.DlNasTransport) => "DLNASTransport",
        (0x2E, Nas5gMessageType.PduSessionEstablishmentRequest) => "PDUSessionEstablishmentRequest",
        (0x2E, Nas5gMessageType.PduSessionEstablishmentAccept) => "PDUSessionEstablishmentAccept",
        (0x2E, Nas5gMessageType.PduSessionEstablishmentReject) => "PDUSessionEstablishmentReject",
        (0x2E, Nas5gMessageType.PduSessionReleaseCommand) => "PDUSessionReleaseCommand",
        _ => $"nas5g-0x{Epd:x2}-0x{MessageType:x2}",
    };

    public override string ToString() =>
        string.Join(" / ", SelfAndInner().Select(m => m.MessageName + (m.Imsi is null ? string.Empty : $" imsi {m.Imsi}") +
            (m.Guti is { } g ? $" {g}" : string.Empty) + (m.PduAddress is { } p ? $" pdu {p}" : string.Empty)));
}
