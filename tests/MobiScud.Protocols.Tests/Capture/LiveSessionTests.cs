using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>The live view's session and start-up: bounded memory, the same counts as a file's replay, compiled up front.</summary>
public sealed class LiveSessionTests
{
    [Theory]
    [InlineData("magma_gx_gy_combined_04_32ue.pcapng")]
    [InlineData("mobiscud_home_enb_handovers.pcap")]
    public void A_session_that_does_not_retain_entries_streams_and_counts_the_same_as_one_that_does(string capture)
    {
        var retained = new ReplaySession();
        var streamedByRetained = new List<ReplayEntry>();
        retained.EntryAdded += streamedByRetained.Add;
        var live = new ReplaySession(retain: false);
        var streamed = new List<ReplayEntry>();
        live.EntryAdded += streamed.Add;
        ReplayResult full;
        ReplayResult counted;
        using (var source = CaptureFile.Open(TestData.Capture(capture)))
        {
            full = retained.Run(source, capture);
        }

        using (var source = CaptureFile.Open(TestData.Capture(capture)))
        {
            counted = live.Run(source, capture);
        }

        Assert.True(full.Entries.Count > 5, $"{capture}: only {full.Entries.Count} entries");
        Assert.Empty(counted.Entries);
        Assert.Equal(full.Entries.Count, live.EntryCount);
        Assert.Equal(full.Entries.Count, retained.EntryCount);
        Assert.Equal(full.Entries.Select(e => e.Event.Ue).Distinct().Count(), live.UeCount);
        Assert.Equal(full.Notes.Count, live.NoteCount);
        Assert.Equal(full.Notes.Take(ReplaySession.KeptNotes), counted.Notes);
        Assert.Equal(retained.TimersScheduled, live.TimersScheduled);

        // What the live view prints is what it streams: the same entries, in the same order.
        Assert.Equal(streamedByRetained.Select(Line), streamed.Select(Line));
    }

    private static string Line(ReplayEntry e) => $"{e.Frame} {e.Event.Ue} {ReplayCommand.Describe(e.Event)} {string.Join(", ", e.Commands.Select(ReplayCommand.Describe))}";

    [Fact]
    public void The_warm_up_compiles_the_tracker_and_the_decoders()
    {
        var types = new[] { typeof(SignallingPipeline).Assembly, typeof(MobiScud.Tracking.TrackerFeed).Assembly }.SelectMany(a => a.GetTypes()).ToList();
        var (prepared, refused, _) = JitWarmUp.Prepare(types, TimeProvider.System);
        var methods = types.Where(t => !t.ContainsGenericParameters && !t.IsInterface)
            .Sum(t => t.GetMethods(System.Reflection.BindingFlags.DeclaredOnly | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic).Count(m => !m.IsAbstract && !m.ContainsGenericParameters));
        Assert.True(prepared > 500, $"{prepared} methods compiled");
        Assert.True(prepared + refused <= methods + types.Sum(t => t.IsInterface || t.ContainsGenericParameters ? 0 : t.GetConstructors(System.Reflection.BindingFlags.DeclaredOnly | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic).Length));
        Assert.True(refused * 20 < prepared, $"{refused} of {prepared + refused} methods refused");
    }

    [Fact]
    public void The_live_warm_up_rehearses_the_embedded_captures_through_the_tracker_and_the_mc()
    {
        // The rehearsal's UE events are those of replaying the same three files from data/captures.
        var expected = 0;
        foreach (var file in new[] { "magma_inbound_roaming_05.pcapng", "magma_nsa_connection.pcapng", "mobiscud_home_enb_handovers.pcap" })
        {
            using var source = CaptureFile.Open(TestData.Capture(file));
            expected += new ReplaySession().Run(source, file).Entries.Count;
        }

        var output = new StringWriter();
        var said = new LiveReplay(new ReplaySession(retain: false), output, json: true).WarmUp();
        Assert.Contains($", {expected} UE events rehearsed", said, StringComparison.Ordinal);
        Assert.True(expected > 5, said);
        Assert.Equal(string.Empty, output.ToString());
    }

    [Fact]
    public void Thread_cpu_counts_the_calling_threads_work_only()
    {
        // Another thread burns 200 ms of CPU while this one waits: the process's time grows, this thread's does not.
        var before = ThreadCpu.Current();
        Assert.NotNull(before);
        var processBefore = Environment.CpuUsage.TotalTime;
        var busy = new Thread(() => Burn(() => Environment.CpuUsage.TotalTime - processBefore));
        busy.Start();
        busy.Join();
        Assert.True(Environment.CpuUsage.TotalTime - processBefore >= Enough, "the busy thread did not get its CPU time within 60 s");
        var waiting = ThreadCpu.Current() - before;
        Assert.True(waiting < TimeSpan.FromMilliseconds(50), $"{waiting} counted for a thread that waited");

        // And this thread's own work is counted.
        var start = ThreadCpu.Current()!.Value;
        Burn(() => ThreadCpu.Current()!.Value - start);
        Assert.True(ThreadCpu.Current() - start >= Enough, "this thread's work was not counted within 60 s");
    }

    private static TimeSpan Enough => TimeSpan.FromMilliseconds(200);

    /// <summary>Spins until <paramref name="used"/> reaches <see cref="Enough"/> (CPU, not wall time: a loaded machine gives less), 60 s at most.</summary>
    private static void Burn(Func<TimeSpan> used)
    {
        var x = 0UL;
        var limit = System.Diagnostics.Stopwatch.StartNew();
        while (used() < Enough && limit.Elapsed < TimeSpan.FromSeconds(60))
        {
            for (var i = 0; i < 100_000; i++)
            {
                x = (x * 6364136223846793005UL) + 1442695040888963407UL;
            }
        }

        GC.KeepAlive(x);
    }
}
