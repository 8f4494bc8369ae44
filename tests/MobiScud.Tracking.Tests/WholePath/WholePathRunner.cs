using System.Diagnostics;
using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Tracking.Tests.WholePath;

/// <summary>
/// Damaged captures through the real path: frames -> <see cref="TrackerFeed"/> (SignallingPipeline, signal factories,
/// UeTracker, with <see cref="UeTracker.CheckInvariants"/> after every step) -> MobiScudControl.Decide per UE against
/// <see cref="McModel"/>. Failures are collected by signature with the first case that showed each, so one run reports
/// every distinct bug with a reproducer instead of stopping at the first.
/// </summary>
internal sealed class WholePathRunner
{
    private static readonly SiteId _core = new("core");
    private readonly Dictionary<string, (int Count, string FirstCase, Exception First)> _failures = [];

    public long Cases { get; private set; }

    public long Frames { get; private set; }

    public long Events { get; private set; }

    public long Decisions { get; private set; }

    public IReadOnlyDictionary<string, (int Count, string FirstCase, Exception First)> Failures => _failures;

    /// <summary>
    /// Fresh cases check the tracker's invariants after every step in one case of this many, and after the last step
    /// in all. CI: 1 (every case). The 10^7 long run sets <c>MOBISCUD_FUZZ_STEP_CHECKS=100</c>: the per-step check is
    /// 60% of a case's cost, and 10^5 of its cases are still checked step by step.
    /// </summary>
    public static int StepCheckEvery { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_FUZZ_STEP_CHECKS"), out var n) && n > 0 ? n : 1;

    /// <summary>The eNBs of a capture's clean run alternate between two edge sites, so handovers migrate.</summary>
    public static McConfig ConfigFor(CaptureFrames capture, Strategy strategy)
    {
        var sites = new Dictionary<EnbId, SiteId>();
        for (var i = 0; i < capture.Enbs.Count; i++)
        {
            sites[capture.Enbs[i]] = new SiteId(i % 2 == 0 ? "edge-a" : "edge-b");
        }

        return new McConfig(sites, _core, strategy, idleSuspendAfter: TimeSpan.FromSeconds(3), migrationDeadline: TimeSpan.FromSeconds(8));
    }

    /// <summary>A fresh feed and MC for one case.</summary>
    public void RunCase(CaptureFrames capture, int seed)
    {
        var random = new Random(seed);
        var damage = (Damage)random.Next(Enum.GetValues<Damage>().Length);
        var (start, count) = Window(capture, random);
        var frames = FrameMutator.Apply(capture.Frames, start, count, damage, random);
        var model = new McModel(ConfigFor(capture, (Strategy)random.Next(3)), seed);
        var feed = new TrackerFeed((e, _) => model.Handle(e));
        Run($"{capture.Name} seed {seed}: {damage} of frames [{start}, {start + count})", frames, feed, model, 0, Cases % StepCheckEvery == 0);
    }

    /// <summary>Frames into a feed kept across cases (time offset so it keeps moving forward).</summary>
    public void RunInto(TrackerFeed feed, McModel model, CaptureFrames capture, int seed, long offsetNanos, bool checkEveryStep = true)
    {
        var random = new Random(seed);
        var damage = (Damage)random.Next(Enum.GetValues<Damage>().Length);
        var (start, count) = Window(capture, random);
        var frames = FrameMutator.Apply(capture.Frames, start, count, damage, random);
        Run($"long-lived feed, {capture.Name} seed {seed}: {damage} of frames [{start}, {start + count})", frames, feed, model, offsetNanos, checkEveryStep);
    }

    /// <summary>Ten minutes between inputs of a long-lived feed: UEs that do not come back expire after two hours.</summary>
    private const long InputGapNanos = 600_000_000_000L;

    public int LongLivedModelUes { get; private set; }

    /// <summary>The long-lived feed's MC model (one state per UE id it ever saw), so a test can tell its memory apart.</summary>
    public McModel? LongLivedModel { get; private set; }

    /// <summary>
    /// One feed and one MC kept across <paramref name="cases"/> inputs, cycling through the captures; each input starts
    /// ten minutes after the last one's end, so time moves forward as on a long-running tap.
    /// </summary>
    /// <param name="checkEveryStep">Which inputs get the tracker's invariants checked after every step (all get them after the last).</param>
    public TrackerFeed RunLongLived(int cases, int seed, Func<int, bool> checkEveryStep, Action<int> afterInput)
    {
        var captures = CaptureFrames.All;
        var model = new McModel(ConfigFor(captures[0], Strategy.MobiScud), seed);
        var feed = new TrackerFeed((e, _) => model.Handle(e));
        var offset = 0L;
        for (var i = 0; i < cases; i++)
        {
            var capture = captures[i % captures.Count];
            RunInto(feed, model, capture, seed + i, offset, checkEveryStep(i));
            offset += (capture.Frames.Count == 0 ? 0 : capture.Frames[^1].TimestampNanos - capture.Frames[0].TimestampNanos) + InputGapNanos;
            afterInput(i);
        }

        LongLivedModelUes = model.Ues;
        LongLivedModel = model;
        return feed;
    }

    /// <param name="feed">A feed whose events go to <paramref name="model"/>.</param>
    /// <param name="checkEveryStep">Check the tracker's invariants after every step, else only after the last (the check
    /// costs time in proportion to the state, which a long-lived feed makes large).</param>
    public void Run(string description, IReadOnlyList<DamagedFrame> frames, TrackerFeed feed, McModel model, long offsetNanos, bool checkEveryStep = true)
    {
        Cases++;
        feed.AfterStep = step =>
        {
            if (checkEveryStep)
            {
                UeTracker.CheckInvariants(step.State);
            }

            if (step.Notes.FirstOrDefault(n => n.Kind == TrackerNoteKind.Fault) is { } fault)
            {
                throw new InvalidOperationException(fault.Text);
            }
        };
        var before = model.Decisions;
        var eventsBefore = model.Events;
        try
        {
            for (var i = 0; i < frames.Count; i++)
            {
                var f = frames[i];
                feed.Process(f.Frame.ToFrame(i + 1, f.TimestampNanos + offsetNanos));
            }

            UeTracker.CheckInvariants(feed.Tracker);
        }
        catch (Exception e)
        {
            var signature = Signature(e);
            _failures[signature] = _failures.TryGetValue(signature, out var known)
                ? (known.Count + 1, known.FirstCase, known.First)
                : (1, description, e);
        }
        finally
        {
            Frames += frames.Count;
            Events += model.Events - eventsBefore;
            Decisions += model.Decisions - before;
        }
    }

    /// <summary>Counts and rates; rates per CPU second too, since the machine may be shared.</summary>
    public string Report(Stopwatch clock, TimeSpan cpu) =>
        $"{Cases} cases, {Frames} frames, {Events} events, {Decisions} MC decisions in {clock.Elapsed.TotalSeconds:0.0} s wall, {cpu.TotalSeconds:0.0} s CPU " +
        $"({Cases / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):0} cases/s wall, {Cases / Math.Max(cpu.TotalSeconds, 1e-9):0} cases per CPU second, " +
        $"{Frames / Math.Max(cpu.TotalSeconds, 1e-9):0} frames per CPU second); " +
        $"{_failures.Count} failure signatures" +
        string.Concat(_failures.Select(f => $"\n  {f.Value.Count}x {f.Key}\n    first: {f.Value.FirstCase}\n    {f.Value.First}"));

    /// <summary>Mostly windows of up to 300 signalling frames (whole procedures, cheap); one case in ten a whole capture.</summary>
    private static (int Start, int Count) Window(CaptureFrames capture, Random random)
    {
        var n = capture.Frames.Count;
        if (n == 0 || random.Next(10) == 0)
        {
            return (0, n);
        }

        var count = random.Next(1, Math.Min(n, 300) + 1);
        return (random.Next(n - count + 1), count);
    }

    private static string Signature(Exception e)
    {
        var frame = new StackTrace(e, fNeedFileInfo: false).GetFrames()
            .FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("MobiScud", StringComparison.Ordinal) == true);
        var where = frame?.GetMethod() is { } m ? $"{m.DeclaringType?.Name}.{m.Name}" : "?";
        return e switch
        {
            McInvariantException => $"McInvariant: {e.Message.Split(':').ElementAtOrDefault(1)?.Trim()}",

            // A broken tracker invariant or a Fault note: what broke, without the UE keys and numbers that vary.
            InvalidOperationException => $"{e.GetType().Name}: {new string(e.Message.TakeWhile(ch => !char.IsDigit(ch)).Take(80).ToArray())}",
            _ => $"{e.GetType().Name} at {where}",
        };
    }
}
