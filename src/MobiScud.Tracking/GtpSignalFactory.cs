using MobiScud.Control.Model;
using MobiScud.Protocols;
using MobiScud.Protocols.Gtp;
using MobiScud.Protocols.Link;

namespace MobiScud.Tracking;

/// <summary>Builds tracker inputs from GTPv2-C and GTP-U payloads (only the messages the tracker uses; others give null).</summary>
public static class GtpSignalFactory
{
    private const byte S1uSgwInterface = 1;

    /// <param name="error">The typed decode error's reason when the payload could not be decoded.</param>
    public static TrackerInput? FromGtpc(ReadOnlySpan<byte> payload, TimeSpan at, NetEndpoint source, NetEndpoint destination, out string? error)
    {
        error = null;
        GtpV2Message m;
        try
        {
            m = GtpV2Decoder.Decode(payload);
        }
        catch (DecodeException e)
        {
            error = e.Reason;
            return null;
        }

        if (m.MessageType is not (GtpcSignal.CreateSessionRequest or GtpcSignal.CreateSessionResponse))
        {
            return null;
        }

        var tunnels = m.BearerContexts.SelectMany(b => b.FTeids).Where(f => f.InterfaceType == S1uSgwInterface && f.Address is not null)
            .Select(f => new GtpEndpoint(f.Address!, f.Teid)).ToList();
        return new GtpcSignal(at, source, destination, m.MessageType, m.SequenceNumber)
        {
            Imsi = m.Imsi,
            PdnAddress = m.Paa?.Ipv4 ?? m.Paa?.Ipv6Prefix,
            S1uSgwTunnels = tunnels,
        };
    }

    /// <summary>A G-PDU's TEID and inner source address; null for other GTP-U messages (echo, end marker ...).</summary>
    public static TrackerInput? FromGtpu(ReadOnlySpan<byte> payload, TimeSpan at, NetEndpoint source, NetEndpoint destination, out string? error)
    {
        error = null;
        GtpUHeader header;
        try
        {
            header = GtpU.Decode(payload);
        }
        catch (DecodeException e)
        {
            error = e.Reason;
            return null;
        }

        if (!header.IsGPdu)
        {
            return null;
        }

        var inner = header.Payload(payload);
        NetAddress? innerSource = inner.Length switch
        {
            >= 20 when inner[0] >> 4 == 4 => NetAddress.FromIpv4(inner[12..]),
            >= 40 when inner[0] >> 4 == 6 => NetAddress.FromIpv6(inner[8..]),
            _ => null,
        };
        return new GtpuSignal(at, source, destination, header.Teid, innerSource?.ToIPAddress());
    }
}
