using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.S1ap;

/// <summary>One ProtocolIE-Field: id, criticality and the value's open-type content kept as opaque bytes.</summary>
public sealed record S1apProtocolIe(ushort Id, Criticality Criticality, ReadOnlyMemory<byte> Value) : IProtocolIeField
{
    /// <summary>An APER reader positioned on the value content (for the S1apIeCodec.Read* decoders).</summary>
    public AperReader Reader() => new(Value.Span);
}

/// <summary>
/// An S1AP-PDU as an editable object: header plus the ProtocolIE-Container with every IE kept as its raw
/// open-type bytes, so <see cref="Encode"/> of a decoded message gives back the same bytes (for canonical
/// APER input, which is what every encoder emits). Typed views come from <see cref="Summarize"/> or the
/// S1apIeCodec decoders on <see cref="S1apProtocolIe.Value"/>.
/// </summary>
public sealed class S1apMessage
{
    public S1apMessage(S1apPduType pduType, S1apProcedureCode procedureCode, Criticality criticality, IReadOnlyList<S1apProtocolIe> protocolIes)
    {
        PduType = pduType;
        ProcedureCode = procedureCode;
        Criticality = criticality;
        ProtocolIes = protocolIes;
    }

    public S1apPduType PduType { get; }

    public S1apProcedureCode ProcedureCode { get; }

    public Criticality Criticality { get; }

    public IReadOnlyList<S1apProtocolIe> ProtocolIes { get; }

    /// <summary>The message SEQUENCE's extension bit (set when extension additions follow the IE container).</summary>
    public bool ValueExtended { get; init; }

    /// <summary>Bytes of the value after the IE container (extension additions), re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte> ValueTail { get; init; }

    /// <summary>For PrivateMessage (not a ProtocolIE-Container) the whole value, re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte>? OpaqueValue { get; init; }

    /// <summary>Bytes after the end of the S1AP-PDU in the SCTP payload (some senders pad), re-emitted verbatim.</summary>
    public ReadOnlyMemory<byte> PduTrailer { get; init; }

    public string MessageName => S1apNames.MessageName(ProcedureCode, PduType);

    public S1apProtocolIe? FindIe(ushort id)
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

    public static S1apMessage Decode(ReadOnlySpan<byte> pdu)
    {
        var parts = ApPdu.Decode(pdu, "S1AP", (byte)S1apProcedureCode.PrivateMessage, static (id, c, value) => new S1apProtocolIe(id, c, value));
        var h = parts.Header;
        return new S1apMessage((S1apPduType)h.PduType, (S1apProcedureCode)h.ProcedureCode, h.Criticality, parts.Fields)
        {
            ValueExtended = parts.ValueExtended,
            ValueTail = parts.ValueTail,
            OpaqueValue = parts.OpaqueValue,
            PduTrailer = parts.PduTrailer,
        };
    }

    public byte[] Encode() =>
        ApPdu.Encode(new ApPduHeader((int)PduType, (byte)ProcedureCode, Criticality), ProtocolIes, ValueExtended, ValueTail, OpaqueValue, PduTrailer);

    /// <summary>The MC view of this message (ids, E-RABs, tunnels, NAS ...).</summary>
    public S1apSummary Summarize() => S1apDecoder.Decode(Encode());

    public override string ToString() => $"{MessageName} ({ProtocolIes.Count} IEs)";
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
