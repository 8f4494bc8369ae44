using MobiScud.Protocols.Link;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Capture;

/// <summary>Where the pipeline looks for signalling. Defaults are the IANA/3GPP ports.</summary>
public sealed record PipelineOptions
{
    public static PipelineOptions Default { get; } = new();

    /// <summary>S1AP's SCTP port, used to recognise S1AP sent with PPID 0 (PPID 18 is recognised on any port).</summary>
    public ushort S1apPort { get; init; } = 36412;

    /// <summary>NGAP's SCTP port, used to recognise NGAP sent with PPID 0 (PPID 60 is recognised on any port).</summary>
    public ushort NgapPort { get; init; } = 38412;

    /// <summary>UDP port of UDP-encapsulated SCTP (RFC 6951).</summary>
    public ushort SctpOverUdpPort { get; init; } = 9899;

    public ushort GtpcPort { get; init; } = 2123;

    public ushort GtpuPort { get; init; } = 2152;

    public bool ReassembleIpFragments { get; init; } = true;
}

/// <summary>Where a payload came from: frame, time and both transport endpoints (plus the SCTP association, if any).</summary>
public readonly record struct PayloadContext(long FrameNumber, long TimestampNanos, NetEndpoint Source, NetEndpoint Destination, SctpAssociationKey? Association);

/// <summary>Kinds of UDP payload the pipeline hands on.</summary>
public enum UdpPayloadKind : byte
{
    Gtpc,
    Gtpu,
}

/// <summary>Receives the application payloads <see cref="FrameDecoder"/> finds; spans are valid only during the call.</summary>
public interface IPayloadSink
{
    void OnS1ap(in PayloadContext context, ushort streamId, ReadOnlySpan<byte> message);

    void OnUdp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload);

    void OnDropped(in DropReason reason, long frameNumber);
}

/// <summary>
/// Frames -> link -> IP (fragments reassembled) -> SCTP (directly or in UDP, RFC 6951) / UDP -> S1AP, GTPv2-C and GTP-U
/// payloads. Never throws on packet content: every packet that cannot be taken apart is reported once with a typed reason.
/// </summary>
internal sealed class FrameDecoder : ISctpSink
{
    private const byte ProtocolUdp = 17;
    private const byte ProtocolSctp = 132;
    private const uint PpidS1ap = 18;
    private const uint PpidNgap = 60;

    // Reason strings are made once, so that counting ignored traffic allocates nothing per packet.
    private static readonly string[] _ipProtocolNames = Enumerable.Range(0, 256).Select(p => "IpProtocol" + p).ToArray();
    private static readonly string[] _ppidNames = Enumerable.Range(0, 256).Select(p => "SctpPpid" + p).ToArray();

    private readonly PipelineOptions _options;
    private readonly IPayloadSink _sink;
    private readonly SctpTap _sctp = new();
    private readonly IpReassembler _fragments = new();
    private CaptureFrame _frame;

    public FrameDecoder(IPayloadSink sink, PipelineOptions? options = null)
    {
        _sink = sink;
        _options = options ?? PipelineOptions.Default;
    }

    public void Process(in CaptureFrame frame)
    {
        _frame = frame;
        var data = frame.Data.Span;
        if (!LinkDecoder.TryDecode(frame.LinkType, data, out var network, out var offset, out var error))
        {
            // ARP, LLDP and the like are fine frames that are simply not ours.
            Drop(error == TransportError.NotIp ? DropLayer.Ignored : DropLayer.Link, error);
            return;
        }

        var packet = data[offset..];
        if (!IpDecoder.TryDecode(network, packet, out var ip, out error))
        {
            Drop(DropLayer.Ip, error);
            return;
        }

        var payload = packet.Slice(ip.PayloadOffset, ip.PayloadLength);
        if (ip.IsFragment)
        {
            if (!_options.ReassembleIpFragments)
            {
                Drop(DropLayer.Ip, TransportError.IpFragment);
                return;
            }

            // A fragment that does not complete its datagram is not a drop: it is held until the rest arrives.
            if (!_fragments.TryAdd(ip, payload, out payload, out error))
            {
                if (error != TransportError.IpFragment)
                {
                    Drop(DropLayer.Ip, error);
                }

                return;
            }
        }

        switch (ip.Protocol)
        {
            case ProtocolSctp:
                _sctp.Process(ip.Source, ip.Destination, payload, this);
                break;
            case ProtocolUdp:
                Udp(ip, payload);
                break;
            default:
                _sink.OnDropped(new DropReason(DropLayer.Ignored, _ipProtocolNames[ip.Protocol]), frame.Number);
                break;
        }
    }

