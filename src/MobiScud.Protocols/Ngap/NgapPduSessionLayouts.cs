using System.Collections.Frozen;
using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.Ngap;

/// <summary>
/// PDU session resource list items (TS 38.413 9.3.4), table-driven as S1AP's E-RAB items are: each list IE id maps to
/// its item layout (OPTIONAL-bit count and the fields after the pDUSessionID, in order) and to its transfer container's
/// reader and writer. One reader and one writer walk any layout; adding a list is one table row, read and written alike.
/// </summary>
internal static partial class NgapIeCodec
{
    /// <summary>Every list not in <see cref="_itemLayouts"/>: { pDUSessionID, transfer OCTET STRING, iE-Extensions OPTIONAL, ... }.</summary>
    private static readonly PduSessionItemLayout _transferOnly = new(1, [PduSessionField.Transfer]);

    private static readonly FrozenDictionary<ushort, PduSessionItemLayout> _itemLayouts = new Dictionary<ushort, PduSessionItemLayout>
    {
        // nAS-PDU OPTIONAL, iE-Extensions OPTIONAL.
        [NgapIeId.PduSessionResourceSetupListSuReq] = new(2, [PduSessionField.OptionalNasPdu, PduSessionField.SNssai, PduSessionField.Transfer]),
        [NgapIeId.PduSessionResourceSetupListCxtReq] = new(2, [PduSessionField.OptionalNasPdu, PduSessionField.SNssai, PduSessionField.Transfer]),
        [NgapIeId.PduSessionResourceModifyListModReq] = new(2, [PduSessionField.OptionalNasPdu, PduSessionField.Transfer]),
        [NgapIeId.PduSessionResourceSetupListHoReq] = new(1, [PduSessionField.SNssai, PduSessionField.Transfer]),
        [NgapIeId.PduSessionResourceListCxtRelCpl] = new(1, []),
        [NgapIeId.PduSessionResourceListCxtRelReq] = new(1, []),
    }.ToFrozenDictionary();

    /// <summary>The transfer container each list's items carry, by list IE id (TS 38.413 9.3.4): how to read and write it.</summary>
    private static readonly FrozenDictionary<ushort, TransferCodec> _transfers = TransferTable();

    internal delegate void TransferWriter(AperWriter w, in PduSessionItem item);

    private delegate void TransferReader(ref AperReader t, ref PduSessionItem item);

    private static PduSessionItemLayout ItemLayout(ushort listIeId) => _itemLayouts.GetValueOrDefault(listIeId, _transferOnly);

    /// <summary>Reads one item of a list whose layout is <paramref name="layout"/>, its transfer container included.</summary>
    private static PduSessionItem ReadPduSessionItem(ref AperReader r, ushort listIeId, PduSessionItemLayout layout)
    {
        var opt = r.ReadSequencePreamble(true, layout.Optionals, out var ext);
        var item = NewItem(listIeId, (byte)r.ReadConstrainedWholeNumber(0, 255));
        foreach (var field in layout.Fields)
        {
            switch (field)
            {
                case PduSessionField.OptionalNasPdu when (opt & layout.NasPduBit) != 0:
                    (item.NasPduOffset, item.NasPduLength) = ReadOctets(ref r, "NAS-PDU");
                    break;
                case PduSessionField.SNssai:
                    ReadSNssai(ref r, ref item);
                    break;
                case PduSessionField.Transfer:
                    ReadTransfer(ref r, ref item);
                    break;
            }
        }

        r.SkipSequenceTail((opt & 1) != 0, ext);
        return item;
    }

