using MobiScud.Protocols.Ngap;

namespace MobiScud.Capture;

/// <summary>
/// A payload sink that also takes NGAP (SCTP PPID 60, or PPID 0 on the NGAP port). Separate from
/// <see cref="IPayloadSink"/> so that sinks written for S1AP only keep compiling; <see cref="FrameDecoder"/> counts NGAP
/// as ignored traffic for a sink that does not implement it.
/// </summary>
public interface INgapPayloadSink
{
    void OnNgap(in PayloadContext context, ushort streamId, ReadOnlySpan<byte> message);
}

/// <summary>Receives decoded NGAP from <see cref="SignallingPipeline"/>, when the <see cref="ISignallingSink"/> also implements it.</summary>
public interface INgapSignallingSink
{
    /// <summary>One NGAP message. <paramref name="summary"/> is reused for the next message: copy what you keep.</summary>
    void OnNgap(in PayloadContext context, NgapSummary summary);
}
