using System.Buffers.Binary;
using System.Net;
using MobiScud.Protocols.Aper;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Testbed.Emulation;

/// <summary>
/// The S1AP messages the emulated eNBs and MME exchange (TS 36.413), built from the protocols part's APER writer
/// and IE encoders, with the mandatory IEs of each message, so that Wireshark decodes them without complaint.
/// </summary>
public static class S1apMessages
{
    public static readonly PlmnIdentity Plmn = PlmnIdentity.FromMccMnc("001", "01");
    public const ushort Tac = 1;

    private static readonly byte[] _securityKey = Enumerable.Range(0, 32).Select(i => (byte)(0xA0 + i)).ToArray();

    private static byte[] Pdu(S1apPduType type, S1apProcedureCode code, Criticality criticality, params (ushort Id, Criticality Crit, byte[] Value)[] ies) =>
        new S1apMessage(type, code, criticality, ies.Select(i => new S1apProtocolIe(i.Id, i.Crit, i.Value)).ToList()).Encode();

    private static (ushort, Criticality, byte[]) Mme(uint id) => (S1apIeId.MmeUeS1apId, Criticality.Reject, S1apIeCodec.EncodeMmeUeS1apId(id));

    private static (ushort, Criticality, byte[]) Enb(uint id) => (S1apIeId.EnbUeS1apId, Criticality.Reject, S1apIeCodec.EncodeEnbUeS1apId(id));

    public static GlobalEnbId GlobalEnb(uint enbId) => new(Plmn, EnbIdKind.Macro, enbId);

    /// <summary>Cell identity of the eNB's single cell: the 20-bit eNB id followed by cell 1.</summary>
    public static EutranCgi Cell(uint enbId) => new(Plmn, (enbId << 8) | 1);

    public static Tai TrackingArea => new(Plmn, Tac);

    private static GtpTunnel Tunnel(IPAddress a, uint teid) => new(TransportLayerAddress.FromIp(a), teid);

