using System.Net;

namespace MobiScud.Protocols.Nas;

/// <summary>Why a NAS decode failed.</summary>
internal enum NasError
{
    Truncated,
    BadLength,
    UnknownProtocol,
}

/// <summary>Typed NAS decode error with the reason and the bit offset (octet offset * 8).</summary>
internal sealed class NasDecodeException(NasError error, int byteOffset, string message)
    : DecodeException("NAS", error.ToString(), byteOffset * 8L, message)
{
    public NasError Error { get; } = error;
}

/// <summary>Security header type (TS 24.301 9.3.1).</summary>
public enum NasSecurityHeaderType : byte
{
    Plain = 0,
    IntegrityProtected = 1,
    IntegrityProtectedAndCiphered = 2,
    IntegrityProtectedNewContext = 3,
    IntegrityProtectedAndCipheredNewContext = 4,
    ServiceRequest = 12,
}

/// <summary>EMM (0x07) and ESM (0x02) message types the MC looks at (TS 24.301 9.8).</summary>
public static class NasMessageType
{
    public const byte AttachRequest = 0x41;
    public const byte AttachAccept = 0x42;
    public const byte AttachComplete = 0x43;
    public const byte AttachReject = 0x44;
    public const byte DetachRequest = 0x45;
    public const byte DetachAccept = 0x46;
    public const byte TrackingAreaUpdateRequest = 0x48;
    public const byte TrackingAreaUpdateAccept = 0x49;
    public const byte TrackingAreaUpdateComplete = 0x4A;
    public const byte TrackingAreaUpdateReject = 0x4B;
    public const byte ExtendedServiceRequest = 0x4C;
    public const byte ServiceReject = 0x4E;
    public const byte IdentityRequest = 0x55;
    public const byte IdentityResponse = 0x56;
    public const byte SecurityModeCommand = 0x5D;
    public const byte SecurityModeComplete = 0x5E;

    /// <summary>Not a real message type: the SERVICE REQUEST has its own header (security header type 12).</summary>
    public const byte ServiceRequest = 0xFF;

    public const byte ActivateDefaultEpsBearerContextRequest = 0xC1;
    public const byte ActivateDedicatedEpsBearerContextRequest = 0xC5;
    public const byte PdnConnectivityRequest = 0xD0;
}

/// <summary>GUTI: PLMN (TBCD octets), MME group id, MME code, M-TMSI.</summary>
public readonly record struct Guti(byte Plmn0, byte Plmn1, byte Plmn2, ushort MmeGroupId, byte MmeCode, uint MTmsi)
{
    public override string ToString() => $"guti-{Plmn0:x2}{Plmn1:x2}{Plmn2:x2}-{MmeGroupId:x4}-{MmeCode:x2}-{MTmsi:x8}";
}

/// <summary>PDN address (TS 24.301 9.9.4.9): IPv4, IPv6 interface identifier, or both.</summary>
public sealed record NasPdnAddress(byte PdnType, IPAddress? Ipv4, ulong? Ipv6InterfaceId)
{
    public override string ToString() => NasIpAddress.Format(Ipv4, Ipv6InterfaceId);
}

/// <summary>A decoded NAS message: header, type and the identities/addresses the UE tracker uses.</summary>
public sealed record NasMessage
{
    public NasSecurityHeaderType SecurityHeaderType { get; init; }

    /// <summary>Protocol discriminator of the (inner) message: 7 EMM, 2 ESM.</summary>
    public byte ProtocolDiscriminator { get; init; }

    /// <summary>Message type, or <see cref="NasMessageType.ServiceRequest"/> for the short SERVICE REQUEST.</summary>
    public byte MessageType { get; init; }

    /// <summary>True when the payload is ciphered with an algorithm other than EEA0 (or not known to be EEA0): not decoded.</summary>
    public bool Ciphered { get; init; }

    public uint? MessageAuthenticationCode { get; init; }

    public byte? SequenceNumber { get; init; }

    public string? Imsi { get; init; }

    public Guti? Guti { get; init; }

    /// <summary>M-TMSI of an S-TMSI identity (extended service request, TMSI mobile identity).</summary>
    public uint? MTmsi { get; init; }

    public byte? EmmCause { get; init; }

    /// <summary>Security Mode Command: the selected NAS ciphering algorithm (0 = EEA0) and integrity algorithm.</summary>
    public byte? SelectedCipheringAlgorithm { get; init; }

    public byte? SelectedIntegrityAlgorithm { get; init; }

