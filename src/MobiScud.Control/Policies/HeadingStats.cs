using System.Collections.Immutable;

namespace MobiScud.Control.Policies;

/// <summary>
/// How often a user's heading held, learned online from the handovers the tracker observes: for each history class
/// (the user's last k turns were each at most an angle, <see cref="Angles"/> x k = 1..<see cref="MaxSteps"/>), how many
/// next handovers were seen and how many of them again turned at most that angle. Predictive trusts its trajectory plan
/// for a user whose history class has been right often enough (<see cref="PolicyConfig.TrajectoryTrust"/>): on straight
/// walkers a single steady step already predicts the next, on taxis that turn at corners it takes a longer straight
/// run, and the statistics tell which trace is which without a per-trace setting. A pure, immutable fold like
/// <see cref="MobilityStats"/> (which carries it).
/// </summary>
public sealed class HeadingStats
{
    /// <summary>The turn bounds (degrees) of the history classes.</summary>
    public static ImmutableArray<int> Angles { get; } = [30, 45, 60, 90];

    /// <summary>The longest run of steady turns a class asks for.</summary>
    public const int MaxSteps = 4;

    /// <summary>The largest turn (degrees) at which the next cell still counts as the one the heading pointed at.</summary>
    public const int RightTurn = 45;

    public static HeadingStats Empty { get; } = new(new long[Angles.Length * MaxSteps], new long[Angles.Length * MaxSteps], new long[Angles.Length * MaxSteps], new double[Angles.Length * MaxSteps]);

    // Per class (angle index * MaxSteps + steps - 1): next handovers seen, those that turned within the class's angle
    // again, those that went where the heading pointed (within RightTurn), and the sum of the cosines of their turns.
    private readonly long[] _seen;
    private readonly long[] _held;
    private readonly long[] _right;
    private readonly double[] _cos;

    private HeadingStats(long[] seen, long[] held, long[] right, double[] cos) => (_seen, _held, _right, _cos) = (seen, held, right, cos);

    /// <summary>Next handovers observed after a history of at least one known turn.</summary>
    public long Observations { get; private init; }

    /// <summary>Next handovers seen after a history in the class (angle index, steps 1..<see cref="MaxSteps"/>).</summary>
    public long Seen(int angle, int steps) => _seen[Index(angle, steps)];

    /// <summary>Of <see cref="Seen"/>, those whose turn was again within the class's angle.</summary>
    public long Held(int angle, int steps) => _held[Index(angle, steps)];

    /// <summary>Of <see cref="Seen"/>, those that went where the heading pointed (turned at most <see cref="RightTurn"/>).</summary>
    public long Right(int angle, int steps) => _right[Index(angle, steps)];

    /// <summary>The mean cosine of the next turn after a history in the class, or null before any was seen.</summary>
    public double? MeanCos(int angle, int steps) => Seen(angle, steps) is > 0 and var n ? _cos[Index(angle, steps)] / n : null;

    /// <summary>The share of <see cref="Seen"/> that went where the heading pointed, or null before <paramref name="minSeen"/> were seen.</summary>
    public double? RightShare(int angle, int steps, long minSeen)
    {
        var seen = Seen(angle, steps);
        return seen >= Math.Max(1, minSeen) ? Right(angle, steps) / (double)seen : null;
    }

    /// <summary>The share of <see cref="Seen"/> that held, or null before <paramref name="minSeen"/> were seen.</summary>
    public double? HeldShare(int angle, int steps, long minSeen)
    {
        var seen = Seen(angle, steps);
        return seen >= Math.Max(1, minSeen) ? Held(angle, steps) / (double)seen : null;
    }

