using MobiScud.Protocols;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Capture.Decode;

/// <summary>What the S1AP and NGAP rows share: the UE-associated connection table, tunnel listing and EEA0 learning.</summary>
public sealed partial class MessageRowReader
{
    /// <summary>
    /// The connection of a UE-associated message, keyed by association and RAN-side UE id (eNB-UE-S1AP-ID or
    /// RAN-UE-NGAP-ID); null for a message without one. An Initial UE Message starts a new connection: whatever the
    /// id meant before is gone.
    /// </summary>
    private static Connection? ConnectionFor(Dictionary<(SctpAssociationKey?, uint), Connection> table, SctpAssociationKey? association, uint? ranSideId, bool initial)
    {
        if (ranSideId is not { } id)
        {
            return null;
        }

        var key = (association, id);
        if (initial || !table.TryGetValue(key, out var connection))
        {
            connection = table[key] = new Connection();
        }

        return connection;
    }

    /// <summary>
    /// What both protocols read of one message: its connection's ciphering, its NAS-PDU, then each item's tunnels and NAS
    /// (through <paramref name="item"/>); then what the NAS said about the UE's identities and ciphering is learnt, the
    /// TMSI of the message's own S-TMSI IE (<paramref name="ieTmsi"/>) first. The caller adds its ids to the row.
    /// </summary>
    private RowParts ReadParts<TItem>(
        Dictionary<(SctpAssociationKey?, uint), Connection> connections, in PayloadContext context, uint? ranSideId, bool initial,
        ReadOnlySpan<byte> nas, NasReader readNas, List<TItem> items, Action<TItem, RowParts> item, uint? ieTmsi, Func<uint, string> tmsiKey)
    {
        var connection = ConnectionFor(connections, context.Association, ranSideId, initial);
        var parts = new RowParts(connection?.NullCiphering ?? false);
        readNas(nas, parts);
        foreach (var i in items)
        {
            item(i, parts);
        }

        var facts = parts.Facts;
        var tmsi = ieTmsi ?? facts.TmsiValue;
        LearnCiphering(connection, initial, facts.SelectedCiphering, facts.Imsi, tmsi is { } t ? tmsiKey(t) : null, facts.AssignedTmsi is { } a ? tmsiKey(a) : null);
        return parts;
    }

    private delegate void NasReader(ReadOnlySpan<byte> pdu, RowParts parts);

    /// <summary>
    /// Records the identities seen on a connection and whether its NAS context ciphers with the null algorithm: set by
    /// a Security Mode Command, else (on a new connection) inherited from any identity known to use it.
    /// </summary>
    private void LearnCiphering(Connection? connection, bool initial, byte? selectedCiphering, params ReadOnlySpan<string?> identities)
    {
        if (connection is null)
        {
            return;
        }

        foreach (var identity in identities)
        {
            connection.Learn(identity);
        }

        if (selectedCiphering is { } algorithm)
        {
            connection.NullCiphering = algorithm == 0;
        }
        else if (initial)
        {
            connection.NullCiphering = connection.Identities.Any(_nullCipheringIdentities.Contains);
        }

        if (connection.NullCiphering)
        {
            _nullCipheringIdentities.UnionWith(connection.Identities);
        }
    }

    private static void AddIf<T>(List<T> list, T? value)
        where T : struct
    {
        if (value is { } v)
        {
            list.Add(v);
        }
    }

    private delegate T NasDecode<out T>(ReadOnlySpan<byte> pdu, bool nullCipheringInUse);

    /// <summary>What a row collects from a message's NAS-PDUs and tunnels, whichever the protocol.</summary>
    private sealed class RowParts(bool nullCiphering)
    {
        public NasFacts Facts;

        public List<uint> Teids { get; } = [];

        public List<string> Addresses { get; } = [];

        public List<string> Nas { get; } = [];

        public List<string> NasTypes { get; } = [];

        public void AddTunnels(params ReadOnlySpan<GtpTunnel?> tunnels)
        {
            foreach (var tunnel in tunnels)
            {
                if (tunnel is { } t)
                {
                    Teids.Add(t.Teid);
                    if (!t.TransportLayerAddress.IsEmpty)
                    {
                        Addresses.Add(t.TransportLayerAddress.ToString());
                    }
                }
            }
        }

        /// <summary>One NAS-PDU, decoded as the connection's ciphering allows; null (named in <see cref="Nas"/>) when empty, malformed or ciphered.</summary>
        public T? Decode<T>(ReadOnlySpan<byte> pdu, NasDecode<T> decode, Func<T, bool> ciphered)
            where T : class
        {
            if (pdu.IsEmpty)
            {
                return null;
            }

            T m;
            try
            {
                m = decode(pdu, nullCiphering);
            }
            catch (DecodeException e)
            {
                Nas.Add("malformed:" + e.Reason);
                return null;
            }

            if (ciphered(m))
            {
                Nas.Add("ciphered");
                return null;
            }

            return m;
        }

        /// <summary>The row's fields both protocols fill alike; the caller adds its own with <c>with</c>.</summary>
        public MessageRow ToRow(in PayloadContext context, string protocol, int procedureCode, MessageKind kind, string message, string? cause, string? sTmsi) => new()
        {
            Frame = context.FrameNumber,
            TimestampNanos = context.TimestampNanos,
            Protocol = protocol,
            Source = context.Source,
            Destination = context.Destination,
            ProcedureCode = procedureCode,
            MessageType = kind,
            Message = message,
            Teids = Teids,
            TransportAddresses = Addresses,
            Cause = cause,
            Nas = Nas,
            NasTypes = NasTypes,
            Imsi = Facts.Imsi,
            Guti = Facts.Guti,
            STmsi = sTmsi ?? Facts.STmsi,
            UeIp = Facts.UeIp,
        };
    }

    /// <summary>Identities and the ciphering learnt from a message's NAS (EPS or 5G): the first of each wins.</summary>
    private struct NasFacts
    {
        public string? Imsi;
        public string? Guti;

        /// <summary>The (M-/5G-)TMSI identity as the row prints it.</summary>
        public string? STmsi;
        public uint? TmsiValue;

        /// <summary>The TMSI an Attach/TAU/Registration Accept assigns.</summary>
        public uint? AssignedTmsi;
        public string? UeIp;
        public byte? SelectedCiphering;
    }
}
