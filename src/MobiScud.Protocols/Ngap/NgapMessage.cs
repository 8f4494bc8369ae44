using MobiScud.Protocols.Aper;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Ngap;

/// <summary>One NGAP ProtocolIE-Field: id, criticality and the value's open-type content kept as opaque bytes.</summary>
public sealed record NgapProtocolIe(ushort Id, Criticality Criticality, ReadOnlyMemory<byte> Value) : ProtocolIeField(Id, Criticality, Value);

/// <summary>An NGAP-PDU as an editable object (see <see cref="ApMessage{TPduType, TProcedureCode, TIe}"/>).</summary>
public sealed class NgapMessage : ApMessage<NgapPduType, NgapProcedureCode, NgapProtocolIe>
{
    public NgapMessage(NgapPduType pduType, NgapProcedureCode procedureCode, Criticality criticality, IReadOnlyList<NgapProtocolIe> protocolIes)
        : base(pduType, procedureCode, criticality, protocolIes)
    {
    }

    private NgapMessage(ApPduParts<NgapProtocolIe> parts)
        : base(parts)
    {
    }

    public override string MessageName => NgapNames.MessageName(ProcedureCode, PduType);

    public static NgapMessage Decode(ReadOnlySpan<byte> pdu) =>
        new(ApPdu.Decode(pdu, "NGAP", (byte)NgapProcedureCode.PrivateMessage, static (id, c, value) => new NgapProtocolIe(id, c, value)));

    /// <summary>The MC view of this message (ids, PDU sessions, tunnels, NAS ...).</summary>
    public NgapSummary Summarize() => NgapDecoder.Decode(Encode());
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
