namespace MobiScud.Tracking.Tests.WholePath;

/// <summary>How a case damages a capture, as a lossy tap or a late start would.</summary>
internal enum Damage
{
    /// <summary>Random frame subset: each frame dropped with one probability in 0-60%.</summary>
    Subset,

    /// <summary>One to three contiguous windows lost.</summary>
    DroppedWindows,

    /// <summary>The tap starts somewhere in the middle.</summary>
    StartMidCapture,

    /// <summary>Neighbouring frames swapped.</summary>
    SwappedNeighbours,

    /// <summary>Frames seen twice (a mirror port on two VLANs).</summary>
    Duplicated,

    /// <summary>Timestamps jump back (two capture interfaces merged, a clock step).</summary>
    TimestampsOutOfOrder,

    /// <summary>All of the above at once.</summary>
    Mixed,
}

/// <summary>One damaged frame sequence: the frames in delivery order with the timestamps they carry.</summary>
internal readonly record struct DamagedFrame(RawFrame Frame, long TimestampNanos);

/// <summary>Turns a capture (or a window of it) into a damaged frame sequence, reproducibly from a seed.</summary>
internal static class FrameMutator
{
    public static List<DamagedFrame> Apply(IReadOnlyList<RawFrame> frames, int start, int count, Damage damage, Random random)
    {
        var list = new List<DamagedFrame>(count + 8);
        for (var i = start; i < start + count; i++)
        {
            list.Add(new DamagedFrame(frames[i], frames[i].TimestampNanos));
        }

        switch (damage)
        {
            case Damage.Subset:
                Subset(list, random);
                break;
            case Damage.DroppedWindows:
                DropWindows(list, random);
                break;
            case Damage.StartMidCapture:
                if (list.Count > 1)
                {
                    list.RemoveRange(0, random.Next(1, list.Count));
                }

                break;
            case Damage.SwappedNeighbours:
                Swap(list, random);
                break;
            case Damage.Duplicated:
                Duplicate(list, random);
                break;
            case Damage.TimestampsOutOfOrder:
                Reorder(list, random);
                break;
            default:
                Subset(list, random, max: 0.3);
                DropWindows(list, random);
                Swap(list, random);
                Duplicate(list, random);
                Reorder(list, random);
                break;
        }

        return list;
    }

    private static void Subset(List<DamagedFrame> list, Random random, double max = 0.6)
    {
        var p = random.NextDouble() * max;
        list.RemoveAll(_ => random.NextDouble() < p);
    }

    private static void DropWindows(List<DamagedFrame> list, Random random)
    {
        for (var w = random.Next(1, 4); w > 0 && list.Count > 1; w--)
        {
            var at = random.Next(list.Count);
            var length = random.Next(1, Math.Max(2, list.Count / 5));
            list.RemoveRange(at, Math.Min(length, list.Count - at));
        }
    }

    private static void Swap(List<DamagedFrame> list, Random random)
    {
        var p = 0.05 + (random.NextDouble() * 0.25);
        for (var i = 0; i + 1 < list.Count; i++)
        {
            if (random.NextDouble() < p)
            {
                (list[i], list[i + 1]) = (list[i + 1], list[i]);
                i++;
            }
        }
    }

    private static void Duplicate(List<DamagedFrame> list, Random random)
    {
        var p = 0.05 + (random.NextDouble() * 0.25);
        for (var i = list.Count - 1; i >= 0; i--)
        {
            if (random.NextDouble() < p)
            {
                list.Insert(i + 1 + (random.Next(4) == 0 && i + 2 <= list.Count ? 1 : 0), list[i]);
            }
        }
    }

    private static void Reorder(List<DamagedFrame> list, Random random)
    {
        // Some frames carry a time up to 10 s before or after their neighbours, in the same delivery order.
        var p = 0.05 + (random.NextDouble() * 0.3);
        for (var i = 0; i < list.Count; i++)
        {
            if (random.NextDouble() < p)
            {
                var shift = (long)((random.NextDouble() * 20) - 10) * 1_000_000_000L;
                list[i] = list[i] with { TimestampNanos = list[i].TimestampNanos + shift };
            }
        }
    }
}
