using System.Buffers.Binary;
using MobiScud.Protocols.Aper;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Ngap;

/// <summary>
/// APER decoders of the NGAP IE value types the MC needs (TS 38.413 9.4.5 NGAP-IEs). Each reads from an
/// <see cref="AperReader"/> at the start of the value. Unlike S1AP, NGAP lists are SEQUENCE OF the item type itself
/// (no per-item open type), so list items are read to their end, extension containers and additions included.
/// NGAP CHOICEs end in a choice-Extensions alternative instead of an extension marker.
/// </summary>
internal static class NgapIeCodec
{
    internal const int MaxNoOfPduSessions = 256;
    internal const int MaxNoOfQosFlows = 64;
    internal const long MaxAmfUeNgapId = 1099511627775;
    private const int MaxProtocolExtensions = 65535;

    public static ulong ReadAmfUeNgapId(ref AperReader r) => (ulong)r.ReadConstrainedWholeNumber(0, MaxAmfUeNgapId);

    public static uint ReadRanUeNgapId(ref AperReader r) => (uint)r.ReadConstrainedWholeNumber(0, uint.MaxValue);

    public static PlmnIdentity ReadPlmn(ref AperReader r) => PlmnIdentity.From(r.ReadAlignedOctets(3));

    /// <summary>The OPTIONAL iE-Extensions container and, when the extension bit was set, the extension additions.</summary>
    internal static void SkipTail(ref AperReader r, bool hasIeExtensions, bool extended)
    {
        if (hasIeExtensions)
        {
            r.SkipProtocolFieldList(1, MaxProtocolExtensions);
        }

        if (extended)
        {
            r.SkipExtensionAdditions();
        }
    }

    /// <summary>A choice-Extensions alternative: ProtocolIE-SingleContainer (id, criticality, open type).</summary>
    internal static void SkipSingleContainer(ref AperReader r)
    {
        r.ReadConstrainedWholeNumber(0, 65535);
        r.ReadEnumerated(3, false);
        r.SkipOpenType();
    }

    public static NgTai ReadTai(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var plmn = ReadPlmn(ref r);
        var tac = r.ReadAlignedOctets(3);
        SkipTail(ref r, opt != 0, ext);
        return new NgTai(plmn, (uint)((tac[0] << 16) | (tac[1] << 8) | tac[2]));
    }

    public static NrCgi ReadNrCgi(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var plmn = ReadPlmn(ref r);
        r.Align();
        var cell = r.ReadBits(36);
        SkipTail(ref r, opt != 0, ext);
        return new NrCgi(plmn, cell);
    }

    public static EutranCgi ReadEutraCgi(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var plmn = ReadPlmn(ref r);
        r.Align();
        var cell = (uint)r.ReadBits(28);
        SkipTail(ref r, opt != 0, ext);
        return new EutranCgi(plmn, cell);
    }

    /// <summary>UserLocationInformation: the NR or E-UTRA cell and the TAI (N3IWF and extension alternatives give nulls).</summary>
    public static (NrCgi? Nr, EutranCgi? Eutra, NgTai? Tai) ReadUserLocation(ref AperReader r)
    {
        var index = r.ReadChoiceIndex(4, false, out _);
        switch (index)
        {
            case 0:
                {
                    var opt = r.ReadSequencePreamble(true, 2, out var ext);
                    var cgi = ReadEutraCgi(ref r);
                    var tai = ReadTai(ref r);
                    SkipUserLocationTail(ref r, opt, ext);
                    return (null, cgi, tai);
                }

            case 1:
                {
                    var opt = r.ReadSequencePreamble(true, 2, out var ext);
                    var cgi = ReadNrCgi(ref r);
                    var tai = ReadTai(ref r);
                    SkipUserLocationTail(ref r, opt, ext);
                    return (cgi, null, tai);
                }

            default:
                return (null, null, null); // N3IWF / extension: an open type, the rest is skipped by the IE length.
        }
    }

    private static void SkipUserLocationTail(ref AperReader r, ulong opt, bool ext)
    {
        if ((opt & 2) != 0)
        {
            r.ReadAlignedOctets(4); // timeStamp OCTET STRING (SIZE(4))
        }

        SkipTail(ref r, (opt & 1) != 0, ext);
    }

