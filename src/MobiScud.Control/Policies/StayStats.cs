using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// Observed stays (handover in to handover out) in 5 s bins up to 600 s, and one bin beyond that keeps the sum of its
/// stays, so that any function of the stay's length can be averaged over them (<see cref="HandoverSmdp"/>).
/// </summary>
public sealed record StayHistogram
{
    /// <summary>Width of a bin.</summary>
    public const double BinSeconds = 5;

    /// <summary>Bins below the long one: 0..600 s.</summary>
    public const int ShortBins = 120;

    private static readonly ImmutableArray<int> _noBins = ImmutableArray.Create(new int[ShortBins + 1]);

    public static StayHistogram Empty { get; } = new();

    /// <summary>Stays per bin; the last bin holds every stay of 600 s or more.</summary>
    public ImmutableArray<int> Counts { get; init; } = _noBins;

    /// <summary>The sum of the stays in the last bin, seconds.</summary>
    public double LongSeconds { get; init; }

    public int Total
    {
        get
        {
            var n = 0;
            foreach (var c in Counts)
            {
                n += c;
            }

            return n;
        }
    }

    public static int BinOf(double seconds) => Math.Clamp((int)Math.Floor(seconds / BinSeconds), 0, ShortBins);

    public StayHistogram Observe(double seconds)
    {
        var bin = BinOf(seconds);
        return this with
        {
            Counts = Counts.SetItem(bin, Counts[bin] + 1),
            LongSeconds = bin == ShortBins ? LongSeconds + seconds : LongSeconds,
        };
    }

    /// <summary>The stays as (length s, count): a short bin at its middle, the long bin at its mean. In bin order.</summary>
    public IEnumerable<(double Seconds, int Count)> Points()
    {
        for (var i = 0; i < ShortBins; i++)
        {
            if (Counts[i] > 0)
            {
                yield return (((i + 0.5) * BinSeconds), Counts[i]);
            }
        }

        if (Counts[ShortBins] > 0)
        {
            yield return (LongSeconds / Counts[ShortBins], Counts[ShortBins]);
        }
    }
}

/// <summary>
/// How long users stay in a cell between handovers, per (cell before, cell), per cell and over all: the sojourns of
/// the semi-Markov plan (<see cref="PredictivePlan.Smdp"/>). The way in tells a quick crossing (a ping-pong partner,
/// a road through a corner) from a stay at a rank, which the per-cell figure cannot. A pure fold kept in
/// <see cref="MobilityStats.Stays"/>, keyed by ids, so folding does not depend on hash order.
/// </summary>
public sealed record StayStats
{
    public static StayStats Empty { get; } = new();

    public StayHistogram All { get; init; } = StayHistogram.Empty;

    public ImmutableDictionary<EnbId, StayHistogram> ByCell { get; init; } = ImmutableDictionary<EnbId, StayHistogram>.Empty;

    public ImmutableDictionary<(EnbId Earlier, EnbId From), StayHistogram> ByPath { get; init; } = ImmutableDictionary<(EnbId, EnbId), StayHistogram>.Empty;

    /// <summary>With one more stay of <paramref name="dwell"/> at <paramref name="from"/>, entered from <paramref name="earlier"/> (null: unknown).</summary>
    public StayStats Observe(EnbId? earlier, EnbId from, TimeSpan dwell)
    {
        if (dwell < TimeSpan.Zero)
        {
            return this;
        }

        var s = dwell.TotalSeconds;
        var next = this with
        {
            All = All.Observe(s),
            ByCell = ByCell.SetItem(from, (ByCell.GetValueOrDefault(from) ?? StayHistogram.Empty).Observe(s)),
        };
        return earlier is { } e && e != from
            ? next with { ByPath = ByPath.SetItem((e, from), (ByPath.GetValueOrDefault((e, from)) ?? StayHistogram.Empty).Observe(s)) }
            : next;
    }
}
