using System.Buffers.Binary;
using System.Collections.Frozen;
using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.S1ap;

/// <summary>
/// APER codecs of the S1AP IE value types the MC needs (TS 36.413 9.3.4 S1AP-IEs). Decoders read from an
/// <see cref="AperReader"/> positioned at the start of the IE's open-type content; encoders return that content.
/// Structures are read only as far as the needed fields: an IE value is an open type, so what follows
/// (extension containers, additions) is skipped by its enclosing length.
/// </summary>
public static partial class S1apIeCodec
{
    private const int MaxNoOfERabs = 256;

    // ---- decoding ----
    public static uint ReadMmeUeS1apId(ref AperReader r) => (uint)r.ReadConstrainedWholeNumber(0, uint.MaxValue);

    public static uint ReadEnbUeS1apId(ref AperReader r) => (uint)r.ReadConstrainedWholeNumber(0, 16777215);

    public static UeS1apIds ReadUeS1apIds(ref AperReader r)
    {
        var index = r.ReadChoiceIndex(2, true, out var ext);
        if (ext)
        {
            r.Throw(AperError.ConstraintViolation, "UE-S1AP-IDs extension alternative");
        }

        if (index == 1)
        {
            return new UeS1apIds(ReadMmeUeS1apId(ref r), null);
        }

        r.ReadSequencePreamble(true, 1, out _);
        var mme = ReadMmeUeS1apId(ref r);
        var enb = ReadEnbUeS1apId(ref r);
        return new UeS1apIds(mme, enb);
    }

