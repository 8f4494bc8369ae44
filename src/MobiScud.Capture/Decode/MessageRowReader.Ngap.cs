using System.Globalization;
using MobiScud.Protocols.Nas;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Capture.Decode;

/// <summary>
/// NGAP rows: the same view as S1AP's, with the UE NGAP ids, PDU session ids, gNB ids and NR cells. 5G NAS is read as
/// S1AP's EPS NAS is: a UE context whose Security Mode Command selected 5G-EA0 (per connection, and per IMSI and
/// 5G-TMSI, since the context outlives the connection) has its "ciphered" NAS read; any other is reported ciphered.
/// </summary>
public sealed partial class MessageRowReader : INgapSignallingSink
{
    private readonly Dictionary<(SctpAssociationKey?, uint), Connection> _ngapConnections = [];

    public void OnNgap(in PayloadContext context, NgapSummary summary)
    {
        var sessionIds = new List<int>(summary.PduSessions.Count);
        var parts = ReadParts(
            _ngapConnections, context, summary.RanUeNgapId, summary.ProcedureCode == NgapProcedureCode.InitialUeMessage, summary.NasPdu, ReadNas5g,
            summary.PduSessions,
            (item, row) =>
            {
                sessionIds.Add(item.PduSessionId);
                row.AddTunnels(item.UlTunnel, item.DlTunnel, item.DlForwarding);
                if (item.HasNasPdu)
                {
                    ReadNas5g(summary.ItemNasPdu(item), row);
                }
            },
            summary.FiveGSTmsi?.Tmsi, FiveGTmsiKey);

        var otherAmf = new List<ulong>();
        var otherRan = new List<uint>();
        AddIf(otherAmf, summary.SourceAmfUeNgapId);
        foreach (var c in summary.ResetConnections)
        {
            AddIf(otherAmf, c.AmfUeNgapId);
            AddIf(otherRan, c.RanUeNgapId);
        }

        onRow(parts.ToRow(context, "ngap", (int)summary.ProcedureCode, (MessageKind)summary.PduType, summary.MessageName, summary.Cause?.ToString(), summary.FiveGSTmsi?.ToString()) with
        {
            AmfUeNgapId = summary.AmfUeNgapId,
            RanUeNgapId = summary.RanUeNgapId,
            OtherAmfUeNgapIds = otherAmf,
            OtherRanUeNgapIds = otherRan,
            PduSessionIds = sessionIds,
            GlobalRanNodeId = summary.GlobalRanNodeId?.ToString(),
            NrCgi = summary.NrCgi?.ToString(),
            Ecgi = summary.EutraCgi?.ToString(),
            TargetId = summary.Target?.Node.ToString(),
        });
    }

    private static string FiveGTmsiKey(uint tmsi) => "5g-tmsi:" + tmsi.ToString("x8", CultureInfo.InvariantCulture);

    private static void ReadNas5g(ReadOnlySpan<byte> pdu, RowParts parts)
    {
        if (parts.Decode(pdu, Nas5gDecoder.Decode, static m => m.Ciphered) is not { } m)
        {
            return;
        }

        // The message, then what it carries (a NAS message container, a NAS transport's 5GSM message), as tshark lists them.
        ref var facts = ref parts.Facts;
        foreach (var part in m.SelfAndInner())
        {
            parts.Nas.Add(part.MessageName);
            parts.NasTypes.Add("0x" + part.MessageType.ToString("x2", CultureInfo.InvariantCulture));
            facts.Imsi ??= part.Imsi;
            facts.Guti ??= part.Guti?.ToString();
            facts.STmsi ??= part.STmsi is { } s ? $"{s.AmfSetId:x3}-{s.AmfPointer:x2}-{s.Tmsi:x8}" : null;
            facts.TmsiValue ??= part.Guti?.Tmsi ?? part.STmsi?.Tmsi;
            if (part.MessageType == Nas5gMessageType.RegistrationAccept && part.Guti is { } g)
            {
                facts.AssignedTmsi = g.Tmsi;
            }

            facts.UeIp ??= part.PduAddress?.ToString();
        }

        facts.SelectedCiphering ??= m.SelectedCipheringAlgorithm;
    }
}
