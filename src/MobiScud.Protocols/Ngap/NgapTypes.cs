using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Ngap;

/// <summary>TAI of 5GS: PLMN + 24-bit tracking area code (TAC ::= OCTET STRING (SIZE(3))).</summary>
public readonly record struct NgTai(PlmnIdentity Plmn, uint Tac)
{
    public override string ToString() => $"{Plmn}/tac{Tac}";
}

/// <summary>NR-CGI: PLMN + 36-bit NR cell identity (gNB id in its top 22..32 bits).</summary>
public readonly record struct NrCgi(PlmnIdentity Plmn, ulong CellId)
{
    public override string ToString() => $"{Plmn}/nrcell{CellId:x9}";
}

/// <summary>Kinds of GlobalRANNodeID (and of NgENB-ID).</summary>
public enum RanNodeKind : byte
{
    Gnb = 0,
    NgEnbMacro = 1,
    NgEnbShortMacro = 2,
    NgEnbLongMacro = 3,
    N3iwf = 4,

    /// <summary>A choice-Extensions alternative (TNGF, TWIF, W-AGF ...): not followed by the MC.</summary>
    Other = 5,
}

/// <summary>GlobalRANNodeID: PLMN + node id; a gNB id has 22..32 bits (<see cref="IdBits"/>).</summary>
public readonly record struct GlobalRanNodeId(PlmnIdentity Plmn, RanNodeKind Kind, uint Id, byte IdBits)
{
    public override string ToString() => $"{Plmn}/{Kind}:{Id}({IdBits}b)";
}

/// <summary>Target-ID of a HandoverRequired: the target NG-RAN node and its selected TAI (targetRANNodeID).</summary>
public readonly record struct NgapTargetRanNode(GlobalRanNodeId Node, NgTai SelectedTai);

/// <summary>5G-S-TMSI: AMF set id (10 bits), AMF pointer (6 bits), 5G-TMSI.</summary>
public readonly record struct FiveGSTmsi(ushort AmfSetId, byte AmfPointer, uint Tmsi)
{
    public override string ToString() => $"{AmfSetId:x3}-{AmfPointer:x2}-{Tmsi:x8}";
}

/// <summary>Cause CHOICE alternatives (TS 38.413 9.3.1.2).</summary>
public enum NgapCauseGroup : byte
{
    RadioNetwork = 0,
    Transport = 1,
    Nas = 2,
    Protocol = 3,
    Misc = 4,

    /// <summary>choice-Extensions: a cause this release does not define (value -1).</summary>
    Extension = 5,
}

/// <summary>Cause: group and value (extension values continue after the root count).</summary>
public readonly record struct NgapCause(NgapCauseGroup Group, int Value)
{
    public override string ToString() => $"{Group}:{Value}";
}

/// <summary>HandoverType ::= ENUMERATED { intra5gs, fivegs-to-eps, eps-to-5gs, ..., fivegs-to-utran }.</summary>
public enum NgapHandoverType : byte
{
    Intra5gs = 0,
    FivegsToEps = 1,
    EpsTo5gs = 2,
    FivegsToUtran = 3,
}

/// <summary>One UE-associated logical NG connection named by NGReset / NGResetAcknowledge.</summary>
public readonly record struct NgConnectionId(ulong? AmfUeNgapId, uint? RanUeNgapId);

/// <summary>
/// One item of any PDU session resource list, with what its transfer container (an open type) says about the user
/// plane. <see cref="ListIeId"/> (an NgapIeId) tells which list, and thus which transfer type was read.
/// </summary>
public struct PduSessionItem
{
    public ushort ListIeId;

    public byte PduSessionId;

    /// <summary>UL NG-U UP TNL information: the UPF's end (setup/HO request transfer, path switch ack, modify).</summary>
    public GtpTunnel? UlTunnel;

    /// <summary>DL QoS-flow-per-TNL / DL NG-U UP TNL information: the NG-RAN node's end (setup response, HO ack, path switch).</summary>
    public GtpTunnel? DlTunnel;

    /// <summary>DL forwarding tunnel (HandoverRequestAcknowledge / HandoverCommand transfers).</summary>
    public GtpTunnel? DlForwarding;

    /// <summary>QoS flow identifiers (bit n = QFI n) named with the tunnel (associated / accepted / set-up flows).</summary>
    public ulong QosFlows;

    /// <summary>The 5QI of the first QoS flow a setup/modify request transfer sets up (TS 38.413 9.3.1.12), when named.</summary>
    public byte? FiveQi;

    public NgapCause? Cause;

    /// <summary>S-NSSAI slice/service type, when the item carries one.</summary>
    public byte? Sst;

    public uint? Sd;

    /// <summary>The item's NAS-PDU as (offset, length) in the decoded buffer; length -1 when absent.</summary>
    public int NasPduOffset;

    public int NasPduLength;

    /// <summary>The transfer container (OCTET STRING content) as (offset, length) in the decoded buffer; -1 when none.</summary>
    public int TransferOffset;

    public int TransferLength;

    public readonly bool HasNasPdu => NasPduLength >= 0;

    public readonly IEnumerable<int> Qfis()
    {
        for (var i = 0; i < 64; i++)
        {
            if ((QosFlows & (1UL << i)) != 0)
            {
                yield return i;
            }
        }
    }

    public override readonly string ToString() =>
        $"pdu-session {PduSessionId} (list {ListIeId})" + (UlTunnel is { } u ? $" ul {u}" : string.Empty) +
        (DlTunnel is { } d ? $" dl {d}" : string.Empty) + (DlForwarding is { } f ? $" dlfwd {f}" : string.Empty) +
        (QosFlows != 0 ? $" qfi [{string.Join(",", Qfis())}]" : string.Empty) + (Cause is { } c ? $" cause {c}" : string.Empty);
}
