using MobiScud.Bench.Support;
using MobiScud.Capture;
using MobiScud.TestSupport;
using MobiScud.Tracking.Tests.WholePath;
using Xunit;

namespace MobiScud.Tracking.Tests.Live;

/// <summary>
/// Issue 18: a tap that runs for long must hold a state bounded by the live UEs and connections, not one that grows
/// with every message it has seen (on the dense live stream the tracker's cost per input rose over a 60 s run because
/// each loop of the capture left one more record per re-attached UE). Each shared capture is fed again and again, later
/// each time (the same UEs attaching, moving and going idle again, as a bench loop or a repeating test network does):
/// after the first loops the tracker must hold no more than it did then.
/// </summary>
public sealed class LongRunBoundTests
{
    public static TheoryData<string> Captures() => [.. CaptureFrames.All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Captures))]
    public void A_capture_repeated_keeps_the_state_bounded(string name)
    {
        var capture = CaptureFrames.All.Single(c => c.Name == name);
        if (capture.Frames.Count == 0)
        {
            return;
        }

        var feed = new TrackerFeed((_, _) => { });
        var span = capture.Frames[^1].TimestampNanos - capture.Frames[0].TimestampNanos + 1_000_000_000L;
        long number = 0;
        (StoreSizes Store, int Enbs, int Sessions, int Pending) Run(int loop)
        {
            foreach (var f in capture.Frames)
            {
                feed.Process(f.ToFrame(++number, f.TimestampNanos + (loop * span)));
            }

            var live = feed.Live;
            return (live.Index.Sizes(), live.Maps.Enbs.Count, live.Maps.Sessions.Count, live.Maps.PendingCreateSessions.Count);
        }

        var loop = 0;
        for (; loop < 3; loop++)
        {
            Run(loop);
        }

        var settled = Run(loop++);
        while (loop < 12)
        {
            Run(loop++);
        }

        var last = Run(loop);
        Assert.True(last.Store.Ues <= settled.Store.Ues, $"{name}: {settled} after 4 loops, {last} after {loop + 1}");
        Assert.True(last.Store.Connections <= settled.Store.Connections, $"{name}: {settled} -> {last}");
        Assert.True(last.Store.LookupEntries <= settled.Store.LookupEntries, $"{name}: {settled} -> {last}");
        Assert.True(last.Store.LongestLookup <= settled.Store.LongestLookup, $"{name}: {settled} -> {last}");
        Assert.True(last.Store.Handovers <= settled.Store.Handovers, $"{name}: {settled} -> {last}");
        Assert.True(last.Enbs <= settled.Enbs && last.Sessions <= settled.Sessions && last.Pending <= settled.Pending, $"{name}: {settled} -> {last}");
        Assert.True(last.Store.TrackedChanges <= feed.Live.Index.MaxTrackedChanges, $"{name}: {last}");
    }

    /// <summary>
    /// The live rate bench's dense stream (`replay --bench-generate --bench-bundle 16` of the five S1AP captures of
    /// `replay --bench`: repetitions with fresh TSNs, messages bundled ahead of their answers), with few and with three
    /// times as many repetitions: the tracker holds the same (before the fix, one more record per repetition: a UE
    /// re-attaching without an IMSI under an M-TMSI and address an idle record still held).
    /// </summary>
    [Fact]
    public void The_dense_bench_stream_keeps_the_state_bounded()
    {
        string[] names = ["open5gs_testepc_2019.pcapng", "open5gs_testattach.pcapng", "magma_gx_gy_combined_04_32ue.pcapng", "magma_inbound_roaming_05.pcapng", "mobiscud_home_enb_handovers.pcap"];
        var inputs = TestData.AllCaptures().Where(p => names.Contains(Path.GetFileName(p))).ToList();
        Assert.Equal(names.Length, inputs.Count);

        StoreSizes Sizes(int repeat)
        {
            using var stream = new MemoryStream();
            BenchCaptureGenerator.Generate(inputs, repeat, stream, BenchFilter.Signalling, bundle: 16);
            var feed = new TrackerFeed((_, _) => { });
            using var source = CaptureFile.Open(stream.ToArray(), "dense");
            feed.Run(source);
            return feed.Live.Index.Sizes();
        }

        var few = Sizes(4);
        var many = Sizes(12);
        Assert.True(many.Ues <= few.Ues && many.Connections <= few.Connections && many.LookupEntries <= few.LookupEntries && many.LongestLookup <= few.LongestLookup, $"{few} after 4 repetitions, {many} after 12");
    }
}
