using MobiScud.Protocols.Aper;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Ngap;

/// <summary>One ProtocolIE-Field: id, criticality and the value's open-type content kept as opaque bytes.</summary>
public sealed record NgapProtocolIe(ushort Id, Criticality Criticality, ReadOnlyMemory<byte> Value) : IProtocolIeField
{
    /// <summary>An APER reader positioned on the value content (for the NgapIeCodec.Read* decoders).</summary>
    public AperReader Reader() => new(Value.Span);
}

/// <summary>
/// An NGAP-PDU as an editable object: header plus the ProtocolIE-Container with every IE kept as its raw open-type
/// bytes, so <see cref="Encode"/> of a decoded message gives back the same bytes (for canonical APER input, which is
/// what every encoder emits). Typed views come from <see cref="Summarize"/> or the NgapIeCodec decoders; values for
/// new messages come from <see cref="NgapIeEncoder"/>.
/// </summary>
public sealed class NgapMessage
{
    public NgapMessage(NgapPduType pduType, NgapProcedureCode procedureCode, Criticality criticality, IReadOnlyList<NgapProtocolIe> protocolIes)
    {
        PduType = pduType;
        ProcedureCode = procedureCode;
        Criticality = criticality;
        ProtocolIes = protocolIes;
    }

    public NgapPduType PduType { get; }

    public NgapProcedureCode ProcedureCode { get; }

    public Criticality Criticality { get; }

    public IReadOnlyList<NgapProtocolIe> ProtocolIes { get; }

    /// <summary>The message SEQUENCE's extension bit (set when extension additions follow the IE container).</summary>
    public bool ValueExtended { get; init; }

    /// <summary>Bytes of the value after the IE container (extension additions), re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte> ValueTail { get; init; }

    /// <summary>For PrivateMessage (not a ProtocolIE-Container) the whole value, re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte>? OpaqueValue { get; init; }

    /// <summary>Bytes after the end of the NGAP-PDU in the SCTP payload (some senders pad), re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte> PduTrailer { get; init; }

    public string MessageName => NgapNames.MessageName(ProcedureCode, PduType);

    public NgapProtocolIe? FindIe(ushort id)
    {
        foreach (var ie in ProtocolIes)
        {
            if (ie.Id == id)
            {
                return ie;
            }
        }

        return null;
    }

    public static NgapMessage Decode(ReadOnlySpan<byte> pdu)
    {
        var parts = ApPdu.Decode(pdu, "NGAP", (byte)NgapProcedureCode.PrivateMessage, static (id, c, value) => new NgapProtocolIe(id, c, value));
        var h = parts.Header;
        return new NgapMessage((NgapPduType)h.PduType, (NgapProcedureCode)h.ProcedureCode, h.Criticality, parts.Fields)
        {
            ValueExtended = parts.ValueExtended,
            ValueTail = parts.ValueTail,
            OpaqueValue = parts.OpaqueValue,
            PduTrailer = parts.PduTrailer,
        };
    }

    public byte[] Encode() =>
        ApPdu.Encode(new ApPduHeader((int)PduType, (byte)ProcedureCode, Criticality), ProtocolIes, ValueExtended, ValueTail, OpaqueValue, PduTrailer);

    /// <summary>The MC view of this message (ids, PDU sessions, tunnels, NAS ...).</summary>
    public NgapSummary Summarize() => NgapDecoder.Decode(Encode());

    public override string ToString() => $"{MessageName} ({ProtocolIes.Count} IEs)";
}

