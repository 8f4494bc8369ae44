using System.Collections.Immutable;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// Serve's stored mobility statistics (<see cref="MobilityRows"/>): every learned part of <see cref="MobilityStats"/>
/// survives rows -> stats -> rows and stats -> rows -> stats, through the storage's JSON too; a version 1 record (first
/// order rows only) still loads.
/// </summary>
public sealed class MobilityRowsTests
{
    private static readonly Gen<MobilityLesson> _lesson =
        from kind in Gen.Choose(0, 3)
        from left in Gen.Choose(1, 6)
        from entered in Gen.Choose(1, 6)
        from earlier in Gen.Choose(0, 6)
        from nr in Gen.Elements(false, false, true)
        from atMinutes in Gen.Choose(0, 3 * 24 * 60)
        from dwellMs in Gen.Choose(-10, 4_000_000)
        from turns in Gen.ArrayOf(Gen.Choose(0, 181), 4)
        from turn in Gen.Choose(-1, 180)
        from moveClass in Gen.Choose(0, MoveOutcomeStats.Classes - 1)
        from met in Gen.Elements(true, false)
        select Make(kind, Cell(left, nr), Cell(entered, nr), earlier == 0 ? null : Cell(earlier, nr), atMinutes, dwellMs, turns, turn, moveClass, met);

    [Property(MaxTest = 200)]
    public Property Rows_to_stats_to_rows_round_trips_and_loses_no_part()
    {
        return Prop.ForAll(Gen.ListOf(_lesson).ToArbitrary(), lessons =>
        {
            var stats = lessons.Aggregate(MobilityStats.Empty, MobilityLearning.Fold);
            var rows = MobilityRows.ToSnapshot(stats);
            var back = MobilityRows.ToStats(rows);
            AssertSame(stats, back);
            Assert.Equal(Json(rows), Json(MobilityRows.ToSnapshot(back)));

            // Through the storage's JSON (Redis, PostgreSQL) as the grain's record.
            var stored = JsonSerializer.Deserialize<MobilityRecord>(JsonSerializer.Serialize(new MobilityRecord { Stats = rows }, McJson.Options), McJson.Options)!;
            AssertSame(stats, MobilityRows.Load(stored));
        });
    }

    [Fact]
    public void The_hand_folded_lessons_are_all_in_the_rows()
    {
        // Two users: enb 1 -> 3 after 7 s (from 2, turning 10 degrees after a 20-degree turn), then 3 -> 4 after 40 s at
        // hour 2; and one outcome, met, of class 5.
        var at = TimeSpan.FromHours(2);
        var stats = new[]
        {
            new MobilityLesson { Handover = new HandoverObservation(at, new(1), new(3), TimeSpan.FromSeconds(7)) { Earlier = new(2), PriorTurns = HeadingStats.Push(0, 20), Turn = 10 } },
            new MobilityLesson { Handover = new HandoverObservation(at, new(3), new(4), TimeSpan.FromSeconds(40)) { Earlier = new(1) } },
            new MobilityLesson { Outcome = new MoveOutcomeObservation(5, true) },
        }.Aggregate(MobilityStats.Empty, MobilityLearning.Fold);
        var rows = MobilityRows.ToSnapshot(stats);
        Assert.Equal((2L, 47.0), (rows.Observations, rows.TotalDwellSeconds));
        Assert.Equal(
            new EnbMobilityRow[] { new(new(1), MobilityRows.AllHours, 1, 7), new(new(1), 2, 1, 7), new(new(3), MobilityRows.AllHours, 1, 40), new(new(3), 2, 1, 40) },
            rows.Enbs);
        Assert.Equal(new PathRow[] { new(new(1), new(3), new(4), 1), new(new(2), new(1), new(3), 1) }, rows.Paths);
        Assert.Equal(4, rows.Next.Length);

        // 7 s falls in the first bin (<= 15 s), 40 s in the third (30..60 s).
        Assert.Equal(new[] { 1, 0, 1, 0, 0, 0, 0, 0, 0 }, rows.AllDwells);
        Assert.Equal(new[] { 1, 0, 0, 0, 0, 0, 0, 0, 0 }, rows.Dwells.Single(d => d.Enb == new EnbId(1)).Bins);

        // One heading observation: the 20-degree history is in the 30, 45, 60 and 90-degree classes of one step.
        Assert.Equal(1L, rows.Headings.Observations);
        Assert.Equal(4L, rows.Headings.Seen.Sum());
        Assert.Equal((1L, 1L), (rows.Outcomes.Seen[5], rows.Outcomes.Met[5]));

        // The stays: all, per cell, per way in; 7 s in the 5 s bin 1, 40 s in bin 8.
        Assert.Equal(3, rows.Version);
        Assert.Equal(
            ["- > -: 1@1 1@8", "- > eNB 1: 1@1", "- > eNB 3: 1@8", "eNB 1 > eNB 3: 1@8", "eNB 2 > eNB 1: 1@1"],
            rows.Stays!.Select(r => $"{(r.Earlier is { } e ? $"eNB {e.Value}" : "-")} > {(r.From is { } f ? $"eNB {f.Value}" : "-")}: {string.Join(" ", r.Counts.Select((c, i) => (c, i)).Where(x => x.c > 0).Select(x => $"{x.c}@{x.i}"))}"));
        AssertSame(stats, MobilityRows.ToStats(rows));
    }