    /// <summary>Writes the items of a list IE value; <paramref name="nasPdus"/> (same order, null = none) fills optional NAS-PDUs.</summary>
    internal static void WritePduSessionItems(AperWriter w, ushort listIeId, IReadOnlyList<PduSessionItem> items, IReadOnlyList<byte[]?>? nasPdus)
    {
        var layout = ItemLayout(listIeId);
        var hasNas = layout.Fields.Contains(PduSessionField.OptionalNasPdu);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var nas = nasPdus?[i] is { } n && hasNas ? n : null;
            w.WriteSequencePreamble(true, false, nas is null ? 0UL : layout.NasPduBit, layout.Optionals);
            w.WriteConstrainedWholeNumber(item.PduSessionId, 0, 255);
            foreach (var field in layout.Fields)
            {
                switch (field)
                {
                    case PduSessionField.OptionalNasPdu when nas is not null:
                        w.WriteOctetString(nas, 0, -1);
                        break;
                    case PduSessionField.SNssai:
                        NgapIeEncoder.WriteSNssai(w, item);
                        break;
                    case PduSessionField.Transfer:
                        using (w.PushOctetStringContaining())
                        {
                            WriteTransfer(w, listIeId, item);
                        }

                        break;
                }
            }
        }
    }

    private static void ReadTransfer(ref AperReader r, ref PduSessionItem item)
    {
        var (off, len) = ReadOctets(ref r, "transfer container");
        item.TransferOffset = off;
        item.TransferLength = len;
        var t = new AperReader(r.Buffer, off, off + len);
        // Lists without a reader (HandoverRequiredTransfer, ReleaseResponseTransfer ...) carry nothing the MC uses.
        if (_transfers.TryGetValue(item.ListIeId, out var codec) && codec.Read is { } read)
        {
            read(ref t, ref item);
        }
    }

    /// <summary>The transfer container of one item, by the list it goes in; a list without a writer is an error.</summary>
    internal static void WriteTransfer(AperWriter w, ushort listIeId, in PduSessionItem item)
    {
        if (!_transfers.TryGetValue(listIeId, out var codec) || codec.Write is not { } write)
        {
            throw new ArgumentException($"cannot build a transfer for list {listIeId}", nameof(listIeId));
        }

        write(w, item);
    }

    private static FrozenDictionary<ushort, TransferCodec> TransferTable()
    {
        var table = new Dictionary<ushort, TransferCodec>();
        void Add(TransferReader? read, TransferWriter? write, params ReadOnlySpan<ushort> lists)
        {
            foreach (var list in lists)
            {
                table.Add(list, new TransferCodec(read, write));
            }
        }

        Add(
            ReadRequestTransferIes, NgapIeEncoder.WriteSetupRequestTransfer,
            NgapIeId.PduSessionResourceSetupListSuReq, NgapIeId.PduSessionResourceSetupListCxtReq, NgapIeId.PduSessionResourceSetupListHoReq);
        Add(ReadRequestTransferIes, null, NgapIeId.PduSessionResourceModifyListModReq);
        Add(ReadSetupResponseTransfer, NgapIeEncoder.WriteSetupResponseTransfer, NgapIeId.PduSessionResourceSetupListSuRes, NgapIeId.PduSessionResourceSetupListCxtRes);
        Add(null, NgapIeEncoder.WriteHandoverRequiredTransfer, NgapIeId.PduSessionResourceListHoRqd);
        Add(ReadHandoverRequestAcknowledgeTransfer, NgapIeEncoder.WriteHandoverRequestAcknowledgeTransfer, NgapIeId.PduSessionResourceAdmittedList);
        Add(ReadHandoverCommandTransfer, NgapIeEncoder.WriteHandoverCommandTransfer, NgapIeId.PduSessionResourceHandoverList);
        Add(ReadPathSwitchRequestTransfer, NgapIeEncoder.WritePathSwitchRequestTransfer, NgapIeId.PduSessionResourceToBeSwitchedDlList);
        Add(ReadPathSwitchRequestAcknowledgeTransfer, NgapIeEncoder.WritePathSwitchRequestAcknowledgeTransfer, NgapIeId.PduSessionResourceSwitchedList);
        Add(ReadModifyResponseTransfer, null, NgapIeId.PduSessionResourceModifyListModRes);

        // cause, criticalityDiagnostics OPTIONAL, iE-Extensions OPTIONAL
        Add(
            static (ref AperReader t, ref PduSessionItem item) => ReadCauseTransfer(ref t, ref item, 2),
            static (AperWriter w, in PduSessionItem item) => NgapIeEncoder.WriteCauseTransfer(w, item, 2),
            NgapIeId.PduSessionResourceFailedToModifyListModRes, NgapIeId.PduSessionResourceFailedToSetupListCxtRes,
            NgapIeId.PduSessionResourceFailedToSetupListHoAck, NgapIeId.PduSessionResourceFailedToSetupListSuRes,
            NgapIeId.PduSessionResourceFailedToSetupListCxtFail);

        // cause, iE-Extensions OPTIONAL
        Add(
            static (ref AperReader t, ref PduSessionItem item) => ReadCauseTransfer(ref t, ref item, 1),
            static (AperWriter w, in PduSessionItem item) => NgapIeEncoder.WriteCauseTransfer(w, item, 1),
            NgapIeId.PduSessionResourceFailedToSetupListPsReq, NgapIeId.PduSessionResourceReleasedListPsAck,
            NgapIeId.PduSessionResourceReleasedListPsFail, NgapIeId.PduSessionResourceToReleaseListHoCmd,
            NgapIeId.PduSessionResourceToReleaseListRelCmd);
        return table.ToFrozenDictionary();
    }

    /// <summary>A field of a PDU session list item after its pDUSessionID.</summary>
    private enum PduSessionField : byte
    {
        /// <summary>A NAS-PDU whose presence is the first OPTIONAL (most significant) bit of the preamble.</summary>
        OptionalNasPdu,
        SNssai,

        /// <summary>The item's transfer container: an OCTET STRING holding the transfer by list (<see cref="_transfers"/>).</summary>
        Transfer,
    }

    /// <summary>An item's SEQUENCE: its OPTIONAL-bit count and the fields after the pDUSessionID, in encoding order.</summary>
    private sealed record PduSessionItemLayout(int Optionals, PduSessionField[] Fields)
    {
        public ulong NasPduBit => 1UL << (Optionals - 1);
    }

    private sealed record TransferCodec(TransferReader? Read, TransferWriter? Write);
}
