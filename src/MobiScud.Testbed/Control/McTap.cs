using System.Collections.Concurrent;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Protocols;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Nas;
using MobiScud.Protocols.S1ap;
using MobiScud.Testbed.Emulation;
using MobiScud.Tracking;

namespace MobiScud.Testbed.Control;

/// <summary>One line of the MC's timeline: the wire time of the S1AP message that caused it, what it was, when the MC had decided, and what it decided.</summary>
public sealed record McTimelineEntry(DateTime WireTime, DateTime HandledAt, string Message, string? Event, IReadOnlyList<ControlCommand> Commands);

/// <summary>Executes the MC's commands (OpenFlow, QMP ...). Outcomes come back through <see cref="McTap.Report"/>.</summary>
public interface ICommandExecutor
{
    Task ExecuteAsync(ControlCommand command, CancellationToken cancellation);
}

/// <summary>
/// The MC as deployed on the testbed: frames from the backhaul tap go through the capture pipeline (link, IP, UDP,
/// RFC 6951 SCTP, S1AP), the UE tracker turns them into events, the pure MC decides, and the commands go to the
/// executor. Nothing else of the EPC is visible to it.
/// </summary>
public sealed class McTap : ISignallingSink, IAsyncDisposable
{
    private readonly BackhaulTap _tap;
    private readonly MobiScudController _controller;
    private readonly ICommandExecutor? _executor;
    private readonly SignallingPipeline _pipeline;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private readonly DateTime _epoch;
    private readonly Lock _gate = new();
    private TrackerState _tracker = TrackerState.Empty;
    private long _frameNumber;
    private DateTime _currentWireTime;

    public McTap(BackhaulTap tap, McConfig config, ICommandExecutor? executor, DateTime epoch)
    {
        _tap = tap;
        _controller = new MobiScudController(config);
        _executor = executor;
        _epoch = epoch;
        _pipeline = new SignallingPipeline(this);
        _loop = Task.Run(LoopAsync);
    }

    public ConcurrentQueue<McTimelineEntry> Timeline { get; } = new();

    public ConcurrentQueue<string> Problems { get; } = new();

    public PipelineStatistics Statistics => _pipeline.Statistics;

    public MobiScudController Controller => _controller;

    /// <summary>An adapter's outcome (PVM started, migration done/failed) fed back into the MC.</summary>
    public IReadOnlyList<ControlCommand> Report(UeEvent e)
    {
        IReadOnlyList<ControlCommand> commands;
        lock (_gate)
        {
            commands = _controller.Handle(e);
        }

        Dispatch(commands);
        Timeline.Enqueue(new McTimelineEntry(DateTime.UtcNow, DateTime.UtcNow, "(adapter)", e.GetType().Name, commands));
        return commands;
    }

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var frame in _tap.Frames.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                var nanos = (frame.Timestamp - DateTime.UnixEpoch).Ticks * 100;
                _currentWireTime = frame.Timestamp;
                lock (_gate)
                {
                    _pipeline.Process(new CaptureFrame(++_frameNumber, LinkType.Ethernet, nanos, frame.Data, frame.Data.Length, 0));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    void ISignallingSink.OnS1ap(in PayloadContext context, S1apSummary summary)
    {
        var at = _currentWireTime - _epoch;
        var signal = S1apSignalFactory.From(summary, at, context.Source, context.Destination);
        var step = UeTracker.Apply(_tracker, signal);
        _tracker = step.State;
        foreach (var note in step.Notes)
        {
            Problems.Enqueue($"tracker: {note}");
        }

        if (step.Events.Count == 0)
        {
            Timeline.Enqueue(new McTimelineEntry(_currentWireTime, DateTime.UtcNow, summary.MessageName, null, []));
        }

        foreach (var e in step.Events)
        {
            // Hand the commands to the executor before the entry is visible, so a reader of the timeline never sees
            // a decision whose commands have not gone out yet.
            var commands = _controller.Handle(e);
            var decided = DateTime.UtcNow;
            Dispatch(commands);
            Timeline.Enqueue(new McTimelineEntry(_currentWireTime, decided, summary.MessageName, Describe(e), commands));
        }
    }

    void ISignallingSink.OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
    {
        // S1-U is in the capture for the pcap; the MC learns bearers from S1AP (and NAS), not from user traffic.
    }

    private void Dispatch(IReadOnlyList<ControlCommand> commands)
    {
        if (_executor is null)
        {
            return;
        }

        foreach (var c in commands)
        {
            _ = RunAsync(c);
        }

        async Task RunAsync(ControlCommand c)
        {
            try
            {
                await _executor.ExecuteAsync(c, _stop.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Problems.Enqueue($"{c.GetType().Name} for {c.Ue}: {e.Message}");
            }
        }
    }

    private static string Describe(UeEvent e) => e switch
    {
        UeAttached a => $"UeAttached {a.Ue} imsi={a.Imsi} ip={a.UeAddress} at {a.Enb} bearers={string.Join(",", a.Bearers.Select(b => $"{b.ERabId}:ul {b.Uplink} dl {b.Downlink}"))}",
        PathSwitched p => $"PathSwitched {p.Ue} to {p.Target} dl={string.Join(",", p.Downlinks.Select(d => d.Downlink))}",
        HandoverPrepared h => $"HandoverPrepared {h.Ue} {h.Source}->{h.Target} {h.Kind}",
        HandoverCompleted h => $"HandoverCompleted {h.Ue} to {h.Target} dl={string.Join(",", h.Downlinks.Select(d => d.Downlink))}",
        _ => $"{e.GetType().Name} {e.Ue}",
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            Problems.Enqueue("tap loop did not stop within 5 s");
        }

        _stop.Dispose();
    }
}
