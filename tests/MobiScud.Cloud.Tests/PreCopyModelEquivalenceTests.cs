using MobiScud.Cloud.Simulated;

namespace MobiScud.Cloud.Tests;

/// <summary>
/// The pre-copy model (direct migrations on a per-link virtual clock and heap) against the model it replaced, which
/// advanced every migration on a link one by one (<see cref="RefPreCopyModel"/>): random starts, cancels and
/// background changes on a mix of direct and routed paths, with different caps, must give the same outcome for
/// every migration, up to float rounding (a wake-up may land a tick apart).
/// </summary>
public sealed class PreCopyModelEquivalenceTests
{
    private const double MiB = 1024 * 1024;

    // CI size; PRECOPY_EQUIVALENCE_SEEDS=500 for a longer run.
    private static readonly int _seeds = int.TryParse(Environment.GetEnvironmentVariable("PRECOPY_EQUIVALENCE_SEEDS"), out var n) ? n : 40;

    public static TheoryData<int> SeedGroups()
    {
        var data = new TheoryData<int>();
        for (var g = 0; g < 4; g++)
        {
            data.Add(g);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SeedGroups))]
    public void SameOutcomesAsThePerMigrationModel(int group)
    {
        for (var seed = group; seed < _seeds; seed += 4)
        {
            Compare(seed);
        }
    }

    [Fact]
    public void HundredsOnOneLinkFinishInTheOrderOfTheirRemainingBytes()
    {
        // 300 idle guests of different sizes start together on one link: processor sharing ends them smallest first,
        // and the link carries exactly their memory.
        var script = new List<Op>();
        var rng = new Random(5);
        var total = 0.0;
        for (var i = 0; i < 300; i++)
        {
            var mem = (long)(rng.Next(10, 200) * MiB);
            total += mem;
            script.Add(new Op(TimeSpan.Zero, OpKind.Start, [0], new PreCopyParameters(mem, 0, 0, TimeSpan.FromMilliseconds(300), 30, 1e12, TimeSpan.Zero), 0, 0));
        }

        var (results, model) = RunNew(script, [1000 * MiB]);
        var ends = results.Where(r => r.Result is not null).OrderBy(r => r.Result!.Value.CompletesAt).Select(r => script[r.Index].Parameters!.MemoryBytes).ToList();
        Assert.Equal(300, ends.Count);
        Assert.Equal(ends.Order().ToList(), ends);
        model.Flush(TimeSpan.FromHours(1));
        Assert.Equal(total, model.MigrationBytes(0), total * 1e-12);
        Assert.Equal(0, model.ActiveOn(0));
    }

    private static void Compare(int seed)
    {
        var rng = new Random(seed);
        var linkCount = rng.Next(1, 5);
        var bandwidths = Enumerable.Range(0, linkCount).Select(_ => rng.Next(50, 1000) * MiB).ToArray();
        var script = new List<Op>();
        var t = TimeSpan.Zero;
        var starts = 0;
        var ops = rng.Next(20, 200);
        for (var i = 0; i < ops; i++)
        {
            t += TimeSpan.FromTicks(rng.NextInt64(0, TimeSpan.TicksPerSecond * 3));
            var r = rng.NextDouble();
            if (r < 0.6 || starts == 0)
            {
                // Mostly direct paths; a fifth routed over two or three links.
                int[] path = rng.NextDouble() < 0.8 || linkCount == 1
                    ? [rng.Next(linkCount)]
                    : [.. Enumerable.Range(0, linkCount).OrderBy(_ => rng.Next()).Take(rng.Next(2, Math.Min(3, linkCount) + 1))];
                var p = new PreCopyParameters(
                    (long)(rng.Next(16, 1024) * MiB),
                    rng.Next(0, 4) == 0 ? 0 : rng.Next(1, 200) * MiB,
                    (long)(rng.Next(0, 256) * MiB),
                    TimeSpan.FromMilliseconds(rng.Next(10, 500)),
                    rng.Next(1, 30),
                    // Two caps most of the time, so a link holds more than one class.
                    rng.Next(0, 3) == 0 ? 20 * MiB : 1e12,
                    TimeSpan.FromMilliseconds(rng.Next(0, 50)));
                script.Add(new Op(t, OpKind.Start, path, p, 0, 0));
                starts++;
            }
            else if (r < 0.85)
            {
                script.Add(new Op(t, OpKind.Cancel, [], null, rng.Next(starts), 0));
            }
            else
            {
                script.Add(new Op(t, OpKind.Background, [], null, rng.Next(linkCount), rng.Next(0, 3) == 0 ? 0 : rng.NextDouble() * bandwidths[0] * 1.2));
            }
        }

        var (got, model) = RunNew(script, bandwidths);
        var (want, reference) = RunReference(script, bandwidths);
        Assert.Equal(want.Count, got.Count);
        for (var i = 0; i < want.Count; i++)
        {
            var w = want[i];
            var g = got[i];
            var where = $"seed {seed}, migration {i} (op {w.Index})";
            Assert.True(w.Phase == g.Phase, $"{where}: phase {g.Phase}, reference {w.Phase}");
            Assert.True(Close(w.BytesSent, g.BytesSent), $"{where}: {g.BytesSent} bytes sent, reference {w.BytesSent}");
            if (w.Result is { } wr)
            {
                var gr = g.Result!.Value;
                Assert.True(wr.Rounds == gr.Rounds, $"{where}: {gr.Rounds} rounds, reference {wr.Rounds}");
                Assert.True(CloseTime(wr.CompletesAt, gr.CompletesAt), $"{where}: completes {gr.CompletesAt}, reference {wr.CompletesAt}");
                Assert.True(CloseTime(wr.CompletesAt - wr.Downtime, gr.CompletesAt - gr.Downtime), $"{where}: downtime {gr.Downtime}, reference {wr.Downtime}");
                Assert.True(Close(wr.BytesSent, gr.BytesSent), $"{where}: result bytes {gr.BytesSent}, reference {wr.BytesSent}");
            }
        }

        var end = script[^1].At + TimeSpan.FromHours(2);
        model.Flush(end);
        reference.Flush(end);
        for (var l = 0; l < bandwidths.Length; l++)
        {
            Assert.True(Close(reference.MigrationBytes(l), model.MigrationBytes(l)), $"seed {seed}, link {l}: {model.MigrationBytes(l)} migration bytes, reference {reference.MigrationBytes(l)}");
            Assert.Equal(reference.ActiveOn(l), model.ActiveOn(l));
        }
    }

    // Float sums in another order, and a wake-up rounded up to the next 100 ns tick on one side and not the other,
    // shift what follows by a few ticks and the dirty bytes by rate x ticks (seen: up to 1.5e-7 relative over 2,000 seeds); a
    // wrong share or phase would be off by whole percent.
    private static bool Close(double a, double b) => Math.Abs(a - b) <= 16 + (Math.Max(Math.Abs(a), Math.Abs(b)) * 1e-6);

    private static bool CloseTime(TimeSpan a, TimeSpan b) => Math.Abs((a - b).Ticks) <= 100 + (Math.Max(a.Ticks, b.Ticks) * 1e-6);

    private enum OpKind
    {
        Start,
        Cancel,
        Background,
    }

    private sealed record Op(TimeSpan At, OpKind Kind, int[] Path, PreCopyParameters? Parameters, int Target, double Rate);

    private sealed record Outcome(int Index, PreCopyPhase Phase, double BytesSent, PreCopyResult? Result);

    private static (List<Outcome> Outcomes, PreCopyMigrationModel Model) RunNew(List<Op> script, double[] bandwidths)
    {
        var loop = new Loop();
        var results = new Dictionary<PreCopyMigration, PreCopyResult>();
        PreCopyMigrationModel? model = null;
        model = new PreCopyMigrationModel(new Host(
            (at, l, v) => loop.At(at, () => model!.OnWake(at, l, v)),
            (m, r) => results.Add(m, r)));
        foreach (var b in bandwidths)
        {
            model.AddLink(b);
        }

        var outcomes = Drive(
            script, loop, (at, op) => model.Start(at, op.Path, op.Parameters!, null), (at, m) => model.Cancel(at, m), model.SetBackground,
            m => new Outcome(0, m.Phase, m.BytesSent, results.TryGetValue(m, out var r) ? r : null));
        return (outcomes, model);
    }

    private static (List<Outcome> Outcomes, RefPreCopyModel Model) RunReference(List<Op> script, double[] bandwidths)
    {
        var loop = new Loop();
        var results = new Dictionary<RefPreCopyMigration, PreCopyResult>();
        RefPreCopyModel? model = null;
        model = new RefPreCopyModel(new RefHost(
            (at, l, v) => loop.At(at, () => model!.OnWake(at, l, v)),
            (m, r) => results.Add(m, r)));
        foreach (var b in bandwidths)
        {
            model.AddLink(b);
        }

        var outcomes = Drive(
            script, loop, (at, op) => model.Start(at, op.Path, op.Parameters!, null), (at, m) => model.Cancel(at, m), model.SetBackground,
            m => new Outcome(0, m.Phase, m.BytesSent, results.TryGetValue(m, out var r) ? r : null));
        return (outcomes, model);
    }

    /// <summary>Plays the script against one model (the same driver for both, so they see exactly the same calls).</summary>
    private static List<Outcome> Drive<TMigration>(
        List<Op> script, Loop loop, Func<TimeSpan, Op, TMigration> start, Func<TimeSpan, TMigration, bool> cancel,
        Action<TimeSpan, int, double> background, Func<TMigration, Outcome> outcome)
    {
        var started = new List<(int Index, TMigration M)>();
        for (var i = 0; i < script.Count; i++)
        {
            var op = script[i];
            var index = i;
            loop.At(op.At, () =>
            {
                switch (op.Kind)
                {
                    case OpKind.Start:
                        started.Add((index, start(op.At, op)));
                        break;
                    case OpKind.Cancel:
                        cancel(op.At, started[op.Target].M);
                        break;
                    default:
                        background(op.At, op.Target, op.Rate);
                        break;
                }
            });
        }

        loop.Run();
        return [.. started.Select(s => outcome(s.M) with { Index = s.Index })];
    }

    /// <summary>Virtual time: actions in time order, ties in the order they were scheduled.</summary>
    private sealed class Loop
    {
        private readonly PriorityQueue<Action, (TimeSpan, long)> _queue = new();
        private long _seq;

        public void At(TimeSpan at, Action action) => _queue.Enqueue(action, (at, _seq++));

        public void Run()
        {
            while (_queue.TryDequeue(out var action, out _))
            {
                action();
            }
        }
    }

    private sealed class Host(Action<TimeSpan, int, long> wake, Action<PreCopyMigration, PreCopyResult> finished) : IPreCopyHost
    {
        public void WakeAt(TimeSpan at, int link, long version) => wake(at, link, version);

        public void Finished(PreCopyMigration migration, PreCopyResult result) => finished(migration, result);
    }

    private sealed class RefHost(Action<TimeSpan, int, long> wake, Action<RefPreCopyMigration, PreCopyResult> finished) : IRefPreCopyHost
    {
        public void WakeAt(TimeSpan at, int link, long version) => wake(at, link, version);

        public void Finished(RefPreCopyMigration migration, PreCopyResult result) => finished(migration, result);
    }
}
