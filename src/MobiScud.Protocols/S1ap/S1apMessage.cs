using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.S1ap;

/// <summary>One S1AP ProtocolIE-Field: id, criticality and the value's open-type content kept as opaque bytes.</summary>
public sealed record S1apProtocolIe(ushort Id, Criticality Criticality, ReadOnlyMemory<byte> Value) : ProtocolIeField(Id, Criticality, Value);

/// <summary>An S1AP-PDU as an editable object (see <see cref="ApMessage{TPduType, TProcedureCode, TIe}"/>).</summary>
public sealed class S1apMessage : ApMessage<S1apPduType, S1apProcedureCode, S1apProtocolIe>
{
    public S1apMessage(S1apPduType pduType, S1apProcedureCode procedureCode, Criticality criticality, IReadOnlyList<S1apProtocolIe> protocolIes)
        : base(pduType, procedureCode, criticality, protocolIes)
    {
    }

    private S1apMessage(ApPduParts<S1apProtocolIe> parts)
        : base(parts)
    {
    }

    public override string MessageName => S1apNames.MessageName(ProcedureCode, PduType);

    public static S1apMessage Decode(ReadOnlySpan<byte> pdu) =>
        new(ApPdu.Decode(pdu, "S1AP", (byte)S1apProcedureCode.PrivateMessage, static (id, c, value) => new S1apProtocolIe(id, c, value)));

    /// <summary>The MC view of this message (ids, E-RABs, tunnels, NAS ...).</summary>
    public S1apSummary Summarize() => S1apDecoder.Decode(Encode());
}

/// <summary>Message names per procedure and PDU type (TS 36.413 8.x).</summary>
public static class S1apNames
{
    public static string MessageName(S1apProcedureCode code, S1apPduType type) => (code, type) switch
    {
        (S1apProcedureCode.HandoverPreparation, S1apPduType.InitiatingMessage) => "HandoverRequired",
        (S1apProcedureCode.HandoverPreparation, S1apPduType.SuccessfulOutcome) => "HandoverCommand",
        (S1apProcedureCode.HandoverPreparation, S1apPduType.UnsuccessfulOutcome) => "HandoverPreparationFailure",
        (S1apProcedureCode.HandoverResourceAllocation, S1apPduType.InitiatingMessage) => "HandoverRequest",
        (S1apProcedureCode.HandoverResourceAllocation, S1apPduType.SuccessfulOutcome) => "HandoverRequestAcknowledge",
        (S1apProcedureCode.HandoverResourceAllocation, S1apPduType.UnsuccessfulOutcome) => "HandoverFailure",
        (S1apProcedureCode.HandoverNotification, _) => "HandoverNotify",
        (S1apProcedureCode.PathSwitchRequest, S1apPduType.InitiatingMessage) => "PathSwitchRequest",
        (S1apProcedureCode.PathSwitchRequest, S1apPduType.SuccessfulOutcome) => "PathSwitchRequestAcknowledge",
        (S1apProcedureCode.PathSwitchRequest, S1apPduType.UnsuccessfulOutcome) => "PathSwitchRequestFailure",
        (S1apProcedureCode.HandoverCancel, S1apPduType.InitiatingMessage) => "HandoverCancel",
        (S1apProcedureCode.HandoverCancel, _) => "HandoverCancelAcknowledge",
        (S1apProcedureCode.ERabSetup, S1apPduType.InitiatingMessage) => "E-RABSetupRequest",
        (S1apProcedureCode.ERabSetup, _) => "E-RABSetupResponse",
        (S1apProcedureCode.ERabModify, S1apPduType.InitiatingMessage) => "E-RABModifyRequest",
        (S1apProcedureCode.ERabModify, _) => "E-RABModifyResponse",
        (S1apProcedureCode.ERabRelease, S1apPduType.InitiatingMessage) => "E-RABReleaseCommand",
        (S1apProcedureCode.ERabRelease, _) => "E-RABReleaseResponse",
        (S1apProcedureCode.ERabReleaseIndication, _) => "E-RABReleaseIndication",
        (S1apProcedureCode.InitialContextSetup, S1apPduType.InitiatingMessage) => "InitialContextSetupRequest",
        (S1apProcedureCode.InitialContextSetup, S1apPduType.SuccessfulOutcome) => "InitialContextSetupResponse",
        (S1apProcedureCode.InitialContextSetup, S1apPduType.UnsuccessfulOutcome) => "InitialContextSetupFailure",
        (S1apProcedureCode.Paging, _) => "Paging",
        (S1apProcedureCode.DownlinkNasTransport, _) => "DownlinkNASTransport",
        (S1apProcedureCode.InitialUeMessage, _) => "InitialUEMessage",
        (S1apProcedureCode.UplinkNasTransport, _) => "UplinkNASTransport",
        (S1apProcedureCode.Reset, S1apPduType.InitiatingMessage) => "Reset",
        (S1apProcedureCode.Reset, _) => "ResetAcknowledge",
        (S1apProcedureCode.ErrorIndication, _) => "ErrorIndication",
        (S1apProcedureCode.S1Setup, S1apPduType.InitiatingMessage) => "S1SetupRequest",
        (S1apProcedureCode.S1Setup, S1apPduType.SuccessfulOutcome) => "S1SetupResponse",
        (S1apProcedureCode.S1Setup, S1apPduType.UnsuccessfulOutcome) => "S1SetupFailure",
        (S1apProcedureCode.UeContextReleaseRequest, _) => "UEContextReleaseRequest",
        (S1apProcedureCode.UeContextRelease, S1apPduType.InitiatingMessage) => "UEContextReleaseCommand",
        (S1apProcedureCode.UeContextRelease, _) => "UEContextReleaseComplete",
        (S1apProcedureCode.UeCapabilityInfoIndication, _) => "UECapabilityInfoIndication",
        (S1apProcedureCode.EnbStatusTransfer, _) => "eNBStatusTransfer",
        (S1apProcedureCode.MmeStatusTransfer, _) => "MMEStatusTransfer",
        (S1apProcedureCode.ERabModificationIndication, S1apPduType.InitiatingMessage) => "E-RABModificationIndication",
        (S1apProcedureCode.ERabModificationIndication, _) => "E-RABModificationConfirm",
        _ => $"procedure{(byte)code}/{type}",
    };
}