    public static GlobalRanNodeId ReadGlobalRanNodeId(ref AperReader r)
    {
        var index = r.ReadChoiceIndex(4, false, out _);
        if (index == 3)
        {
            SkipSingleContainer(ref r);
            return new GlobalRanNodeId(default, RanNodeKind.Other, 0, 0);
        }

        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var plmn = ReadPlmn(ref r);
        GlobalRanNodeId id;
        switch (index)
        {
            case 0:
                {
                    if (r.ReadChoiceIndex(2, false, out _) == 1)
                    {
                        SkipSingleContainer(ref r);
                        id = new GlobalRanNodeId(plmn, RanNodeKind.Other, 0, 0);
                        break;
                    }

                    var bits = r.ReadBitString(22, 32, false, out var len);
                    id = new GlobalRanNodeId(plmn, RanNodeKind.Gnb, BitsValue(bits, len), (byte)len);
                    break;
                }

            case 1:
                {
                    var kind = r.ReadChoiceIndex(4, false, out _);
                    if (kind == 3)
                    {
                        SkipSingleContainer(ref r);
                        id = new GlobalRanNodeId(plmn, RanNodeKind.Other, 0, 0);
                        break;
                    }

                    var size = kind switch { 0 => 20, 1 => 18, _ => 21 };
                    var bits = r.ReadBitString(size, size, false, out var len);
                    id = new GlobalRanNodeId(plmn, (RanNodeKind)(kind + 1), BitsValue(bits, len), (byte)len);
                    break;
                }

            default:
                {
                    if (r.ReadChoiceIndex(2, false, out _) == 1)
                    {
                        SkipSingleContainer(ref r);
                        id = new GlobalRanNodeId(plmn, RanNodeKind.Other, 0, 0);
                        break;
                    }

                    var bits = r.ReadBitString(16, 16, false, out var len);
                    id = new GlobalRanNodeId(plmn, RanNodeKind.N3iwf, BitsValue(bits, len), (byte)len);
                    break;
                }
        }

        SkipTail(ref r, opt != 0, ext);
        return id;
    }

    private static uint BitsValue(ReadOnlySpan<byte> bits, int len)
    {
        ulong v = 0;
        for (var i = 0; i < (len + 7) / 8; i++)
        {
            v = (v << 8) | bits[i];
        }

        return (uint)(v >> (((len + 7) / 8 * 8) - len));
    }

    /// <summary>Target-ID: the target NG-RAN node (null for an eNB target of a 5GS-to-EPS handover or an extension).</summary>
    public static NgapTargetRanNode? ReadTargetId(ref AperReader r)
    {
        var index = r.ReadChoiceIndex(3, false, out _);
        if (index != 0)
        {
            return null;
        }

        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var node = ReadGlobalRanNodeId(ref r);
        var tai = ReadTai(ref r);
        SkipTail(ref r, opt != 0, ext);
        return new NgapTargetRanNode(node, tai);
    }

    public static FiveGSTmsi ReadFiveGSTmsi(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var set = (ushort)r.ReadBits(10);
        var pointer = (byte)r.ReadBits(6);
        var tmsi = BinaryPrimitives.ReadUInt32BigEndian(r.ReadAlignedOctets(4));
        SkipTail(ref r, opt != 0, ext);
        return new FiveGSTmsi(set, pointer, tmsi);
    }

    // Root value counts of CauseRadioNetwork, CauseTransport, CauseNas, CauseProtocol, CauseMisc (all extensible).
    private static readonly int[] CauseRootCounts = [45, 2, 4, 7, 6];

    public static NgapCause ReadCause(ref AperReader r)
    {
        var group = r.ReadChoiceIndex(6, false, out _);
        if (group == 5)
        {
            SkipSingleContainer(ref r);
            return new NgapCause(NgapCauseGroup.Extension, -1);
        }

        return new NgapCause((NgapCauseGroup)group, r.ReadEnumerated(CauseRootCounts[group], true));
    }

    public static NgapHandoverType ReadHandoverType(ref AperReader r)
    {
        var v = r.ReadEnumerated(3, true);
        if (v > 3)
        {
            r.Throw(AperError.ConstraintViolation, $"HandoverType {v}");
        }

        return (NgapHandoverType)v;
    }