    // ---- S1 Setup ----
    public static byte[] S1SetupRequest(uint enbId)
    {
        var tas = new AperWriter(16);
        tas.WriteConstrainedLength(1, 1, 256);
        tas.WriteSequencePreamble(true, false, 0, 1);
        Span<byte> tac = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(tac, Tac);
        tas.WriteOctetString(tac, 2, 2);
        tas.WriteConstrainedLength(1, 1, 6);
        tas.WriteOctetString([Plmn.Octet0, Plmn.Octet1, Plmn.Octet2], 3, 3);
        var drx = new AperWriter(2);
        drx.WriteEnumerated(1, 4, true);
        return Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.S1Setup, Criticality.Reject,
            (S1apIeId.GlobalEnbId, Criticality.Reject, S1apIeCodec.EncodeGlobalEnbId(GlobalEnb(enbId))),
            (64, Criticality.Reject, tas.ToArray()),
            (137, Criticality.Ignore, drx.ToArray()));
    }

    public static byte[] S1SetupResponse()
    {
        var g = new AperWriter(16);
        g.WriteConstrainedLength(1, 1, 8);
        g.WriteSequencePreamble(true, false, 0, 1);
        g.WriteConstrainedLength(1, 1, 32);
        g.WriteOctetString([Plmn.Octet0, Plmn.Octet1, Plmn.Octet2], 3, 3);
        g.WriteConstrainedLength(1, 1, 65535);
        g.WriteOctetString([0x80, 0x01], 2, 2);
        g.WriteConstrainedLength(1, 1, 256);
        g.WriteOctetString([0x01], 1, 1);
        var cap = new AperWriter(2);
        cap.WriteConstrainedWholeNumber(255, 0, 255);
        return Pdu(S1apPduType.SuccessfulOutcome, S1apProcedureCode.S1Setup, Criticality.Reject,
            (105, Criticality.Reject, g.ToArray()),
            (87, Criticality.Ignore, cap.ToArray()));
    }

    // ---- attach / service request ----
    public static byte[] InitialUeMessage(uint enbUeId, uint enbId, byte[] nas, STmsi? sTmsi, bool moData)
    {
        var cause = new AperWriter(2);
        cause.WriteEnumerated(moData ? 4 : 3, 5, true);
        var ies = new List<(ushort, Criticality, byte[])>
        {
            Enb(enbUeId),
            (S1apIeId.NasPdu, Criticality.Reject, S1apIeCodec.EncodeNasPdu(nas)),
            (S1apIeId.Tai, Criticality.Reject, S1apIeCodec.EncodeTai(TrackingArea)),
            (S1apIeId.EutranCgi, Criticality.Ignore, S1apIeCodec.EncodeEutranCgi(Cell(enbId))),
            (134, Criticality.Ignore, cause.ToArray()),
        };
        if (sTmsi is { } s)
        {
            ies.Add((S1apIeId.STmsi, Criticality.Reject, S1apIeCodec.EncodeSTmsi(s)));
        }

        return Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.InitialUeMessage, Criticality.Ignore, [.. ies]);
    }

    /// <summary>An E-RAB list IE of the one E-RAB <paramref name="eRabId"/> with its tunnel end (and QoS and NAS PDU where the item has them).</summary>
    private static byte[] ERabList(ushort itemIeId, Criticality criticality, byte eRabId, IPAddress address, uint teid, bool withQos = false, byte[]? nas = null)
    {
        var item = new ERabItem { ItemIeId = itemIeId, ERabId = eRabId, Tunnel = Tunnel(address, teid), Qos = withQos ? new ERabQos(9, 15, false, false) : null, NasPduLength = -1 };
        return S1apIeCodec.EncodeERabList(itemIeId, criticality, [S1apIeCodec.EncodeERabItem(item, nas)]);
    }

    public static byte[] InitialContextSetupRequest(uint mmeUeId, uint enbUeId, byte eRabId, IPAddress sgw, uint ulTeid, byte[]? nas)
    {
        var list = ERabList(S1apIeId.ERabToBeSetupItemCtxtSuReq, Criticality.Reject, eRabId, sgw, ulTeid, withQos: true, nas: nas);
        return Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.InitialContextSetup, Criticality.Reject,
            Mme(mmeUeId), Enb(enbUeId),
            (66, Criticality.Reject, AggregateMaximumBitrate()),
            (S1apIeId.ERabToBeSetupListCtxtSuReq, Criticality.Reject, list),
            (107, Criticality.Reject, SecurityCapabilities()),
            (73, Criticality.Reject, SecurityKeyValue()));
    }

    public static byte[] InitialContextSetupResponse(uint mmeUeId, uint enbUeId, byte eRabId, IPAddress enb, uint dlTeid)
    {
        var list = ERabList(S1apIeId.ERabSetupItemCtxtSuRes, Criticality.Ignore, eRabId, enb, dlTeid);
        return Pdu(S1apPduType.SuccessfulOutcome, S1apProcedureCode.InitialContextSetup, Criticality.Reject,
            Mme(mmeUeId), Enb(enbUeId), (S1apIeId.ERabSetupListCtxtSuRes, Criticality.Ignore, list));
    }

    // ---- X2 handover ----
    public static byte[] PathSwitchRequest(uint enbUeId, uint sourceMmeUeId, uint targetEnbId, byte eRabId, IPAddress enb, uint dlTeid)
    {
        var list = ERabList(S1apIeId.ERabToBeSwitchedDlItem, Criticality.Reject, eRabId, enb, dlTeid);
        return Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.PathSwitchRequest, Criticality.Reject,
            Enb(enbUeId),
            (S1apIeId.ERabToBeSwitchedDlList, Criticality.Reject, list),
            (S1apIeId.SourceMmeUeS1apId, Criticality.Reject, S1apIeCodec.EncodeMmeUeS1apId(sourceMmeUeId)),
            (S1apIeId.EutranCgi, Criticality.Ignore, S1apIeCodec.EncodeEutranCgi(Cell(targetEnbId))),
            (S1apIeId.Tai, Criticality.Ignore, S1apIeCodec.EncodeTai(TrackingArea)),
            (107, Criticality.Ignore, SecurityCapabilities()));
    }

    public static byte[] PathSwitchRequestAcknowledge(uint mmeUeId, uint enbUeId) =>
        Pdu(S1apPduType.SuccessfulOutcome, S1apProcedureCode.PathSwitchRequest, Criticality.Reject,
            Mme(mmeUeId), Enb(enbUeId), (40, Criticality.Reject, SecurityContext()));

    // ---- S1 handover ----
    public static byte[] HandoverRequired(uint mmeUeId, uint enbUeId, uint sourceEnbId, uint targetEnbId, byte eRabId) =>
        Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.HandoverPreparation, Criticality.Reject,
            Mme(mmeUeId), Enb(enbUeId),
            (S1apIeId.HandoverType, Criticality.Reject, S1apIeCodec.EncodeHandoverType(HandoverType.IntraLte)),
            (S1apIeId.Cause, Criticality.Ignore, S1apIeCodec.EncodeCause(new S1apCause(CauseGroup.RadioNetwork, 16))),
            (S1apIeId.TargetId, Criticality.Reject, S1apIeCodec.EncodeTargetEnbId(new TargetEnbId(GlobalEnb(targetEnbId), TrackingArea))),
            (S1apIeId.SourceToTargetTransparentContainer, Criticality.Reject, SourceToTargetContainer(sourceEnbId, targetEnbId, eRabId)));

    public static byte[] HandoverRequest(uint mmeUeId, uint sourceEnbId, uint targetEnbId, byte eRabId, IPAddress sgw, uint ulTeid)
    {
        var list = ERabList(S1apIeId.ERabToBeSetupItemHoReq, Criticality.Reject, eRabId, sgw, ulTeid, withQos: true);
        return Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.HandoverResourceAllocation, Criticality.Reject,
            Mme(mmeUeId),
            (S1apIeId.HandoverType, Criticality.Reject, S1apIeCodec.EncodeHandoverType(HandoverType.IntraLte)),
            (S1apIeId.Cause, Criticality.Ignore, S1apIeCodec.EncodeCause(new S1apCause(CauseGroup.RadioNetwork, 16))),
            (66, Criticality.Reject, AggregateMaximumBitrate()),
            (S1apIeId.ERabToBeSetupListHoReq, Criticality.Reject, list),
            (S1apIeId.SourceToTargetTransparentContainer, Criticality.Reject, SourceToTargetContainer(sourceEnbId, targetEnbId, eRabId)),
            (107, Criticality.Reject, SecurityCapabilities()),
            (40, Criticality.Reject, SecurityContext()));
    }

    public static byte[] HandoverRequestAcknowledge(uint mmeUeId, uint enbUeId, byte eRabId, IPAddress enb, uint dlTeid)
    {
        var list = ERabList(S1apIeId.ERabAdmittedItem, Criticality.Ignore, eRabId, enb, dlTeid);
        return Pdu(S1apPduType.SuccessfulOutcome, S1apProcedureCode.HandoverResourceAllocation, Criticality.Reject,
            Mme(mmeUeId), Enb(enbUeId),
            (S1apIeId.ERabAdmittedList, Criticality.Ignore, list),
            (123, Criticality.Reject, TargetToSourceContainer()));
    }

    public static byte[] HandoverCommand(uint mmeUeId, uint enbUeId) =>
        Pdu(S1apPduType.SuccessfulOutcome, S1apProcedureCode.HandoverPreparation, Criticality.Reject,
            Mme(mmeUeId), Enb(enbUeId),
            (S1apIeId.HandoverType, Criticality.Reject, S1apIeCodec.EncodeHandoverType(HandoverType.IntraLte)),
            (123, Criticality.Reject, TargetToSourceContainer()));

    public static byte[] HandoverNotify(uint mmeUeId, uint enbUeId, uint targetEnbId) =>
        Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.HandoverNotification, Criticality.Ignore,
            Mme(mmeUeId), Enb(enbUeId),
            (S1apIeId.EutranCgi, Criticality.Ignore, S1apIeCodec.EncodeEutranCgi(Cell(targetEnbId))),
            (S1apIeId.Tai, Criticality.Ignore, S1apIeCodec.EncodeTai(TrackingArea)));

    public static byte[] HandoverCancel(uint mmeUeId, uint enbUeId) =>
        Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.HandoverCancel, Criticality.Reject,
            Mme(mmeUeId), Enb(enbUeId),
            (S1apIeId.Cause, Criticality.Ignore, S1apIeCodec.EncodeCause(new S1apCause(CauseGroup.RadioNetwork, 4))));

    public static byte[] HandoverCancelAcknowledge(uint mmeUeId, uint enbUeId) =>
        Pdu(S1apPduType.SuccessfulOutcome, S1apProcedureCode.HandoverCancel, Criticality.Reject, Mme(mmeUeId), Enb(enbUeId));

    // ---- release ----
    public static byte[] UeContextReleaseRequest(uint mmeUeId, uint enbUeId) =>
        Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.UeContextReleaseRequest, Criticality.Ignore,
            Mme(mmeUeId), Enb(enbUeId),
            (S1apIeId.Cause, Criticality.Ignore, S1apIeCodec.EncodeCause(new S1apCause(CauseGroup.RadioNetwork, 20))));

    public static byte[] UeContextReleaseCommand(uint mmeUeId, uint enbUeId, S1apCause cause) =>
        Pdu(S1apPduType.InitiatingMessage, S1apProcedureCode.UeContextRelease, Criticality.Reject,
            (S1apIeId.UeS1apIds, Criticality.Reject, S1apIeCodec.EncodeUeS1apIds(new UeS1apIds(mmeUeId, enbUeId))),
            (S1apIeId.Cause, Criticality.Ignore, S1apIeCodec.EncodeCause(cause)));

    public static byte[] UeContextReleaseComplete(uint mmeUeId, uint enbUeId) =>
        Pdu(S1apPduType.SuccessfulOutcome, S1apProcedureCode.UeContextRelease, Criticality.Reject, Mme(mmeUeId), Enb(enbUeId));

    // ---- IE contents without an encoder in the protocols part ----
    private static byte[] AggregateMaximumBitrate()
    {
        var w = new AperWriter(16);
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteConstrainedWholeNumber(100_000_000, 0, 10_000_000_000);
        w.WriteConstrainedWholeNumber(50_000_000, 0, 10_000_000_000);
        return w.ToArray();
    }

    private static byte[] SecurityCapabilities()
    {
        // EEA1/EEA2 and EIA1/EIA2 supported (bit strings of 16 bits, extensible size).
        var w = new AperWriter(8);
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteBitString([0xC0, 0x00], 16, 16, 16, true);
        w.WriteBitString([0xC0, 0x00], 16, 16, 16, true);
        return w.ToArray();
    }

    private static byte[] SecurityKeyValue()
    {
        var w = new AperWriter(40);
        w.WriteBitString(_securityKey, 256, 256, 256, false);
        return w.ToArray();
    }

    private static byte[] SecurityContext()
    {
        var w = new AperWriter(40);
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteConstrainedWholeNumber(1, 0, 7);
        w.WriteBitString(_securityKey, 256, 256, 256, false);
        return w.ToArray();
    }

    /// <summary>
    /// Source-eNB-ToTarget-eNB-TransparentContainer: an RRC container holding a HandoverPreparationInformation with
    /// criticalExtensionsFuture (UPER 0x80, a valid empty message), an E-RAB information list, the target cell,
    /// and a one-cell UE history.
    /// </summary>
    private static byte[] SourceToTargetContainer(uint sourceEnbId, uint targetEnbId, byte eRabId)
    {
        var c = new AperWriter(64);
        c.WriteSequencePreamble(true, false, 0b100, 3);
        c.WriteOctetString([0x80], 0, -1);

        // e-RABInformationList: SEQUENCE (1..256) OF ProtocolIE-SingleContainer { E-RABInformationListItem }.
        var item = new AperWriter(4);
        item.WriteSequencePreamble(true, false, 0, 2);
        item.WriteInteger(eRabId, 0, 15, true);
        c.WriteConstrainedLength(1, 1, 256);
        c.WriteConstrainedWholeNumber(S1apIeId.ERabInformationListItem, 0, 65535);
        c.WriteEnumerated((int)Criticality.Ignore, 3, false);
        c.WriteOpenType(item.WrittenSpan);

        c.WriteSequencePreamble(true, false, 0, 1);
        c.WriteAlignedOctets([Plmn.Octet0, Plmn.Octet1, Plmn.Octet2]);
        c.Align();
        c.WriteBits(Cell(targetEnbId).CellId, 28);

        // UE-HistoryInformation: one LastVisitedCell-Item, e-UTRAN-Cell.
        c.WriteConstrainedLength(1, 1, 16);
        c.WriteChoiceIndex(0, 3, true);
        c.WriteSequencePreamble(true, false, 0, 1);
        c.WriteSequencePreamble(true, false, 0, 1);
        c.WriteAlignedOctets([Plmn.Octet0, Plmn.Octet1, Plmn.Octet2]);
        c.Align();
        c.WriteBits(Cell(sourceEnbId).CellId, 28);
        c.WriteSequencePreamble(true, false, 0, 1);
        c.WriteEnumerated(1, 4, true);
        c.WriteConstrainedWholeNumber(10, 0, 4095);
        var outer = new AperWriter(64);
        outer.WriteOctetString(c.WrittenSpan, 0, -1);
        return outer.ToArray();
    }

    /// <summary>Target-eNB-ToSource-eNB-TransparentContainer with an RRC HandoverCommand (criticalExtensionsFuture).</summary>
    private static byte[] TargetToSourceContainer()
    {
        var c = new AperWriter(8);
        c.WriteSequencePreamble(true, false, 0, 1);
        c.WriteOctetString([0x80], 0, -1);
        var outer = new AperWriter(8);
        outer.WriteOctetString(c.WrittenSpan, 0, -1);
        return outer.ToArray();
    }
}
