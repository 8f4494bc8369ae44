using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Tracking.Tests.WholePath;

/// <summary>
/// Issue 13 item 1: real captures with some unmodified frames left out, through the real path
/// (SignallingPipeline -> signal factories -> UeTracker -> MobiScudControl.Decide). On the tracker before the indexed
/// rewrite these threw KeyNotFoundException (connections and uplinks pointing at UE keys removed or merged away).
/// Frame numbers are the captures' own (tshark's frame.number).
/// </summary>
public sealed class LostFramesTests
{
    private static CaptureFrames Capture(string name) => CaptureFrames.All.Single(c => c.Name == name);

    private static (WholePathRunner Runner, TrackerFeed Feed, List<UeEvent> Events) Replay(CaptureFrames capture, IEnumerable<DamagedFrame> frames)
    {
        var runner = new WholePathRunner();
        var events = new List<UeEvent>();
        var model = new McModel(WholePathRunner.ConfigFor(capture, Strategy.MobiScud), 1);
        var feed = new TrackerFeed((e, _) =>
        {
            events.Add(e);
            model.Handle(e);
        });
        runner.Run(capture.Name, frames.ToList(), feed, model, 0);
        Assert.True(runner.Failures.Count == 0, string.Join("\n", runner.Failures.Select(f => $"{f.Key}: {f.Value.First}")));
        return (runner, feed, events);
    }

    private static IEnumerable<DamagedFrame> Frames(CaptureFrames c, Func<long, bool> keep) =>
        c.Frames.Where(f => keep(f.Number)).Select(f => new DamagedFrame(f, f.TimestampNanos));

    [Fact]
    public void Handover_command_to_notify_lost_then_the_old_connection_released()
    {
        // open5gs_testepc_2019: HandoverRequestAcknowledge 424 (target eNB 67 admits E-RABs 5/6 at 127.0.0.4 TEID 1/2),
        // HandoverCommand 427, HandoverNotify 430, then UEContextReleaseCommand for the source connection. Without
        // 427-430, the release of the source while the target holds the UE says the handover happened: the tracker
        // completes it (an Inferred note) with the admitted tunnels, and the next handover back to 498 (445-451) is
        // followed as in the whole capture.
        var c = Capture("open5gs_testepc_2019.pcapng");
        var (_, feed, events) = Replay(c, Frames(c, n => n is < 427 or > 430));
        var completed = events.OfType<HandoverCompleted>().ToList();
        Assert.Equal([67u, 498u], completed.Select(h => h.Target.Value));
        Assert.Equal(
            [new BearerDownlink(5, new GtpEndpoint(System.Net.IPAddress.Parse("127.0.0.4"), 1)), new BearerDownlink(6, new GtpEndpoint(System.Net.IPAddress.Parse("127.0.0.4"), 2))],
            completed[0].Downlinks);
        Assert.Equal(
            [typeof(UeAttached), typeof(BearerAdded), typeof(HandoverPrepared), typeof(HandoverCompleted), typeof(HandoverPrepared), typeof(HandoverExecuting), typeof(HandoverCompleted), typeof(HandoverPrepared), typeof(HandoverExecuting), typeof(HandoverCancelled)],
            events.Where(e => e.Ue.Value == "imsi-001010123456815").Select(e => e.GetType()));
        UeTracker.CheckInvariants(feed.Tracker);
    }

    [Fact]
    public void Tap_starting_after_the_attach_still_follows_the_handovers()
    {
        // From frame 360 on: both UEs are attached already; the X2 path switches (369/376, 377/384) and the S1
        // handovers (HandoverNotify 430, 451) of UEs the tracker never saw attach must not break anything.
        var c = Capture("open5gs_testepc_2019.pcapng");
        var (_, feed, _) = Replay(c, Frames(c, n => n >= 360));
        UeTracker.CheckInvariants(feed.Tracker);
    }

    [Fact]
    public void Timestamps_out_of_order_across_a_handover()
    {
        // The S1 handover section (frames 420-470) carries times 5 s before the attach, as after a clock step.
        var c = Capture("open5gs_testepc_2019.pcapng");
        var frames = c.Frames.Select(f => new DamagedFrame(f, f.Number is >= 420 and <= 470 ? f.TimestampNanos - 5_000_000_000L : f.TimestampNanos));
        var (_, _, events) = Replay(c, frames);
        Assert.Equal(2, events.Count(e => e is HandoverCompleted));
    }

    [Fact]
    public void Release_commands_lost_the_completes_still_release()
    {
        // tshark -r open5gs_testattach.pcapng -Y 's1ap.procedureCode==23 && s1ap.initiatingMessage_element'
        //   -T fields -e frame.number  ->  110 118 184 225 248 295 301 339 387 467 541 557 560 (12 completes follow).
        // Without every UEContextReleaseCommand, each UEContextReleaseComplete releases its connection (an Inferred
        // note): every UE's timeline is the one of the whole capture.
        long[] commands = [110, 118, 184, 225, 248, 295, 301, 339, 387, 467, 541, 557, 560];
        var c = Capture("open5gs_testattach.pcapng");
        var (_, _, whole) = Replay(c, Frames(c, _ => true));
        var (_, feed, partial) = Replay(c, Frames(c, n => !commands.Contains(n)));
        Assert.Contains(whole, e => e is UeReleasedToIdle);
        Assert.Equal(
            whole.Select(e => $"{e.Ue.Value} {e.GetType().Name}"),
            partial.Select(e => $"{e.Ue.Value} {e.GetType().Name}"));
        UeTracker.CheckInvariants(feed.Tracker);
    }

    [Theory]
    [InlineData("open5gs_testattach.pcapng", 22995)]
    public void Seeds_that_broke_the_tracker_before(string capture, int seed) =>
        Assert.Empty(RunSeed(capture, seed).Failures);

    [Fact]
    public void Long_lived_feed_inputs_that_broke_the_tracker_before()
    {
        // The first 17,600 inputs of the long-lived fuzz feed: inputs 17421 and 17561 (magma_gx_gy_combined_04_32ue)
        // found UE keys merged away through a stale uplink (a GTP-U packet, then an InitialContextSetup).
        var runner = new WholePathRunner();
        var feed = runner.RunLongLived(17_600, 1_000_000_000, i => i >= 17_400, _ => { });
        Assert.True(runner.Failures.Count == 0, string.Join("\n", runner.Failures.Select(f => $"{f.Key}: {f.Value.FirstCase}")));
        UeTracker.CheckInvariants(feed.Tracker);
    }

    private static WholePathRunner RunSeed(string capture, int seed)
    {
        var runner = new WholePathRunner();
        runner.RunCase(Capture(capture), seed);
        return runner;
    }
}
