using System.Collections.Frozen;
using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.S1ap;

/// <summary>
/// What the MC needs from one S1AP PDU, filled by <see cref="S1apDecoder.Decode(ReadOnlySpan{byte}, S1apSummary)"/>
/// (reusable, see <see cref="ApSummary{TPduType, TProcedureCode}"/>).
/// </summary>
public sealed class S1apSummary : ApSummary<S1apPduType, S1apProcedureCode>
{
    /// <summary>MME-UE-S1AP-ID (id 0), or the MME id of UE-S1AP-IDs (id 99) in UEContextReleaseCommand.</summary>
    public uint? MmeUeS1apId { get; internal set; }

    /// <summary>ENB-UE-S1AP-ID (id 8), or the eNB id of a UE-S1AP-ID pair.</summary>
    public uint? EnbUeS1apId { get; internal set; }

    /// <summary>SourceMME-UE-S1AP-ID (PathSwitchRequest).</summary>
    public uint? SourceMmeUeS1apId { get; internal set; }

    /// <summary>MME-UE-S1AP-ID-2 (UEContextReleaseRequest/Command with a relay).</summary>
    public uint? MmeUeS1apId2 { get; internal set; }

    /// <summary>Every E-RAB item of every E-RAB list in the message, in IE order.</summary>
    public List<ERabItem> ERabs { get; } = new(8);

    public S1apCause? Cause { get; internal set; }

    /// <summary>Reset / ResetAcknowledge: the UE-associated connections named (partOfS1-Interface).</summary>
    public List<S1ConnectionId> ResetConnections { get; } = new(2);

    /// <summary>HandoverRequired/HandoverRequest: the target cell from the source-to-target transparent container.</summary>
    public EutranCgi? TargetCell { get; internal set; }

    public HandoverType? HandoverType { get; internal set; }

    public TargetEnbId? TargetEnbId { get; internal set; }

    public GlobalEnbId? GlobalEnbId { get; internal set; }

    public Tai? Tai { get; internal set; }

    public EutranCgi? EutranCgi { get; internal set; }

    public STmsi? STmsi { get; internal set; }

    /// <summary>The nAS-PDU carried inside an E-RAB item (e.g. Attach Accept in E-RABToBeSetupItemCtxtSUReq).</summary>
    public ReadOnlySpan<byte> ERabNasPdu(in ERabItem item) => Slice(item.NasPduOffset, item.NasPduLength);

    public string MessageName => S1apNames.MessageName(ProcedureCode, PduType);

    private protected override void ClearFields()
    {
        MmeUeS1apId = null;
        EnbUeS1apId = null;
        SourceMmeUeS1apId = null;
        MmeUeS1apId2 = null;
        ERabs.Clear();
        Cause = null;
        ResetConnections.Clear();
        TargetCell = null;
        HandoverType = null;
        TargetEnbId = null;
        GlobalEnbId = null;
        Tai = null;
        EutranCgi = null;
        STmsi = null;
    }

    public override string ToString() =>
        $"{MessageName} mme={MmeUeS1apId?.ToString() ?? "-"} enb={EnbUeS1apId?.ToString() ?? "-"} erabs=[{string.Join(", ", ERabs)}]";
}

/// <summary>
/// The S1AP fast path: decodes a PDU's header and the MC-relevant IEs straight from the span into an
/// <see cref="S1apSummary"/>, without building an object graph. Unknown IEs are skipped by their open-type length.
/// Malformed input throws <see cref="AperDecodeException"/> (and nothing else).
/// </summary>
public static class S1apDecoder
{
    public static S1apSummary Decode(ReadOnlySpan<byte> pdu)
    {
        var s = new S1apSummary();
        Decode(pdu, s);
        return s;
    }

    public static void Decode(ReadOnlySpan<byte> pdu, S1apSummary into) => into.Decode(pdu, _protocol);

