using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.S1ap;

/// <summary>The encoding half of <see cref="S1apIeCodec"/>: IE values (open-type contents) built from typed values.</summary>
public static partial class S1apIeCodec
{
    public static byte[] EncodeMmeUeS1apId(uint id) => AperWriter.Build(w => w.WriteConstrainedWholeNumber(id, 0, uint.MaxValue));

    public static byte[] EncodeEnbUeS1apId(uint id) => AperWriter.Build(w => w.WriteConstrainedWholeNumber(id, 0, 16777215));

    public static byte[] EncodeUeS1apIds(UeS1apIds ids) => AperWriter.Build(w =>
    {
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
    });

    public static byte[] EncodeNasPdu(ReadOnlySpan<byte> nas)
    {
        var w = new AperWriter(nas.Length + 4);
        w.WriteOctetString(nas, 0, -1);
        return w.ToArray();
    }

    public static byte[] EncodeCause(S1apCause cause) => AperWriter.Build(w => WriteCause(w, cause));

    private static void WriteCause(AperWriter w, S1apCause cause)
    {
        w.WriteChoiceIndex((int)cause.Group, 5, true);
        w.WriteEnumerated(cause.Value, _causeRootCounts[(int)cause.Group], true);
    }

    public static byte[] EncodeHandoverType(HandoverType type) => AperWriter.Build(w => w.WriteEnumerated((int)type, 5, true));

    public static void WriteTai(AperWriter w, Tai tai)
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        WritePlmn(w, tai.Plmn);
        w.WriteBits(tai.Tac, 16);
    }

    public static byte[] EncodeTai(Tai tai) => AperWriter.Build(w => WriteTai(w, tai));

    internal static void WritePlmn(AperWriter w, PlmnIdentity p) => w.WriteAlignedOctets([p.Octet0, p.Octet1, p.Octet2]);

    public static byte[] EncodeEutranCgi(EutranCgi cgi) => AperWriter.Build(w =>
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        WritePlmn(w, cgi.Plmn);
        w.Align();
        w.WriteBits(cgi.CellId, 28);
    });

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
                    w.WriteChoiceExtensionIndex(id.Kind == EnbIdKind.ShortMacro ? 0 : 1);
                    using (w.PushOpenType())
                    {
                        w.WriteBits(id.EnbId, id.Kind == EnbIdKind.ShortMacro ? 18 : 21);
                    }

                    break;
                }
        }
    }

    public static byte[] EncodeGlobalEnbId(GlobalEnbId id) => AperWriter.Build(w => WriteGlobalEnbId(w, id));

    public static byte[] EncodeTargetEnbId(TargetEnbId target) => AperWriter.Build(w =>
    {
        w.WriteChoiceIndex(0, 3, true);
        w.WriteSequencePreamble(true, false, 0, 1);
        WriteGlobalEnbId(w, target.GlobalEnbId);
        WriteTai(w, target.SelectedTai);
    });

    public static byte[] EncodeSTmsi(STmsi s) => AperWriter.Build(w =>
    {
        w.WriteSequencePreamble(true, false, 0, 1);
        w.WriteBits(s.MmeCode, 8);
        w.WriteAlignedUInt32(s.MTmsi);
    });

    public static void WriteTransportLayerAddress(AperWriter w, TransportLayerAddress a)
    {
        Span<byte> b = stackalloc byte[20];
        a.CopyTo(b);
        w.WriteBitString(b, a.BitLength, 1, 160, true);
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

    private static void WriteTunnel(AperWriter w, GtpTunnel? t)
    {
        var tunnel = t ?? throw new ArgumentException("this E-RAB item type needs a tunnel");
        WriteTransportLayerAddress(w, tunnel.TransportLayerAddress);
        w.WriteAlignedUInt32(tunnel.Teid);
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
            ProtocolIeContainer.WriteField(w, itemIeId, itemCriticality, c);
        }

        return w.ToArray();
    }
}
