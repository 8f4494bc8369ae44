using System.Collections.Frozen;
using MobiScud.Protocols.Aper;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Ngap;

/// <summary>
/// What the MC needs from one NGAP PDU, filled by <see cref="NgapDecoder.Decode(ReadOnlySpan{byte}, NgapSummary)"/>
/// (reusable, see <see cref="ApSummary{TPduType, TProcedureCode}"/>).
/// </summary>
public sealed class NgapSummary : ApSummary<NgapPduType, NgapProcedureCode>
{
    /// <summary>AMF-UE-NGAP-ID (id 10), or the AMF id of UE-NGAP-IDs (id 114) in UEContextReleaseCommand.</summary>
    public ulong? AmfUeNgapId { get; internal set; }

    /// <summary>RAN-UE-NGAP-ID (id 85), or the RAN id of a UE-NGAP-ID pair.</summary>
    public uint? RanUeNgapId { get; internal set; }

    /// <summary>SourceAMF-UE-NGAP-ID (PathSwitchRequest, id 100).</summary>
    public ulong? SourceAmfUeNgapId { get; internal set; }

    /// <summary>Every item of every PDU session resource list in the message, in IE order.</summary>
    public List<PduSessionItem> PduSessions { get; } = new(4);

    public NgapCause? Cause { get; internal set; }

    /// <summary>NGReset / NGResetAcknowledge: the UE-associated connections named.</summary>
    public List<NgConnectionId> ResetConnections { get; } = new(2);

    /// <summary>GlobalRANNodeID (NGSetupRequest, id 27).</summary>
    public GlobalRanNodeId? GlobalRanNodeId { get; internal set; }

    public NgapHandoverType? HandoverType { get; internal set; }

    /// <summary>Target-ID of a HandoverRequired (id 105), when the target is an NG-RAN node.</summary>
    public NgapTargetRanNode? Target { get; internal set; }

    /// <summary>HandoverRequired/HandoverRequest of an intra-5GS handover: the target cell from the source-to-target container.</summary>
    public NrCgi? TargetCell { get; internal set; }

    /// <summary>UserLocationInformation (id 121): the NR cell, or E-UTRA cell for an ng-eNB, and the TAI.</summary>
    public NrCgi? NrCgi { get; internal set; }

    public EutranCgi? EutraCgi { get; internal set; }

    public NgTai? Tai { get; internal set; }

    public FiveGSTmsi? FiveGSTmsi { get; internal set; }

    /// <summary>The NAS-PDU inside a PDU session item (e.g. PDU Session Establishment Accept in a setup request).</summary>
    public ReadOnlySpan<byte> ItemNasPdu(in PduSessionItem item) => Slice(item.NasPduOffset, item.NasPduLength);

    public string MessageName => NgapNames.MessageName(ProcedureCode, PduType);

    private protected override void ClearFields()
    {
        AmfUeNgapId = null;
        RanUeNgapId = null;
        SourceAmfUeNgapId = null;
        PduSessions.Clear();
        Cause = null;
        ResetConnections.Clear();
        GlobalRanNodeId = null;
        HandoverType = null;
        Target = null;
        TargetCell = null;
        NrCgi = null;
        EutraCgi = null;
        Tai = null;
        FiveGSTmsi = null;
    }

    public override string ToString() =>
        $"{MessageName} amf={AmfUeNgapId?.ToString() ?? "-"} ran={RanUeNgapId?.ToString() ?? "-"} sessions=[{string.Join(", ", PduSessions)}]";
}

/// <summary>
/// The NGAP fast path: decodes a PDU's header and the MC-relevant IEs straight from the span into an
/// <see cref="NgapSummary"/>, without building an object graph. Unknown IEs are skipped by their open-type length.
/// Malformed input throws <see cref="AperDecodeException"/> (and nothing else).
/// </summary>
public static class NgapDecoder
{
    public static NgapSummary Decode(ReadOnlySpan<byte> pdu)
    {
        var s = new NgapSummary();
        Decode(pdu, s);
        return s;
    }

