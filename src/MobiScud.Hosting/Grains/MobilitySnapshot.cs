using System.Collections.Immutable;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Hosting.Grains;

/// <summary>
/// Every learned part of <see cref="MobilityStats"/> as rows, so that <see cref="MobilityRows.ToStats(MobilitySnapshot)"/>
/// of <see cref="MobilityRows.ToSnapshot"/> gives the statistics back exactly (sums of seconds and cosines included:
/// they are stored as summed, never re-summed). Rows come sorted, so equal statistics give equal snapshots.
/// </summary>
[GenerateSerializer]
[Immutable]
public sealed record MobilitySnapshot(
    [property: Id(0)] long Observations,
    [property: Id(1)] double TotalDwellSeconds,
    [property: Id(2)] EnbMobilityRow[] Enbs,
    [property: Id(3)] NextEnbRow[] Next,
    [property: Id(4)] PathRow[] Paths,
    [property: Id(5)] int[] AllDwells,
    [property: Id(6)] DwellRow[] Dwells,
    [property: Id(7)] HeadingRow Headings,
    [property: Id(8)] OutcomeRow Outcomes)
{
    /// <summary>The layout of the rows (3: every part; 2 had no <see cref="Stays"/>; 1 was <see cref="MobilityRow"/>s, first order only).</summary>
    [Id(9)]
    public int Version { get; init; } = 3;

    /// <summary>The stays per way in (<see cref="MobilityStats.Stays"/>): the all-cells row first (no cells), then per cell, then per path. Null in version 2.</summary>
    [Id(10)]
    public StayRow[]? Stays { get; init; }
}

/// <summary>
/// A stay histogram (<see cref="StayHistogram"/>): over all cells (both ids null), of a cell (<see cref="From"/>), or of
/// users that came from <see cref="Earlier"/> into <see cref="From"/>.
/// </summary>
[GenerateSerializer]
[Immutable]
public sealed record StayRow([property: Id(0)] EnbId? Earlier, [property: Id(1)] EnbId? From, [property: Id(2)] int[] Counts, [property: Id(3)] double LongSeconds);

/// <summary>Departures and summed dwell of an eNB in an hour of the day (0..23), or over all hours (<see cref="MobilityRows.AllHours"/>).</summary>
[GenerateSerializer]
[Immutable]
public sealed record EnbMobilityRow([property: Id(0)] EnbId Enb, [property: Id(1)] int Hour, [property: Id(2)] int Departures, [property: Id(3)] double DwellSeconds);

/// <summary>How many departures from an eNB in an hour (or over all hours) went to <see cref="To"/>.</summary>
[GenerateSerializer]
[Immutable]
public sealed record NextEnbRow([property: Id(0)] EnbId Enb, [property: Id(1)] int Hour, [property: Id(2)] EnbId To, [property: Id(3)] int Count);

/// <summary>Second-order transitions: users that came from <see cref="Earlier"/> and left <see cref="From"/> for <see cref="To"/>.</summary>
[GenerateSerializer]
[Immutable]
public sealed record PathRow([property: Id(0)] EnbId Earlier, [property: Id(1)] EnbId From, [property: Id(2)] EnbId To, [property: Id(3)] int Count);

/// <summary>An eNB's dwell histogram (bins of <see cref="DwellStats.EdgesSeconds"/>).</summary>
[GenerateSerializer]
[Immutable]
public sealed record DwellRow([property: Id(0)] EnbId Enb, [property: Id(1)] int[] Bins);

/// <summary><see cref="HeadingStats.Counts"/> and its observation count.</summary>
[GenerateSerializer]
[Immutable]
public sealed record HeadingRow([property: Id(0)] long Observations, [property: Id(1)] long[] Seen, [property: Id(2)] long[] Held, [property: Id(3)] long[] Right, [property: Id(4)] double[] CosSum);

/// <summary>Move outcomes per class (<see cref="MoveOutcomeStats.Seen"/>, <see cref="MoveOutcomeStats.Met"/>).</summary>
[GenerateSerializer]
[Immutable]
public sealed record OutcomeRow([property: Id(0)] long[] Seen, [property: Id(1)] long[] Met);