    [Fact]
    public void A_version_1_record_of_first_order_rows_still_loads()
    {
        // As serve stored it before every part was persisted: rows per (eNB, hour, next eNB).
        const string stored = """{"rows":[{"from":1,"hour":3,"to":3,"count":2,"dwellSeconds":14},{"from":1,"hour":4,"to":4,"count":1,"dwellSeconds":30}]}""";
        var record = JsonSerializer.Deserialize<MobilityRecord>(stored, McJson.Options)!;
        Assert.Null(record.Stats);
        var stats = MobilityRows.Load(record);
        Assert.Equal(3L, stats.Observations);
        Assert.Equal(44, stats.TotalDwellSeconds);
        var all = stats.ByEnb[new EnbId(1)];
        Assert.Equal((3, 44.0, 2, 1), (all.Departures, all.DwellSeconds, all.Next[new EnbId(3)], all.Next[new EnbId(4)]));
        Assert.Equal(2, stats.ByEnbHour[(new EnbId(1), 3)].Departures);

        // What version 1 never stored is unknown, not invented.
        Assert.Empty(stats.ByPath);
        Assert.Empty(stats.Dwells.ByEnb);
        Assert.Equal(0L, stats.Headings.Observations);
        Assert.Equal(0L, stats.MoveOutcomes.Observations);
        Assert.Empty(stats.Stays.ByPath);

        // Written back as version 3, it keeps what it had.
        var v3 = MobilityRows.ToSnapshot(stats);
        Assert.Equal(3, v3.Version);
        AssertSame(stats, MobilityRows.Load(new MobilityRecord { Stats = v3 }));
    }

    [Fact]
    public void A_version_2_snapshot_without_stays_still_loads()
    {
        var stats = new[] { new MobilityLesson { Handover = new HandoverObservation(TimeSpan.FromHours(1), new(1), new(3), TimeSpan.FromSeconds(7)) { Earlier = new(2) } } }
            .Aggregate(MobilityStats.Empty, MobilityLearning.Fold);
        var v2 = MobilityRows.ToSnapshot(stats) with { Stays = null, Version = 2 };
        var json = JsonSerializer.Serialize(new MobilityRecord { Stats = v2 }, McJson.Options);
        var loaded = MobilityRows.Load(JsonSerializer.Deserialize<MobilityRecord>(json, McJson.Options)!);
        Assert.Equal(stats.ByPath.Count, loaded.ByPath.Count);
        Assert.Equal(0, loaded.Stays.All.Total);
        Assert.Empty(loaded.Stays.ByPath);
    }

