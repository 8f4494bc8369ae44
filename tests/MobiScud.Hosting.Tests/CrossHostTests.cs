using System.Globalization;
using System.Threading.Channels;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using MobiScud.Protocols.S1ap;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;
using MobiScud.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// One capture with handovers through the three hosts that share the host layer: `mobiscud replay` (ReplaySession),
/// `mobiscud serve` (in-process silo: pcap tap, ordered pipeline, UE grains) and the testbed's MC (TestbedMc, fed the
/// capture's frames as its backhaul tap would). Each UE gets the same commands, in the same order, from each.
/// </summary>
public sealed class CrossHostTests
{
    private const string Capture = "open5gs_testepc_2019.pcapng";

    [Fact]
    public async Task The_same_capture_gives_the_same_commands_per_UE_in_replay_serve_and_the_testbed()
    {
        // Replay first, with every eNB its own site; the others get that map as configuration.
        var sites = Replay(null).Result.Sites;
        var (session, replay) = Replay(sites);
        var ues = session.States.Keys.ToList();
        Assert.NotEmpty(ues);

        // Facts from tshark, so agreeing cannot be agreeing on nothing:
        //   tshark -r open5gs_testepc_2019.pcapng -Y 's1ap.procedureCode==3 && s1ap.initiatingMessage_element' | wc -l -> 2 (PathSwitchRequest)
        //   tshark -r open5gs_testepc_2019.pcapng -Y 's1ap.procedureCode==2' | wc -l -> 2 (HandoverNotify)
        Assert.Equal(2, replay.Entries.Count(e => e.Event is PathSwitched));
        Assert.Equal(2, replay.Entries.Count(e => e.Event is HandoverCompleted));
        var replayCommands = ues.ToDictionary(u => u, u => Commands(replay.Entries.Where(e => e.Event.Ue == u).SelectMany(e => e.Commands)));
        Assert.True(replayCommands.Values.Sum(c => c.Count(x => x.StartsWith(nameof(StartMigration), StringComparison.Ordinal))) >= 2, "the handovers must move PVMs");

        var testbed = await TestbedAsync(new McConfig(sites, new SiteId("core")));
        var serve = await ServeAsync(sites, ues);
        foreach (var ue in ues)
        {
            Assert.True(replayCommands[ue].SequenceEqual(testbed[ue]), $"{ue}: replay\n  {string.Join("\n  ", replayCommands[ue])}\ntestbed\n  {string.Join("\n  ", testbed[ue])}");
            Assert.True(replayCommands[ue].SequenceEqual(serve[ue]), $"{ue}: replay\n  {string.Join("\n  ", replayCommands[ue])}\nserve\n  {string.Join("\n  ", serve[ue])}");
        }

        Assert.Equal(ues.Select(u => u.Value).Order(StringComparer.Ordinal), testbed.Keys.Select(u => u.Value).Order(StringComparer.Ordinal));
    }

    private static (ReplaySession Session, ReplayResult Result) Replay(IReadOnlyDictionary<EnbId, SiteId>? sites)
    {
        var session = new ReplaySession(sites);
        using var source = CaptureFile.Open(TestData.Capture(Capture));
        return (session, session.Run(source, Capture));
    }

    /// <summary>The commands as text; notifications apart (serve keeps them as timeline entries of their own).</summary>
    private static List<string> Commands(IEnumerable<ControlCommand> commands) => [.. commands.Where(c => c is not Notify).Select(McText.Describe)];

    /// <summary>
    /// The testbed's MC on the capture's frames, with the replay's backends (PVMs that start at once, switches in
    /// memory) and a clock that stands still, so no timer fires during the run (none does in replay).
    /// </summary>
    private static async Task<Dictionary<UeId, List<string>>> TestbedAsync(McConfig config)
    {
        var frames = Channel.CreateUnbounded<TappedFrame>();
        long firstSignalling;
        var linkType = default(MobiScud.Protocols.Link.LinkType);
        using (var source = CaptureFile.Open(TestData.Capture(Capture)))
        {
            var first = new FirstSignalling();
            var pipeline = new SignallingPipeline(first);
            while (source.TryReadNext(out var frame))
            {
                linkType = frame.LinkType;
                pipeline.Process(frame);
                frames.Writer.TryWrite(new TappedFrame(frame.Timestamp, frame.Data.ToArray()));
            }

            firstSignalling = first.Nanos ?? throw new InvalidOperationException($"{Capture} has no signalling");
        }

        frames.Writer.Complete();

        // The MC's time runs from the epoch; the replay's from the first signalling frame: make them one.
        var epoch = new DateTimeOffset(DateTime.UnixEpoch.AddTicks(firstSignalling / 100), TimeSpan.Zero);
        var clock = new StillClock(epoch + TimeSpan.FromHours(1));
        var pvms = new ImmediatePvmModel(() => clock.GetUtcNow() - epoch);
        var mc = new TestbedMc(frames.Reader, config, pvms, new InMemorySteering(), epoch, clock, linkType: linkType);
        await using (mc)
        {
            await mc.Drained.WaitAsync(TimeSpan.FromMinutes(1));
            Assert.All(mc.Problems, p => Assert.Equal(TestbedProblemSource.Tracker, p.Source));
            return mc.Timeline.GroupBy(e => e.Event.Ue).ToDictionary(g => g.Key, g => Commands(g.SelectMany(e => e.Commands)));
        }
    }

    private static async Task<Dictionary<UeId, List<string>>> ServeAsync(IReadOnlyDictionary<EnbId, SiteId> sites, List<UeId> ues)
    {
        var settings = ServeTestHost.Settings();
        foreach (var key in settings.Keys.Where(k => k.StartsWith("MobiScud:Sites:", StringComparison.Ordinal)).ToList())
        {
            settings.Remove(key);
        }

        var i = 0;
        foreach (var (enb, site) in sites.OrderBy(kv => kv.Key.Value))
        {
            settings[$"MobiScud:Sites:{i}:Name"] = site.Value;
            settings[$"MobiScud:Sites:{i}:Enbs:0"] = enb.Value.ToString(CultureInfo.InvariantCulture);
            i++;
        }

        settings["MobiScud:Hypervisor:Kind"] = "Replay";
        settings["MobiScud:Taps:0:Pcap"] = TestData.Capture(Capture);
        settings["MobiScud:Taps:0:Speed"] = "Max";
        await using var serve = await ServeTestHost.StartAsync(settings);
        await serve.App.Services.GetRequiredService<CaptureTaps>().FilesDone.WaitAsync(TimeSpan.FromMinutes(1));
        await serve.Pipeline.FlushAsync().WaitAsync(TimeSpan.FromMinutes(1));
        var result = new Dictionary<UeId, List<string>>();
        foreach (var ue in ues)
        {
            var timeline = await serve.Grains.GetGrain<IUeGrain>(ue.Value).Timeline();
            result[ue] = Commands(timeline.Where(t => t.Event is not null).SelectMany(t => t.Commands ?? []));
        }

        return result;
    }

    /// <summary>Where the tracker's time starts: the first S1AP or GTP payload.</summary>
    private sealed class FirstSignalling : ISignallingSink
    {
        public long? Nanos { get; private set; }

        public void OnS1ap(in PayloadContext context, S1apSummary summary) => Nanos ??= context.TimestampNanos;

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload) => Nanos ??= context.TimestampNanos;
    }

    /// <summary>A clock that does not move: timers armed on it never fire.</summary>
    private sealed class StillClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Never();

        private sealed class Never : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
