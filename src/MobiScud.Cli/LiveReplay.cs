using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Cli;

/// <summary>
/// `mobiscud replay --live IFACE`: the live view. One dedicated thread reads the capture, decodes, tracks, lets the MC
/// decide and prints, frame by frame (no queue, no thread pool in between); each UE event and MC command is printed
/// (text) or streamed (JSON lines) as soon as the MC has decided. Stopping (Ctrl+C, SIGTERM, the token) wakes the
/// blocked read; the summary then follows: UEs, messages, drops by reason, the kernel's and the interface's drops,
/// and wire -> decision latency from the kernel's capture timestamp.
/// </summary>
internal sealed class LiveReplay
{
    private readonly ReplaySession _session;
    private readonly TextWriter _output;
    private readonly bool _json;
    private readonly bool _quiet;
    private readonly LinearLatencyHistogram _latency = new();
    private Tee? _tee;
    private bool _dirty;
    private long _wireNanos;
    private LiveTrackerStage? _stage;
    private TimeSpan? _captureCpu;
    private string? _warmedUp;

    public LiveReplay(ReplaySession session, TextWriter output, bool json, bool quiet = false)
    {
        _quiet = quiet;
        _session = session;
        _output = output;
        _json = json;
        session.EntryAdded += OnEntry;
    }

    /// <summary>Decode only: no tracker, no MC (measures the tap's own capacity).</summary>
    public bool DecodeOnly { get; init; }

    /// <summary>1: everything on the capture thread; 2: decode there, tracker + MC + output on a second thread (<see cref="LiveTrackerStage"/>).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>SCHED_RR priority of the capture and tracker threads (1-99); 0: normal scheduling.</summary>
    public int RealtimePriority { get; init; }

    /// <summary>
    /// Decoded messages the ring between the two threads holds (2 threads). Small on purpose: a backlog waits better as
    /// bytes in the kernel's ring than as objects here (measured: 65,536 queued inputs survived collections and went cold,
    /// the tracker's cost per input rose, and it lost 10.7 % at 220,000 S1AP/s where 4,096 lost 3.4 %; docs/capture.md).
    /// </summary>
    public int HandoffCapacity { get; init; } = 1 << 12;

    public int Run(LiveCaptureSource source, string? writePath, PipelineOptions options, TextWriter error, CancellationToken cancellation)
    {
        PcapNgWriter? writer = null;
        try
        {
            writer = writePath is null ? null : new PcapNgWriter(new FileStream(writePath, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20), source.LinkType, source.Interface);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"{writePath}: cannot write: {e.Message}");
            return 2;
        }

