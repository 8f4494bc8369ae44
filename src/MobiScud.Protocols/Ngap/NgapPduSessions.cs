using MobiScud.Protocols.Aper;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Ngap;

/// <summary>
/// PDU session resource lists (TS 38.413 9.3.4) and the transfer containers inside their items: what each says about
/// tunnels, QoS flows and cause. The part of <see cref="NgapIeCodec"/> that reads per-session state.
/// </summary>
internal static partial class NgapIeCodec
{
    /// <summary>The IE ids whose value is a PDU session resource list.</summary>
    internal static readonly ushort[] PduSessionListIds =
    [
        NgapIeId.PduSessionResourceAdmittedList,
        NgapIeId.PduSessionResourceFailedToModifyListModRes,
        NgapIeId.PduSessionResourceFailedToSetupListCxtRes,
        NgapIeId.PduSessionResourceFailedToSetupListHoAck,
        NgapIeId.PduSessionResourceFailedToSetupListPsReq,
        NgapIeId.PduSessionResourceFailedToSetupListSuRes,
        NgapIeId.PduSessionResourceHandoverList,
        NgapIeId.PduSessionResourceListCxtRelCpl,
        NgapIeId.PduSessionResourceListHoRqd,
        NgapIeId.PduSessionResourceModifyListModReq,
        NgapIeId.PduSessionResourceModifyListModRes,
        NgapIeId.PduSessionResourceReleasedListPsAck,
        NgapIeId.PduSessionResourceReleasedListPsFail,
        NgapIeId.PduSessionResourceReleasedListRelRes,
        NgapIeId.PduSessionResourceSetupListCxtReq,
        NgapIeId.PduSessionResourceSetupListCxtRes,
        NgapIeId.PduSessionResourceSetupListHoReq,
        NgapIeId.PduSessionResourceSetupListSuReq,
        NgapIeId.PduSessionResourceSetupListSuRes,
        NgapIeId.PduSessionResourceToBeSwitchedDlList,
        NgapIeId.PduSessionResourceSwitchedList,
        NgapIeId.PduSessionResourceToReleaseListHoCmd,
        NgapIeId.PduSessionResourceToReleaseListRelCmd,
        NgapIeId.PduSessionResourceFailedToSetupListCxtFail,
        NgapIeId.PduSessionResourceListCxtRelReq,
    ];

    private static PduSessionItem NewItem(ushort listIeId, byte id) => new()
    {
        ListIeId = listIeId,
        PduSessionId = id,
        NasPduLength = -1,
        TransferOffset = -1,
        TransferLength = -1,
    };

    private static (int Offset, int Length) ReadOctets(ref AperReader r, string what) => r.ReadUnfragmentedOctets(what);

    private static void ReadSNssai(ref AperReader r, ref PduSessionItem item)
    {
        var opt = r.ReadSequencePreamble(true, 2, out var ext);
        item.Sst = r.ReadOctetString(1, 1)[0];
        if ((opt & 2) != 0)
        {
            var sd = r.ReadAlignedOctets(3);
            item.Sd = (uint)((sd[0] << 16) | (sd[1] << 8) | sd[2]);
        }

        r.SkipSequenceTail((opt & 1) != 0, ext);
    }

    /// <summary>
    /// Decodes a PDU session resource list IE value (SEQUENCE (SIZE(1..256)) OF item) and appends its items, each with
    /// what its transfer container says about tunnels, QoS flows and cause.
    /// </summary>
    public static void ReadPduSessionList(ref AperReader r, ushort listIeId, List<PduSessionItem> into)
    {
        var n = r.ReadConstrainedLength(1, MaxNoOfPduSessions);
        var layout = ItemLayout(listIeId);
        for (var i = 0; i < n; i++)
        {
            into.Add(ReadPduSessionItem(ref r, listIeId, layout));
        }
    }

    private static void ReadCauseTransfer(ref AperReader t, ref PduSessionItem item, int optionals)
    {
        t.ReadSequencePreamble(true, optionals, out _);
        item.Cause = ReadCause(ref t);
    }

    /// <summary>PDUSessionResourceSetupResponseTransfer: dLQosFlowPerTNLInformation first.</summary>
    private static void ReadSetupResponseTransfer(ref AperReader t, ref PduSessionItem item)
    {
        t.ReadSequencePreamble(true, 4, out _);
        ReadQosFlowPerTnl(ref t, ref item);
    }

