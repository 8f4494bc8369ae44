using System.Collections.Frozen;
using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.S1ap;

/// <summary>
/// E-RAB items (TS 36.413 9.1), table-driven: each item IE id maps to its layout (how many OPTIONAL bits its
/// SEQUENCE preamble has and which fields follow the E-RAB-ID, in order), and one reader and one writer walk any
/// layout. Adding an item type is one table row, read and written alike.
/// </summary>
public static partial class S1apIeCodec
{
    private static readonly FrozenDictionary<ushort, ERabItemLayout> _eRabItems = ERabItemTable();

    /// <summary>Decodes one E-RAB item's content (the open type of its single container) by its item IE id.</summary>
    public static bool TryReadERabItem(ref AperReader r, ushort listIeId, ushort itemIeId, out ERabItem e)
    {
        if (!_eRabItems.TryGetValue(itemIeId, out var layout))
        {
            e = default;
            return false;
        }

        var opt = r.ReadSequencePreamble(true, layout.Optionals, out _);
        e = NewItem(listIeId, itemIeId, ReadERabId(ref r));
        foreach (var field in layout.Fields)
        {
            switch (field)
            {
                case ERabField.Qos:
                    e.Qos = ReadERabQos(ref r);
                    break;
                case ERabField.Tunnel:
                    e.Tunnel = ReadTunnel(ref r);
                    break;
                case ERabField.NasPdu:
                    ReadNas(ref r, ref e);
                    break;
                case ERabField.OptionalNasPdu when (opt & layout.NasPduBit) != 0:
                    ReadNas(ref r, ref e);
                    break;
                case ERabField.Forwarding:
                    ReadForwarding(ref r, (opt >> 1) & 0xF, ref e);
                    break;
                case ERabField.Cause:
                    e.Cause = ReadCause(ref r);
                    break;
            }
        }

        return true;
    }

    /// <summary>
    /// Encodes one E-RAB item's content for the item types in the layout table (the fields <see cref="TryReadERabItem"/>
    /// decodes). A missing QoS or cause takes a default (QCI 9, radio network cause 0); a missing tunnel is an error.
    /// </summary>
    public static byte[] EncodeERabItem(in ERabItem e, ReadOnlySpan<byte> nasPdu = default)
    {
        var w = new AperWriter(64);
        WriteERabItem(w, e, nasPdu);
        return w.ToArray();
    }

    private static void WriteERabItem(AperWriter w, in ERabItem e, ReadOnlySpan<byte> nasPdu)
    {
        if (!_eRabItems.TryGetValue(e.ItemIeId, out var layout))
        {
            throw new ArgumentException($"cannot encode E-RAB item type {e.ItemIeId}", nameof(e));
        }

        var opt = 0UL;
        foreach (var field in layout.Fields)
        {
            opt |= field switch
            {
                ERabField.OptionalNasPdu when !nasPdu.IsEmpty => layout.NasPduBit,
                ERabField.Forwarding => ((e.DlForwarding is null ? 0UL : 0xCUL) | (e.UlForwarding is null ? 0UL : 0x3UL)) << 1,
                _ => 0UL,
            };
        }

        w.WriteSequencePreamble(true, false, opt, layout.Optionals);
        w.WriteInteger(e.ERabId, 0, 15, true);
        foreach (var field in layout.Fields)
        {
            switch (field)
            {
                case ERabField.Qos:
                    WriteQos(w, e.Qos ?? new ERabQos(9, 15, false, false));
                    break;
                case ERabField.Tunnel:
                    WriteTunnel(w, e.Tunnel);
                    break;
                case ERabField.NasPdu:
                case ERabField.OptionalNasPdu when !nasPdu.IsEmpty:
                    w.WriteOctetString(nasPdu, 0, -1);
                    break;
                case ERabField.Forwarding:
                    if (e.DlForwarding is { } dl)
                    {
                        WriteTunnel(w, dl);
                    }

                    if (e.UlForwarding is { } ul)
                    {
                        WriteTunnel(w, ul);
                    }

                    break;
                case ERabField.Cause:
                    WriteCause(w, e.Cause ?? new S1apCause(CauseGroup.RadioNetwork, 0));
                    break;
            }
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

    private static FrozenDictionary<ushort, ERabItemLayout> ERabItemTable()
    {
        var table = new Dictionary<ushort, ERabItemLayout>();
        void Add(ERabItemLayout layout, params ReadOnlySpan<ushort> itemIds)
        {
            foreach (var id in itemIds)
            {
                table.Add(id, layout);
            }
        }

        // Preamble bits: the OPTIONAL fields in order, iE-Extensions last (always absent when we write).
        Add(new(2, [ERabField.Qos, ERabField.Tunnel, ERabField.OptionalNasPdu]), S1apIeId.ERabToBeSetupItemCtxtSuReq);
        Add(new(1, [ERabField.Qos, ERabField.Tunnel, ERabField.NasPdu]), S1apIeId.ERabToBeSetupItemBearerSuReq);
        Add(new(1, [ERabField.Qos, ERabField.NasPdu]), S1apIeId.ERabToBeModifiedItemBearerModReq);
        Add(
            new(1, [ERabField.Tunnel]),
            S1apIeId.ERabSetupItemCtxtSuRes, S1apIeId.ERabSetupItemBearerSuRes, S1apIeId.ERabToBeSwitchedDlItem, S1apIeId.ERabToBeSwitchedUlItem,
            S1apIeId.ERabToBeModifiedItemBearerModInd, S1apIeId.ERabNotToBeModifiedItemBearerModInd);
        Add(new(1, [ERabField.Tunnel, ERabField.Qos]), S1apIeId.ERabToBeSetupItemHoReq);

        // dL-transportLayerAddress, dL-gTP-TEID, uL-transportLayerAddress, uL-gTP-TEID, iE-Extensions.
        Add(new(5, [ERabField.Tunnel, ERabField.Forwarding]), S1apIeId.ERabAdmittedItem);
        Add(new(5, [ERabField.Forwarding]), S1apIeId.ERabDataForwardingItem);
        Add(new(1, [ERabField.Cause]), S1apIeId.ERabItem, S1apIeId.ERabFailedToSetupItemHoReqAck);
        Add(new(1, []), S1apIeId.ERabModifyItemBearerModRes, S1apIeId.ERabReleaseItemBearerRelComp, S1apIeId.ERabModifyItemBearerModConf);
        return table.ToFrozenDictionary();
    }

    /// <summary>A field of an E-RAB item after its E-RAB-ID.</summary>
    private enum ERabField : byte
    {
        Qos,
        Tunnel,
        NasPdu,

        /// <summary>A NAS-PDU whose presence is the first OPTIONAL bit of the preamble.</summary>
        OptionalNasPdu,

        /// <summary>The four OPTIONAL data-forwarding fields (dL TLA/TEID, uL TLA/TEID) after the first preamble bit.</summary>
        Forwarding,
        Cause,
    }

    /// <summary>An item's SEQUENCE: its OPTIONAL-bit count and the fields after the E-RAB-ID, in encoding order.</summary>
    private sealed record ERabItemLayout(int Optionals, ERabField[] Fields)
    {
        /// <summary>The preamble bit of an optional NAS-PDU: the first OPTIONAL (most significant) bit.</summary>
        public ulong NasPduBit => 1UL << (Optionals - 1);
    }
}