/// <summary>Message names per procedure and PDU type (TS 38.413 8.x / 9.2).</summary>
public static class NgapNames
{
    public static string MessageName(NgapProcedureCode code, NgapPduType type) => (code, type) switch
    {
        (NgapProcedureCode.NgSetup, NgapPduType.InitiatingMessage) => "NGSetupRequest",
        (NgapProcedureCode.NgSetup, NgapPduType.SuccessfulOutcome) => "NGSetupResponse",
        (NgapProcedureCode.NgSetup, NgapPduType.UnsuccessfulOutcome) => "NGSetupFailure",
        (NgapProcedureCode.NgReset, NgapPduType.InitiatingMessage) => "NGReset",
        (NgapProcedureCode.NgReset, _) => "NGResetAcknowledge",
        (NgapProcedureCode.ErrorIndication, _) => "ErrorIndication",
        (NgapProcedureCode.InitialUeMessage, _) => "InitialUEMessage",
        (NgapProcedureCode.UplinkNasTransport, _) => "UplinkNASTransport",
        (NgapProcedureCode.DownlinkNasTransport, _) => "DownlinkNASTransport",
        (NgapProcedureCode.InitialContextSetup, NgapPduType.InitiatingMessage) => "InitialContextSetupRequest",
        (NgapProcedureCode.InitialContextSetup, NgapPduType.SuccessfulOutcome) => "InitialContextSetupResponse",
        (NgapProcedureCode.InitialContextSetup, NgapPduType.UnsuccessfulOutcome) => "InitialContextSetupFailure",
        (NgapProcedureCode.PduSessionResourceSetup, NgapPduType.InitiatingMessage) => "PDUSessionResourceSetupRequest",
        (NgapProcedureCode.PduSessionResourceSetup, _) => "PDUSessionResourceSetupResponse",
        (NgapProcedureCode.PduSessionResourceModify, NgapPduType.InitiatingMessage) => "PDUSessionResourceModifyRequest",
        (NgapProcedureCode.PduSessionResourceModify, _) => "PDUSessionResourceModifyResponse",
        (NgapProcedureCode.PduSessionResourceRelease, NgapPduType.InitiatingMessage) => "PDUSessionResourceReleaseCommand",
        (NgapProcedureCode.PduSessionResourceRelease, _) => "PDUSessionResourceReleaseResponse",
        (NgapProcedureCode.UeContextReleaseRequest, _) => "UEContextReleaseRequest",
        (NgapProcedureCode.UeContextRelease, NgapPduType.InitiatingMessage) => "UEContextReleaseCommand",
        (NgapProcedureCode.UeContextRelease, _) => "UEContextReleaseComplete",
        (NgapProcedureCode.HandoverPreparation, NgapPduType.InitiatingMessage) => "HandoverRequired",
        (NgapProcedureCode.HandoverPreparation, NgapPduType.SuccessfulOutcome) => "HandoverCommand",
        (NgapProcedureCode.HandoverPreparation, NgapPduType.UnsuccessfulOutcome) => "HandoverPreparationFailure",
        (NgapProcedureCode.HandoverResourceAllocation, NgapPduType.InitiatingMessage) => "HandoverRequest",
        (NgapProcedureCode.HandoverResourceAllocation, NgapPduType.SuccessfulOutcome) => "HandoverRequestAcknowledge",
        (NgapProcedureCode.HandoverResourceAllocation, NgapPduType.UnsuccessfulOutcome) => "HandoverFailure",
        (NgapProcedureCode.HandoverNotification, _) => "HandoverNotify",
        (NgapProcedureCode.HandoverCancel, NgapPduType.InitiatingMessage) => "HandoverCancel",
        (NgapProcedureCode.HandoverCancel, _) => "HandoverCancelAcknowledge",
        (NgapProcedureCode.UplinkRanStatusTransfer, _) => "UplinkRANStatusTransfer",
        (NgapProcedureCode.DownlinkRanStatusTransfer, _) => "DownlinkRANStatusTransfer",
        (NgapProcedureCode.PathSwitchRequest, NgapPduType.InitiatingMessage) => "PathSwitchRequest",
        (NgapProcedureCode.PathSwitchRequest, NgapPduType.SuccessfulOutcome) => "PathSwitchRequestAcknowledge",
        (NgapProcedureCode.PathSwitchRequest, NgapPduType.UnsuccessfulOutcome) => "PathSwitchRequestFailure",
        (NgapProcedureCode.Paging, _) => "Paging",
        (NgapProcedureCode.UeRadioCapabilityInfoIndication, _) => "UERadioCapabilityInfoIndication",
        _ => $"procedure{(byte)code}/{type}",
    };
}