        using var registration = cancellation.Register(source.Stop);
        var warm = WarmUp();
        error.WriteLine($"capturing on {source.Interface} ({source.Mode} mode, {(source.NanosecondTimestamps ? "ns" : "µs")} kernel timestamps, filter: {source.Filter}); {warm}; Ctrl+C stops");
        _tee = new Tee(source, writer, this);
        var cpuAtStart = ThreadCpu.Current();
        Realtime("capture");
        ReplayResult result;
        string? failure = null;
        try
        {
            if (DecodeOnly)
            {
                // The tap alone (capture, link, IP, SCTP, S1AP decode), without the tracker and the MC: its own capacity.
                var pipeline = new SignallingPipeline(new NoSink(), options);
                pipeline.Run(_tee, cancellation);
                result = _session.Result(source.Interface) with { Statistics = pipeline.Statistics };
            }
            else if (Threads == 2)
            {
                (result, failure) = RunTwoThreads(source, options, cancellation);
            }
            else
            {
                result = _session.Run(_tee, source.Interface, options, cancellation);
            }

            failure ??= _tee.Failure;
        }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or ArgumentException or IndexOutOfRangeException or NullReferenceException)
        {
            // A fault below us (tracker, MC) on some frame sequence: say where, and still sum up what was seen.
            result = _session.Result(source.Interface);
            failure = $"stopped at frame {_tee.LastFrame} ({source.Interface}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}";
        }

        _captureCpu = ThreadCpu.Current() - cpuAtStart;
        var stats = source.Statistics();
        writer?.Close(TimeProvider.System.GetUtcNow().UtcDateTime.Ticks * 100 - (DateTime.UnixEpoch.Ticks * 100), stats);
        writer?.Dispose();
        Summary(result, stats, source, writer);
        _output.Flush();
        if (failure is not null)
        {
            error.WriteLine(failure);
            return 3;
        }

        return 0;
    }

    private (ReplayResult Result, string? Failure) RunTwoThreads(LiveCaptureSource source, PipelineOptions options, CancellationToken cancellation)
    {
        var stage = new LiveTrackerStage(HandoffCapacity, Track, Flush) { OnFailure = source.Stop, OnThreadStart = () => Realtime("tracker") };
        _stage = stage;
        var pipeline = new SignallingPipeline(stage, options);
        stage.Start(pipeline);
        try
        {
            while (!cancellation.IsCancellationRequested && _tee!.TryReadNext(out var frame))
            {
                pipeline.Process(frame);
                stage.EndFrame();
            }
        }
        finally
        {
            // Every message handed over is tracked (and printed) before the summary; after Ctrl+C for at most a second,
            // so that the summary comes before the command line's termination timeout (the rest is counted).
            stage.Complete(cancellation.IsCancellationRequested ? TimeSpan.FromSeconds(1) : null);
            stage.Dispose();
        }

        var result = _session.Result(source.Interface) with { Statistics = pipeline.Statistics };
        if (stage.Failure is not { } e)
        {
            return (result, null);
        }

        return (result, $"stopped at frame {stage.FailedAtFrame} ({source.Interface}): {e.GetType().Name}: {e.Message} ({stage.NotTrackedAfterFailure} messages, this one and those decoded after it, were not tracked)\n{e.StackTrace}");
    }

    /// <summary>Why a thread did not get <see cref="RealtimePriority"/>, by thread; empty when all did or none was asked.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _realtimeProblems = new();

    /// <summary>Makes the calling thread real-time if asked; a refusal is reported in the summary, and the run goes on at normal priority.</summary>
    private void Realtime(string thread)
    {
        if (RealtimePriority > 0 && MobiScud.Sdn.OpenFlow.RealtimeThread.TrySetCurrent(RealtimePriority) is { } problem)
        {
            _realtimeProblems[thread] = problem;
        }
    }

    /// <summary>The tracker thread's work for one message (2 threads).</summary>
    private void Track(TrackerHandoff handoff)
    {
        _wireNanos = handoff.WireNanos;
        _session.Feed(handoff.Input, handoff.Frame);
    }

    /// <summary>
    /// Compiles the decoders, the tracker and the MC (<see cref="JitWarmUp"/>), then runs the MC and the printing once
    /// on a made-up attach, before the first frame, so that the first real frames do not pay for compiling them
    /// (measured: ~2 s on a loaded machine, while frames queue in the rings). Says what it did, for the start line.
    /// Called before the capture opens (so that no frame waits for it); <see cref="Run"/> calls it if that was not done.
    /// </summary>
    public string WarmUp()
    {
        if (_warmedUp is { } done)
        {
            return done;
        }

        var assemblies = new[] { typeof(SignallingPipeline).Assembly, typeof(MobiScud.Protocols.S1ap.S1apSummary).Assembly };
        if (!DecodeOnly)
        {
            assemblies = [.. assemblies, typeof(MobiScud.Tracking.TrackerFeed).Assembly, typeof(MobiScudControl).Assembly];
        }

        Type[] ours = [typeof(LiveReplay), typeof(Tee), typeof(ReplaySession), typeof(LiveTrackerStage), typeof(SpscRing<TrackerHandoff>), typeof(LinearLatencyHistogram)];
        var (prepared, refused, elapsed) = JitWarmUp.Prepare(assemblies.SelectMany(a => a.GetTypes()).Concat(ours), TimeProvider.System);

        // Compiling each method is not all: generic code over our own structs (the tracker's immutable maps keyed by
        // them) compiles only when first called. So the same path as the capture's then runs, in a throwaway session
        // and to no output, over small captures embedded in the CLI (measured: without this the first frames of a run
        // still waited ~0.5-1 s for the JIT).
        var replayed = 0L;
        if (!DecodeOnly)
        {
            var assembly = typeof(LiveReplay).Assembly;
            foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("warm-up/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"embedded capture {name} is missing");
                using var capture = CaptureFile.Open(stream, name);
                replayed += Rehearse(capture, _json);
            }
        }

        var enb = new EnbId(1);
        var e = new UeAttached(TimeSpan.Zero, new UeId("warm-up"), "001010000000001", IPAddress.Loopback, enb, 1, [new Bearer(5, new GtpEndpoint(IPAddress.Loopback, 1), new GtpEndpoint(IPAddress.Loopback, 2))]);
        var decision = MobiScudControl.Decide(new McConfig(new Dictionary<EnbId, SiteId> { [enb] = new("warm-up") }, new SiteId("core")), null, e);
        var entry = new ReplayEntry(TimeSpan.Zero, 0, e, decision.Commands);
        _ = ReplayCommand.EntryJson(entry).ToJsonString();
        _ = ReplayCommand.Describe(e) + string.Concat(decision.Commands.Select(ReplayCommand.Describe));
        _ = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UnixEpoch.AddTicks(1):HH:mm:ss.fffffff}");
        _warmedUp = string.Create(CultureInfo.InvariantCulture, $"warm-up: {prepared} methods compiled in {elapsed.TotalSeconds:0.0} s{(refused > 0 ? $" ({refused} left to their first call)" : string.Empty)}, {replayed} UE events rehearsed");
        return _warmedUp;
    }

    /// <summary>
    /// The live path over <paramref name="capture"/> in a throwaway session: decode, the handoff to a tracker thread, the
    /// tracker, the MC and the rendering of each line (to nowhere). Returns the UE events it produced.
    /// </summary>
    private static long Rehearse(IFrameSource capture, bool json)
    {
        var session = new ReplaySession(retain: false);
        var rehearsal = new LiveReplay(session, TextWriter.Null, json) { Threads = 2 };
        var stage = new LiveTrackerStage(1 << 10, rehearsal.Track, rehearsal.Flush);
        rehearsal._stage = stage;
        var pipeline = new SignallingPipeline(stage);
        stage.Start(pipeline);
        try
        {
            while (capture.TryReadNext(out var frame))
            {
                pipeline.Process(frame);
                stage.EndFrame();
            }
        }
        finally
        {
            stage.Complete();
            stage.Dispose();
        }

        if (stage.Failure is { } e)
        {
            throw new InvalidOperationException($"the warm-up's own capture failed in the tracker at frame {stage.FailedAtFrame}: {e.Message}", e);
        }

        return session.EntryCount;
    }

    private void OnEntry(ReplayEntry entry)
    {
        // Both clocks are CLOCK_REALTIME: the kernel stamps the frame as the interface receives it.
        var wire = Threads == 2 ? _wireNanos : _tee!.LastNanos;
        var decided = (TimeProvider.System.GetUtcNow().UtcDateTime.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        _latency.Add(decided - wire);
        if (_quiet)
        {
            return;
        }

        var time = DateTime.UnixEpoch.AddTicks(wire / 100).ToString("HH:mm:ss.fffffff", CultureInfo.InvariantCulture);
        if (_json)
        {
            var line = ReplayCommand.EntryJson(entry);
            line.Insert(0, "type", "event");
            line.Insert(1, "ue", entry.Event.Ue.Value);
            line["wireNanos"] = wire;
            line["decisionMicros"] = (decided - wire) / 1000.0;
            _output.WriteLine(line.ToJsonString());
        }
        else
        {
            var ue = entry.Event.Ue.Value;
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{entry.Frame,7} {time} {ue} {ReplayCommand.Describe(entry.Event)}"));
            foreach (var c in entry.Commands)
            {
                _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{entry.Frame,7} {time} {ue}   -> {ReplayCommand.Describe(c)}"));
            }
        }

        _dirty = true;
    }

    private void Flush()
    {
        if (_dirty)
        {
            _output.Flush();
            _dirty = false;
        }
    }

    private void Summary(ReplayResult result, LiveCaptureStatistics capture, LiveCaptureSource source, PcapNgWriter? writer)
    {
        var s = result.Statistics;

        // The live session keeps counts, not its entries (it streams them), so that memory stays flat over a long run.
        var ues = _session.UeCount;
        var events = _session.EntryCount;
        var notes = _session.NoteCount;
        var trackerCpu = _stage?.TrackerCpu;
        var processCpu = Environment.CpuUsage.TotalTime;
        if (_json)
        {
            // Not ReplayCommand.ToJson: that renders every UE's timeline (seconds for a long capture), and the summary
            // must be out before the command line's termination timeout.
            var dropped = new JsonArray();
            foreach (var (reason, count) in s.Dropped.OrderBy(d => d.Key.Layer).ThenBy(d => d.Key.Reason, StringComparer.Ordinal))
            {
                dropped.Add(new JsonObject { ["layer"] = reason.Layer.ToString(), ["reason"] = reason.Reason, ["count"] = count });
            }

            var summary = new JsonObject
            {
                ["type"] = "summary",
                ["source"] = result.Source,
                ["frames"] = s.Frames,
                ["s1apMessages"] = s.S1apMessages,
                ["ngapMessages"] = s.NgapMessages,
                ["gtpcPackets"] = s.GtpcPackets,
                ["gtpuPackets"] = s.GtpuPackets,
                ["undecodable"] = s.Undecodable,
                ["dropped"] = dropped,
                ["notes"] = notes,
            };
            summary["ueCount"] = ues;
            summary["events"] = events;
            summary["capture"] = new JsonObject
            {
                ["interface"] = source.Interface,
                ["mode"] = source.Mode.ToString(),
                ["filter"] = source.Filter,
                ["nanosecondTimestamps"] = source.NanosecondTimestamps,
                ["received"] = capture.Received,
                ["kernelDropped"] = capture.KernelDropped,
                ["interfaceDropped"] = capture.InterfaceDropped,
                ["unreadAtStop"] = Math.Max(0, capture.Received - capture.KernelDropped - s.Frames),
                ["written"] = writer?.Frames,
            };
            summary["decisionMicros"] = _latency.ToJson();
            summary["threads"] = DecodeOnly ? 1 : Threads;
            summary["realtimePriority"] = RealtimePriority;
            summary["realtimeRefused"] = _realtimeProblems.IsEmpty ? null : new JsonObject(_realtimeProblems.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));

            // Where the CPU went: the capture thread (read + decode; with 1 thread everything), the tracker thread
            // (tracker, MC, output), the whole process (GC and the runtime's threads included).
            summary["cpuSeconds"] = new JsonObject
            {
                ["capture"] = _captureCpu?.TotalSeconds,
                ["tracker"] = trackerCpu?.TotalSeconds,
                ["process"] = processCpu.TotalSeconds,
            };
            summary["handoff"] = _stage is not { } st ? null : new JsonObject
            {
                ["capacity"] = st.Capacity,
                ["handedOver"] = st.HandedOver,
                ["fullWaits"] = st.FullWaits,
                ["maxDepth"] = st.MaxDepth,
                ["tracked"] = st.Tracked,
                ["notTracked"] = st.NotTrackedAfterFailure,
                ["leftAtStop"] = st.LeftAtStop,
            };
            _output.WriteLine(summary.ToJsonString());
            return;
        }

        var o = _output;
        o.WriteLine();
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Source}: {s.Frames} frames, {s.S1apMessages} S1AP messages, {s.NgapMessages} NGAP messages, {s.GtpcPackets} GTPv2-C, {s.GtpuPackets} GTP-U packets, {ues} UEs, {events} UE events"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"capture: {capture.Received} frames past the kernel filter, {capture.KernelDropped} dropped by the kernel (ring full), {capture.InterfaceDropped} dropped by the interface, {Math.Max(0, capture.Received - capture.KernelDropped - s.Frames)} still unread in the ring at the stop{(writer is null ? string.Empty : $", {writer.Frames} written")}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"undecodable: {s.Undecodable}"));
        foreach (var (reason, count) in s.Dropped.OrderBy(d => d.Key.Layer).ThenBy(d => d.Key.Reason, StringComparer.Ordinal))
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  not used: {(reason.Layer == DropLayer.Ignored ? "ignored (not signalling)" : reason.Layer.ToString())} {reason.Reason}: {count}"));
        }

        if (_stage is { } stage)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"handoff capture -> tracker thread: {stage.HandedOver} messages, ring of {stage.Capacity}, deepest {stage.MaxDepth}, full {stage.FullWaits} times (the capture waited; the kernel's ring held the rest), {stage.NotTrackedAfterFailure} not tracked after a fault, {stage.LeftAtStop} left untracked at the stop"));
        }

        o.WriteLine($"wire -> MC decision: {_latency.Describe()}");
        foreach (var (thread, problem) in _realtimeProblems.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o.WriteLine($"real-time priority {RealtimePriority} refused for the {thread} thread: {problem}");
        }

        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CPU: capture thread {_captureCpu?.TotalSeconds:0.00} s, tracker thread {trackerCpu?.TotalSeconds:0.00} s, process {processCpu.TotalSeconds:0.00} s"));
        if (notes > 0)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tracker notes: {notes} (the first {Math.Min(notes, ReplaySession.KeptNotes)})"));
            foreach (var note in result.Notes.Take(ReplaySession.KeptNotes))
            {
                o.WriteLine($"  {note}");
            }
        }
    }

    private sealed class NoSink : ISignallingSink
    {
        public void OnS1ap(in PayloadContext context, MobiScud.Protocols.S1ap.S1apSummary summary)
        {
        }

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
        {
        }
    }

    /// <summary>The live source as the session reads it: records each frame (--write), remembers its kernel time, and flushes printed lines before blocking for the next frame.</summary>
    private sealed class Tee(LiveCaptureSource source, PcapNgWriter? writer, LiveReplay owner) : IFrameSource
    {
        public long LastNanos { get; private set; }

        public long LastFrame { get; private set; }

        /// <summary>Why the capture ended early (the interface went away); what was seen until then is still summed up.</summary>
        public string? Failure { get; private set; }

        public bool TryReadNext(out CaptureFrame frame)
        {
            if (owner.Threads == 1)
            {
                // With two threads the tracker thread writes and flushes the output.
                owner.Flush();
            }

            try
            {
                if (!source.TryReadNext(out frame))
                {
                    return false;
                }
            }
            catch (CaptureFormatException e)
            {
                Failure = e.Message;
                frame = default;
                return false;
            }

            LastNanos = frame.TimestampNanos;
            LastFrame = frame.Number;
            writer?.Write(frame.TimestampNanos, frame.Data.Span, frame.OriginalLength);
            return true;
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>Latencies in 1 µs buckets up to 1 s (above: one overflow bucket), so that recording allocates nothing.</summary>
internal sealed class LinearLatencyHistogram
{
    private const int Buckets = 1_000_000;
    private readonly long[] _counts = new long[Buckets + 1];
    private long _count;
    private long _negative;
    private long _max;

    public long Count => _count;

    public void Add(long nanos)
    {
        if (nanos < 0)
        {
            // A frame stamped after the decision: the clock was stepped. Counted, not placed.
            _negative++;
            return;
        }

        _counts[Math.Min(nanos / 1000, Buckets)]++;
        _count++;
        _max = Math.Max(_max, nanos);
    }

    public double PercentileMicros(double p)
    {
        var rank = (long)Math.Ceiling(p * _count);
        long seen = 0;
        for (var i = 0; i <= Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= rank && seen > 0)
            {
                return i + 1;
            }
        }

        return 0;
    }

    public string Describe() => _count == 0
        ? "no UE events"
        : string.Create(CultureInfo.InvariantCulture, $"p50 <= {PercentileMicros(0.5)} µs, p99 <= {PercentileMicros(0.99)} µs, max {_max / 1000.0:0.0} µs over {_count} events{(_negative > 0 ? $" ({_negative} with the clock stepped back)" : string.Empty)}");

    public JsonObject ToJson() => new()
    {
        ["count"] = _count,
        ["p50"] = _count == 0 ? null : PercentileMicros(0.5),
        ["p99"] = _count == 0 ? null : PercentileMicros(0.99),
        ["max"] = _count == 0 ? null : _max / 1000.0,
    };
}