    private static void ReadHandoverRequestAcknowledgeTransfer(ref AperReader t, ref PduSessionItem item)
    {
        var opt = t.ReadSequencePreamble(true, 5, out _);
        item.DlTunnel = ReadUpTransportLayerInformation(ref t);
        if ((opt & 0x10) != 0)
        {
            item.DlForwarding = ReadUpTransportLayerInformation(ref t);
        }

        if ((opt & 0x08) != 0)
        {
            SkipSecurityResult(ref t);
        }

        item.QosFlows |= ReadQfiList(ref t, 1, 1); // dataForwardingAccepted ENUMERATED { data-forwarding-accepted, ... }
    }

    private static void ReadHandoverCommandTransfer(ref AperReader t, ref PduSessionItem item)
    {
        var opt = t.ReadSequencePreamble(true, 4, out _);
        if ((opt & 8) != 0)
        {
            item.DlForwarding = ReadUpTransportLayerInformation(ref t);
        }
    }

    private static void ReadPathSwitchRequestTransfer(ref AperReader t, ref PduSessionItem item)
    {
        var opt = t.ReadSequencePreamble(true, 3, out _);
        item.DlTunnel = ReadUpTransportLayerInformation(ref t);
        if ((opt & 4) != 0)
        {
            t.ReadEnumerated(1, true); // dL-NGU-TNLInformationReused
        }

        if ((opt & 2) != 0)
        {
            var uopt = t.ReadSequencePreamble(true, 1, out var uext);
            SkipSecurityResult(ref t);
            SkipSecurityIndication(ref t);
            t.SkipSequenceTail(uopt != 0, uext);
        }

        item.QosFlows |= ReadQfiList(ref t, 0, 0);
    }

    private static void ReadPathSwitchRequestAcknowledgeTransfer(ref AperReader t, ref PduSessionItem item)
    {
        var opt = t.ReadSequencePreamble(true, 3, out _);
        if ((opt & 4) != 0)
        {
            item.UlTunnel = ReadUpTransportLayerInformation(ref t);
        }
    }

    private static void ReadModifyResponseTransfer(ref AperReader t, ref PduSessionItem item)
    {
        var opt = t.ReadSequencePreamble(true, 6, out _);
        if ((opt & 0x20) != 0)
        {
            item.DlTunnel = ReadUpTransportLayerInformation(ref t);
        }

        if ((opt & 0x10) != 0)
        {
            item.UlTunnel = ReadUpTransportLayerInformation(ref t);
        }
    }

    /// <summary>PDUSessionResourceSetupRequestTransfer / ModifyRequestTransfer: a ProtocolIE-Container.</summary>
    private static void ReadRequestTransferIes(ref AperReader t, ref PduSessionItem item) =>
        ProtocolIeContainer.ReadContainer(ref t, ReadRequestTransferIe, ref item);

    private static void ReadRequestTransferIe(ref AperReader v, ushort id, ref PduSessionItem item)
    {
        switch (id)
        {
            case NgapIeId.UlNguUpTnlInformation:
                item.UlTunnel = ReadUpTransportLayerInformation(ref v);
                break;
            case NgapIeId.QosFlowSetupRequestList:
                item.QosFlows |= ReadQosFlowSetupRequestList(ref v, out var fiveQi);
                item.FiveQi ??= fiveQi;
                break;
            case NgapIeId.UlNguUpTnlModifyList:
                // SEQUENCE (SIZE(1..4)) OF { uL-NGU-UP-TNLInformation, dL-NGU-UP-TNLInformation, ... }: the first pair.
                v.ReadConstrainedLength(1, 4);
                v.ReadSequencePreamble(true, 1, out _);
                item.UlTunnel = ReadUpTransportLayerInformation(ref v);
                item.DlTunnel = ReadUpTransportLayerInformation(ref v);
                break;
        }
    }

