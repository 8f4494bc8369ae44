using MobiScud.Capture;
using MobiScud.Control.Model;
using MobiScud.Protocols.S1ap;
using MobiScud.TestSupport;
using MobiScud.Tracking;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>Runs a shared capture through the pipeline and the tracker (no MC), optionally rewriting inputs.</summary>
internal sealed class TrackerHarness : ISignallingSink
{
    private readonly Func<TrackerInput, TrackerInput?> _filter;
    private long _first = -1;

    private TrackerHarness(Func<TrackerInput, TrackerInput?> filter) => _filter = filter;

    public List<(long Frame, UeEvent Event)> Events { get; } = [];

    public TrackerState State { get; private set; } = TrackerState.Empty;

    public static TrackerHarness Run(string capture, Func<TrackerInput, TrackerInput?>? filter = null)
    {
        var harness = new TrackerHarness(filter ?? (i => i));
        using var source = CaptureFile.Open(TestData.Capture(capture));
        new SignallingPipeline(harness).Run(source);
        return harness;
    }

    public List<UeEvent> For(string ue) => Events.Where(e => e.Event.Ue.Value == ue).Select(e => e.Event).ToList();

    public void OnS1ap(in PayloadContext context, S1apSummary summary) =>
        Feed(S1apSignalFactory.From(summary, At(context), context.Source, context.Destination), context.FrameNumber);

    public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
    {
        var input = kind == UdpPayloadKind.Gtpu
            ? GtpSignalFactory.FromGtpu(payload, At(context), context.Source, context.Destination, out _)
            : GtpSignalFactory.FromGtpc(payload, At(context), context.Source, context.Destination, out _);
        if (input is not null)
        {
            Feed(input, context.FrameNumber);
        }
    }

    private void Feed(TrackerInput input, long frame)
    {
        if (_filter(input) is not { } kept)
        {
            return;
        }

        var step = UeTracker.Apply(State, kept);
        State = step.State;
        Events.AddRange(step.Events.Select(e => (frame, e)));
    }

    private TimeSpan At(in PayloadContext context)
    {
        if (_first < 0)
        {
            _first = context.TimestampNanos;
        }

        return TimeSpan.FromTicks((context.TimestampNanos - _first) / 100);
    }
}
