using MobiScud.Capture;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking;

/// <summary>
/// Capture frames -> <see cref="SignallingPipeline"/> -> tracker inputs (<see cref="S1apSignalFactory"/>, <see cref="NgapSignalFactory"/>,
/// <see cref="GtpSignalFactory"/>) -> <see cref="UeTracker"/> -> UE events. The one place that turns frames into the MC's
/// events, shared by `mobiscud replay` and the taps of `mobiscud serve`, so both see the same UEs from the same capture.
/// Event times are relative to the first frame seen.
/// </summary>
public sealed class TrackerFeed : ISignallingSink, INgapSignallingSink
{
    private readonly Action<UeEvent, long> _onEvent;
    private readonly Action<string, long>? _onNote;
    private TrackerState _tracker = TrackerState.Empty;
    private long _firstNanos = -1;

    /// <param name="onEvent">Each UE event with the number of the frame that produced it, in capture order.</param>
    /// <param name="onNote">The tracker's notes (messages it could not place), with their time and frame.</param>
    /// <param name="onDrop">Every packet or message not used, by typed reason (including the GTP payloads this feed decodes).</param>
    public TrackerFeed(Action<UeEvent, long> onEvent, Action<string, long>? onNote = null, Action<DropReason>? onDrop = null, PipelineOptions? options = null)
    {
        _onEvent = onEvent;
        _onNote = onNote;
        Pipeline = new SignallingPipeline(this, options);
        if (onDrop is not null)
        {
            Pipeline.Statistics.DropCounted += onDrop;
        }
    }

    public SignallingPipeline Pipeline { get; }

    public PipelineStatistics Statistics => Pipeline.Statistics;

    public TrackerState Tracker => _tracker;

    /// <summary>Called with every tracker step (tests check the tracker's invariants and its notes there).</summary>
    internal Action<TrackerStep>? AfterStep { get; set; }

    /// <summary>One frame through the pipeline; its events are handed to the callback before this returns.</summary>
    public void Process(in CaptureFrame frame) => Pipeline.Process(frame);

    /// <summary>Reads a whole source (file or live) through the pipeline.</summary>
    public void Run(IFrameSource source, CancellationToken cancellation = default) => Pipeline.Run(source, cancellation);

    /// <summary>Feeds one tracker input that did not come from a frame (a testbed or simulator with its own transport).</summary>
    public void Feed(TrackerInput input, long frame)
    {
        var step = UeTracker.Apply(_tracker, input);
        _tracker = step.State;
        AfterStep?.Invoke(step);
        foreach (var note in step.Notes)
        {
            _onNote?.Invoke(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{input.At.TotalSeconds:0.000000} frame {frame}: {note}"), frame);
        }

        foreach (var e in step.Events)
        {
            _onEvent(e, frame);
        }
    }

    void ISignallingSink.OnS1ap(in PayloadContext context, S1apSummary summary) =>
        Feed(S1apSignalFactory.From(summary, At(context), context.Source, context.Destination), context.FrameNumber);

    void INgapSignallingSink.OnNgap(in PayloadContext context, NgapSummary summary) =>
        Feed(NgapSignalFactory.From(summary, At(context), context.Source, context.Destination), context.FrameNumber);

    void ISignallingSink.OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
    {
        var input = kind == UdpPayloadKind.Gtpu
            ? GtpSignalFactory.FromGtpu(payload, At(context), context.Source, context.Destination, out var error)
            : GtpSignalFactory.FromGtpc(payload, At(context), context.Source, context.Destination, out error);
        if (error is not null)
        {
            Pipeline.CountDropped(new DropReason(kind == UdpPayloadKind.Gtpu ? DropLayer.Gtpu : DropLayer.Gtpc, error));
        }

        if (input is not null)
        {
            Feed(input, context.FrameNumber);
        }
    }

    private TimeSpan At(in PayloadContext context)
    {
        if (_firstNanos < 0)
        {
            _firstNanos = context.TimestampNanos;
        }

        return TimeSpan.FromTicks((context.TimestampNanos - _firstNanos) / 100);
    }
}
