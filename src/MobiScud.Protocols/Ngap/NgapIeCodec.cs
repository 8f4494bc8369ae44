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
internal static partial class NgapIeCodec
{
    internal const int MaxNoOfPduSessions = 256;
    internal const int MaxNoOfQosFlows = 64;
    internal const long MaxAmfUeNgapId = 1099511627775;

    public static ulong ReadAmfUeNgapId(ref AperReader r) => (ulong)r.ReadConstrainedWholeNumber(0, MaxAmfUeNgapId);

    public static uint ReadRanUeNgapId(ref AperReader r) => (uint)r.ReadConstrainedWholeNumber(0, uint.MaxValue);

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
        var plmn = S1apIeCodec.ReadPlmn(ref r);
        var tac = r.ReadAlignedOctets(3);
        r.SkipSequenceTail(opt != 0, ext);
        return new NgTai(plmn, (uint)((tac[0] << 16) | (tac[1] << 8) | tac[2]));
    }

    public static NrCgi ReadNrCgi(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var plmn = S1apIeCodec.ReadPlmn(ref r);
        r.Align();
        var cell = r.ReadBits(36);
        r.SkipSequenceTail(opt != 0, ext);
        return new NrCgi(plmn, cell);
    }

    public static EutranCgi ReadEutraCgi(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var plmn = S1apIeCodec.ReadPlmn(ref r);
        r.Align();
        var cell = (uint)r.ReadBits(28);
        r.SkipSequenceTail(opt != 0, ext);
        return new EutranCgi(plmn, cell);
    }

    /// <summary>UserLocationInformation: the NR or E-UTRA cell and the TAI (N3IWF and extension alternatives give nulls).</summary>
    public static (NrCgi? Nr, EutranCgi? Eutra, NgTai? Tai) ReadUserLocation(ref AperReader r)
    {
        var index = r.ReadChoiceIndex(4, false, out _);
        if (index > 1)
        {
            return (null, null, null); // N3IWF / extension: an open type, the rest is skipped by the IE length.
        }

        // userLocationInformationEUTRA (0) and -NR (1): the cell, the TAI, an optional timeStamp, the tail.
        var opt = r.ReadSequencePreamble(true, 2, out var ext);
        EutranCgi? eutra = index == 0 ? ReadEutraCgi(ref r) : null;
        NrCgi? nr = index == 1 ? ReadNrCgi(ref r) : null;
        var tai = ReadTai(ref r);
        if ((opt & 2) != 0)
        {
            r.ReadAlignedOctets(4); // timeStamp OCTET STRING (SIZE(4))
        }

        r.SkipSequenceTail((opt & 1) != 0, ext);
        return (nr, eutra, tai);
    }

    /// <summary>
    /// Per GlobalRANNodeID alternative (gNB, ng-eNB, N3IWF), the root alternatives of its node id (a CHOICE whose last
    /// alternative is choice-Extensions): kind and bit size. The reader and <see cref="NgapIeEncoder"/> share it.
    /// </summary>
    internal static readonly (RanNodeKind Kind, int MinBits, int MaxBits)[][] RanNodeIds =
    [
        [(RanNodeKind.Gnb, 22, 32)],
        [(RanNodeKind.NgEnbMacro, 20, 20), (RanNodeKind.NgEnbShortMacro, 18, 18), (RanNodeKind.NgEnbLongMacro, 21, 21)],
        [(RanNodeKind.N3iwf, 16, 16)],
    ];

    public static GlobalRanNodeId ReadGlobalRanNodeId(ref AperReader r)
    {
        var index = r.ReadChoiceIndex(4, false, out _);
        if (index == 3)
        {
            SkipSingleContainer(ref r);
            return new GlobalRanNodeId(default, RanNodeKind.Other, 0, 0);
        }

        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var plmn = S1apIeCodec.ReadPlmn(ref r);

        var ids = RanNodeIds[index];
        var alternative = r.ReadChoiceIndex(ids.Length + 1, false, out _);
        GlobalRanNodeId id;
        if (alternative == ids.Length)
        {
            SkipSingleContainer(ref r);
            id = new GlobalRanNodeId(plmn, RanNodeKind.Other, 0, 0);
        }
        else
        {
            var (kind, minBits, maxBits) = ids[alternative];
            var bits = r.ReadBitString(minBits, maxBits, false, out var len);
            id = new GlobalRanNodeId(plmn, kind, BitsValue(bits, len), (byte)len);
        }

        r.SkipSequenceTail(opt != 0, ext);
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
        r.SkipSequenceTail(opt != 0, ext);
        return new NgapTargetRanNode(node, tai);
    }

    public static FiveGSTmsi ReadFiveGSTmsi(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        var set = (ushort)r.ReadBits(10);
        var pointer = (byte)r.ReadBits(6);
        var tmsi = BinaryPrimitives.ReadUInt32BigEndian(r.ReadAlignedOctets(4));
        r.SkipSequenceTail(opt != 0, ext);
        return new FiveGSTmsi(set, pointer, tmsi);
    }

    // Root value counts of CauseRadioNetwork, CauseTransport, CauseNas, CauseProtocol, CauseMisc (all extensible).
    private static readonly int[] _causeRootCounts = [45, 2, 4, 7, 6];

    public static NgapCause ReadCause(ref AperReader r)
    {
        var group = r.ReadChoiceIndex(6, false, out _);
        if (group == 5)
        {
            SkipSingleContainer(ref r);
            return new NgapCause(NgapCauseGroup.Extension, -1);
        }

        return new NgapCause((NgapCauseGroup)group, r.ReadEnumerated(_causeRootCounts[group], true));
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
                    r.SkipSequenceTail(opt != 0, ext);
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
            r.SkipSequenceTail((opt & 1) != 0, ext);
            into.Add(new NgConnectionId(amf, ran));
        }
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
        var tla = S1apIeCodec.ReadTransportLayerAddress(ref r);
        var teid = S1apIeCodec.ReadGtpTeid(ref r);
        r.SkipSequenceTail(opt != 0, ext);
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

            r.SkipSequenceTail((opt & 1) != 0, ext);
        }

        return flows;
    }

    /// <summary>QosFlowPerTNLInformation: the tunnel and its associated QoS flows.</summary>
    private static void ReadQosFlowPerTnl(ref AperReader r, ref PduSessionItem item)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        item.DlTunnel = ReadUpTransportLayerInformation(ref r);
        item.QosFlows |= ReadQfiList(ref r, 1, 2); // AssociatedQosFlowItem: qosFlowMappingIndication ENUMERATED { ul, dl, ... }
        r.SkipSequenceTail(opt != 0, ext);
    }

    private static void SkipSecurityResult(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 1, out var ext);
        r.ReadEnumerated(2, true);
        r.ReadEnumerated(2, true);
        r.SkipSequenceTail(opt != 0, ext);
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

        r.SkipSequenceTail((opt & 1) != 0, ext);
    }

    /// <summary>
    /// SourceToTarget-TransparentContainer (id 101) of an intra-5GS handover: an OCTET STRING holding
    /// SourceNGRANNode-ToTargetNGRANNode-TransparentContainer. Returns the target cell (null for an E-UTRA or extension target).
    /// </summary>
    public static NrCgi? ReadSourceToTargetContainer(ref AperReader outer)
    {
        var r = outer.ReadContainedEncoding("transparent container");
        var opt = r.ReadSequencePreamble(true, 4, out _);
        r.ReadUnfragmentedOctets("RRC container");
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
                        r.SkipSequenceTail(dopt != 0, dext);
                    }
                }

                r.SkipSequenceTail((iopt & 1) != 0, iext);
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

                r.SkipSequenceTail((eopt & 1) != 0, eext);
            }
        }

        return r.ReadChoiceIndex(3, false, out _) == 0 ? ReadNrCgi(ref r) : null;
    }
}
