using System.Buffers.Binary;
using MobiScud.Protocols.Aper;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Ngap;

/// <summary>
/// Builds NGAP IE values (the open-type contents of ProtocolIE-Fields) from typed values: the mirror of
/// <see cref="NgapIeCodec"/>, for emulated gNBs/AMFs and tests. Extension containers are never emitted.
/// </summary>
public static class NgapIeEncoder
{
    public static byte[] AmfUeNgapId(ulong id) => AperWriter.Build(w => w.WriteConstrainedWholeNumber((long)id, 0, NgapIeCodec.MaxAmfUeNgapId));

    public static byte[] RanUeNgapId(uint id) => AperWriter.Build(w => w.WriteConstrainedWholeNumber(id, 0, uint.MaxValue));

    public static byte[] UeNgapIds(ulong amf, uint? ran) => AperWriter.Build(w =>
    {
        if (ran is { } r)
        {
            w.WriteChoiceIndex(0, 3, false);
            w.WriteSequencePreamble(true, false, 0, 1);
            w.WriteConstrainedWholeNumber((long)amf, 0, NgapIeCodec.MaxAmfUeNgapId);
            w.WriteConstrainedWholeNumber(r, 0, uint.MaxValue);
        }
        else
        {
            w.WriteChoiceIndex(1, 3, false);
            w.WriteConstrainedWholeNumber((long)amf, 0, NgapIeCodec.MaxAmfUeNgapId);
        }
    });

    /// <summary>NAS-PDU: the same unconstrained OCTET STRING as S1AP's.</summary>
    public static byte[] NasPdu(ReadOnlySpan<byte> nas) => S1apIeCodec.EncodeNasPdu(nas);

    private static readonly int[] _causeRootCounts = [45, 2, 4, 7, 6];

    private static void WriteCause(AperWriter w, NgapCause c)
    {
        if (c.Group == NgapCauseGroup.Extension)
        {
            throw new ArgumentException("a choice-Extensions cause cannot be built", nameof(c));
        }

        w.WriteChoiceIndex((int)c.Group, 6, false);
        w.WriteEnumerated(c.Value, _causeRootCounts[(int)c.Group], true);
    }

    public static byte[] Cause(NgapCause cause) => AperWriter.Build(w => WriteCause(w, cause));

    public static byte[] HandoverType(NgapHandoverType type) => AperWriter.Build(w => w.WriteEnumerated((int)type, 3, true));

