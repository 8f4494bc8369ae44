using System.Buffers.Binary;
using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.S1ap;

/// <summary>
/// APER codecs of the S1AP IE value types the MC needs (TS 36.413 9.3.4 S1AP-IEs). Decoders read from an
/// <see cref="AperReader"/> positioned at the start of the IE's open-type content; encoders return that content.
/// Structures are read only as far as the needed fields: an IE value is an open type, so what follows
/// (extension containers, additions) is skipped by its enclosing length.
/// </summary>
public static class S1apIeCodec
{
    private const int MaxNoOfERabs = 256;

    // ---- decoding ----
    public static uint ReadMmeUeS1apId(ref AperReader r) => (uint)r.ReadConstrainedWholeNumber(0, uint.MaxValue);

    public static uint ReadEnbUeS1apId(ref AperReader r) => (uint)r.ReadConstrainedWholeNumber(0, 16777215);

    public static uint DecodeMmeUeS1apId(ReadOnlySpan<byte> value)
    {
        var r = new AperReader(value);
        return ReadMmeUeS1apId(ref r);
    }

    public static uint DecodeEnbUeS1apId(ReadOnlySpan<byte> value)
    {
        var r = new AperReader(value);
        return ReadEnbUeS1apId(ref r);
    }

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

    private static readonly int[] CauseRootCounts = [36, 2, 4, 7, 6];

    public static S1apCause ReadCause(ref AperReader r)
    {
        var group = r.ReadChoiceIndex(5, true, out var ext);
        if (ext)
        {
            r.Throw(AperError.ConstraintViolation, $"Cause extension alternative {group}");
        }

        var value = r.ReadEnumerated(CauseRootCounts[group], true);
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
        if (arpOpt != 0)
        {
            r.SkipProtocolFieldList(1, 65535);
        }

        if (arpExt)
        {
            r.SkipExtensionAdditions();
        }

        if ((opt & 2) != 0)
        {
            // GBR-QosInformation: four BitRate INTEGER (0..10000000000) and its own extensions.
            var gbrOpt = r.ReadSequencePreamble(true, 1, out var gbrExt);
            for (var i = 0; i < 4; i++)
            {
                r.ReadConstrainedWholeNumber(0, 10_000_000_000);
            }

            if (gbrOpt != 0)
            {
                r.SkipProtocolFieldList(1, 65535);
            }

            if (gbrExt)
            {
                r.SkipExtensionAdditions();
            }
        }

        if ((opt & 1) != 0)
        {
            r.SkipProtocolFieldList(1, 65535);
        }

        if (ext)
        {
            r.SkipExtensionAdditions();
        }

        return new ERabQos(qci, prio, cap, vul);
    }

    /// <summary>True for the IE ids whose value is a list of E-RAB item single containers.</summary>
    public static bool IsERabList(ushort ieId) => ieId switch
    {
        S1apIeId.ERabSubjectToDataForwardingList or S1apIeId.ERabToReleaseListHoCmd or S1apIeId.ERabToBeSetupListBearerSuReq
            or S1apIeId.ERabAdmittedList or S1apIeId.ERabFailedToSetupListHoReqAck or S1apIeId.ERabToBeSwitchedDlList
            or S1apIeId.ERabToBeSetupListCtxtSuReq or S1apIeId.ERabSetupListBearerSuRes or S1apIeId.ERabFailedToSetupListBearerSuRes
            or S1apIeId.ERabToBeModifiedListBearerModReq or S1apIeId.ERabModifyListBearerModRes or S1apIeId.ERabFailedToModifyList
            or S1apIeId.ERabToBeReleasedList or S1apIeId.ERabFailedToReleaseList or S1apIeId.ERabFailedToSetupListCtxtSuRes
            or S1apIeId.ERabSetupListCtxtSuRes or S1apIeId.ERabToBeSetupListHoReq or S1apIeId.ERabReleaseListBearerRelComp
            or S1apIeId.ERabToBeSwitchedUlList or S1apIeId.ERabFailedToBeReleasedList or S1apIeId.ERabReleasedList
            or S1apIeId.ERabToBeModifiedListBearerModInd or S1apIeId.ERabNotToBeModifiedListBearerModInd
            or S1apIeId.ERabModifyListBearerModConf or S1apIeId.ERabFailedToModifyListBearerModConf
            or S1apIeId.ERabToBeReleasedListBearerModConf => true,
        _ => false,
    };

