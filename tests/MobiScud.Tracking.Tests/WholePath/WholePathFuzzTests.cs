using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace MobiScud.Tracking.Tests.WholePath;

/// <summary>
/// Property: every shared capture, damaged the way a lossy tap damages it (random subsets dropping 0-60%, lost windows,
/// a late start, swapped neighbours, duplicates, timestamps out of order, all at once), through the real decode ->
/// tracker -> MC path, never throws, keeps the tracker's invariants after every step and the MC's guarantees after
/// every command. Seeded: a failure names its capture, damage, window and seed.
/// </summary>
/// <remarks>
/// CI runs <see cref="DefaultCases"/> fresh cases and <see cref="DefaultFeedCases"/> through one long-lived feed. A long
/// run: <c>MOBISCUD_FUZZ_CASES=10000000 MOBISCUD_FUZZ_FEED_CASES=1000000 dotnet test tests/MobiScud.Tracking.Tests -c Release
/// --filter WholePathFuzzTests --logger "console;verbosity=detailed"</c> (MOBISCUD_FUZZ_SEED moves the seeds).
/// </remarks>
public sealed class WholePathFuzzTests(ITestOutputHelper output)
{
    private const int DefaultCases = 100_000;
    private const int DefaultFeedCases = 5_000;

    [Fact]
    public void Damaged_captures_through_decode_tracker_and_core_never_break_an_invariant()
    {
        var cases = Setting("MOBISCUD_FUZZ_CASES", DefaultCases);
        var seed = Setting("MOBISCUD_FUZZ_SEED", 0);
        var captures = CaptureFrames.All;
        Assert.NotEmpty(captures);
        var runner = new WholePathRunner();
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var progress = Environment.GetEnvironmentVariable("MOBISCUD_FUZZ_PROGRESS");
        for (var i = 0; i < cases; i++)
        {
            runner.RunCase(captures[i % captures.Count], seed + i);
            if (progress is not null && (i + 1) % 100_000 == 0)
            {
                // A long run's figures survive it being stopped early.
                File.AppendAllText(progress, runner.Report(clock, Process.GetCurrentProcess().TotalProcessorTime - cpu) + Environment.NewLine);
            }
        }

        output.WriteLine(runner.Report(clock, Process.GetCurrentProcess().TotalProcessorTime - cpu));
        Assert.True(runner.Failures.Count == 0, runner.Report(clock, Process.GetCurrentProcess().TotalProcessorTime - cpu));
    }

    [Fact]
    public void One_long_lived_feed_across_damaged_inputs_never_breaks_and_does_not_grow()
    {
        var cases = Setting("MOBISCUD_FUZZ_FEED_CASES", DefaultFeedCases);
        var seed = Setting("MOBISCUD_FUZZ_SEED", 0) + 1_000_000_000;
        var runner = new WholePathRunner();
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        long? baseline = null;
        var warmup = Math.Max(1, cases / 10);
        // Invariants after every step of one input in ten, after the last step of every input.
        var progress = Environment.GetEnvironmentVariable("MOBISCUD_FUZZ_PROGRESS");
        var feed = runner.RunLongLived(cases, seed, i => i % 10 == 0, i =>
        {
            if (i == warmup - 1)
            {
                baseline = GC.GetTotalMemory(forceFullCollection: true);
            }

            if (progress is not null && (i + 1) % 50_000 == 0)
            {
                File.AppendAllText(progress, string.Create(CultureInfo.InvariantCulture,
                    $"{runner.Report(clock, Process.GetCurrentProcess().TotalProcessorTime - cpu)}; retained {GC.GetTotalMemory(forceFullCollection: true) / 1024} KiB{Environment.NewLine}"));
            }
        });
        var end = GC.GetTotalMemory(forceFullCollection: true);

        // The model keeps one MC state per UE id it ever saw (as an MC host's storage does); what the tracker, the feed
        // and the harness retain is measured without it, so a growth of the path itself shows.
        runner.LongLivedModel!.Clear();
        var withoutModel = GC.GetTotalMemory(forceFullCollection: true);
        var state = feed.Tracker;
        output.WriteLine(runner.Report(clock, Process.GetCurrentProcess().TotalProcessorTime - cpu));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"retained memory after {warmup} inputs {baseline / 1024} KiB, after {cases}: {end / 1024} KiB, of which {(end - withoutModel) / 1024} KiB the MC model's {runner.LongLivedModelUes} UE states and {withoutModel / 1024} KiB the rest (tracker, feed, harness); tracker holds {state.Ues.Count} UEs, {state.Connections.Count} connections, {state.Index.UplinkCount} uplinks, {state.Sessions.Count} sessions; MC model {runner.LongLivedModelUes} UEs"));
        Assert.True(runner.Failures.Count == 0, runner.Report(clock, Process.GetCurrentProcess().TotalProcessorTime - cpu));
    }

    private static int Setting(string name, int fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