/// <summary>The first-order rows serve stored before every part was persisted (version 1): one per (eNB, hour, next eNB). Still read.</summary>
[GenerateSerializer]
[Immutable]
public sealed record MobilityRow([property: Id(0)] uint From, [property: Id(1)] int Hour, [property: Id(2)] uint To, [property: Id(3)] int Count, [property: Id(4)] double DwellSeconds);

/// <summary>The statistics as stored, and back.</summary>
public static class MobilityRows
{
    /// <summary>The hour of a row that holds every hour together (<see cref="MobilityStats.ByEnb"/>).</summary>
    public const int AllHours = -1;

    public static MobilitySnapshot ToSnapshot(MobilityStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var enbs = new List<EnbMobilityRow>();
        var next = new List<NextEnbRow>();
        void Add(EnbId enb, int hour, EnbMobility m)
        {
            enbs.Add(new EnbMobilityRow(enb, hour, m.Departures, m.DwellSeconds));
            next.AddRange(m.Next.Select(n => new NextEnbRow(enb, hour, n.Key, n.Value)));
        }

        foreach (var ((enb, hour), m) in stats.ByEnbHour)
        {
            Add(enb, hour, m);
        }

        foreach (var (enb, m) in stats.ByEnb)
        {
            Add(enb, AllHours, m);
        }

        var paths = stats.ByPath.SelectMany(p => p.Value.Select(n => new PathRow(p.Key.Earlier, p.Key.From, n.Key, n.Value)));
        var dwells = stats.Dwells.ByEnb.Select(d => new DwellRow(d.Key, [.. d.Value]));
        var (seen, held, right, cos) = stats.Headings.Counts();
        var outcomes = Enumerable.Range(0, MoveOutcomeStats.Classes);
        return new MobilitySnapshot(
            stats.Observations,
            stats.TotalDwellSeconds,
            [.. enbs.OrderBy(r => Key(r.Enb)).ThenBy(r => r.Hour)],
            [.. next.OrderBy(r => Key(r.Enb)).ThenBy(r => r.Hour).ThenBy(r => Key(r.To))],
            [.. paths.OrderBy(r => Key(r.Earlier)).ThenBy(r => Key(r.From)).ThenBy(r => Key(r.To))],
            [.. stats.Dwells.All],
            [.. dwells.OrderBy(r => Key(r.Enb))],
            new HeadingRow(stats.Headings.Observations, seen, held, right, cos),
            new OutcomeRow([.. outcomes.Select(stats.MoveOutcomes.Seen)], [.. outcomes.Select(stats.MoveOutcomes.Met)]))
        {
            Stays =
            [
                new StayRow(null, null, [.. stats.Stays.All.Counts], stats.Stays.All.LongSeconds),
                .. stats.Stays.ByCell.Select(c => new StayRow(null, c.Key, [.. c.Value.Counts], c.Value.LongSeconds)).OrderBy(r => Key(r.From!.Value)),
                .. stats.Stays.ByPath.Select(p => new StayRow(p.Key.Earlier, p.Key.From, [.. p.Value.Counts], p.Value.LongSeconds))
                    .OrderBy(r => Key(r.Earlier!.Value)).ThenBy(r => Key(r.From!.Value)),
            ],
        };
    }

    private static StayStats Stays(StayRow[]? rows)
    {
        if (rows is null)
        {
            // Version 2 never stored them: unknown, not invented.
            return StayStats.Empty;
        }

        StayHistogram Histogram(StayRow r) => r.Counts.Length == StayHistogram.ShortBins + 1
            ? new StayHistogram { Counts = [.. r.Counts], LongSeconds = r.LongSeconds }
            : throw new InvalidDataException($"a stay histogram needs {StayHistogram.ShortBins + 1} bins, the stored one has {r.Counts.Length}");
        return new StayStats
        {
            All = rows.Where(r => r.From is null).Select(Histogram).SingleOrDefault() ?? StayHistogram.Empty,
            ByCell = rows.Where(r => r is { Earlier: null, From: not null }).ToImmutableDictionary(r => r.From!.Value, Histogram),
            ByPath = rows.Where(r => r is { Earlier: not null, From: not null }).ToImmutableDictionary(r => (r.Earlier!.Value, r.From!.Value), Histogram),
        };
    }

