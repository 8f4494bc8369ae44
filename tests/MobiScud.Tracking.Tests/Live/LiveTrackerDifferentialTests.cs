using System.Globalization;
using MobiScud.Tracking.Tests.WholePath;
using Xunit.Abstractions;

namespace MobiScud.Tracking.Tests.Live;

/// <summary>
/// Differential property: the feed's mutable tracker (one <see cref="LiveTracker"/> changed in place, a snapshot only
/// now and then) gives the same events, the same notes and the same state as the pure step
/// <see cref="UeTracker.Apply(TrackerState, TrackerInput)"/> run from each immutable state in turn, reloaded at every
/// step (so the reference never shares a store with the feed). Inputs: random windows of every capture in data/captures,
/// damaged as a lossy tap damages them, alone or two interleaved by time.
/// </summary>
/// <remarks>CI: <see cref="DefaultCases"/> cases; a longer run sets <c>MOBISCUD_DIFF_CASES</c> (and <c>MOBISCUD_DIFF_SEED</c>).</remarks>
public sealed class LiveTrackerDifferentialTests(ITestOutputHelper output)
{
    private const int DefaultCases = 120;

    [Fact]
    public void The_feeds_mutable_tracker_gives_the_pure_steps_events_notes_and_state()
    {
        var cases = Setting("MOBISCUD_DIFF_CASES", DefaultCases);
        var seed = Setting("MOBISCUD_DIFF_SEED", 0);
        var captures = CaptureFrames.All;
        Assert.NotEmpty(captures);
        long steps = 0, events = 0, compared = 0;
        for (var i = 0; i < cases; i++)
        {
            var random = new Random(seed + i);
            var (frames, description) = Frames(captures, random);
            var what = $"case {seed + i}: {description}";

            // The feed as a host runs it, asked for a snapshot every so often (or only at the end); in some cases the
            // store tracks so few changes that it rebuilds its snapshots whole.
            var inputs = new List<(TrackerInput Input, long Frame)>();
            var liveEvents = new List<string>();
            var liveNotes = new List<string>();
            var snapshots = new Dictionary<int, string>();
            var every = random.Next(4) switch { 0 => 3, 1 => 17, 2 => 97, _ => int.MaxValue };
            var feed = new TrackerFeed((e, f) => liveEvents.Add($"{f}: {StateText.Of(e)}"))
            {
                Noted = (n, _, f) => liveNotes.Add($"{f}: {n.Kind} {n.Text}"),
            };
            if (random.Next(3) == 0)
            {
                feed.Live.Index.MaxTrackedChanges = random.Next(1, 40);
            }

            feed.Fed = (input, f) =>
            {
                if (inputs.Count % every == 0)
                {
                    snapshots[inputs.Count] = StateText.Of(feed.Tracker);
                }

                inputs.Add((input, f));
            };
            foreach (var (frame, n) in frames.Select((f, n) => (f, n)))
            {
                feed.Process(frame.Frame.ToFrame(n + 1, frame.TimestampNanos));
            }

            // The reference: the pure step from each state, loaded afresh every time (a new TrackerState object).
            var state = TrackerState.Empty;
            var pureEvents = new List<string>();
            var pureNotes = new List<string>();
            for (var k = 0; k < inputs.Count; k++)
            {
                if (snapshots.TryGetValue(k, out var snapshot))
                {
                    Assert.True(snapshot == StateText.Of(state), $"{what}: state before input {k} differs\nlive: {snapshot}\npure: {StateText.Of(state)}");
                    compared++;
                }

                var (input, frame) = inputs[k];
                var step = UeTracker.Apply(state with { }, input);
                pureEvents.AddRange(step.Events.Select(e => $"{frame}: {StateText.Of(e)}"));
                pureNotes.AddRange(step.Notes.Select(n => $"{frame}: {n.Kind} {n.Text}"));
                state = step.State;
            }

            Assert.Equal(pureEvents, liveEvents);
            Assert.Equal(pureNotes, liveNotes);
            Assert.DoesNotContain(liveNotes, n => n.Contains(" Fault ", StringComparison.Ordinal));
            Assert.True(StateText.Of(state) == StateText.Of(feed.Tracker), $"{what}: final state differs");
            UeTracker.CheckInvariants(feed.Tracker);
            steps += inputs.Count;
            events += liveEvents.Count;
            compared++;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cases} cases, {steps} tracker inputs, {events} events, {compared} states compared: no difference"));
        Assert.True(events > 0, "no case produced an event: the comparison would be empty");
    }

    /// <summary>A damaged window of one capture, or of two captures interleaved by time (their UEs, eNBs and ids collide).</summary>
    private static (List<DamagedFrame> Frames, string Description) Frames(IReadOnlyList<CaptureFrames> captures, Random random)
    {
        var first = captures[random.Next(captures.Count)];
        var (frames, description) = Damaged(first, random);
        if (random.Next(2) == 0)
        {
            return (frames, description);
        }

        var second = captures[random.Next(captures.Count)];
        var (other, otherDescription) = Damaged(second, random);
        if (frames.Count == 0 || other.Count == 0)
        {
            return ([.. frames, .. other], $"{description} + {otherDescription}");
        }

        // The second starts somewhere within the first's span.
        var span = Math.Max(1, frames.Max(f => f.TimestampNanos) - frames[0].TimestampNanos);
        var shift = frames[0].TimestampNanos - other[0].TimestampNanos + (long)(random.NextDouble() * span);
        var merged = frames.Concat(other.Select(f => f with { TimestampNanos = f.TimestampNanos + shift }))
            .OrderBy(f => f.TimestampNanos)
            .ToList();
        return (merged, $"{description} interleaved with {otherDescription}");
    }

    private static (List<DamagedFrame> Frames, string Description) Damaged(CaptureFrames capture, Random random)
    {
        var damage = (Damage)random.Next(Enum.GetValues<Damage>().Length);
        var n = capture.Frames.Count;
        var count = n == 0 || random.Next(8) == 0 ? n : random.Next(1, Math.Min(n, 400) + 1);
        var start = random.Next(n - count + 1);
        return (FrameMutator.Apply(capture.Frames, start, count, damage, random), $"{capture.Name} {damage} [{start}, {start + count})");
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v >= 0 ? v : fallback;
}
