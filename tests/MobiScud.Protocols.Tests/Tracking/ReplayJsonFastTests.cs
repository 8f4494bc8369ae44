using System.Net;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.TestSupport;
using MobiScud.Tracking;
using TestData = MobiScud.TestSupport.TestData;

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
    public void Every_hand_written_type_is_sealed()
    {
        // TryWrite matches by type pattern: only a sealed record makes a match the exact type, whose properties it writes.
        Type[] types =
        [
            typeof(UeAttached), typeof(BearerAdded), typeof(BearerModified), typeof(BearerReleased), typeof(HandoverPrepared),
            typeof(HandoverExecuting), typeof(HandoverCompleted), typeof(HandoverCancelled), typeof(PathSwitched),
            typeof(UeReleasedToIdle), typeof(ServiceRequested), typeof(Detached), typeof(EnbIdentified), typeof(CreatePvm),
            typeof(ResumePvm), typeof(SuspendPvm), typeof(DestroyPvm), typeof(Notify), typeof(InstallSteering),
            typeof(RemoveSteering), typeof(ScheduleTimer), typeof(StartMigration), typeof(CancelMigration), typeof(SteeringIntent),
        ];
        Assert.All(types, t => Assert.True(t.IsSealed, t.Name));
    }

    [Fact]
    public void Entries_by_ue_are_what_GroupBy_gives()
    {
        // Interleaved UEs, a null id (GroupBy keeps it as a group of its own) and an empty one; ids that differ only at
        // the end; commands as an array, a List and another list type.
        UeId[] ues = [new("imsi-1"), new("imsi-2"), default, new(""), new("imsi-10"), new("imsi-1 ")];
        var random = new Random(14);
        var entries = new List<ReplayEntry>();
        for (var i = 0; i < 400; i++)
        {
            var ue = ues[random.Next(ues.Length)];
            IReadOnlyList<ControlCommand> commands = (i % 3) switch
            {
                0 => [new RemoveSteering(ue, new SiteId("s"))],
                1 => new List<ControlCommand> { new RemoveSteering(ue, new SiteId("s")) },
                _ => new System.Collections.ObjectModel.ReadOnlyCollection<ControlCommand>([new RemoveSteering(ue, new SiteId("s"))]),
            };
            entries.Add(new ReplayEntry(TimeSpan.FromTicks(i), i, new Detached(TimeSpan.FromTicks(i), ue), commands));
        }

        var expected = entries.GroupBy(e => e.Event.Ue).Select(g => (g.Key, g.ToList())).ToList();
        // Grouped from the entries' events (a result without the session's UE indexes).
        var result = new ReplayResult("x", new PipelineStatistics(), entries, [], new Dictionary<EnbId, SiteId>(), TrackerState.Empty);
        var order = UeOrder.Of(result, entries);
        var actual = order.Ues.Select((ue, u) => (Ue: ue, Entries: order.Order[order.Starts[u]..order.Starts[u + 1]].Select(i => entries[i]).ToList())).ToList();
        Assert.Equal(expected.Select(g => g.Key), actual.Select(g => g.Ue));
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First.Item2, p.Second.Item2));
        Assert.Equal(ues.Length, actual.Count);

        // Each kind of command list is written whole.
        Assert.All(entries.Take(3), e => Assert.Contains("\"commands\":[{\"type\":\"RemoveSteering\"", Render(w => ReplayJson.WriteEntry(w, e), indented: false), StringComparison.Ordinal));
    }

    [Fact]
    public void A_type_without_a_hand_written_form_goes_through_the_serializer()
    {
        var value = new TimerFired(TimeSpan.FromSeconds(1), new UeId("ue-1"), TimerKind.PolicyReview, 4);
        using var probe = new Utf8JsonWriter(Stream.Null);
        Assert.False(ReplayJsonFast.TryWrite(probe, value));
        Assert.Contains("\"TimerFired\"", Render(w => ReplayJson.WriteTyped(w, value)), StringComparison.Ordinal);
    }

    [Fact]
    public void Cached_text_is_what_the_writer_writes_for_the_string_itself()
    {
        // Hostile characters (quotes, controls, HTML-sensitive, non-ASCII, a pair and lone surrogates), and ids that
        // share their length and last characters, so one cache meets hits, misses and slot collisions.
        char[] pool = ['a', 'Z', '0', '9', '-', ' ', '"', '\\', '/', '<', '>', '&', '\'', '+', '`', '\0', '\n', '\t', '\u001f', '\u007f', 'é', '\u2028', '\ud83d', '\ude00', '\ud800', '\udfff'];
        var text = Gen.ArrayOf(Gen.Elements(pool)).Select(c => new string(c));
        var id = Gen.Choose(0, 99).Select(n => $"imsi-0010101234568{n:00}");
        var values = Gen.ListOf(Gen.OneOf(text, id, Gen.Elements("site-enb-348004", "site-enb-148004", "01", "001", "", "x")));
        var cache = new EncodedTextCache();
        var name = JsonEncodedText.Encode("v");
        Prop.ForAll(values.ToArbitrary(), list => list.All(v =>
            Outcome(w => w.WriteString(name, v)) == Outcome(w =>
            {
                if (cache.TryGet(v, out var encoded))
                {
                    w.WriteString(name, encoded);
                }
                else
                {
                    Assert.Contains(v, char.IsSurrogate);
                    w.WriteString(name, v);
                }
            })))
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Seconds_are_written_as_the_double_writes_them()
    {
        var name = new JsonName("at");
        string Fast(long ticks) => Render(w => Object(w, () => ReplayJsonFast.For<Utf8Out>.Seconds(new Utf8Out(w), name, TimeSpan.FromTicks(ticks))));
        string Double(long ticks) => Render(w => Object(w, () => w.WriteNumber(name.Text, TimeSpan.FromTicks(ticks).TotalSeconds)));

        // `replay --json`'s own writer formats the decimal itself.
        string Own(long ticks)
        {
            var buffer = new MemoryStream();
            var w = new IndentedJsonWriter(buffer);
            w.WriteStartObject();
            ReplayJsonFast.For<IndentedOut>.Seconds(new IndentedOut(w), name, TimeSpan.FromTicks(ticks));
            w.WriteEndObject();
            w.Flush();
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        // Around the edges of the decimal range and of the exponent forms, and whole seconds (scale down to 0).
        long[] edges = [0, 1, 9, 10, 999, 1_000, 1_001, 9_999, 10_000, 10_000_000, 100_000_000, 1_000_000_000_000,
            3_999_999_999_999_999, 4_000_000_000_000_000, 4_000_000_000_000_001, 5_368_709_120_000_000, 1_000_000_000_000_000_000,
            long.MaxValue, long.MinValue, long.MinValue + 1];
        foreach (var t in edges)
        {
            Assert.Equal(Double(t), Fast(t));
            Assert.Equal(Double(t), Own(t));
            if (t != long.MinValue)
            {
                Assert.Equal(Double(-t), Fast(-t));
                Assert.Equal(Double(-t), Own(-t));
            }
        }

        // Any magnitude, with any number of trailing zeros.
        var ticks =
            from digits in Gen.Choose(0, 18)
            from fraction in Gen.Choose(0, int.MaxValue)
            from zeros in Gen.Choose(0, 9)
            from negative in Gen.Elements(false, true)
            let magnitude = (long)(Math.Pow(10, digits) * (fraction / (double)int.MaxValue)) / (long)Math.Pow(10, zeros) * (long)Math.Pow(10, zeros)
            select negative ? -magnitude : magnitude;
        Prop.ForAll(ticks.ToArbitrary(), t => Fast(t) == Double(t) && Own(t) == Double(t)).Check(Config.QuickThrowOnFailure.WithMaxTest(20_000));
    }

    private static void Object(Utf8JsonWriter w, Action body)
    {
        w.WriteStartObject();
        body();
        w.WriteEndObject();
    }

    /// <summary>The bytes written, or the exception's type when the writer refuses the value.</summary>
    private static string Outcome(Action<Utf8JsonWriter> write)
    {
        try
        {
            return Render(w => Object(w, () => write(w)));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return e.GetType().Name;
        }
    }

    private static string Render(Action<Utf8JsonWriter> write, bool indented = true)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, SkipValidation = true }))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
