using System.Collections.Concurrent;
using System.Threading.Channels;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Testbed.Emulation;
using MobiScud.Tracking;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MobiScud.Testbed.Control;

/// <summary>
/// One entry of the MC's timeline: the event (from the tap, or a backend's outcome) and every command that left for it,
/// as the MC's own records (tests match their types and fields; mc-timeline.csv is rendered from them).
/// <paramref name="WireTime"/>: when the frame that caused it was on the wire (for an outcome: when it reached the MC);
/// <paramref name="HandledAt"/>: when its commands had been handed to the backends (PVM commands carried out; steering
/// is confirmed later, <see cref="SteeringPipeline"/>); <paramref name="Frame"/>: the tap's frame number, null for an
/// outcome.
/// </summary>
internal sealed record McTimelineEntry(DateTimeOffset WireTime, DateTimeOffset HandledAt, long? Frame, UeEvent Event, IReadOnlyList<ControlCommand> Commands)
{
    public bool FromTap => Frame is not null;

    /// <summary>When the MC's decision on the event was made, before its commands went out (HandledAt includes the PVM
    /// backends' work).</summary>
    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>Where a tap event's wire -> decision time went; null for an outcome.</summary>
    public DecisionStages? Stages { get; init; }
}

/// <summary>
/// A tap event's way from the wire to the MC's decision, each stamp on the MC's clock: the tap's thread read the frame
/// from libpcap (<paramref name="Read"/>, null when the frames do not come from a live tap), the MC's loop took it
/// (<paramref name="Dequeued"/>), the capture pipeline and the tracker were done with it (<paramref name="Tracked"/>),
/// the event had the MC's turn (<paramref name="Turn"/>: after the events before it, from this frame or a backend's
/// outcome, were handled). <paramref name="OnTapThread"/>: the decision ran on the tap's thread (no hand-off).
/// </summary>
internal sealed record DecisionStages(DateTimeOffset? Read, DateTimeOffset Dequeued, DateTimeOffset Tracked, DateTimeOffset Turn, bool OnTapThread);

/// <summary>
/// What may watch the testbed's MC (the live dashboard), without the testbed knowing it: each hook is optional.
/// </summary>
public sealed record TestbedMcHooks
{
    /// <summary>Wraps the dispatcher every decision goes through (state before and after, and its commands).</summary>
    public Func<ICommandDispatcher, ICommandDispatcher>? Dispatcher { get; init; }

    /// <summary>Each S1AP message the tap placed on a UE.</summary>
    public Action<S1apSignal, UeId>? S1apPlaced { get; init; }

    /// <summary>Each event the MC is about to decide on: from the tap, or a backend's outcome (migration progress).</summary>
    public Action<UeEvent>? Event { get; init; }

    /// <summary>Each ping of the experiment's user plane as it is answered (not the MC's: `testbed run` wires it).</summary>
    public Action<PingSample>? Ping { get; init; }
}

/// <summary>
/// The MC as deployed on the testbed, through the host layer every in-process host shares: frames from the backhaul
/// tap go through <see cref="TrackerFeed"/> (capture pipeline, S1AP and GTP, UE tracker) into an
/// <see cref="InlineMcHost"/>, whose one <see cref="CommandDispatcher"/> drives the PVM and steering backends and a
/// timer scheduler (steering through a <see cref="SteeringPipeline"/>, so that the MC does not wait for a switch);
/// one <see cref="OutcomePump"/> brings their outcomes back to the MC. Event times are MC time: since <c>epoch</c>,
/// the experiment's start.
/// </summary>
internal sealed class TestbedMc : IAsyncDisposable
{
    private readonly ChannelReader<TappedFrame> _frames;
    private readonly LinkType _linkType;
    private readonly DateTimeOffset _epoch;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly TrackerFeed _feed;
    private readonly InlineMcHost _host;
    private readonly SteeringPipeline _pipeline;
    private readonly TimerScheduler _timers;
    private readonly OutcomePump _pump;
    private readonly Action<McTimelineEntry>? _onEntry;
    private readonly Action<UeEvent>? _onEvent;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<UeEvent> _fromFrame = [];
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly Task _loop;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _frameNumber;

