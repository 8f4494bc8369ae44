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

    private static void AddTunnels(List<uint> teids, List<string> addresses, params ReadOnlySpan<GtpTunnel?> tunnels)
    {
        foreach (var tunnel in tunnels)
        {
            if (tunnel is { } t)
            {
                teids.Add(t.Teid);
                if (!t.TransportLayerAddress.IsEmpty)
                {
                    addresses.Add(t.TransportLayerAddress.ToString());
                }
            }
        }
    }

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
}