    /// <summary>The ESM message inside an ESM message container (Attach Request/Accept), or the message itself for ESM.</summary>
    public NasMessage? EsmMessage { get; init; }

    public byte? EpsBearerId { get; init; }

    public NasPdnAddress? PdnAddress { get; init; }

    public string? AccessPointName { get; init; }

    public string MessageName => (ProtocolDiscriminator, MessageType) switch
    {
        (_, NasMessageType.ServiceRequest) => "ServiceRequest",
        (7, NasMessageType.AttachRequest) => "AttachRequest",
        (7, NasMessageType.AttachAccept) => "AttachAccept",
        (7, NasMessageType.AttachComplete) => "AttachComplete",
        (7, NasMessageType.AttachReject) => "AttachReject",
        (7, NasMessageType.DetachRequest) => "DetachRequest",
        (7, NasMessageType.DetachAccept) => "DetachAccept",
        (7, NasMessageType.TrackingAreaUpdateRequest) => "TrackingAreaUpdateRequest",
        (7, NasMessageType.TrackingAreaUpdateAccept) => "TrackingAreaUpdateAccept",
        (7, NasMessageType.TrackingAreaUpdateComplete) => "TrackingAreaUpdateComplete",
        (7, NasMessageType.TrackingAreaUpdateReject) => "TrackingAreaUpdateReject",
        (7, NasMessageType.ExtendedServiceRequest) => "ExtendedServiceRequest",
        (7, NasMessageType.ServiceReject) => "ServiceReject",
        (7, NasMessageType.IdentityResponse) => "IdentityResponse",
        (7, NasMessageType.SecurityModeCommand) => "SecurityModeCommand",
        (2, NasMessageType.ActivateDefaultEpsBearerContextRequest) => "ActivateDefaultEpsBearerContextRequest",
        (2, NasMessageType.ActivateDedicatedEpsBearerContextRequest) => "ActivateDedicatedEpsBearerContextRequest",
        (2, NasMessageType.PdnConnectivityRequest) => "PdnConnectivityRequest",
        _ when Ciphered => "Ciphered",
        _ when _otherNames.TryGetValue((ProtocolDiscriminator, MessageType), out var name) => name,
        _ => $"nas-{ProtocolDiscriminator}-0x{MessageType:x2}",
    };

    /// <summary>Names (TS 24.301 9.8) of the messages the MC does not decode further, for per-message views.</summary>
    private static readonly Dictionary<(byte, byte), string> _otherNames = new()
    {
        [(7, 0x4D)] = "ServiceAccept",
        [(7, 0x50)] = "GutiReallocationCommand",
        [(7, 0x51)] = "GutiReallocationComplete",
        [(7, 0x52)] = "AuthenticationRequest",
        [(7, 0x53)] = "AuthenticationResponse",
        [(7, 0x54)] = "AuthenticationReject",
        [(7, 0x5C)] = "AuthenticationFailure",
        [(7, NasMessageType.IdentityRequest)] = "IdentityRequest",
        [(7, NasMessageType.SecurityModeComplete)] = "SecurityModeComplete",
        [(7, 0x5F)] = "SecurityModeReject",
        [(7, 0x60)] = "EmmStatus",
        [(7, 0x61)] = "EmmInformation",
        [(7, 0x62)] = "DownlinkNasTransport",
        [(7, 0x63)] = "UplinkNasTransport",
        [(2, 0xC2)] = "ActivateDefaultEpsBearerContextAccept",
        [(2, 0xC3)] = "ActivateDefaultEpsBearerContextReject",
        [(2, 0xC6)] = "ActivateDedicatedEpsBearerContextAccept",
        [(2, 0xCD)] = "DeactivateEpsBearerContextRequest",
        [(2, 0xCE)] = "DeactivateEpsBearerContextAccept",
        [(2, 0xD1)] = "PdnConnectivityReject",
        [(2, 0xD2)] = "PdnDisconnectRequest",
        [(2, 0xD9)] = "EsmInformationRequest",
        [(2, 0xDA)] = "EsmInformationResponse",
        [(2, 0xE8)] = "EsmStatus",
    };

    public override string ToString() =>
        $"{MessageName}" + (Imsi is null ? string.Empty : $" imsi {Imsi}") + (Guti is { } g ? $" {g}" : string.Empty) +
        (EsmMessage?.PdnAddress is { } p ? $" pdn {p}" : PdnAddress is { } q ? $" pdn {q}" : string.Empty);
}
