using MobiScud.Capture;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

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
    private readonly LiveTracker _live = new();
    private long _firstNanos = -1;
    private readonly Dictionary<UeKey, List<S1apSignal>> _unnamed = [];

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

    /// <summary>The tracker's state now, as an immutable snapshot: built when asked, from the last one and what changed
    /// since (the feed's own tracker is mutable and owned by the thread that feeds it; ask from that thread).</summary>
    public TrackerState Tracker => _live.Snapshot();

    /// <summary>
    /// The eNB ids the operator configured (a sites map). A cell identity is a macro eNB's id plus a cell, or a whole
    /// Home eNB id: where a capture has no S1 Setup, the reading that names a configured eNB is taken.
    /// </summary>
    public void UseConfiguredEnbs(IEnumerable<EnbId> enbs) => _live.Configure([.. enbs]);

    /// <summary>The feed's own tracker (tests).</summary>
    internal LiveTracker Live => _live;

    /// <summary>Called with every tracker input before its step (differential tests replay them through the pure step).</summary>
    internal Action<TrackerInput, long>? Fed { get; set; }

    /// <summary>Called with every tracker step (tests check the tracker's invariants and its notes there).</summary>
    internal Action<TrackerStep>? AfterStep { get; set; }

    /// <summary>Each tracker note with its kind, time and frame, for a host that judges notes by kind.</summary>
    public Action<TrackerNote, TimeSpan, long>? Noted { get; init; }

    /// <summary>Each S1AP message with the UE it belongs to (the dashboard's ladder); messages of no UE are not passed.</summary>
    public Action<S1apSignal, UeId>? S1apPlaced { get; set; }

    /// <summary>One frame through the pipeline; its events are handed to the callback before this returns.</summary>
    public void Process(in CaptureFrame frame) => Pipeline.Process(frame);

    /// <summary>Reads a whole source (file or live) through the pipeline.</summary>
    public void Run(IFrameSource source, CancellationToken cancellation = default) => Pipeline.Run(source, cancellation);

    /// <summary>Feeds one tracker input that did not come from a frame (a testbed or simulator with its own transport).</summary>
    public void Feed(TrackerInput input, long frame)
    {
        Fed?.Invoke(input, frame);

        // The dashboard's ladder needs the UE the message belonged to before the step (a release takes it away).
        var placing = S1apPlaced is not null && input is S1apSignal p ? Tracked(p, _live.Index) : null;
        var step = UeTracker.Apply(_live, input);
        if (S1apPlaced is not null && input is S1apSignal s)
        {
            Place(s, placing, step.Events);
        }

        if (AfterStep is { } after)
        {
            after(new TrackerStep(_live.Snapshot(), step.Events, step.Notes));
        }

        foreach (var note in step.Notes)
        {
            Noted?.Invoke(note, input.At, frame);
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

    /// <summary>
    /// Passes an S1AP message on with its UE: the one its events name, else the record its connection or MME id points at
    /// (after the step, then before). A record not yet known by name (InitialUEMessage, the NAS exchange before the
    /// attach completes) keeps its messages until it is: then they go out first, in order. Bounded: 64 per record, and
    /// the held messages are dropped past 10,000 unnamed records (they concern no UE the MC will ever see).
    /// </summary>
    private void Place(S1apSignal s, TrackedUe? before, IReadOnlyList<UeEvent> events)
    {
        var tracked = Tracked(s, _live.Index) ?? before;
        var current = tracked is null ? null : _live.Index.Get(tracked.Key) ?? tracked;
        var ue = events.Count > 0 ? events[0].Ue : current?.Id;
        if (ue is null)
        {
            if (current is not null)
            {
                if (!_unnamed.TryGetValue(current.Key, out var held))
                {
                    if (_unnamed.Count >= 10_000)
                    {
                        _unnamed.Clear();
                    }

                    _unnamed[current.Key] = held = [];
                }

                if (held.Count < 64)
                {
                    held.Add(s);
                }
            }

            return;
        }

        if (current is not null && _unnamed.Remove(current.Key, out var earlier))
        {
            foreach (var e in earlier)
            {
                S1apPlaced!(e, ue.Value);
            }
        }

        S1apPlaced!(s, ue.Value);
    }

    private static TrackedUe? Tracked(S1apSignal s, UeStore index)
    {
        var association = SctpAssociationKey.From(s.Source, s.Destination, out _);
        if (s.EnbUeS1apId is { } enbUe && index.ByConnection(new ConnectionKey(association, enbUe)) is { } byConnection)
        {
            return byConnection;
        }

        return s.MmeUeS1apId is { } mme ? index.ByMmeUeS1apId(mme).LastOrDefault() : null;
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
