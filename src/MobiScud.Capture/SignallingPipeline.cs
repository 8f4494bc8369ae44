using MobiScud.Protocols;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Capture;

/// <summary>Receives decoded signalling from <see cref="SignallingPipeline"/>. Arguments are only valid during the call.</summary>
public interface ISignallingSink
{
    /// <summary>One S1AP message. <paramref name="summary"/> is reused for the next message: copy what you keep.</summary>
    void OnS1ap(in PayloadContext context, S1apSummary summary);

    /// <summary>A UDP payload on the GTPv2-C or GTP-U port (decode it with the Gtp codecs).</summary>
    void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload);
}

/// <summary>Counts of what a run saw: frames, messages, and every packet not used, by typed reason.</summary>
public sealed class PipelineStatistics
{
    public long Frames { get; internal set; }

    public long S1apMessages { get; internal set; }

    public long NgapMessages { get; internal set; }

    public long GtpcPackets { get; internal set; }

    public long GtpuPackets { get; internal set; }

    /// <summary>Packets or messages that could not be decoded, or traffic that is not ours (layer Ignored), by reason.</summary>
    public Dictionary<DropReason, long> Dropped { get; } = [];

    public long Undecodable => Dropped.Where(d => d.Key.Layer != DropLayer.Ignored).Sum(d => d.Value);

    /// <summary>Raised for every packet or message not used, as it is counted (a service exports these as metrics).</summary>
    public event Action<DropReason>? DropCounted;

    internal void Drop(in DropReason reason)
    {
        Dropped[reason] = Dropped.GetValueOrDefault(reason) + 1;
        DropCounted?.Invoke(reason);
    }
}

/// <summary>
/// The whole capture pipeline: frames -> link -> IP -> SCTP/UDP -> S1AP decoded (into one reused summary, no per-message
/// allocation once warm) plus GTPv2-C/GTP-U payloads. Never throws on packet content; counts every failure by reason.
/// </summary>
public sealed class SignallingPipeline : IPayloadSink, INgapPayloadSink
{
    private readonly NgapSummary _ngap = new();
    private readonly FrameDecoder _decoder;
    private readonly ISignallingSink _sink;
    private readonly S1apSummary _summary = new();

    public SignallingPipeline(ISignallingSink sink, PipelineOptions? options = null)
    {
        _sink = sink;
        _decoder = new FrameDecoder(this, options);
    }

    public PipelineStatistics Statistics { get; } = new();

    public void Process(in CaptureFrame frame)
    {
        Statistics.Frames++;
        _decoder.Process(frame);
    }

    /// <summary>Reads a whole source (file or live) through the pipeline.</summary>
    public void Run(IFrameSource source, CancellationToken cancellation = default)
    {
        while (!cancellation.IsCancellationRequested && source.TryReadNext(out var frame))
        {
            Process(frame);
        }
    }

    void IPayloadSink.OnS1ap(in PayloadContext context, ushort streamId, ReadOnlySpan<byte> message)
    {
        try
        {
            S1apDecoder.Decode(message, _summary);
        }
        catch (DecodeException e)
        {
            Statistics.Drop(new DropReason(DropLayer.S1ap, e.Reason));
            return;
        }

        Statistics.S1apMessages++;
        _sink.OnS1ap(context, _summary);
    }

    void INgapPayloadSink.OnNgap(in PayloadContext context, ushort streamId, ReadOnlySpan<byte> message)
    {
        try
        {
            NgapDecoder.Decode(message, _ngap);
        }
        catch (DecodeException e)
        {
            Statistics.Drop(new DropReason(DropLayer.Ngap, e.Reason));
            return;
        }

        Statistics.NgapMessages++;
        if (_sink is INgapSignallingSink ngapSink)
        {
            ngapSink.OnNgap(context, _ngap);
        }
        else
        {
            Statistics.Drop(new DropReason(DropLayer.Ignored, "NgapNoSink"));
        }
    }

    void IPayloadSink.OnUdp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
    {
        if (kind == UdpPayloadKind.Gtpu)
        {
            Statistics.GtpuPackets++;
        }
        else
        {
            Statistics.GtpcPackets++;
        }

        _sink.OnGtp(context, kind, payload);
    }

    void IPayloadSink.OnDropped(in DropReason reason, long frameNumber) => Statistics.Drop(reason);

    /// <summary>Lets a sink count a GTP payload it could not decode.</summary>
    public void CountDropped(in DropReason reason) => Statistics.Drop(reason);
}
