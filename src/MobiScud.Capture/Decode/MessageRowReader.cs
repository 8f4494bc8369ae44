using MobiScud.Protocols.Nas;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Capture.Decode;

/// <summary>
/// Turns what <see cref="SignallingPipeline"/> decodes into one <see cref="MessageRow"/> per S1AP message. The only state
/// it keeps is the UE security contexts that selected EEA0 in a Security Mode Command: per connection, and per UE
/// identity (IMSI, M-TMSI), since the context outlives the connection. So their "ciphered" NAS can be read, as the UE
/// tracker does; anything else ciphered is reported as such, never guessed.
/// </summary>
public sealed partial class MessageRowReader(Action<MessageRow> onRow) : ISignallingSink
{
    private readonly Dictionary<(SctpAssociationKey?, uint), Connection> _connections = [];
    private readonly HashSet<string> _nullCipheringIdentities = [];

    public void OnS1ap(in PayloadContext context, S1apSummary summary)
    {
        var erabIds = new List<int>(summary.ERabs.Count);
        var parts = ReadParts(
            _connections, context, summary.EnbUeS1apId, summary.ProcedureCode == S1apProcedureCode.InitialUeMessage, summary.NasPdu, ReadNas, summary.ERabs,
            (item, row) =>
            {
                erabIds.Add(item.ERabId);
                row.AddTunnels(item.Tunnel, item.DlForwarding, item.UlForwarding);
                if (item.HasNasPdu)
                {
                    ReadNas(summary.ERabNasPdu(item), row);
                }
            },
            summary.STmsi?.MTmsi, TmsiKey);

        var otherMme = new List<uint>();
        var otherEnb = new List<uint>();
        AddIf(otherMme, summary.SourceMmeUeS1apId);
        AddIf(otherMme, summary.MmeUeS1apId2);
        foreach (var c in summary.ResetConnections)
        {
            AddIf(otherMme, c.MmeUeS1apId);
            AddIf(otherEnb, c.EnbUeS1apId);
        }

        onRow(parts.ToRow(context, "s1ap", (int)summary.ProcedureCode, (MessageKind)summary.PduType, summary.MessageName, summary.Cause?.ToString(), summary.STmsi?.ToString()) with
        {
            MmeUeS1apId = summary.MmeUeS1apId,
            EnbUeS1apId = summary.EnbUeS1apId,
            OtherMmeUeS1apIds = otherMme,
            OtherEnbUeS1apIds = otherEnb,
            ERabIds = erabIds,
            GlobalEnbId = summary.GlobalEnbId?.ToString(),
            Ecgi = summary.EutranCgi?.ToString(),
            TargetId = summary.TargetEnbId?.GlobalEnbId.ToString(),
        });
    }

    /// <summary>GTP is not part of the per-message S1AP view.</summary>
    public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
    {
    }

    private static void AddType(List<string> types, NasMessage m)
    {
        // The short SERVICE REQUEST has no message type octet.
        if (m.MessageType != NasMessageType.ServiceRequest)
        {
            types.Add("0x" + m.MessageType.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static string TmsiKey(uint mTmsi) => "m-tmsi:" + mTmsi.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    private static void ReadNas(ReadOnlySpan<byte> pdu, RowParts parts)
    {
        if (parts.Decode(pdu, NasDecoder.Decode, static m => m.Ciphered) is not { } m)
        {
            return;
        }

        parts.Nas.Add(m.MessageName);
        AddType(parts.NasTypes, m);
        if (m.EsmMessage is { } esm && !ReferenceEquals(esm, m))
        {
            parts.Nas.Add(esm.MessageName);
            AddType(parts.NasTypes, esm);
        }

        ref var facts = ref parts.Facts;
        facts.Imsi ??= m.Imsi;
        facts.Guti ??= m.Guti?.ToString();
        facts.STmsi ??= m.MTmsi is { } t ? $"m-tmsi-{t:x8}" : null;
        facts.TmsiValue ??= m.Guti?.MTmsi ?? m.MTmsi;
        if (m.MessageType is NasMessageType.AttachAccept or NasMessageType.TrackingAreaUpdateAccept && m.Guti is { } g)
        {
            facts.AssignedTmsi = g.MTmsi;
        }

        facts.UeIp ??= (m.EsmMessage?.PdnAddress ?? m.PdnAddress)?.ToString();
        facts.SelectedCiphering ??= m.SelectedCipheringAlgorithm;
    }

    /// <summary>One UE-associated connection: the identities seen on it and whether its NAS context is EEA0.</summary>
    private sealed class Connection
    {
        public List<string> Identities { get; } = [];

        public bool NullCiphering { get; set; }

        public void Learn(string? identity)
        {
            if (identity is not null && !Identities.Contains(identity))
            {
                Identities.Add(identity);
            }
        }
    }
}