    /// <summary>UE-NGAP-IDs (UEContextReleaseCommand): the pair, or the AMF id only.</summary>
    public static (ulong Amf, uint? Ran) ReadUeNgapIds(ref AperReader r)
    {
        var index = r.ReadChoiceIndex(3, false, out _);
        switch (index)
        {
            case 0:
                {
                    var opt = r.ReadSequencePreamble(true, 1, out var ext);
                    var amf = ReadAmfUeNgapId(ref r);
                    var ran = ReadRanUeNgapId(ref r);
                    SkipTail(ref r, opt != 0, ext);
                    return (amf, ran);
                }

            case 1:
                return (ReadAmfUeNgapId(ref r), null);
            default:
                r.Throw(AperError.Unsupported, "UE-NGAP-IDs choice extension");
                return default;
        }
    }

    /// <summary>ResetType (id 88): false for a reset of the whole NG interface, else appends the named connections.</summary>
    public static bool ReadResetType(ref AperReader r, List<NgConnectionId> into)
    {
        var index = r.ReadChoiceIndex(3, false, out _);
        if (index != 1)
        {
            return false; // nG-Interface (reset all), or an extension alternative, which this release reads as a full reset.
        }

        ReadConnectionList(ref r, into);
        return true;
    }

    /// <summary>UE-associatedLogicalNG-connectionList: SEQUENCE (SIZE(1..65536)) OF item { amf OPTIONAL, ran OPTIONAL, ... }.</summary>
    public static void ReadConnectionList(ref AperReader r, List<NgConnectionId> into)
    {
        var n = r.ReadConstrainedLength(1, 65536);
        for (var i = 0; i < n; i++)
        {
            var opt = r.ReadSequencePreamble(true, 3, out var ext);
            ulong? amf = (opt & 4) != 0 ? ReadAmfUeNgapId(ref r) : null;
            uint? ran = (opt & 2) != 0 ? ReadRanUeNgapId(ref r) : null;
            SkipTail(ref r, (opt & 1) != 0, ext);
            into.Add(new NgConnectionId(amf, ran));
        }
    }

    public static TransportLayerAddress ReadTransportLayerAddress(ref AperReader r)
    {
        var bits = r.ReadBitString(1, 160, true, out var len);
        if (len > 160)
        {
            r.Throw(AperError.Unsupported, $"transport layer address of {len} bits");
        }

        return new TransportLayerAddress(bits, len);
    }

    /// <summary>UPTransportLayerInformation: the GTP tunnel, or null for a choice-Extensions alternative (skipped).</summary>
    public static GtpTunnel? ReadUpTransportLayerInformation(ref AperReader r)
    {
        if (r.ReadChoiceIndex(2, false, out _) == 1)
        {
            SkipSingleContainer(ref r);
            return null;
        }

        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var tla = ReadTransportLayerAddress(ref r);
        var teid = BinaryPrimitives.ReadUInt32BigEndian(r.ReadAlignedOctets(4));
        SkipTail(ref r, opt != 0, ext);
        return new GtpTunnel(tla, teid);
    }

    private static int ReadQfi(ref AperReader r)
    {
        var v = r.ReadInteger(0, 63, true);
        if (v is < 0 or > 63)
        {
            r.Throw(AperError.Unsupported, $"QoS flow identifier {v}");
        }

        return (int)v;
    }

    /// <summary>
    /// A list of QoS flow items whose first field is the QFI and whose other root fields are <paramref name="optionalEnums"/>
    /// OPTIONAL extensible ENUMERATEDs of <paramref name="enumRoot"/> values (AssociatedQosFlowItem, QosFlowItemWithDataForwarding,
    /// QosFlowAcceptedItem ...). Returns the QFIs as a bitmap.
    /// </summary>
    private static ulong ReadQfiList(ref AperReader r, int optionalEnums, int enumRoot)
    {
        var n = r.ReadConstrainedLength(1, MaxNoOfQosFlows);
        ulong flows = 0;
        for (var i = 0; i < n; i++)
        {
            var opt = r.ReadSequencePreamble(true, optionalEnums + 1, out var ext);
            flows |= 1UL << ReadQfi(ref r);
            for (var k = optionalEnums; k >= 1; k--)
            {
                if ((opt & (1UL << k)) != 0)
                {
                    r.ReadEnumerated(enumRoot, true);
                }
            }

            SkipTail(ref r, (opt & 1) != 0, ext);
        }

        return flows;
    }