    public static MobilityStats ToStats(MobilitySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var next = snapshot.Next.ToLookup(r => (r.Enb, r.Hour));
        EnbMobility Mobility(EnbMobilityRow r) => new(next[(r.Enb, r.Hour)].ToImmutableDictionary(n => n.To, n => n.Count), r.Departures, r.DwellSeconds);
        return MobilityStats.Empty with
        {
            Observations = snapshot.Observations,
            TotalDwellSeconds = snapshot.TotalDwellSeconds,
            ByEnbHour = snapshot.Enbs.Where(r => r.Hour != AllHours).ToImmutableDictionary(r => (r.Enb, r.Hour), Mobility),
            ByEnb = snapshot.Enbs.Where(r => r.Hour == AllHours).ToImmutableDictionary(r => r.Enb, Mobility),
            ByPath = snapshot.Paths.GroupBy(r => (r.Earlier, r.From)).ToImmutableDictionary(g => g.Key, g => g.ToImmutableDictionary(r => r.To, r => r.Count)),
            Dwells = new DwellStats
            {
                All = Bins(snapshot.AllDwells),
                ByEnb = snapshot.Dwells.ToImmutableDictionary(r => r.Enb, r => Bins(r.Bins)),
            },
            Headings = HeadingStats.FromCounts(snapshot.Headings.Seen, snapshot.Headings.Held, snapshot.Headings.Right, snapshot.Headings.CosSum, snapshot.Headings.Observations),
            MoveOutcomes = MoveOutcomeStats.FromCounts(snapshot.Outcomes.Seen, snapshot.Outcomes.Met),
            Stays = Stays(snapshot.Stays),
        };
    }

    /// <summary>
    /// Version 1's first-order rows: per (eNB, hour) and per eNB the next-eNB counts, departures and dwell, everything
    /// else (paths, dwell histograms, headings, move outcomes) unknown, as they were never stored. The grain reads a
    /// version 1 record this way and writes it back as version 2 at its next addition.
    /// </summary>
    public static MobilityStats ToStats(IEnumerable<MobilityRow> rows)
    {
        var stats = MobilityStats.Empty;
        foreach (var r in rows.OrderBy(r => r.From).ThenBy(r => r.Hour).ThenBy(r => r.To))
        {
            var key = (new EnbId(r.From), r.Hour);
            var to = new EnbId(r.To);
            var hour = stats.ByEnbHour.GetValueOrDefault(key) ?? EnbMobility.Empty;
            var all = stats.ByEnb.GetValueOrDefault(key.Item1) ?? EnbMobility.Empty;
            stats = stats with
            {
                ByEnbHour = stats.ByEnbHour.SetItem(key, Add(hour, to, r.Count, r.DwellSeconds)),
                ByEnb = stats.ByEnb.SetItem(key.Item1, Add(all, to, r.Count, r.DwellSeconds)),
                Observations = stats.Observations + r.Count,
                TotalDwellSeconds = stats.TotalDwellSeconds + r.DwellSeconds,
            };
        }

        return stats;
    }

    /// <summary>A stored record's statistics: its snapshot (version 2 or 3), else its first-order rows (version 1).</summary>
    public static MobilityStats Load(MobilityRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Stats is { } snapshot ? ToStats(snapshot) : ToStats(record.Rows);
    }

    private static ImmutableArray<int> Bins(int[] bins) =>
        bins.Length == DwellStats.EdgesSeconds.Length + 1
            ? [.. bins]
            : throw new InvalidDataException($"a dwell histogram needs {DwellStats.EdgesSeconds.Length + 1} bins, the stored one has {bins.Length}");

    private static (int Rat, uint Value) Key(EnbId enb) => ((int)enb.Rat, enb.Value);

    private static EnbMobility Add(EnbMobility m, EnbId to, int count, double dwell) =>
        new(m.Next.SetItem(to, m.Next.GetValueOrDefault(to) + count), m.Departures + count, m.DwellSeconds + dwell);
}