    public static byte ReadERabId(ref AperReader r)
    {
        var v = r.ReadInteger(0, 15, true);
        if (v < 0 || v > 255)
        {
            r.Throw(AperError.ConstraintViolation, $"E-RAB-ID {v}");
        }

        return (byte)v;
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

    public static uint ReadGtpTeid(ref AperReader r) => BinaryPrimitives.ReadUInt32BigEndian(r.ReadAlignedOctets(4));

    public static PlmnIdentity ReadPlmn(ref AperReader r) => PlmnIdentity.From(r.ReadAlignedOctets(3));

    public static Tai ReadTai(ref AperReader r)
    {
        r.ReadSequencePreamble(true, 1, out _);
        var plmn = ReadPlmn(ref r);
        var tac = (ushort)r.ReadBits(16);
        return new Tai(plmn, tac);
    }

    public static EutranCgi ReadEutranCgi(ref AperReader r)
    {
        r.ReadSequencePreamble(true, 1, out _);
        var plmn = ReadPlmn(ref r);
        r.Align();
        var cell = (uint)r.ReadBits(28);
        return new EutranCgi(plmn, cell);
    }

    public static GlobalEnbId ReadGlobalEnbId(ref AperReader r)
    {
        r.ReadSequencePreamble(true, 1, out _);
        var plmn = ReadPlmn(ref r);
        var index = r.ReadChoiceIndex(2, true, out var ext);
        if (!ext)
        {
            return index == 0
                ? new GlobalEnbId(plmn, EnbIdKind.Macro, ReadFixedBits(ref r, 20))
                : new GlobalEnbId(plmn, EnbIdKind.Home, ReadFixedBits(ref r, 28));
        }

        // Extension alternatives (short/long macro) arrive as an open type holding a fixed-size bit string.
        var (off, len) = r.ReadOpenTypeRange();
        var inner = new AperReader(r.Buffer, off, off + len);
        return index switch
        {
            0 => new GlobalEnbId(plmn, EnbIdKind.ShortMacro, ReadFixedBits(ref inner, 18)),
            1 => new GlobalEnbId(plmn, EnbIdKind.LongMacro, ReadFixedBits(ref inner, 21)),
            _ => throw new AperDecodeException(AperError.ConstraintViolation, r.BitOffset, $"ENB-ID extension alternative {index}", "S1AP"),
        };
    }

    private static uint ReadFixedBits(ref AperReader r, int bits)
    {
        if (bits > 16)
        {
            r.Align();
        }

        return (uint)r.ReadBits(bits);
    }

    public static TargetEnbId? ReadTargetId(ref AperReader r)
    {
        var index = r.ReadChoiceIndex(3, true, out var ext);
        if (ext || index != 0)
        {
            return null; // RNC / CGI / NG-RAN targets: not an eNB, the MC does not follow them.
        }

        r.ReadSequencePreamble(true, 1, out _);
        var enb = ReadGlobalEnbId(ref r);
        var tai = ReadTai(ref r);
        return new TargetEnbId(enb, tai);
    }

    public static STmsi ReadSTmsi(ref AperReader r)
    {
        r.ReadSequencePreamble(true, 1, out _);
        var mmec = (byte)r.ReadBits(8);
        var mtmsi = BinaryPrimitives.ReadUInt32BigEndian(r.ReadAlignedOctets(4));
        return new STmsi(mmec, mtmsi);
    }

    private static readonly int[] _causeRootCounts = [36, 2, 4, 7, 6];

    public static S1apCause ReadCause(ref AperReader r)
    {
        var group = r.ReadChoiceIndex(5, true, out var ext);
        if (ext)
        {
            r.Throw(AperError.ConstraintViolation, $"Cause extension alternative {group}");
        }

        var value = r.ReadEnumerated(_causeRootCounts[group], true);
        return new S1apCause((CauseGroup)group, value);
    }

    public static HandoverType ReadHandoverType(ref AperReader r)
    {
        var v = r.ReadEnumerated(5, true);
        if (v > 6)
        {
            r.Throw(AperError.ConstraintViolation, $"HandoverType {v}");
        }

        return (HandoverType)v;
    }

    public static ERabQos ReadERabQos(ref AperReader r)
    {
        var opt = r.ReadSequencePreamble(true, 2, out var ext);
        var qci = (byte)r.ReadConstrainedWholeNumber(0, 255);

        // AllocationAndRetentionPriority
        var arpOpt = r.ReadSequencePreamble(true, 1, out var arpExt);
        var prio = (byte)r.ReadConstrainedWholeNumber(0, 15);
        var cap = r.ReadEnumerated(2, false) == 1;
        var vul = r.ReadEnumerated(2, false) == 1;
        r.SkipSequenceTail(arpOpt != 0, arpExt);
        if ((opt & 2) != 0)
        {
            // GBR-QosInformation: four BitRate INTEGER (0..10000000000) and its own extensions.
            var gbrOpt = r.ReadSequencePreamble(true, 1, out var gbrExt);
            for (var i = 0; i < 4; i++)
            {
                r.ReadConstrainedWholeNumber(0, 10_000_000_000);
            }

            r.SkipSequenceTail(gbrOpt != 0, gbrExt);
        }

        r.SkipSequenceTail((opt & 1) != 0, ext);
        return new ERabQos(qci, prio, cap, vul);
    }

    /// <summary>The IE ids whose value is a list of E-RAB item single containers.</summary>
    internal static readonly ushort[] ERabListIds =
    [
        S1apIeId.ERabSubjectToDataForwardingList,
        S1apIeId.ERabToReleaseListHoCmd,
        S1apIeId.ERabToBeSetupListBearerSuReq,
        S1apIeId.ERabAdmittedList,
        S1apIeId.ERabFailedToSetupListHoReqAck,
        S1apIeId.ERabToBeSwitchedDlList,
        S1apIeId.ERabToBeSetupListCtxtSuReq,
        S1apIeId.ERabSetupListBearerSuRes,
        S1apIeId.ERabFailedToSetupListBearerSuRes,
        S1apIeId.ERabToBeModifiedListBearerModReq,
        S1apIeId.ERabModifyListBearerModRes,
        S1apIeId.ERabFailedToModifyList,
        S1apIeId.ERabToBeReleasedList,
        S1apIeId.ERabFailedToReleaseList,
        S1apIeId.ERabFailedToSetupListCtxtSuRes,
        S1apIeId.ERabSetupListCtxtSuRes,
        S1apIeId.ERabToBeSetupListHoReq,
        S1apIeId.ERabReleaseListBearerRelComp,
        S1apIeId.ERabToBeSwitchedUlList,
        S1apIeId.ERabFailedToBeReleasedList,
        S1apIeId.ERabReleasedList,
        S1apIeId.ERabToBeModifiedListBearerModInd,
        S1apIeId.ERabNotToBeModifiedListBearerModInd,
        S1apIeId.ERabModifyListBearerModConf,
        S1apIeId.ERabFailedToModifyListBearerModConf,
        S1apIeId.ERabToBeReleasedListBearerModConf,
    ];

    private static readonly FrozenSet<ushort> _eRabLists = ERabListIds.ToFrozenSet();

    /// <summary>True for the IE ids whose value is a list of E-RAB item single containers.</summary>
    public static bool IsERabList(ushort ieId) => _eRabLists.Contains(ieId);

    /// <summary>
    /// Decodes an E-RAB list IE value (SEQUENCE (SIZE(1..maxnoofE-RABs)) OF ProtocolIE-SingleContainer) and
    /// appends its items. Items of a type this codec does not know are skipped by their open-type length.
    /// </summary>
    public static void ReadERabList(ref AperReader r, ushort listIeId, List<ERabItem> into)
    {
        var state = (listIeId, into);
        ProtocolIeContainer.ReadSingleContainers(ref r, MaxNoOfERabs, ReadERabListItem, ref state);
    }

    private static void ReadERabListItem(ref AperReader item, ushort itemId, ref (ushort ListIeId, List<ERabItem> Into) state)
    {
        if (TryReadERabItem(ref item, state.ListIeId, itemId, out var e))
        {
            state.Into.Add(e);
        }
    }

    /// <summary>ENB-StatusTransfer-TransparentContainer: the E-RAB ids of Bearers-SubjectToStatusTransferList.</summary>
    public static void ReadStatusTransferContainer(ref AperReader r, List<ERabItem> into)
    {
        r.ReadSequencePreamble(true, 1, out _);
        ReadERabIdList(ref r, S1apIeId.EnbStatusTransferTransparentContainer, S1apIeId.BearersSubjectToStatusTransferItem, into);
    }

    /// <summary>
    /// A ProtocolIE-ContainerList inside a transparent container whose items start with an E-RAB-ID: only the ids are
    /// kept (tshark lists them too); items of other ids are skipped through their open-type length.
    /// </summary>
    private static void ReadERabIdList(ref AperReader r, ushort containerIeId, ushort wantedItemId, List<ERabItem> into)
    {
        var state = (containerIeId, wantedItemId, into);
        ProtocolIeContainer.ReadSingleContainers(ref r, MaxNoOfERabs, ReadERabIdItem, ref state);
    }

    private static void ReadERabIdItem(ref AperReader item, ushort itemId, ref (ushort ContainerIeId, ushort WantedItemId, List<ERabItem> Into) state)
    {
        if (itemId == state.WantedItemId)
        {
            item.ReadSequencePreamble(true, 2, out _);
            state.Into.Add(NewItem(state.ContainerIeId, itemId, ReadERabId(ref item)));
        }
    }

    /// <summary>
    /// ResetType (id 92): returns false for a reset of the whole S1 interface, else appends the named connections.
    /// Also decodes UE-associatedLogicalS1-ConnectionListResAck (id 93) when <paramref name="isAckList"/> is set.
    /// </summary>
    public static bool ReadResetConnections(ref AperReader r, bool isAckList, List<S1ConnectionId> into)
    {
        if (!isAckList)
        {
            var index = r.ReadChoiceIndex(2, true, out var ext);
            if (ext || index == 0)
            {
                return false; // s1-Interface: resetAll
            }
        }

        ProtocolIeContainer.ReadSingleContainers(ref r, MaxNoOfERabs, ReadConnectionItem, ref into);
        return true;
    }

    private static void ReadConnectionItem(ref AperReader item, ushort itemId, ref List<S1ConnectionId> into)
    {
        if (itemId == S1apIeId.UeAssociatedLogicalS1ConnectionItem)
        {
            var opt = item.ReadSequencePreamble(true, 3, out _);
            uint? mme = (opt & 4) != 0 ? ReadMmeUeS1apId(ref item) : null;
            uint? enb = (opt & 2) != 0 ? ReadEnbUeS1apId(ref item) : null;
            into.Add(new S1ConnectionId(mme, enb));
        }
    }

    /// <summary>
    /// Source-ToTarget-TransparentContainer (id 104) of an intra-LTE handover: an OCTET STRING holding
    /// SourceeNB-ToTargeteNB-TransparentContainer. Appends its E-RABInformationList items and returns the target cell.
    /// </summary>
    public static EutranCgi ReadSourceToTargetContainer(ref AperReader outer, List<ERabItem> into)
    {
        var r = outer.ReadContainedEncoding("transparent container");
        var opt = r.ReadSequencePreamble(true, 3, out _);
        r.ReadUnfragmentedOctets("RRC container");
        if ((opt & 4) != 0)
        {
            ReadERabIdList(ref r, S1apIeId.SourceToTargetTransparentContainer, S1apIeId.ERabInformationListItem, into);
        }

        return ReadEutranCgi(ref r);
    }

    private static ERabItem NewItem(ushort listId, ushort itemId, byte erabId) => new()
    {
        ListIeId = listId,
        ItemIeId = itemId,
        ERabId = erabId,
        NasPduOffset = 0,
        NasPduLength = -1,
    };

    private static GtpTunnel ReadTunnel(ref AperReader r)
    {
        var tla = ReadTransportLayerAddress(ref r);
        return new GtpTunnel(tla, ReadGtpTeid(ref r));
    }

    private static void ReadNas(ref AperReader r, ref ERabItem e) =>
        (e.NasPduOffset, e.NasPduLength) = r.ReadUnfragmentedOctets("NAS-PDU inside an E-RAB item");
}
