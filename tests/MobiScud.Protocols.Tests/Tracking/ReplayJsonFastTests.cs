using System.Net;
using System.Text;
using System.Text.Json;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>
/// `replay --json` writes its common events and commands by hand (ReplayJsonFast, for start-up and speed); the
/// serializer with <see cref="ReplayJson.Options"/> is the reference. Both must give the same bytes: on every capture
/// in data/captures, and on each hand-written type with every property set, with nulls, and with text that needs escaping.
/// </summary>
public sealed class ReplayJsonFastTests
{
    public static TheoryData<string> Captures()
    {
        var data = new TheoryData<string>();
        foreach (var capture in TestData.AllCaptures())
        {
            data.Add(Path.GetFileName(capture));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void Replay_json_is_byte_identical_to_the_serializers_on_every_capture(string capture)
    {
        var session = new ReplaySession();
        ReplayResult result;
        using (var source = CaptureFile.Open(TestData.Capture(capture)))
        {
            result = session.Run(source, capture, PipelineOptions.Default);
        }

        var fast = Render(w => ReplayJson.Write(w, result, serializerOnly: false));
        var reference = Render(w => ReplayJson.Write(w, result, serializerOnly: true));
        Assert.Equal(reference, fast);
    }

    [Fact]
    public void Every_hand_written_type_matches_the_serializer()
    {
        var ue = new UeId("imsi-001010000000001");
        var ul = new GtpEndpoint(IPAddress.Parse("192.168.0.6"), 0xdeadbeef);
        var dl = new GtpEndpoint(IPAddress.Parse("2001:db8::5"), 7);
        var bearers = new List<Bearer> { new(5, ul, dl) { Qci = 9 }, new(6, ul, dl) };
        var downlinks = new List<BearerDownlink> { new(5, dl), new(6, ul) };
        var cell = new Ecgi("001", "01", 0x1079baf);
        var nr = new Ncgi("999", "70", 0xF_FFFF_FFFFul);
        var at = TimeSpan.FromTicks(123_456_789_012);
        var intent = new SteeringIntent(ue, IPAddress.Parse("45.45.0.2"), new EnbId(0xA2C01), bearers, new SiteId("site-a"), new SiteId("site \"b\" <&>'+é"), null, 3);
        var migration = new MigrationId(ue, 2);
        object[] values =
        [
            new UeAttached(at, ue, "001010000000001", IPAddress.Parse("45.45.0.2"), new EnbId(348004), 0x1079baf, bearers) { Cell = cell },
            new UeAttached(TimeSpan.Zero, ue, null, IPAddress.IPv6Loopback, new EnbId(0), null, []),
            new BearerAdded(at, ue, bearers[0]) { Cell = cell },
            new BearerAdded(at, ue, bearers[1]),
            new BearerModified(at, ue, downlinks[0]),
            new BearerReleased(at, ue, 255),
            new HandoverPrepared(at, ue, new EnbId(1), new EnbId(uint.MaxValue), HandoverKind.S1) { TargetCell = cell, Cell = cell },
            new HandoverPrepared(at, ue, new EnbId(1), new EnbId(2), HandoverKind.X2),
            new HandoverPrepared(at, ue, new EnbId(1, Rat.Nr), new EnbId(2, Rat.Nr), HandoverKind.X2) { NrTargetCell = nr, NrCell = nr },
            new HandoverExecuting(at, ue, new EnbId(9, Rat.Nr)) { NrTargetCell = nr },
            new HandoverCompleted(at, ue, new EnbId(9, Rat.Nr), downlinks) { NrSourceCell = nr, NrCell = nr },
            new HandoverCancelled(at, ue) { NrTargetCell = nr },
            new PathSwitched(at, ue, new EnbId(9, Rat.Nr), downlinks) { NrSourceCell = nr },
            new ServiceRequested(at, ue, new EnbId(4_194_303, Rat.Nr), bearers) { NrCell = nr },
            new Notify(ue, at, NotificationKind.HandoverPreparing, "nr") { Source = new EnbId(1, Rat.Nr), Target = new EnbId(2) },
            new HandoverPrepared(at, ue, new EnbId(1), new EnbId(2), (HandoverKind)7),
            new HandoverExecuting(at, ue, new EnbId(67)) { TargetCell = cell },
            new HandoverExecuting(at, ue, new EnbId(67)),
            new HandoverCompleted(at, ue, new EnbId(67), downlinks) { SourceCell = cell, Cell = cell },
            new HandoverCompleted(at, ue, new EnbId(67), []),
            new HandoverCancelled(at, ue) { TargetCell = cell, Rejected = true },
            new HandoverCancelled(at, ue),
            new PathSwitched(at, ue, new EnbId(348005), downlinks) { SourceCell = cell },
            new UeReleasedToIdle(-at, ue) { Cell = cell },
            new ServiceRequested(at, ue, new EnbId(348004), bearers),
            new Detached(TimeSpan.MaxValue, ue),
            new EnbIdentified(at, ue, new EnbId(5), new EnbId(1410), "HandoverRequest Target-ID (home) \"x\"\n"),
            new CreatePvm(ue, PvmId.For(ue), new SiteId("site-enb-1")),
            new ResumePvm(ue, PvmId.For(ue), new SiteId("site-enb-1")),
            new SuspendPvm(ue, PvmId.For(ue), new SiteId("site-enb-1")),
            new DestroyPvm(ue, PvmId.For(ue), new SiteId("site-enb-1")),
            new Notify(ue, at, NotificationKind.HandoverExecuting, "to <enb-67> & back") { Source = new EnbId(498), Target = new EnbId(67) },
            new Notify(ue, at, NotificationKind.PvmCreated, "at site-enb-1"),
            new Notify(ue, at, NotificationKind.PvmCreated, string.Concat(Enumerable.Repeat("a summary longer than the stack buffer <é> ", 40))),
            new InstallSteering(ue, intent),
            new InstallSteering(ue, intent with { PvmAddress = IPAddress.Parse("10.0.0.9"), Bearers = [] }),
            new RemoveSteering(ue, new SiteId("site-enb-1")),
            new ScheduleTimer(ue, TimeSpan.FromMinutes(5), TimerKind.IdleSuspend, long.MaxValue),
            new StartMigration(ue, migration, PvmId.For(ue), new SiteId("a"), new SiteId("b"), MigrationReason.Prepared) { ExpectedBenefit = 0.1 + 0.2 },
            new StartMigration(ue, migration, PvmId.For(ue), new SiteId("a"), new SiteId("b"), MigrationReason.Handover),
            new CancelMigration(ue, migration, PvmId.For(ue), new SiteId("a"), new SiteId("b")),
        ];

        var handWritten = new HashSet<Type>();
        foreach (var value in values)
        {
            var fast = Render(w => ReplayJson.WriteTyped(w, value));
            var reference = Render(w => ReplayJson.WriteTyped(w, value, serializerOnly: true));
            Assert.Equal(reference, fast);
            using var probe = new Utf8JsonWriter(Stream.Null);
            if (ReplayJsonFast.TryWrite(probe, value))
            {
                handWritten.Add(value.GetType());
            }
        }

        // Each sample went through the hand-written path, so the comparisons above are not serializer against itself.
        Assert.Equal(values.Select(v => v.GetType()).Distinct().Count(), handWritten.Count);
    }

    [Fact]
    public void A_type_without_a_hand_written_form_goes_through_the_serializer()
    {
        var value = new TimerFired(TimeSpan.FromSeconds(1), new UeId("ue-1"), TimerKind.PolicyReview, 4);
        using var probe = new Utf8JsonWriter(Stream.Null);
        Assert.False(ReplayJsonFast.TryWrite(probe, value));
        Assert.Contains("\"TimerFired\"", Render(w => ReplayJson.WriteTyped(w, value)), StringComparison.Ordinal);
    }

    private static string Render(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, SkipValidation = true }))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