    /// <summary>Every learned part of two statistics is equal (doubles to the bit: they are stored as summed).</summary>
    internal static void AssertSame(MobilityStats expected, MobilityStats actual)
    {
        Assert.Equal(expected.Observations, actual.Observations);
        Assert.Equal(expected.TotalDwellSeconds, actual.TotalDwellSeconds);
        Assert.Equal(Enbs(expected.ByEnbHour.Select(p => (p.Key.Enb, p.Key.Hour, p.Value))), Enbs(actual.ByEnbHour.Select(p => (p.Key.Enb, p.Key.Hour, p.Value))));
        Assert.Equal(Enbs(expected.ByEnb.Select(p => (p.Key, -1, p.Value))), Enbs(actual.ByEnb.Select(p => (p.Key, -1, p.Value))));
        Assert.Equal(Paths(expected), Paths(actual));
        Assert.Equal(Bins(expected.Dwells), Bins(actual.Dwells));
        Assert.Equal(expected.Headings.Observations, actual.Headings.Observations);
        for (var a = 0; a < HeadingStats.Angles.Length; a++)
        {
            for (var k = 1; k <= HeadingStats.MaxSteps; k++)
            {
                Assert.Equal(
                    (expected.Headings.Seen(a, k), expected.Headings.Held(a, k), expected.Headings.Right(a, k), expected.Headings.MeanCos(a, k)),
                    (actual.Headings.Seen(a, k), actual.Headings.Held(a, k), actual.Headings.Right(a, k), actual.Headings.MeanCos(a, k)));
            }
        }

        Assert.Equal(Stays(expected.Stays), Stays(actual.Stays));
        Assert.Equal(expected.MoveOutcomes.Observations, actual.MoveOutcomes.Observations);
        for (var c = 0; c < MoveOutcomeStats.Classes; c++)
        {
            Assert.Equal((expected.MoveOutcomes.Seen(c), expected.MoveOutcomes.Met(c)), (actual.MoveOutcomes.Seen(c), actual.MoveOutcomes.Met(c)));
        }
    }

    private static string Enbs(IEnumerable<(EnbId Enb, int Hour, EnbMobility M)> rows) => string.Join(
        "\n",
        rows.OrderBy(r => r.Enb.Rat).ThenBy(r => r.Enb.Value).ThenBy(r => r.Hour)
            .Select(r => $"{r.Enb}@{r.Hour}: {r.M.Departures} {r.M.DwellSeconds:R} [{Counts(r.M.Next)}]"));

    private static string Paths(MobilityStats s) => string.Join(
        "\n",
        s.ByPath.OrderBy(p => p.Key.Earlier.Rat).ThenBy(p => p.Key.Earlier.Value).ThenBy(p => p.Key.From.Rat).ThenBy(p => p.Key.From.Value)
            .Select(p => $"{p.Key.Earlier}>{p.Key.From}: [{Counts(p.Value)}]"));

    private static string Bins(DwellStats d) =>
        string.Join(",", d.All) + "\n" + string.Join("\n", d.ByEnb.OrderBy(p => p.Key.Rat).ThenBy(p => p.Key.Value).Select(p => $"{p.Key}: {string.Join(",", p.Value)}"));

    private static string Stays(StayStats s) =>
        Stay(s.All) + "\n" + string.Join("\n", s.ByCell.OrderBy(p => p.Key.Rat).ThenBy(p => p.Key.Value).Select(p => $"{p.Key}: {Stay(p.Value)}"))
        + "\n" + string.Join("\n", s.ByPath.OrderBy(p => p.Key.Earlier.Rat).ThenBy(p => p.Key.Earlier.Value).ThenBy(p => p.Key.From.Rat).ThenBy(p => p.Key.From.Value)
            .Select(p => $"{p.Key.Earlier}>{p.Key.From}: {Stay(p.Value)}"));

    private static string Stay(StayHistogram h) => $"{string.Join(",", h.Counts)} {h.LongSeconds:R}";

    private static string Counts(ImmutableDictionary<EnbId, int> next) =>
        string.Join(" ", next.OrderBy(n => n.Key.Rat).ThenBy(n => n.Key.Value).Select(n => $"{n.Key}={n.Value}"));

    private static string Json(MobilitySnapshot s) => JsonSerializer.Serialize(s, McJson.Options);

    private static EnbId Cell(int i, bool nr) => new((uint)i, nr ? Rat.Nr : Rat.Eutra);

    private static MobilityLesson Make(int kind, EnbId from, EnbId to, EnbId? earlier, int atMinutes, int dwellMs, int[] turns, int turn, int moveClass, bool met)
    {
        var packed = turns.Aggregate(0UL, (p, t) => HeadingStats.Push(p, t == 181 ? null : t));
        var handover = new HandoverObservation(TimeSpan.FromMinutes(atMinutes), from, to, TimeSpan.FromMilliseconds(dwellMs))
        {
            Earlier = earlier,
            PriorTurns = packed,
            Turn = turn < 0 ? null : turn,
        };
        var outcome = new MoveOutcomeObservation(moveClass, met);
        return kind switch
        {
            0 => new MobilityLesson { Handover = handover },
            1 => new MobilityLesson { Outcome = outcome },
            2 => new MobilityLesson { Handover = handover, Outcome = outcome },
            _ => new MobilityLesson(),
        };
    }
}