    /// <summary>
    /// Decodes an E-RAB list IE value (SEQUENCE (SIZE(1..maxnoofE-RABs)) OF ProtocolIE-SingleContainer) and
    /// appends its items. Items of a type this codec does not know are skipped by their open-type length.
    /// </summary>
    public static void ReadERabList(ref AperReader r, ushort listIeId, List<ERabItem> into)
    {
        var n = r.ReadConstrainedLength(1, MaxNoOfERabs);
        for (var i = 0; i < n; i++)
        {
            var itemId = (ushort)r.ReadConstrainedWholeNumber(0, 65535);
            r.ReadBits(2);
            var (off, len) = r.ReadOpenTypeRange();
            var item = new AperReader(r.Buffer, off, off + len);
            if (TryReadERabItem(ref item, listIeId, itemId, out var e))
            {
                into.Add(e);
            }
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
        var count = r.ReadConstrainedLength(1, MaxNoOfERabs);
        for (var i = 0; i < count; i++)
        {
            var itemId = (ushort)r.ReadConstrainedWholeNumber(0, 65535);
            r.ReadBits(2);
            var (off, len) = r.ReadOpenTypeRange();
            if (itemId != wantedItemId)
            {
                continue;
            }

            var item = new AperReader(r.Buffer, off, off + len);
            item.ReadSequencePreamble(true, 2, out _);
            into.Add(NewItem(containerIeId, itemId, ReadERabId(ref item)));
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

        var n = r.ReadConstrainedLength(1, MaxNoOfERabs);
        for (var i = 0; i < n; i++)
        {
            var itemId = (ushort)r.ReadConstrainedWholeNumber(0, 65535);
            r.ReadBits(2);
            var (off, len) = r.ReadOpenTypeRange();
            if (itemId != S1apIeId.UeAssociatedLogicalS1ConnectionItem)
            {
                continue;
            }

            var item = new AperReader(r.Buffer, off, off + len);
            var opt = item.ReadSequencePreamble(true, 3, out _);
            uint? mme = (opt & 4) != 0 ? ReadMmeUeS1apId(ref item) : null;
            uint? enb = (opt & 2) != 0 ? ReadEnbUeS1apId(ref item) : null;
            into.Add(new S1ConnectionId(mme, enb));
        }

        return true;
    }

    /// <summary>
    /// Source-ToTarget-TransparentContainer (id 104) of an intra-LTE handover: an OCTET STRING holding
    /// SourceeNB-ToTargeteNB-TransparentContainer. Appends its E-RABInformationList items and returns the target cell.
    /// </summary>
    public static EutranCgi ReadSourceToTargetContainer(ref AperReader outer, List<ERabItem> into)
    {
        var n = outer.ReadLengthDeterminant(out var frag);
        if (frag)
        {
            outer.Throw(AperError.Unsupported, "fragmented transparent container");
        }

        var start = outer.ByteOffset;
        outer.ReadAlignedOctets(n);
        var r = new AperReader(outer.Buffer, start, start + n);
        var opt = r.ReadSequencePreamble(true, 3, out _);
        var rrc = r.ReadLengthDeterminant(out var rrcFrag);
        if (rrcFrag)
        {
            r.Throw(AperError.Unsupported, "fragmented RRC container");
        }

        r.ReadAlignedOctets(rrc);
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

    private static void ReadNas(ref AperReader r, ref ERabItem e)
    {
        var n = r.ReadLengthDeterminant(out var frag);
        if (frag)
        {
            r.Throw(AperError.Unsupported, "fragmented NAS-PDU inside an E-RAB item");
        }

        e.NasPduOffset = r.ByteOffset;
        e.NasPduLength = n;
        r.ReadAlignedOctets(n);
    }

    /// <summary>Decodes one E-RAB item's content (the open type of its single container) by its item IE id.</summary>
    public static bool TryReadERabItem(ref AperReader r, ushort listIeId, ushort itemIeId, out ERabItem e)
    {
        switch (itemIeId)
        {
            case S1apIeId.ERabToBeSetupItemCtxtSuReq:
                {
                    var opt = r.ReadSequencePreamble(true, 2, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    e.Qos = ReadERabQos(ref r);
                    e.Tunnel = ReadTunnel(ref r);
                    if ((opt & 2) != 0)
                    {
                        ReadNas(ref r, ref e);
                    }

                    return true;
                }

            case S1apIeId.ERabToBeSetupItemBearerSuReq:
                {
                    r.ReadSequencePreamble(true, 1, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    e.Qos = ReadERabQos(ref r);
                    e.Tunnel = ReadTunnel(ref r);
                    ReadNas(ref r, ref e);
                    return true;
                }

            case S1apIeId.ERabToBeModifiedItemBearerModReq:
                {
                    r.ReadSequencePreamble(true, 1, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    e.Qos = ReadERabQos(ref r);
                    ReadNas(ref r, ref e);
                    return true;
                }

            case S1apIeId.ERabSetupItemCtxtSuRes:
            case S1apIeId.ERabSetupItemBearerSuRes:
            case S1apIeId.ERabToBeSwitchedDlItem:
            case S1apIeId.ERabToBeSwitchedUlItem:
            case S1apIeId.ERabToBeModifiedItemBearerModInd:
            case S1apIeId.ERabNotToBeModifiedItemBearerModInd:
                {
                    r.ReadSequencePreamble(true, 1, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    e.Tunnel = ReadTunnel(ref r);
                    return true;
                }

            case S1apIeId.ERabToBeSetupItemHoReq:
                {
                    r.ReadSequencePreamble(true, 1, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    e.Tunnel = ReadTunnel(ref r);
                    e.Qos = ReadERabQos(ref r);
                    return true;
                }

            case S1apIeId.ERabAdmittedItem:
                {
                    var opt = r.ReadSequencePreamble(true, 5, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    e.Tunnel = ReadTunnel(ref r);
                    ReadForwarding(ref r, opt >> 1, ref e);
                    return true;
                }

            case S1apIeId.ERabDataForwardingItem:
                {
                    var opt = r.ReadSequencePreamble(true, 5, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    ReadForwarding(ref r, opt >> 1, ref e);
                    return true;
                }

            case S1apIeId.ERabItem:
            case S1apIeId.ERabFailedToSetupItemHoReqAck:
                {
                    r.ReadSequencePreamble(true, 1, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    e.Cause = ReadCause(ref r);
                    return true;
                }

            case S1apIeId.ERabModifyItemBearerModRes:
            case S1apIeId.ERabReleaseItemBearerRelComp:
            case S1apIeId.ERabModifyItemBearerModConf:
                {
                    r.ReadSequencePreamble(true, 1, out _);
                    e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
                    return true;
                }

            default:
                e = default;
                return false;
        }
    }

    // Four optional fields in order dL-TLA, dL-TEID, uL-TLA, uL-TEID; bits MSB first in the 4-bit group.
    private static void ReadForwarding(ref AperReader r, ulong opt4, ref ERabItem e)
    {
        TransportLayerAddress dlA = default, ulA = default;
        uint dlT = 0, ulT = 0;
        if ((opt4 & 8) != 0)
        {
            dlA = ReadTransportLayerAddress(ref r);
        }

        if ((opt4 & 4) != 0)
        {
            dlT = ReadGtpTeid(ref r);
        }

        if ((opt4 & 2) != 0)
        {
            ulA = ReadTransportLayerAddress(ref r);
        }

        if ((opt4 & 1) != 0)
        {
            ulT = ReadGtpTeid(ref r);
        }

        if ((opt4 & 0xC) != 0)
        {
            e.DlForwarding = new GtpTunnel(dlA, dlT);
        }

        if ((opt4 & 0x3) != 0)
        {
            e.UlForwarding = new GtpTunnel(ulA, ulT);
        }
    }

    // ---- encoding (IE open-type contents) ----
    public static byte[] EncodeMmeUeS1apId(uint id)
    {
        var w = new AperWriter(8);
        w.WriteConstrainedWholeNumber(id, 0, uint.MaxValue);
        return w.ToArray();
    }

    public static byte[] EncodeEnbUeS1apId(uint id)
    {
        var w = new AperWriter(8);
        w.WriteConstrainedWholeNumber(id, 0, 16777215);
        return w.ToArray();
    }

    public static byte[] EncodeUeS1apIds(UeS1apIds ids)
    {
        var w = new AperWriter(16);
        if (ids.EnbUeS1apId is { } enb)
        {
            w.WriteChoiceIndex(0, 2, true);
            w.WriteSequencePreamble(true, false, 0, 1);
            w.WriteConstrainedWholeNumber(ids.MmeUeS1apId, 0, uint.MaxValue);
            w.WriteConstrainedWholeNumber(enb, 0, 16777215);
        }
        else
        {
            w.WriteChoiceIndex(1, 2, true);
            w.WriteConstrainedWholeNumber(ids.MmeUeS1apId, 0, uint.MaxValue);
        }

        return w.ToArray();
    }

    public static byte[] EncodeNasPdu(ReadOnlySpan<byte> nas)
    {
        var w = new AperWriter(nas.Length + 4);
        w.WriteOctetString(nas, 0, -1);
        return w.ToArray();
    }

    public static byte[] EncodeCause(S1apCause cause)
    {
        var w = new AperWriter(4);
        w.WriteChoiceIndex((int)cause.Group, 5, true);
        w.WriteEnumerated(cause.Value, CauseRootCounts[(int)cause.Group], true);
        return w.ToArray();
    }

    public static byte[] EncodeHandoverType(HandoverType type)
    {
        var w = new AperWriter(4);
        w.WriteEnumerated((int)type, 5, true);
        return w.ToArray();
    }

    public static void WriteTai(AperWriter w, Tai tai)
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        WritePlmn(w, tai.Plmn);
        w.WriteBits(tai.Tac, 16);
    }

    public static byte[] EncodeTai(Tai tai)
    {
        var w = new AperWriter(8);
        WriteTai(w, tai);
        return w.ToArray();
    }

    private static void WritePlmn(AperWriter w, PlmnIdentity p) => w.WriteAlignedOctets([p.Octet0, p.Octet1, p.Octet2]);

    public static byte[] EncodeEutranCgi(EutranCgi cgi)
    {
        var w = new AperWriter(8);
        w.WriteSequencePreamble(true, false, 0, 1);
        WritePlmn(w, cgi.Plmn);
        w.Align();
        w.WriteBits(cgi.CellId, 28);
        return w.ToArray();
    }

    public static void WriteGlobalEnbId(AperWriter w, GlobalEnbId id)
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        WritePlmn(w, id.Plmn);
        switch (id.Kind)
        {
            case EnbIdKind.Macro:
                w.WriteChoiceIndex(0, 2, true);
                w.Align();
                w.WriteBits(id.EnbId, 20);
                break;
            case EnbIdKind.Home:
                w.WriteChoiceIndex(1, 2, true);
                w.Align();
                w.WriteBits(id.EnbId, 28);
                break;
            default:
                {
                    var inner = new AperWriter(4);
                    inner.Align();
                    inner.WriteBits(id.EnbId, id.Kind == EnbIdKind.ShortMacro ? 18 : 21);
                    w.WriteChoiceExtensionIndex(id.Kind == EnbIdKind.ShortMacro ? 0 : 1);
                    w.WriteOpenType(inner.WrittenSpan);
                    break;
                }
        }
    }

    public static byte[] EncodeGlobalEnbId(GlobalEnbId id)
    {
        var w = new AperWriter(16);
        WriteGlobalEnbId(w, id);
        return w.ToArray();
    }

    public static byte[] EncodeTargetEnbId(TargetEnbId target)
    {
        var w = new AperWriter(16);
        w.WriteChoiceIndex(0, 3, true);
        w.WriteSequencePreamble(true, false, 0, 1);
        WriteGlobalEnbId(w, target.GlobalEnbId);
        WriteTai(w, target.SelectedTai);
        return w.ToArray();
    }

    public static byte[] EncodeSTmsi(STmsi s)
    {
        var w = new AperWriter(8);
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteBits(s.MmeCode, 8);
        Span<byte> m = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(m, s.MTmsi);
        w.WriteAlignedOctets(m);
        return w.ToArray();
    }

    public static void WriteTransportLayerAddress(AperWriter w, TransportLayerAddress a)
    {
        Span<byte> b = stackalloc byte[20];
        a.CopyTo(b);
        w.WriteBitString(b, a.BitLength, 1, 160, true);
    }

    private static void WriteTeid(AperWriter w, uint teid)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, teid);
        w.WriteAlignedOctets(b);
    }

    private static void WriteQos(AperWriter w, ERabQos q)
    {
        w.WriteSequencePreamble(true, false, 0, 2);
        w.WriteConstrainedWholeNumber(q.Qci, 0, 255);
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteConstrainedWholeNumber(q.PriorityLevel, 0, 15);
        w.WriteEnumerated(q.PreemptionCapability ? 1 : 0, 2, false);
        w.WriteEnumerated(q.PreemptionVulnerability ? 1 : 0, 2, false);
    }

    /// <summary>
    /// Encodes one E-RAB item's content for the item types that carry tunnels/QoS/NAS/cause (the fields
    /// <see cref="TryReadERabItem"/> decodes). Throws for an item type it cannot build.
    /// </summary>
    public static byte[] EncodeERabItem(in ERabItem e, ReadOnlySpan<byte> nasPdu = default)
    {
        var w = new AperWriter(64);
        var qos = e.Qos ?? new ERabQos(9, 15, false, false);
        switch (e.ItemIeId)
        {
            case S1apIeId.ERabToBeSetupItemCtxtSuReq:
                w.WriteSequencePreamble(true, false, nasPdu.IsEmpty ? 0UL : 2UL, 2);
                w.WriteInteger(e.ERabId, 0, 15, true);
                WriteQos(w, qos);
                WriteTunnel(w, e.Tunnel);
                if (!nasPdu.IsEmpty)
                {
                    w.WriteOctetString(nasPdu, 0, -1);
                }

                break;
            case S1apIeId.ERabToBeSetupItemBearerSuReq:
                w.WriteSequencePreamble(true, false, 0, 1);
                w.WriteInteger(e.ERabId, 0, 15, true);
                WriteQos(w, qos);
                WriteTunnel(w, e.Tunnel);
                w.WriteOctetString(nasPdu, 0, -1);
                break;
            case S1apIeId.ERabSetupItemCtxtSuRes:
            case S1apIeId.ERabSetupItemBearerSuRes:
            case S1apIeId.ERabToBeSwitchedDlItem:
            case S1apIeId.ERabToBeSwitchedUlItem:
            case S1apIeId.ERabToBeModifiedItemBearerModInd:
            case S1apIeId.ERabNotToBeModifiedItemBearerModInd:
                w.WriteSequencePreamble(true, false, 0, 1);
                w.WriteInteger(e.ERabId, 0, 15, true);
                WriteTunnel(w, e.Tunnel);
                break;
            case S1apIeId.ERabToBeSetupItemHoReq:
                w.WriteSequencePreamble(true, false, 0, 1);
                w.WriteInteger(e.ERabId, 0, 15, true);
                WriteTunnel(w, e.Tunnel);
                WriteQos(w, qos);
                break;
            case S1apIeId.ERabAdmittedItem:
            case S1apIeId.ERabDataForwardingItem:
                {
                    ulong opt = (e.DlForwarding is null ? 0UL : 0xCUL) | (e.UlForwarding is null ? 0UL : 0x3UL);
                    w.WriteSequencePreamble(true, false, opt << 1, 5);
                    w.WriteInteger(e.ERabId, 0, 15, true);
                    if (e.ItemIeId == S1apIeId.ERabAdmittedItem)
                    {
                        WriteTunnel(w, e.Tunnel);
                    }

                    if (e.DlForwarding is { } dl)
                    {
                        WriteTunnel(w, dl);
                    }

                    if (e.UlForwarding is { } ul)
                    {
                        WriteTunnel(w, ul);
                    }

                    break;
                }

            case S1apIeId.ERabItem:
            case S1apIeId.ERabFailedToSetupItemHoReqAck:
                w.WriteSequencePreamble(true, false, 0, 1);
                w.WriteInteger(e.ERabId, 0, 15, true);
                var cause = e.Cause ?? new S1apCause(CauseGroup.RadioNetwork, 0);
                w.WriteChoiceIndex((int)cause.Group, 5, true);
                w.WriteEnumerated(cause.Value, CauseRootCounts[(int)cause.Group], true);
                break;
            case S1apIeId.ERabModifyItemBearerModRes:
            case S1apIeId.ERabReleaseItemBearerRelComp:
            case S1apIeId.ERabModifyItemBearerModConf:
                w.WriteSequencePreamble(true, false, 0, 1);
                w.WriteInteger(e.ERabId, 0, 15, true);
                break;
            default:
                throw new ArgumentException($"cannot encode E-RAB item type {e.ItemIeId}", nameof(e));
        }

        return w.ToArray();
    }

    private static void WriteTunnel(AperWriter w, GtpTunnel? t)
    {
        var tunnel = t ?? throw new ArgumentException("this E-RAB item type needs a tunnel");
        WriteTransportLayerAddress(w, tunnel.TransportLayerAddress);
        WriteTeid(w, tunnel.Teid);
    }

    /// <summary>Encodes an E-RAB list IE value from its items (all items use <paramref name="itemIeId"/>, criticality ignore/reject per spec is the caller's).</summary>
    public static byte[] EncodeERabList(ushort itemIeId, Criticality itemCriticality, IReadOnlyList<byte[]> itemContents)
    {
        if (itemContents.Count is < 1 or > MaxNoOfERabs)
        {
            throw new ArgumentOutOfRangeException(nameof(itemContents), "an E-RAB list holds 1..256 items");
        }

        var w = new AperWriter(64);
        w.WriteConstrainedLength(itemContents.Count, 1, MaxNoOfERabs);
        foreach (var c in itemContents)
        {
            w.WriteConstrainedWholeNumber(itemIeId, 0, 65535);
            w.WriteEnumerated((int)itemCriticality, 3, false);
            w.WriteOpenType(c);
        }

        return w.ToArray();
    }
}
