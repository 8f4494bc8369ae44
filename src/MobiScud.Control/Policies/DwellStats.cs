using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// How long users stay in a cell, as a distribution, learned online: per eNB and over all eNBs, the count of observed
/// dwells in log-spaced bins (<see cref="EdgesSeconds"/>). A pure fold (<see cref="Observe"/>) kept in
/// <see cref="MobilityStats.Dwells"/>. The mean dwell alone makes leaving memoryless; taxis are not: most cross a
/// cell in half a minute, a few wait at a rank or a light for many minutes, so the chance that a user leaves soon falls
/// the longer it has stayed (a hazard that decreases with the time spent; measured in docs/policies.md,
/// "When a taxi leaves its cell").
/// </summary>
public sealed record DwellStats
{
    /// <summary>The upper edges of the bins, seconds; one more bin holds everything longer.</summary>
    public static ImmutableArray<double> EdgesSeconds { get; } = [15, 30, 60, 120, 240, 480, 960, 1920];

    // Before Empty: static initialisers run in order, and Empty's bins are these.
    private static readonly ImmutableArray<int> _noBins = ImmutableArray.Create(new int[EdgesSeconds.Length + 1]);

    public static DwellStats Empty { get; } = new();

    /// <summary>Every eNB's dwells together: the prior of an eNB with few.</summary>
    public ImmutableArray<int> All { get; init; } = _noBins;

    public ImmutableDictionary<EnbId, ImmutableArray<int>> ByEnb { get; init; } = ImmutableDictionary<EnbId, ImmutableArray<int>>.Empty;

    /// <summary>The bin of a dwell of <paramref name="seconds"/> (an edge belongs to the bin below it).</summary>
    public static int BinOf(double seconds)
    {
        var bin = 0;
        while (bin < EdgesSeconds.Length && seconds > EdgesSeconds[bin])
        {
            bin++;
        }

        return bin;
    }

    /// <summary>The statistics with one more dwell of <paramref name="dwell"/> at <paramref name="enb"/>.</summary>
    public DwellStats Observe(EnbId enb, TimeSpan dwell)
    {
        if (dwell < TimeSpan.Zero)
        {
            return this;
        }

        var bin = BinOf(dwell.TotalSeconds);
        var cell = ByEnb.GetValueOrDefault(enb, _noBins);
        return this with
        {
            All = All.SetItem(bin, All[bin] + 1),
            ByEnb = ByEnb.SetItem(enb, cell.SetItem(bin, cell[bin] + 1)),
        };
    }

    /// <summary>
    /// How many of the dwells in <paramref name="bins"/> lasted longer than <paramref name="seconds"/>: spread evenly
    /// within a bin, and the last (open) bin as an exponential tail whose mean is its lower edge.
    /// </summary>
    public static double Survivors(ImmutableArray<int> bins, double seconds)
    {
        var n = 0.0;
        var lo = 0.0;
        for (var i = 0; i < bins.Length; i++)
        {
            if (bins[i] == 0)
            {
                lo = i < EdgesSeconds.Length ? EdgesSeconds[i] : lo;
                continue;
            }

            if (i == EdgesSeconds.Length)
            {
                n += bins[i] * (seconds <= lo ? 1 : Math.Exp(-(seconds - lo) / lo));
                break;
            }

            var hi = EdgesSeconds[i];
            n += seconds <= lo ? bins[i] : seconds < hi ? bins[i] * (hi - seconds) / (hi - lo) : 0;
            lo = hi;
        }

        return n;
    }

    /// <summary>
    /// The chance that a user who has been at <paramref name="enb"/> for <paramref name="elapsed"/> is still there
    /// <paramref name="ahead"/> later: S(e + h) / S(e) from the eNB's dwells, shrunk toward every eNB's with
    /// <paramref name="shrink"/> pseudo-observations (the eNB's own count is those still there at e). Null before any
    /// dwell was observed anywhere, or where every observed dwell was shorter than <paramref name="elapsed"/>.
    /// </summary>
    public double? StayProbability(EnbId enb, TimeSpan elapsed, TimeSpan ahead, int shrink)
    {
        var e = Math.Max(0, elapsed.TotalSeconds);
        var h = Math.Max(0, ahead.TotalSeconds);
        var allAt = Survivors(All, e);
        if (!(allAt > 0))
        {
            return null;
        }

        var all = Survivors(All, e + h) / allAt;
        if (!ByEnb.TryGetValue(enb, out var cell))
        {
            return all;
        }

        return (Survivors(cell, e + h) + (shrink * all)) / (Survivors(cell, e) + shrink);
    }

    /// <summary>
    /// The median time a user who has been at <paramref name="enb"/> for <paramref name="elapsed"/> has left there: the
    /// shortest h (to a second, up to <paramref name="cap"/>) with <see cref="StayProbability"/> at most 1/2. Null when
    /// nothing is known.
    /// </summary>
    public TimeSpan? MedianRemaining(EnbId enb, TimeSpan elapsed, int shrink, TimeSpan cap)
    {
        if (StayProbability(enb, elapsed, cap, shrink) is not { } atCap)
        {
            return null;
        }

        if (atCap > 0.5)
        {
            return cap;
        }

        // The chance of staying falls with h: bisect on whole seconds.
        var (lo, hi) = (0.0, Math.Ceiling(cap.TotalSeconds));
        while (hi - lo > 1)
        {
            var mid = Math.Floor((lo + hi) / 2);
            if (StayProbability(enb, elapsed, TimeSpan.FromSeconds(mid), shrink) > 0.5)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return TimeSpan.FromSeconds(hi);
    }
}
