using MobiScud.Protocols;
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
        var teids = new List<uint>();
        var addresses = new List<string>();
        var erabIds = new List<int>(summary.ERabs.Count);
        var nas = new List<string>();
        var nasTypes = new List<string>();
        RowNasFacts facts = default;
        var initial = summary.ProcedureCode == S1apProcedureCode.InitialUeMessage;
        var connection = ConnectionFor(_connections, context.Association, summary.EnbUeS1apId, initial);
        var nullCiphering = connection?.NullCiphering ?? false;
        ReadNas(summary.NasPdu, nullCiphering, nas, nasTypes, ref facts);
        foreach (var item in summary.ERabs)
        {
            erabIds.Add(item.ERabId);
            AddTunnels(teids, addresses, item.Tunnel, item.DlForwarding, item.UlForwarding);
            if (item.HasNasPdu)
            {
                ReadNas(summary.ERabNasPdu(item), nullCiphering, nas, nasTypes, ref facts);
            }
        }

        var tmsi = summary.STmsi?.MTmsi ?? facts.MTmsiValue;
        LearnCiphering(connection, initial, facts.SelectedCiphering, facts.Imsi, tmsi is { } t ? TmsiKey(t) : null, facts.AssignedMTmsi is { } a ? TmsiKey(a) : null);

        var otherMme = new List<uint>();
        var otherEnb = new List<uint>();
        AddIf(otherMme, summary.SourceMmeUeS1apId);
        AddIf(otherMme, summary.MmeUeS1apId2);
        foreach (var c in summary.ResetConnections)
        {
            AddIf(otherMme, c.MmeUeS1apId);
            AddIf(otherEnb, c.EnbUeS1apId);
        }

        onRow(new MessageRow
        {
            Frame = context.FrameNumber,
            TimestampNanos = context.TimestampNanos,
            Protocol = "s1ap",
            Source = context.Source,
            Destination = context.Destination,
            ProcedureCode = (int)summary.ProcedureCode,
            MessageType = (MessageKind)summary.PduType,
            Message = summary.MessageName,
            MmeUeS1apId = summary.MmeUeS1apId,
            EnbUeS1apId = summary.EnbUeS1apId,
            OtherMmeUeS1apIds = otherMme,
            OtherEnbUeS1apIds = otherEnb,
            ERabIds = erabIds,
            Teids = teids,
            TransportAddresses = addresses,
            GlobalEnbId = summary.GlobalEnbId?.ToString(),
            Ecgi = summary.EutranCgi?.ToString(),
            TargetId = summary.TargetEnbId?.GlobalEnbId.ToString(),
            Cause = summary.Cause?.ToString(),
            Nas = nas,
            NasTypes = nasTypes,
            Imsi = facts.Imsi,
            Guti = facts.Guti,
            STmsi = summary.STmsi?.ToString() ?? facts.MTmsi,
            UeIp = facts.UeIp,
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

    private static void AddIf(List<uint> list, uint? value)
    {
        if (value is { } v)
        {
            list.Add(v);
        }
    }

    private static void ReadNas(ReadOnlySpan<byte> pdu, bool nullCiphering, List<string> names, List<string> types, ref RowNasFacts facts)
    {
        if (pdu.IsEmpty)
        {
            return;
        }

        NasMessage m;
        try
        {
            m = NasDecoder.Decode(pdu, nullCiphering);
        }
        catch (DecodeException e)
        {
            names.Add("malformed:" + e.Reason);
            return;
        }

        if (m.Ciphered)
        {
            names.Add("ciphered");
            return;
        }

        names.Add(m.MessageName);
        AddType(types, m);
        if (m.EsmMessage is { } esm && !ReferenceEquals(esm, m))
        {
            names.Add(esm.MessageName);
            AddType(types, esm);
        }

        facts.Imsi ??= m.Imsi;
        facts.Guti ??= m.Guti?.ToString();
        facts.MTmsi ??= m.MTmsi is { } t ? $"m-tmsi-{t:x8}" : null;
        facts.MTmsiValue ??= m.Guti?.MTmsi ?? m.MTmsi;
        if (m.MessageType is NasMessageType.AttachAccept or NasMessageType.TrackingAreaUpdateAccept && m.Guti is { } g)
        {
            facts.AssignedMTmsi = g.MTmsi;
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

    private struct RowNasFacts
    {
        public string? Imsi;
        public string? Guti;
        public string? MTmsi;
        public uint? MTmsiValue;
        public uint? AssignedMTmsi;
        public string? UeIp;
        public byte? SelectedCiphering;
    }
}