    /// <summary>The cause of the step being handled (set under <see cref="_turn"/>).</summary>
    private (DateTimeOffset Wire, long? Frame) _cause;

    /// <summary>When the step being handled had its first decision (set under <see cref="_turn"/>).</summary>
    private DateTimeOffset? _decidedAt;

    /// <summary>The tap event being handled: its frame's stamps so far (set under <see cref="_turn"/>; null for an outcome).</summary>
    private FrameMarks? _marks;

    /// <summary>Its stages, once decided (set under <see cref="_turn"/>).</summary>
    private DecisionStages? _stages;

    /// <param name="frames">The tap's frames (<see cref="BackhaulTap.Frames"/>), in capture order.</param>
    /// <param name="onEntry">Each timeline entry as it is made (the experiment prints the commands).</param>
    /// <param name="linkType">The frames' link layer (the backhaul tap's is Ethernet).</param>
    /// <param name="hooks">What watches the MC (the dashboard).</param>
    /// <param name="log">Where problems are logged as they happen (they are kept in <see cref="Problems"/> too).</param>
    public TestbedMc(
        ChannelReader<TappedFrame> frames, McConfig config, IPvmBackend pvms, ISteeringBackend steering, DateTimeOffset epoch, TimeProvider? time = null,
        Action<McTimelineEntry>? onEntry = null, LinkType linkType = LinkType.Ethernet, TestbedMcHooks? hooks = null, ILogger? log = null)
    {
        _log = log ?? NullLogger.Instance;
        _frames = frames;
        _linkType = linkType;
        _epoch = epoch;
        _time = time ?? TimeProvider.System;
        _onEntry = onEntry;
        _timers = new TimerScheduler(_time, Now);
        Dispatcher = new CommandDispatcher(pvms, steering, _timers, Now, log: _log);
        _onEvent = hooks?.Event;
        _pipeline = new SteeringPipeline(Dispatcher, (ue, e) =>
        {
            Problems.Enqueue(new TestbedProblem(TestbedProblemSource.Steering, "dispatch failed", Error: e) { Ue = ue });
            _log.LogError(e, "testbed MC: dispatch for {Ue} failed", ue);
        });
        _host = new InlineMcHost(config, new DecisionClock(hooks?.Dispatcher?.Invoke(_pipeline) ?? _pipeline, this), OnStep);
        _feed = new TrackerFeed((e, _) => _fromFrame.Add(e))
        {
            S1apPlaced = hooks?.S1apPlaced,

            // The emulated network is whole: a note the tracker makes is a problem, except an eNB named by its S1 Setup.
            Noted = (note, at, frame) =>
            {
                if (note.Kind != TrackerNoteKind.EnbIdentity)
                {
                    Problems.Enqueue(TestbedProblem.FromNote(note, at, frame));
                    _log.LogWarning("tracker note at {At} frame {Frame}: {Note}", at, frame, note);
                }
            },
        };
        _pump = new OutcomePump(new OutcomeSink(this), _log);
        foreach (var (name, reader) in Dispatcher.OutcomeSources)
        {
            _pump.Start(name, reader);
        }

        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    public CommandDispatcher Dispatcher { get; }

    /// <summary>Every event the MC handled and the commands it sent for it, in order.</summary>
    public ConcurrentQueue<McTimelineEntry> Timeline { get; } = new();

    /// <summary>What went wrong on the way (tracker notes, a frame loop failure).</summary>
    public ConcurrentQueue<TestbedProblem> Problems { get; } = new();

    public PipelineStatistics Statistics => _feed.Statistics;

    private TimeSpan Now() => _time.GetUtcNow() - _epoch;

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var frame in _frames.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                var dequeued = _time.GetUtcNow();
                var nanos = (frame.Timestamp - DateTime.UnixEpoch).Ticks * 100;
                _fromFrame.Clear();
                _feed.Process(new CaptureFrame(++_frameNumber, _linkType, nanos, frame.Data, frame.Data.Length, 0));
                if (_fromFrame.Count == 0)
                {
                    continue;
                }

                // The feed's times run from its first frame; the MC's from the epoch, as its timers' do.
                var wire = new DateTimeOffset(DateTime.SpecifyKind(frame.Timestamp, DateTimeKind.Utc));
                var marks = new FrameMarks(frame, dequeued, _time.GetUtcNow());
                foreach (var e in _fromFrame.ToArray())
                {
                    await HandleAsync(e with { At = wire - _epoch }, wire, _frameNumber, marks);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Problems.Enqueue(new TestbedProblem(TestbedProblemSource.Tap, "loop failed", Error: e));
            _log.LogError(e, "testbed MC: the tap loop failed");
        }
        finally
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>Completes once the frames' channel is complete and every frame's events were handled.</summary>
    public Task Drained => _drained.Task;

    private async Task HandleAsync(UeEvent e, DateTimeOffset wire, long? frame, FrameMarks? marks = null)
    {
        await _turn.WaitAsync(_stop.Token).ConfigureAwait(false);
        try
        {
            _cause = (wire, frame);
            _decidedAt = null;
            _marks = marks is null ? null : marks with { Turn = _time.GetUtcNow() };
            _stages = null;
            _onEvent?.Invoke(e);
            await _host.HandleAsync(e, _stop.Token).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }

    private void OnStep(McStep step)
    {
        var entry = new McTimelineEntry(_cause.Wire, _time.GetUtcNow(), _cause.Frame, step.Event, step.Commands) { DecidedAt = _decidedAt, Stages = _stages };
        Timeline.Enqueue(entry);
        _onEntry?.Invoke(entry);
    }

    /// <summary>Completes when every command handed to the backends so far was carried out (steering confirmed or failed).</summary>
    public Task WhenDispatchedAsync() => _pipeline.WhenIdleAsync();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(false);
        await _pipeline.WhenIdleAsync().ConfigureAwait(false);
        await _pump.DisposeAsync();
        _timers.Dispose();
        _stop.Dispose();
    }

    /// <summary>Notes when the MC's first decision of a step is handed to the backends: the wire -> decision time.</summary>
    private sealed class DecisionClock(ICommandDispatcher inner, TestbedMc mc) : ICommandDispatcher
    {
        public bool ReportsAtOnce(IReadOnlyList<ControlCommand> commands) => inner.ReportsAtOnce(commands);

        public Task<IReadOnlyList<UeEvent>> DispatchAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default)
        {
            if (mc._decidedAt is null)
            {
                mc._decidedAt = mc._time.GetUtcNow();
                if (mc._marks is { } m)
                {
                    mc._stages = new DecisionStages(m.Frame.ReadAt, m.Dequeued, m.Tracked, m.Turn, m.Frame.ReaderThread == Environment.CurrentManagedThreadId);
                }
            }

            return inner.DispatchAsync(before, after, commands, ct);
        }
    }

    /// <summary>A tap frame's stamps on its way to the MC's turn.</summary>
    private sealed record FrameMarks(TappedFrame Frame, DateTimeOffset Dequeued, DateTimeOffset Tracked)
    {
        public DateTimeOffset Turn { get; init; }
    }

    /// <summary>Backend outcomes reach the MC stamped with when they came.</summary>
    private sealed class OutcomeSink(TestbedMc mc) : IEventSink
    {
        public async ValueTask PostAsync(UeEvent e, CancellationToken ct = default) => await mc.HandleAsync(e, mc._time.GetUtcNow(), null);
    }
}