    public static void WriteTai(AperWriter w, NgTai tai)
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        S1apIeCodec.WritePlmn(w, tai.Plmn);
        w.WriteAlignedOctets([(byte)(tai.Tac >> 16), (byte)(tai.Tac >> 8), (byte)tai.Tac]);
    }

    public static void WriteNrCgi(AperWriter w, NrCgi cgi)
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        S1apIeCodec.WritePlmn(w, cgi.Plmn);
        w.Align();
        w.WriteBits(cgi.CellId, 36);
    }

    public static void WriteGlobalRanNodeId(AperWriter w, GlobalRanNodeId id)
    {
        var index = Array.FindIndex(NgapIeCodec.RanNodeIds, alternatives => alternatives.Any(a => a.Kind == id.Kind));
        if (index < 0)
        {
            throw new ArgumentException($"cannot build a {id.Kind} node id", nameof(id));
        }

        var ids = NgapIeCodec.RanNodeIds[index];
        var alternative = Array.FindIndex(ids, a => a.Kind == id.Kind);

        // A fixed-size id (ng-eNB, N3IWF) takes its size from the kind; a gNB id says its own (22..32).
        var (_, minBits, maxBits) = ids[alternative];
        var bits = minBits == maxBits ? minBits : id.IdBits;
        if (bits < minBits || bits > maxBits)
        {
            throw new ArgumentException($"{id.Kind} id of {id.IdBits} bits ({minBits}..{maxBits})", nameof(id));
        }

        w.WriteChoiceIndex(index, 4, false);
        w.WriteSequencePreamble(true, false, 0, 1);
        S1apIeCodec.WritePlmn(w, id.Plmn);
        w.WriteChoiceIndex(alternative, ids.Length + 1, false);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, id.Id << (32 - bits));
        w.WriteBitString(b, bits, minBits, maxBits, false);
    }

    public static byte[] GlobalRanNodeId(GlobalRanNodeId id) => AperWriter.Build(w => WriteGlobalRanNodeId(w, id));

    /// <summary>Target-ID with a targetRANNodeID (the target gNB and its TAI).</summary>
    public static byte[] TargetId(NgapTargetRanNode target) => AperWriter.Build(w =>
    {
        w.WriteChoiceIndex(0, 3, false);
        w.WriteSequencePreamble(true, false, 0, 1);
        WriteGlobalRanNodeId(w, target.Node);
        WriteTai(w, target.SelectedTai);
    });

    /// <summary>UserLocationInformation with userLocationInformationNR (no time stamp).</summary>
    public static byte[] UserLocationNr(NrCgi cgi, NgTai tai) => AperWriter.Build(w =>
    {
        w.WriteChoiceIndex(1, 4, false);
        w.WriteSequencePreamble(true, false, 0, 2);
        WriteNrCgi(w, cgi);
        WriteTai(w, tai);
    });

    public static byte[] FiveGSTmsi(FiveGSTmsi s) => AperWriter.Build(w =>
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteBits(s.AmfSetId, 10);
        w.WriteBits(s.AmfPointer, 6);
        w.WriteAlignedUInt32(s.Tmsi);
    });

    // An NR RRC message (HandoverPreparationInformation / HandoverCommand) whose criticalExtensions take the
    // criticalExtensionsFuture alternative (one bit set, empty SEQUENCE): a valid minimal UPER RRC container.
    private static readonly byte[] _minimalRrcContainer = [0x80];

    /// <summary>
    /// SourceToTarget-TransparentContainer holding a SourceNGRANNode-ToTargetNGRANNode-TransparentContainer: the target
    /// cell and one UE history entry (the source cell), with a minimal RRC container.
    /// </summary>
    public static byte[] SourceToTargetContainer(NrCgi targetCell, NrCgi sourceCell, ushort secondsInSourceCell) => AperWriter.Build(w =>
    {
        using var container = w.PushOctetStringContaining();
        w.WriteSequencePreamble(true, false, 0, 4);
        w.WriteOctetString(_minimalRrcContainer, 0, -1);
        w.WriteChoiceIndex(0, 3, false); // NGRAN-CGI: nR-CGI
        WriteNrCgi(w, targetCell);
        w.WriteConstrainedLength(1, 1, 16); // UEHistoryInformation: one LastVisitedCellItem
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteChoiceIndex(0, 5, false); // LastVisitedCellInformation: nGRANCell
        w.WriteSequencePreamble(true, false, 0, 3);
        w.WriteChoiceIndex(0, 3, false);
        WriteNrCgi(w, sourceCell);
        w.WriteSequencePreamble(true, false, 0, 1); // CellType
        w.WriteEnumerated(1, 4, true); // cellSize small
        w.WriteConstrainedWholeNumber(Math.Min(secondsInSourceCell, (ushort)4095), 0, 4095);
    });

    /// <summary>TargetToSource-TransparentContainer holding a TargetNGRANNode-ToSourceNGRANNode-TransparentContainer.</summary>
    public static byte[] TargetToSourceContainer() => AperWriter.Build(w =>
    {
        using var container = w.PushOctetStringContaining();
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteOctetString(_minimalRrcContainer, 0, -1);
    });

    private static void WriteTunnel(AperWriter w, GtpTunnel t)
    {
        w.WriteChoiceIndex(0, 2, false);
        w.WriteSequencePreamble(true, false, 0, 1);
        S1apIeCodec.WriteTransportLayerAddress(w, t.TransportLayerAddress);
        w.WriteAlignedUInt32(t.Teid);
    }

    private static void WriteQfiList(AperWriter w, ulong flows)
    {
        var qfis = Enumerable.Range(0, 64).Where(i => (flows & (1UL << i)) != 0).ToList();
        if (qfis.Count == 0)
        {
            throw new ArgumentException("a QoS flow list needs at least one QFI");
        }

        w.WriteConstrainedLength(qfis.Count, 1, NgapIeCodec.MaxNoOfQosFlows);
        foreach (var q in qfis)
        {
            w.WriteSequencePreamble(true, false, 0, 2); // items with one optional enum + iE-Extensions: both absent
            w.WriteInteger(q, 0, 63, true);
        }
    }

    private static void WriteQfiListNoOptions(AperWriter w, ulong flows)
    {
        var qfis = Enumerable.Range(0, 64).Where(i => (flows & (1UL << i)) != 0).ToList();
        w.WriteConstrainedLength(qfis.Count, 1, NgapIeCodec.MaxNoOfQosFlows);
        foreach (var q in qfis)
        {
            w.WriteSequencePreamble(true, false, 0, 1);
            w.WriteInteger(q, 0, 63, true);
        }
    }

    internal static void WriteSNssai(AperWriter w, PduSessionItem item)
    {
        w.WriteSequencePreamble(true, false, item.Sd is null ? 0UL : 2UL, 2);
        w.WriteOctetString([item.Sst ?? 1], 1, 1);
        if (item.Sd is { } sd)
        {
            w.WriteAlignedOctets([(byte)(sd >> 16), (byte)(sd >> 8), (byte)sd]);
        }
    }

    /// <summary>
    /// PDUSessionResourceSetupRequestTransfer: UL NG-U tunnel, PDU session type IPv4 and, per QFI, a non-GBR flow of
    /// 5QI 9 with ARP priority 8.
    /// </summary>
    private static void WriteSetupRequestTransfer(AperWriter w, GtpTunnel ul, ulong qosFlows)
    {
        w.WriteBit(false);
        w.WriteConstrainedLength(3, 0, 65535);
        using (ProtocolIeContainer.PushField(w, NgapIeId.UlNguUpTnlInformation, Criticality.Reject))
        {
            WriteTunnel(w, ul);
        }

        using (ProtocolIeContainer.PushField(w, NgapIeId.PduSessionType, Criticality.Reject))
        {
            w.WriteEnumerated(0, 5, true); // IPv4
        }

        using (ProtocolIeContainer.PushField(w, NgapIeId.QosFlowSetupRequestList, Criticality.Reject))
        {
            var qfis = Enumerable.Range(0, 64).Where(i => (qosFlows & (1UL << i)) != 0).ToList();
            w.WriteConstrainedLength(qfis.Count, 1, NgapIeCodec.MaxNoOfQosFlows);
            foreach (var q in qfis)
            {
                w.WriteSequencePreamble(true, false, 0, 2); // e-RAB-ID, iE-Extensions absent
                w.WriteInteger(q, 0, 63, true);
                w.WriteSequencePreamble(true, false, 0, 4); // QosFlowLevelQosParameters
                w.WriteChoiceIndex(0, 3, false); // nonDynamic5QI
                w.WriteSequencePreamble(true, false, 0, 4);
                w.WriteInteger(9, 0, 255, true);
                w.WriteSequencePreamble(true, false, 0, 1); // AllocationAndRetentionPriority
                w.WriteConstrainedWholeNumber(8, 1, 15);
                w.WriteEnumerated(0, 2, true); // shall-not-trigger-pre-emption
                w.WriteEnumerated(1, 2, true); // pre-emptable
            }
        }
    }

    internal static void WriteSetupRequestTransfer(AperWriter w, in PduSessionItem it) =>
        WriteSetupRequestTransfer(w, it.UlTunnel ?? throw new ArgumentException("needs UlTunnel"), it.QosFlows);

    internal static void WriteSetupResponseTransfer(AperWriter w, in PduSessionItem it)
    {
        w.WriteSequencePreamble(true, false, 0, 4);
        w.WriteSequencePreamble(true, false, 0, 1);
        WriteTunnel(w, it.DlTunnel ?? throw new ArgumentException("needs DlTunnel"));
        WriteQfiList(w, it.QosFlows);
    }

    internal static void WriteHandoverRequiredTransfer(AperWriter w, in PduSessionItem it) => w.WriteSequencePreamble(true, false, 0, 2);

    internal static void WriteHandoverRequestAcknowledgeTransfer(AperWriter w, in PduSessionItem it)
    {
        w.WriteSequencePreamble(true, false, it.DlForwarding is null ? 0UL : 0x10UL, 5);
        WriteTunnel(w, it.DlTunnel ?? throw new ArgumentException("needs DlTunnel"));
        if (it.DlForwarding is { } forwarding)
        {
            WriteTunnel(w, forwarding);
        }

        WriteQfiList(w, it.QosFlows);
    }

    internal static void WriteHandoverCommandTransfer(AperWriter w, in PduSessionItem it)
    {
        w.WriteSequencePreamble(true, false, it.DlForwarding is null ? 0UL : 8UL, 4);
        if (it.DlForwarding is { } forwarding)
        {
            WriteTunnel(w, forwarding);
        }
    }

    internal static void WritePathSwitchRequestTransfer(AperWriter w, in PduSessionItem it)
    {
        w.WriteSequencePreamble(true, false, 0, 3);
        WriteTunnel(w, it.DlTunnel ?? throw new ArgumentException("needs DlTunnel"));
        WriteQfiListNoOptions(w, it.QosFlows);
    }

    internal static void WritePathSwitchRequestAcknowledgeTransfer(AperWriter w, in PduSessionItem it)
    {
        w.WriteSequencePreamble(true, false, it.UlTunnel is null ? 0UL : 4UL, 3);
        if (it.UlTunnel is { } u)
        {
            WriteTunnel(w, u);
        }
    }

    /// <summary>A transfer of a cause and <paramref name="optionals"/> OPTIONAL fields, all absent.</summary>
    internal static void WriteCauseTransfer(AperWriter w, in PduSessionItem it, int optionals)
    {
        w.WriteSequencePreamble(true, false, 0, optionals);
        WriteCause(w, it.Cause ?? throw new ArgumentException("needs Cause"));
    }

    /// <summary>
    /// A PDU session resource list IE value. Items take their id, S-NSSAI, tunnels, QFIs and cause from
    /// <paramref name="items"/>; <paramref name="nasPdus"/> (same order, null = none) fills the NAS-PDU of setup items.
    /// </summary>
    public static byte[] PduSessionList(ushort listIeId, IReadOnlyList<PduSessionItem> items, IReadOnlyList<byte[]?>? nasPdus = null)
    {
        if (items.Count is < 1 or > NgapIeCodec.MaxNoOfPduSessions)
        {
            throw new ArgumentOutOfRangeException(nameof(items), "a PDU session list holds 1..256 items");
        }

        var w = new AperWriter(128);
        w.WriteConstrainedLength(items.Count, 1, NgapIeCodec.MaxNoOfPduSessions);
        NgapIeCodec.WritePduSessionItems(w, listIeId, items, nasPdus);
        return w.ToArray();
    }

    /// <summary>ResetType: the whole NG interface (<paramref name="connections"/> null) or the named UE-associated connections.</summary>
    public static byte[] ResetType(IReadOnlyList<NgConnectionId>? connections) => AperWriter.Build(w =>
    {
        if (connections is null)
        {
            w.WriteChoiceIndex(0, 3, false);
            w.WriteEnumerated(0, 1, true); // reset-all
            return;
        }

        w.WriteChoiceIndex(1, 3, false);
        WriteConnections(w, connections);
    });

    /// <summary>UE-associatedLogicalNG-connectionList (NGResetAcknowledge, id 111).</summary>
    public static byte[] ConnectionList(IReadOnlyList<NgConnectionId> connections) => AperWriter.Build(w => WriteConnections(w, connections));

    private static void WriteConnections(AperWriter w, IReadOnlyList<NgConnectionId> connections)
    {
        w.WriteConstrainedLength(connections.Count, 1, 65536);
        foreach (var c in connections)
        {
            w.WriteSequencePreamble(true, false, (c.AmfUeNgapId is null ? 0UL : 4UL) | (c.RanUeNgapId is null ? 0UL : 2UL), 3);
            if (c.AmfUeNgapId is { } amf)
            {
                w.WriteConstrainedWholeNumber((long)amf, 0, NgapIeCodec.MaxAmfUeNgapId);
            }

            if (c.RanUeNgapId is { } ran)
            {
                w.WriteConstrainedWholeNumber(ran, 0, uint.MaxValue);
            }
        }
    }

    /// <summary>
    /// RANStatusTransfer-TransparentContainer: per DRB (1..32), 12-bit PDCP SN status (UL and DL COUNT = HFN, SN).
    /// </summary>
    public static byte[] RanStatusTransferContainer(IReadOnlyList<(byte DrbId, uint UlCount, uint DlCount)> drbs) => AperWriter.Build(w =>
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteConstrainedLength(drbs.Count, 1, 32);
        foreach (var (drb, ul, dl) in drbs)
        {
            w.WriteSequencePreamble(true, false, 0, 1);
            w.WriteInteger(drb, 1, 32, true);
            w.WriteChoiceIndex(0, 3, false); // dRBStatusUL12
            w.WriteSequencePreamble(true, false, 0, 2);
            WriteCount12(w, ul);
            w.WriteChoiceIndex(0, 3, false); // dRBStatusDL12
            w.WriteSequencePreamble(true, false, 0, 1);
            WriteCount12(w, dl);
        }
    });

    private static void WriteCount12(AperWriter w, uint count)
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteConstrainedWholeNumber(count & 0xFFF, 0, 4095);
        w.WriteConstrainedWholeNumber((count >> 12) & 0xFFFFF, 0, 1048575);
    }
}