    /// <summary>
    /// QosFlowSetupRequestList: SEQUENCE (SIZE(1..64)) OF { qosFlowIdentifier, qosFlowLevelQosParameters, e-RAB-ID OPTIONAL, ... }.
    /// Each item is read to its end (the QoS parameters are skipped field by field) to reach the next QFI; the first
    /// flow's 5QI, when it has one, comes out as <paramref name="fiveQi"/>.
    /// </summary>
    private static ulong ReadQosFlowSetupRequestList(ref AperReader r, out byte? fiveQi)
    {
        var n = r.ReadConstrainedLength(1, MaxNoOfQosFlows);
        ulong flows = 0;
        fiveQi = null;
        for (var i = 0; i < n; i++)
        {
            var opt = r.ReadSequencePreamble(true, 2, out var ext);
            flows |= 1UL << ReadQfi(ref r);
            var flowFiveQi = SkipQosFlowLevelQosParameters(ref r);
            fiveQi ??= flowFiveQi;
            if ((opt & 2) != 0)
            {
                r.ReadInteger(0, 15, true); // e-RAB-ID
            }

            r.SkipSequenceTail((opt & 1) != 0, ext);
        }

        return flows;
    }

    private const long MaxBitRate = 4_000_000_000_000;

    /// <summary>Skips QosFlowLevelQosParameters, returning its 5QI (non-dynamic, or dynamic when it names one).</summary>
    private static byte? SkipQosFlowLevelQosParameters(ref AperReader r)
    {
        byte? fiveQi = null;
        var opt = r.ReadSequencePreamble(true, 4, out var ext);
        switch (r.ReadChoiceIndex(3, false, out _))
        {
            case 0:
                {
                    // NonDynamic5QIDescriptor: fiveQI, priorityLevelQos, averagingWindow, maximumDataBurstVolume
                    var nopt = r.ReadSequencePreamble(true, 4, out var next);
                    fiveQi = (byte)r.ReadInteger(0, 255, true);
                    SkipOptionalIntegers(ref r, nopt, [(8, 1, 127), (4, 0, 4095), (2, 0, 4095)]);
                    r.SkipSequenceTail((nopt & 1) != 0, next);
                    break;
                }

            case 1:
                {
                    // Dynamic5QIDescriptor: priorityLevelQos, packetDelayBudget, packetErrorRate, fiveQI, delayCritical, averagingWindow, maximumDataBurstVolume
                    var dopt = r.ReadSequencePreamble(true, 5, out var dext);
                    r.ReadInteger(1, 127, true);
                    r.ReadInteger(0, 1023, true);
                    var popt = r.ReadSequencePreamble(true, 1, out var pext);
                    r.ReadInteger(0, 9, true);
                    r.ReadInteger(0, 9, true);
                    r.SkipSequenceTail(popt != 0, pext);
                    if ((dopt & 16) != 0)
                    {
                        fiveQi = (byte)r.ReadInteger(0, 255, true);
                    }

                    if ((dopt & 8) != 0)
                    {
                        r.ReadEnumerated(2, true);
                    }

                    SkipOptionalIntegers(ref r, dopt, [(4, 0, 4095), (2, 0, 4095)]);
                    r.SkipSequenceTail((dopt & 1) != 0, dext);
                    break;
                }

            default:
                SkipSingleContainer(ref r);
                break;
        }

        // AllocationAndRetentionPriority
        var aopt = r.ReadSequencePreamble(true, 1, out var aext);
        r.ReadConstrainedWholeNumber(1, 15);
        r.ReadEnumerated(2, true);
        r.ReadEnumerated(2, true);
        r.SkipSequenceTail(aopt != 0, aext);
        if ((opt & 8) != 0)
        {
            // GBR-QosInformation: four BitRates, notificationControl, maximumPacketLossRateDL/UL
            var gopt = r.ReadSequencePreamble(true, 4, out var gext);
            for (var k = 0; k < 4; k++)
            {
                r.ReadInteger(0, MaxBitRate, true);
            }

            if ((gopt & 8) != 0)
            {
                r.ReadEnumerated(1, true);
            }

            SkipOptionalIntegers(ref r, gopt, [(4, 0, 1000), (2, 0, 1000)]);
            r.SkipSequenceTail((gopt & 1) != 0, gext);
        }

        if ((opt & 4) != 0)
        {
            r.ReadEnumerated(1, true); // reflectiveQosAttribute
        }

        if ((opt & 2) != 0)
        {
            r.ReadEnumerated(1, true); // additionalQosFlowInformation
        }

        r.SkipSequenceTail((opt & 1) != 0, ext);
        return fiveQi;
    }

    private static void SkipOptionalIntegers(ref AperReader r, ulong opt, scoped ReadOnlySpan<(ulong Bit, long Lb, long Ub)> fields)
    {
        foreach (var (bit, lb, ub) in fields)
        {
            if ((opt & bit) != 0)
            {
                r.ReadInteger(lb, ub, true);
            }
        }
    }
}