    /// <summary>The IEs the MC reads, by IE id; any other IE is skipped by its open-type length.</summary>
    private static readonly FrozenDictionary<ushort, IeReader<S1apSummary>> _ies = ProtocolIeContainer.Table<S1apSummary>(
    [
        (S1apIeId.MmeUeS1apId, static (ref AperReader v, ushort _, S1apSummary s) => s.MmeUeS1apId = S1apIeCodec.ReadMmeUeS1apId(ref v)),
        (S1apIeId.EnbUeS1apId, static (ref AperReader v, ushort _, S1apSummary s) => s.EnbUeS1apId = S1apIeCodec.ReadEnbUeS1apId(ref v)),
        (S1apIeId.UeS1apIds, static (ref AperReader v, ushort _, S1apSummary s) =>
        {
            var ids = S1apIeCodec.ReadUeS1apIds(ref v);
            s.MmeUeS1apId = ids.MmeUeS1apId;
            s.EnbUeS1apId = ids.EnbUeS1apId;
        }),
        (S1apIeId.SourceMmeUeS1apId, static (ref AperReader v, ushort _, S1apSummary s) => s.SourceMmeUeS1apId = S1apIeCodec.ReadMmeUeS1apId(ref v)),
        (S1apIeId.MmeUeS1apId2, static (ref AperReader v, ushort _, S1apSummary s) => s.MmeUeS1apId2 = S1apIeCodec.ReadMmeUeS1apId(ref v)),
        (S1apIeId.NasPdu, static (ref AperReader v, ushort _, S1apSummary s) => (s.NasOffset, s.NasLength) = v.ReadUnfragmentedOctets("NAS-PDU")),
        (S1apIeId.Cause, static (ref AperReader v, ushort _, S1apSummary s) => s.Cause = S1apIeCodec.ReadCause(ref v)),
        (S1apIeId.HandoverType, static (ref AperReader v, ushort _, S1apSummary s) => s.HandoverType = S1apIeCodec.ReadHandoverType(ref v)),
        (S1apIeId.TargetId, static (ref AperReader v, ushort _, S1apSummary s) => s.TargetEnbId = S1apIeCodec.ReadTargetId(ref v)),
        (S1apIeId.GlobalEnbId, static (ref AperReader v, ushort _, S1apSummary s) => s.GlobalEnbId = S1apIeCodec.ReadGlobalEnbId(ref v)),
        (S1apIeId.Tai, static (ref AperReader v, ushort _, S1apSummary s) => s.Tai = S1apIeCodec.ReadTai(ref v)),
        (S1apIeId.EutranCgi, static (ref AperReader v, ushort _, S1apSummary s) => s.EutranCgi = S1apIeCodec.ReadEutranCgi(ref v)),
        (S1apIeId.STmsi, static (ref AperReader v, ushort _, S1apSummary s) => s.STmsi = S1apIeCodec.ReadSTmsi(ref v)),
        (S1apIeId.ResetType, static (ref AperReader v, ushort _, S1apSummary s) => s.ResetAll = !S1apIeCodec.ReadResetConnections(ref v, false, s.ResetConnections)),
        (S1apIeId.UeAssociatedLogicalS1ConnectionListResAck, static (ref AperReader v, ushort _, S1apSummary s) => S1apIeCodec.ReadResetConnections(ref v, true, s.ResetConnections)),
        (S1apIeId.SourceToTargetTransparentContainer, static (ref AperReader v, ushort _, S1apSummary s) =>
        {
            // Only the intra-LTE container is the SourceeNB-ToTargeteNB one (HandoverType precedes it in the message).
            if (s.HandoverType == S1ap.HandoverType.IntraLte)
            {
                s.TargetCell = S1apIeCodec.ReadSourceToTargetContainer(ref v, s.ERabs);
            }
        }),
        (S1apIeId.EnbStatusTransferTransparentContainer, static (ref AperReader v, ushort _, S1apSummary s) => S1apIeCodec.ReadStatusTransferContainer(ref v, s.ERabs)),
        .. S1apIeCodec.ERabListIds.Select(id => (id, (IeReader<S1apSummary>)ReadERabList)),
    ]);

    // After Ies: static fields initialise in textual order.
    private static readonly ApSummaryProtocol<S1apSummary> _protocol = new("S1AP", (byte)S1apProcedureCode.PrivateMessage, _ies);

    private static void ReadERabList(ref AperReader v, ushort id, S1apSummary s) => S1apIeCodec.ReadERabList(ref v, id, s.ERabs);
}