    void ISctpSink.OnMessage(in SctpAssociationKey association, SctpDirection direction, ushort streamId, uint payloadProtocolId, ReadOnlySpan<byte> message)
    {
        var source = association.SourceOf(direction);
        var destination = association.DestinationOf(direction);
        if (payloadProtocolId == PpidS1ap || (payloadProtocolId == 0 && (source.Port == _options.S1apPort || destination.Port == _options.S1apPort)))
        {
            _sink.OnS1ap(new PayloadContext(_frame.Number, _frame.TimestampNanos, source, destination, association), streamId, message);
        }
        else if (_sink is INgapPayloadSink ngap
            && (payloadProtocolId == PpidNgap || (payloadProtocolId == 0 && (source.Port == _options.NgapPort || destination.Port == _options.NgapPort))))
        {
            ngap.OnNgap(new PayloadContext(_frame.Number, _frame.TimestampNanos, source, destination, association), streamId, message);
        }
        else
        {
            _sink.OnDropped(new DropReason(DropLayer.Ignored, payloadProtocolId < 256 ? _ppidNames[payloadProtocolId] : "SctpPpidOther"), _frame.Number);
        }
    }

    void ISctpSink.OnDropped(TransportError reason) => Drop(DropLayer.Sctp, reason);

    private void Udp(in IpPacketInfo ip, ReadOnlySpan<byte> segment)
    {
        if (!UdpDecoder.TryDecode(segment, out var udp, out var error))
        {
            Drop(DropLayer.Udp, error);
            return;
        }

        var payload = segment.Slice(udp.PayloadOffset, udp.PayloadLength);
        if (udp.SourcePort == _options.SctpOverUdpPort || udp.DestinationPort == _options.SctpOverUdpPort)
        {
            // RFC 6951: the SCTP packet follows the UDP header unchanged; the SCTP ports name the association.
            _sctp.Process(ip.Source, ip.Destination, payload, this);
            return;
        }

        UdpPayloadKind kind;
        if (udp.SourcePort == _options.GtpuPort || udp.DestinationPort == _options.GtpuPort)
        {
            kind = UdpPayloadKind.Gtpu;
        }
        else if (udp.SourcePort == _options.GtpcPort || udp.DestinationPort == _options.GtpcPort)
        {
            kind = UdpPayloadKind.Gtpc;
        }
        else
        {
            _sink.OnDropped(new DropReason(DropLayer.Ignored, "UdpPort"), _frame.Number);
            return;
        }

        var context = new PayloadContext(_frame.Number, _frame.TimestampNanos, new NetEndpoint(ip.Source, udp.SourcePort), new NetEndpoint(ip.Destination, udp.DestinationPort), null);
        _sink.OnUdp(context, kind, payload);
    }

    private void Drop(DropLayer layer, TransportError error) => _sink.OnDropped(new DropReason(layer, error.ToString()), _frame.Number);
}

/// <summary>Which stage gave up on a packet. <see cref="Ignored"/> is traffic that is fine but not signalling we read.</summary>
public enum DropLayer : byte
{
    Link,
    Ip,
    Udp,
    Sctp,
    S1ap,
    Gtpc,
    Gtpu,
    Ignored,
    Ngap,
}

/// <summary>A typed reason a packet (or message) was not used: the stage and that stage's error name.</summary>
public readonly record struct DropReason(DropLayer Layer, string Reason)
{
    public override string ToString() => $"{Layer}:{Reason}";
}