    public static void Decode(ReadOnlySpan<byte> pdu, NgapSummary into) => into.Decode(pdu, _protocol);

    /// <summary>The IEs the MC reads, by IE id; any other IE is skipped by its open-type length.</summary>
    private static readonly FrozenDictionary<ushort, IeReader<NgapSummary>> _ies = ProtocolIeContainer.Table<NgapSummary>(
    [
        (NgapIeId.AmfUeNgapId, static (ref AperReader v, ushort _, NgapSummary s) => s.AmfUeNgapId = NgapIeCodec.ReadAmfUeNgapId(ref v)),
        (NgapIeId.RanUeNgapId, static (ref AperReader v, ushort _, NgapSummary s) => s.RanUeNgapId = NgapIeCodec.ReadRanUeNgapId(ref v)),
        (NgapIeId.SourceAmfUeNgapId, static (ref AperReader v, ushort _, NgapSummary s) => s.SourceAmfUeNgapId = NgapIeCodec.ReadAmfUeNgapId(ref v)),
        (NgapIeId.UeNgapIds, static (ref AperReader v, ushort _, NgapSummary s) =>
        {
            var (amf, ran) = NgapIeCodec.ReadUeNgapIds(ref v);
            s.AmfUeNgapId = amf;
            s.RanUeNgapId = ran;
        }),
        (NgapIeId.NasPdu, static (ref AperReader v, ushort _, NgapSummary s) => (s.NasOffset, s.NasLength) = v.ReadUnfragmentedOctets("NAS-PDU")),
        (NgapIeId.Cause, static (ref AperReader v, ushort _, NgapSummary s) => s.Cause = NgapIeCodec.ReadCause(ref v)),
        (NgapIeId.HandoverType, static (ref AperReader v, ushort _, NgapSummary s) => s.HandoverType = NgapIeCodec.ReadHandoverType(ref v)),
        (NgapIeId.TargetId, static (ref AperReader v, ushort _, NgapSummary s) => s.Target = NgapIeCodec.ReadTargetId(ref v)),
        (NgapIeId.SourceToTargetTransparentContainer, static (ref AperReader v, ushort _, NgapSummary s) =>
        {
            // Only the intra-5GS container is the NG-RAN one (HandoverType precedes it in the message).
            if (s.HandoverType == NgapHandoverType.Intra5gs)
            {
                s.TargetCell = NgapIeCodec.ReadSourceToTargetContainer(ref v);
            }
        }),
        (NgapIeId.GlobalRanNodeId, static (ref AperReader v, ushort _, NgapSummary s) => s.GlobalRanNodeId = NgapIeCodec.ReadGlobalRanNodeId(ref v)),
        (NgapIeId.UserLocationInformation, static (ref AperReader v, ushort _, NgapSummary s) =>
        {
            var (nr, eutra, tai) = NgapIeCodec.ReadUserLocation(ref v);
            s.NrCgi = nr;
            s.EutraCgi = eutra;
            s.Tai = tai;
        }),
        (NgapIeId.FiveGSTmsi, static (ref AperReader v, ushort _, NgapSummary s) => s.FiveGSTmsi = NgapIeCodec.ReadFiveGSTmsi(ref v)),
        (NgapIeId.ResetType, static (ref AperReader v, ushort _, NgapSummary s) => s.ResetAll = !NgapIeCodec.ReadResetType(ref v, s.ResetConnections)),
        (NgapIeId.UeAssociatedLogicalNgConnectionList, static (ref AperReader v, ushort _, NgapSummary s) => NgapIeCodec.ReadConnectionList(ref v, s.ResetConnections)),
        .. NgapIeCodec.PduSessionListIds.Select(id => (id, (IeReader<NgapSummary>)ReadPduSessionList)),
    ]);

    // After Ies: static fields initialise in textual order.
    private static readonly ApSummaryProtocol<NgapSummary> _protocol = new("NGAP", (byte)NgapProcedureCode.PrivateMessage, _ies);

    private static void ReadPduSessionList(ref AperReader v, ushort id, NgapSummary s) => NgapIeCodec.ReadPduSessionList(ref v, id, s.PduSessions);
}