    /// <summary>QosFlowPerTNLInformation: the tunnel and its associated QoS flows.</summary>
    private static void ReadQosFlowPerTnl(ref AperReader r, ref PduSessionItem item)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        item.DlTunnel = ReadUpTransportLayerInformation(ref r);
        item.QosFlows |= ReadQfiList(ref r, 1, 2); // AssociatedQosFlowItem: qosFlowMappingIndication ENUMERATED { ul, dl, ... }
        SkipTail(ref r, opt != 0, ext);
    }

    private static void SkipSecurityResult(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        r.ReadEnumerated(2, true);
        r.ReadEnumerated(2, true);
        SkipTail(ref r, opt != 0, ext);
    }

    private static void SkipSecurityIndication(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 2, out var ext);
        r.ReadEnumerated(3, true);
        r.ReadEnumerated(3, true);
        if ((opt & 2) != 0)
        {
            r.ReadEnumerated(2, true); // maximumIntegrityProtectedDataRate-UL
        }

        SkipTail(ref r, (opt & 1) != 0, ext);
    }

    /// <summary>True for the IE ids whose value is a PDU session resource list.</summary>
    public static bool IsPduSessionList(ushort ieId) => ieId switch
    {
        NgapIeId.PduSessionResourceAdmittedList or NgapIeId.PduSessionResourceFailedToModifyListModRes
            or NgapIeId.PduSessionResourceFailedToSetupListCxtRes or NgapIeId.PduSessionResourceFailedToSetupListHoAck
            or NgapIeId.PduSessionResourceFailedToSetupListPsReq or NgapIeId.PduSessionResourceFailedToSetupListSuRes
            or NgapIeId.PduSessionResourceHandoverList or NgapIeId.PduSessionResourceListCxtRelCpl
            or NgapIeId.PduSessionResourceListHoRqd or NgapIeId.PduSessionResourceModifyListModReq
            or NgapIeId.PduSessionResourceModifyListModRes or NgapIeId.PduSessionResourceReleasedListPsAck
            or NgapIeId.PduSessionResourceReleasedListPsFail or NgapIeId.PduSessionResourceReleasedListRelRes
            or NgapIeId.PduSessionResourceSetupListCxtReq or NgapIeId.PduSessionResourceSetupListCxtRes
            or NgapIeId.PduSessionResourceSetupListHoReq or NgapIeId.PduSessionResourceSetupListSuReq
            or NgapIeId.PduSessionResourceSetupListSuRes or NgapIeId.PduSessionResourceToBeSwitchedDlList
            or NgapIeId.PduSessionResourceSwitchedList or NgapIeId.PduSessionResourceToReleaseListHoCmd
            or NgapIeId.PduSessionResourceToReleaseListRelCmd or NgapIeId.PduSessionResourceFailedToSetupListCxtFail
            or NgapIeId.PduSessionResourceListCxtRelReq => true,
        _ => false,
    };

    private static PduSessionItem NewItem(ushort listIeId, byte id) => new()
    {
        ListIeId = listIeId,
        PduSessionId = id,
        NasPduLength = -1,
        TransferOffset = -1,
        TransferLength = -1,
    };

    private static (int Offset, int Length) ReadOctets(ref AperReader r, string what)
    {
        var n = r.ReadLengthDeterminant(out var frag);
        if (frag)
        {
            r.Throw(AperError.Unsupported, $"fragmented {what}");
        }

        var off = r.ByteOffset;
        r.ReadAlignedOctets(n);
        return (off, n);
    }

    private static void ReadSNssai(ref AperReader r, ref PduSessionItem item)
    {
        var opt = r.ReadSequencePreamble(true, 2, out var ext);
        item.Sst = r.ReadOctetString(1, 1)[0];
        if ((opt & 2) != 0)
        {
            var sd = r.ReadAlignedOctets(3);
            item.Sd = (uint)((sd[0] << 16) | (sd[1] << 8) | sd[2]);
        }

        SkipTail(ref r, (opt & 1) != 0, ext);
    }

    /// <summary>
    /// Decodes a PDU session resource list IE value (SEQUENCE (SIZE(1..256)) OF item) and appends its items, each with
    /// what its transfer container says about tunnels, QoS flows and cause.
    /// </summary>
    public static void ReadPduSessionList(ref AperReader r, ushort listIeId, List<PduSessionItem> into)
    {
        var n = r.ReadConstrainedLength(1, MaxNoOfPduSessions);
        for (var i = 0; i < n; i++)
        {
            into.Add(ReadPduSessionItem(ref r, listIeId));
        }
    }

    private static PduSessionItem ReadPduSessionItem(ref AperReader r, ushort listIeId)
    {
        switch (listIeId)
        {
            case NgapIeId.PduSessionResourceSetupListSuReq:
            case NgapIeId.PduSessionResourceSetupListCxtReq:
            case NgapIeId.PduSessionResourceModifyListModReq:
                {
                    var opt = r.ReadSequencePreamble(true, 2, out var ext);
                    var item = NewItem(listIeId, (byte)r.ReadConstrainedWholeNumber(0, 255));
                    if ((opt & 2) != 0)
                    {
                        (item.NasPduOffset, item.NasPduLength) = ReadOctets(ref r, "NAS-PDU");
                    }

                    if (listIeId != NgapIeId.PduSessionResourceModifyListModReq)
                    {
                        ReadSNssai(ref r, ref item);
                    }

                    ReadTransfer(ref r, ref item);
                    SkipTail(ref r, (opt & 1) != 0, ext);
                    return item;
                }

            case NgapIeId.PduSessionResourceSetupListHoReq:
                {
                    var opt = r.ReadSequencePreamble(true, 1, out var ext);
                    var item = NewItem(listIeId, (byte)r.ReadConstrainedWholeNumber(0, 255));
                    ReadSNssai(ref r, ref item);
                    ReadTransfer(ref r, ref item);
                    SkipTail(ref r, opt != 0, ext);
                    return item;
                }

            case NgapIeId.PduSessionResourceListCxtRelCpl:
            case NgapIeId.PduSessionResourceListCxtRelReq:
                {
                    var opt = r.ReadSequencePreamble(true, 1, out var ext);
                    var item = NewItem(listIeId, (byte)r.ReadConstrainedWholeNumber(0, 255));
                    SkipTail(ref r, opt != 0, ext);
                    return item;
                }

            default:
                {
                    // Every other list item is { pDUSessionID, <transfer> OCTET STRING, iE-Extensions OPTIONAL, ... }.
                    var opt = r.ReadSequencePreamble(true, 1, out var ext);
                    var item = NewItem(listIeId, (byte)r.ReadConstrainedWholeNumber(0, 255));
                    ReadTransfer(ref r, ref item);
                    SkipTail(ref r, opt != 0, ext);
                    return item;
                }
        }
    }

    private static void ReadTransfer(ref AperReader r, ref PduSessionItem item)
    {
        var (off, len) = ReadOctets(ref r, "transfer container");
        item.TransferOffset = off;
        item.TransferLength = len;
        var t = new AperReader(r.Buffer, off, off + len);
        switch (item.ListIeId)
        {
            case NgapIeId.PduSessionResourceSetupListSuReq:
            case NgapIeId.PduSessionResourceSetupListCxtReq:
            case NgapIeId.PduSessionResourceSetupListHoReq:
            case NgapIeId.PduSessionResourceModifyListModReq:
                ReadRequestTransferIes(ref t, ref item);
                break;
            case NgapIeId.PduSessionResourceSetupListSuRes:
            case NgapIeId.PduSessionResourceSetupListCxtRes:
                {
                    // PDUSessionResourceSetupResponseTransfer: dLQosFlowPerTNLInformation first.
                    t.ReadSequencePreamble(true, 4, out _);
                    ReadQosFlowPerTnl(ref t, ref item);
                    break;
                }

            case NgapIeId.PduSessionResourceAdmittedList:
                {
                    // HandoverRequestAcknowledgeTransfer
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
                    break;
                }

            case NgapIeId.PduSessionResourceHandoverList:
                {
                    // HandoverCommandTransfer
                    var opt = t.ReadSequencePreamble(true, 4, out _);
                    if ((opt & 8) != 0)
                    {
                        item.DlForwarding = ReadUpTransportLayerInformation(ref t);
                    }

                    break;
                }

            case NgapIeId.PduSessionResourceToBeSwitchedDlList:
                {
                    // PathSwitchRequestTransfer
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
                        SkipTail(ref t, uopt != 0, uext);
                    }

                    item.QosFlows |= ReadQfiList(ref t, 0, 0);
                    break;
                }

            case NgapIeId.PduSessionResourceSwitchedList:
                {
                    // PathSwitchRequestAcknowledgeTransfer
                    var opt = t.ReadSequencePreamble(true, 3, out _);
                    if ((opt & 4) != 0)
                    {
                        item.UlTunnel = ReadUpTransportLayerInformation(ref t);
                    }

                    break;
                }

            case NgapIeId.PduSessionResourceModifyListModRes:
                {
                    // PDUSessionResourceModifyResponseTransfer
                    var opt = t.ReadSequencePreamble(true, 6, out _);
                    if ((opt & 0x20) != 0)
                    {
                        item.DlTunnel = ReadUpTransportLayerInformation(ref t);
                    }

                    if ((opt & 0x10) != 0)
                    {
                        item.UlTunnel = ReadUpTransportLayerInformation(ref t);
                    }

                    break;
                }

            case NgapIeId.PduSessionResourceFailedToModifyListModRes:
            case NgapIeId.PduSessionResourceFailedToSetupListCxtRes:
            case NgapIeId.PduSessionResourceFailedToSetupListHoAck:
            case NgapIeId.PduSessionResourceFailedToSetupListSuRes:
            case NgapIeId.PduSessionResourceFailedToSetupListCxtFail:
                t.ReadSequencePreamble(true, 2, out _); // cause, criticalityDiagnostics OPTIONAL, iE-Extensions OPTIONAL
                item.Cause = ReadCause(ref t);
                break;
            case NgapIeId.PduSessionResourceFailedToSetupListPsReq:
            case NgapIeId.PduSessionResourceReleasedListPsAck:
            case NgapIeId.PduSessionResourceReleasedListPsFail:
            case NgapIeId.PduSessionResourceToReleaseListHoCmd:
            case NgapIeId.PduSessionResourceToReleaseListRelCmd:
                t.ReadSequencePreamble(true, 1, out _); // cause, iE-Extensions OPTIONAL
                item.Cause = ReadCause(ref t);
                break;
            default:
                break; // HandoverRequiredTransfer, ReleaseResponseTransfer: nothing the MC uses.
        }
    }

    /// <summary>PDUSessionResourceSetupRequestTransfer / ModifyRequestTransfer: a ProtocolIE-Container.</summary>
    private static void ReadRequestTransferIes(ref AperReader t, ref PduSessionItem item)
    {
        t.ReadBit();
        var count = t.ReadConstrainedLength(0, 65535);
        for (var i = 0; i < count; i++)
        {
            var id = (ushort)t.ReadConstrainedWholeNumber(0, 65535);
            t.ReadEnumerated(3, false);
            var (off, len) = t.ReadOpenTypeRange();
            var v = new AperReader(t.Buffer, off, off + len);
            switch (id)
            {
                case NgapIeId.UlNguUpTnlInformation:
                    item.UlTunnel = ReadUpTransportLayerInformation(ref v);
                    break;
                case NgapIeId.QosFlowSetupRequestList:
                    item.QosFlows |= ReadQosFlowSetupRequestList(ref v);
                    break;
                case NgapIeId.UlNguUpTnlModifyList:
                    {
                        // SEQUENCE (SIZE(1..4)) OF { uL-NGU-UP-TNLInformation, dL-NGU-UP-TNLInformation, ... }: the first pair.
                        v.ReadConstrainedLength(1, 4);
                        v.ReadSequencePreamble(true, 1, out _);
                        item.UlTunnel = ReadUpTransportLayerInformation(ref v);
                        item.DlTunnel = ReadUpTransportLayerInformation(ref v);
                        break;
                    }
            }
        }
    }

    /// <summary>
    /// SourceToTarget-TransparentContainer (id 101) of an intra-5GS handover: an OCTET STRING holding
    /// SourceNGRANNode-ToTargetNGRANNode-TransparentContainer. Returns the target cell (null for an E-UTRA or extension target).
    /// </summary>
    public static NrCgi? ReadSourceToTargetContainer(ref AperReader outer)
    {
        var n = outer.ReadLengthDeterminant(out var frag);
        if (frag)
        {
            outer.Throw(AperError.Unsupported, "fragmented transparent container");
        }

        var start = outer.ByteOffset;
        outer.ReadAlignedOctets(n);
        var r = new AperReader(outer.Buffer, start, start + n);
        var opt = r.ReadSequencePreamble(true, 4, out _);
        var rrc = r.ReadLengthDeterminant(out var rrcFrag);
        if (rrcFrag)
        {
            r.Throw(AperError.Unsupported, "fragmented RRC container");
        }

        r.ReadAlignedOctets(rrc);
        if ((opt & 8) != 0)
        {
            // PDUSessionResourceInformationList: { pDUSessionID, qosFlowInformationList, dRBsToQosFlowsMappingList OPTIONAL, ... }
            var sessions = r.ReadConstrainedLength(1, MaxNoOfPduSessions);
            for (var i = 0; i < sessions; i++)
            {
                var iopt = r.ReadSequencePreamble(true, 2, out var iext);
                r.ReadConstrainedWholeNumber(0, 255);
                ReadQfiList(ref r, 1, 1);
                if ((iopt & 2) != 0)
                {
                    var drbs = r.ReadConstrainedLength(1, 32);
                    for (var d = 0; d < drbs; d++)
                    {
                        var dopt = r.ReadSequencePreamble(true, 1, out var dext);
                        r.ReadInteger(1, 32, true);
                        ReadQfiList(ref r, 1, 2);
                        SkipTail(ref r, dopt != 0, dext);
                    }
                }

                SkipTail(ref r, (iopt & 1) != 0, iext);
            }
        }

        if ((opt & 4) != 0)
        {
            // E-RABInformationList: { e-RAB-ID, dLForwarding OPTIONAL, iE-Extensions OPTIONAL, ... }
            var erabs = r.ReadConstrainedLength(1, MaxNoOfPduSessions);
            for (var i = 0; i < erabs; i++)
            {
                var eopt = r.ReadSequencePreamble(true, 2, out var eext);
                r.ReadInteger(0, 15, true);
                if ((eopt & 2) != 0)
                {
                    r.ReadEnumerated(1, true);
                }

                SkipTail(ref r, (eopt & 1) != 0, eext);
            }
        }

        return r.ReadChoiceIndex(3, false, out _) == 0 ? ReadNrCgi(ref r) : null;
    }

    /// <summary>
    /// QosFlowSetupRequestList: SEQUENCE (SIZE(1..64)) OF { qosFlowIdentifier, qosFlowLevelQosParameters, e-RAB-ID OPTIONAL, ... }.
    /// Each item is read to its end (the QoS parameters are skipped field by field) to reach the next QFI.
    /// </summary>
    private static ulong ReadQosFlowSetupRequestList(ref AperReader r)
    {
        var n = r.ReadConstrainedLength(1, MaxNoOfQosFlows);
        ulong flows = 0;
        for (var i = 0; i < n; i++)
        {
            var opt = r.ReadSequencePreamble(true, 2, out var ext);
            flows |= 1UL << ReadQfi(ref r);
            SkipQosFlowLevelQosParameters(ref r);
            if ((opt & 2) != 0)
            {
                r.ReadInteger(0, 15, true); // e-RAB-ID
            }

            SkipTail(ref r, (opt & 1) != 0, ext);
        }

        return flows;
    }

    private const long MaxBitRate = 4_000_000_000_000;

    private static void SkipQosFlowLevelQosParameters(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 4, out var ext);
        switch (r.ReadChoiceIndex(3, false, out _))
        {
            case 0:
                {
                    // NonDynamic5QIDescriptor: fiveQI, priorityLevelQos, averagingWindow, maximumDataBurstVolume
                    var nopt = r.ReadSequencePreamble(true, 4, out var next);
                    r.ReadInteger(0, 255, true);
                    SkipOptionalIntegers(ref r, nopt, [(8, 1, 127), (4, 0, 4095), (2, 0, 4095)]);
                    SkipTail(ref r, (nopt & 1) != 0, next);
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
                    SkipTail(ref r, popt != 0, pext);
                    if ((dopt & 16) != 0)
                    {
                        r.ReadInteger(0, 255, true);
                    }

                    if ((dopt & 8) != 0)
                    {
                        r.ReadEnumerated(2, true);
                    }

                    SkipOptionalIntegers(ref r, dopt, [(4, 0, 4095), (2, 0, 4095)]);
                    SkipTail(ref r, (dopt & 1) != 0, dext);
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
        SkipTail(ref r, aopt != 0, aext);
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
            SkipTail(ref r, (gopt & 1) != 0, gext);
        }

        if ((opt & 4) != 0)
        {
            r.ReadEnumerated(1, true); // reflectiveQosAttribute
        }

        if ((opt & 2) != 0)
        {
            r.ReadEnumerated(1, true); // additionalQosFlowInformation
        }

        SkipTail(ref r, (opt & 1) != 0, ext);
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