    /// <summary>
    /// The statistics with one more handover: <paramref name="priorTurns"/> the user's turns before it
    /// (<see cref="UeState.RecentTurns"/>), <paramref name="turn"/> the turn this handover made (degrees, 0..180).
    /// </summary>
    public HeadingStats Observe(ulong priorTurns, int turn)
    {
        if (turn is < 0 or > 180 || Turn(priorTurns, 0) is null)
        {
            return this;
        }

        var seen = (long[])_seen.Clone();
        var held = (long[])_held.Clone();
        var right = (long[])_right.Clone();
        var cos = (double[])_cos.Clone();
        var c = Math.Cos(turn * Math.PI / 180);
        for (var a = 0; a < Angles.Length; a++)
        {
            var run = SteadyRun(priorTurns, Angles[a]);
            for (var k = 1; k <= run; k++)
            {
                var i = Index(a, k);
                seen[i]++;
                held[i] += turn <= Angles[a] ? 1 : 0;
                right[i] += turn <= RightTurn ? 1 : 0;
                cos[i] += c;
            }
        }

        return new HeadingStats(seen, held, right, cos) { Observations = Observations + 1 };
    }

    /// <summary>
    /// The counts per class (index angle x <see cref="MaxSteps"/> + steps - 1): seen, held, right and the sum of the
    /// cosines of the next turns (copies), for a host that persists the statistics (<see cref="FromCounts"/>).
    /// </summary>
    public (long[] Seen, long[] Held, long[] Right, double[] CosSum) Counts() => ([.. _seen], [.. _held], [.. _right], [.. _cos]);

    /// <summary>The statistics <see cref="Counts"/> and <see cref="Observations"/> describe.</summary>
    public static HeadingStats FromCounts(IReadOnlyList<long> seen, IReadOnlyList<long> held, IReadOnlyList<long> right, IReadOnlyList<double> cosSum, long observations)
    {
        ArgumentNullException.ThrowIfNull(seen);
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(right);
        ArgumentNullException.ThrowIfNull(cosSum);
        var n = Angles.Length * MaxSteps;
        if (seen.Count != n || held.Count != n || right.Count != n || cosSum.Count != n)
        {
            throw new ArgumentException($"heading counts need {n} classes each (seen {seen.Count}, held {held.Count}, right {right.Count}, cos {cosSum.Count})", nameof(seen));
        }

        return new HeadingStats([.. seen], [.. held], [.. right], [.. cosSum]) { Observations = observations };
    }

    /// <summary>The share of next handovers that went where the heading pointed, for the best-known class the user's history falls in, or null when none is known yet.</summary>
    public double? Trust(ulong turns, long minSeen)
    {
        double? best = null;
        for (var a = 0; a < Angles.Length; a++)
        {
            var run = Math.Min(SteadyRun(turns, Angles[a]), MaxSteps);
            if (run > 0 && RightShare(a, run, minSeen) is { } share && !(share <= best))
            {
                best = share;
            }
        }

        return best;
    }

    /// <summary>How many of the newest turns in a row were each at most <paramref name="angle"/> degrees (up to <see cref="MaxSteps"/>).</summary>
    public static int SteadyRun(ulong turns, int angle)
    {
        var run = 0;
        while (run < MaxSteps && Turn(turns, run) is { } t && t <= angle)
        {
            run++;
        }

        return run;
    }

    /// <summary>The turn <paramref name="back"/> handovers ago (0: the newest) in a packed history, or null when unknown.</summary>
    public static int? Turn(ulong turns, int back)
    {
        var b = (int)((turns >> (8 * back)) & 0xFF);
        return b == 0 ? null : b - 1;
    }

    /// <summary>A packed history with one more turn (degrees, null: unknown) as the newest.</summary>
    public static ulong Push(ulong turns, int? turn) =>
        (turns << 8) | (turn is { } t ? (ulong)(Math.Clamp(t, 0, 180) + 1) : 0);

    private static int Index(int angle, int steps) =>
        angle >= 0 && angle < Angles.Length && steps >= 1 && steps <= MaxSteps
            ? (angle * MaxSteps) + steps - 1
            : throw new ArgumentOutOfRangeException(nameof(angle), $"no heading class ({angle}, {steps}): angle index 0..{Angles.Length - 1}, steps 1..{MaxSteps}");
}
