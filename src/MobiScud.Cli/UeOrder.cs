using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using MobiScud.Control.Model;

namespace MobiScud.Cli;

/// <summary>
/// A replay's timeline entries grouped by UE, as indexes: the UEs in order of first entry, and the entries of UE u at
/// <c>Order[Starts[u]..Starts[u + 1]]</c>, in capture order (what GroupBy over the entries' UE gives).
/// </summary>
internal sealed class UeOrder(UeId[] ues, int[] starts, int[] order)
{
    public UeId[] Ues { get; } = ues;

    public int[] Starts { get; } = starts;

    public int[] Order { get; } = order;

    /// <summary>
    /// From the UE indexes the session recorded as the entries arrived (<see cref="ReplayResult.EntryUes"/>) when it has
    /// them: a counting sort of integers, which reads no entry. Otherwise from each entry's event.
    /// </summary>
    public static UeOrder Of(ReplayResult result, IReadOnlyList<ReplayEntry> entries)
    {
        if (result.EntryUes is { } index && result.UeIds is { } ues && index.Count == entries.Count)
        {
            return Sorted(index, [.. ues]);
        }

        var (byEntry, found) = Indexes(entries);
        return Sorted(byEntry, [.. found]);
    }

    /// <summary>Each entry's UE as an index into the UEs in order of first entry, keyed by the id's string (a null id is a UE of its own).</summary>
    internal static (int[] ByEntry, List<UeId> Ues) Indexes(IReadOnlyList<ReplayEntry> entries)
    {
        var byEntry = new int[entries.Count];
        var ues = new List<UeId>();
        var byId = new Dictionary<string, int>();
        var nullId = -1;
        for (var i = 0; i < entries.Count; i++)
        {
            var ue = entries[i].Event.Ue;
            int index;
            if (ue.Value is null)
            {
                if (nullId < 0)
                {
                    nullId = ues.Count;
                    ues.Add(ue);
                }

                index = nullId;
            }
            else
            {
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(byId, ue.Value, out var known);
                if (!known)
                {
                    slot = ues.Count;
                    ues.Add(ue);
                }

                index = slot;
            }

            byEntry[i] = index;
        }

        return (byEntry, ues);
    }

    private static UeOrder Sorted(IReadOnlyList<int> byEntry, UeId[] ues)
    {
        var index = byEntry switch
        {
            int[] array => array,
            List<int> list => CollectionsMarshal.AsSpan(list),
            _ => byEntry.ToArray(),
        };
        var starts = new int[ues.Length + 1];
        foreach (var u in index)
        {
            starts[u + 1]++;
        }

        for (var u = 0; u < ues.Length; u++)
        {
            starts[u + 1] += starts[u];
        }

        var next = starts[..^1];
        var order = new int[index.Length];
        for (var i = 0; i < index.Length; i++)
        {
            order[next[index[i]]++] = i;
        }

        return new UeOrder(ues, starts, order);
    }
}

/// <summary>
/// Software prefetch of the entries the render is about to write. A UE's entries lie wherever the tracker allocated
/// them (the capture interleaves the UEs), long since out of the caches, and each is a chain of objects (entry, event,
/// command list, commands, their parts) whose next address is known only once the one before has arrived: written in
/// turn, every link is a cache miss the writer waits for. Fetched ahead, one link further for each entry nearer, the
/// misses overlap the writing of the entries before them (`replay --json` of the repeat-200 bench file: render
/// 0.143 -> 0.106 CPU s with the addresses' own formatting, docs/capture.md). A prefetch is a hint: it never faults
/// and changes nothing. Deeper links (the bearers' endpoints and addresses, the intents' parts) cost more in the
/// walk than they saved (0.114 s against 0.109 s).
/// </summary>
internal static class EntryPrefetch
{
    /// <summary>Before writing the entry at <c>order[k]</c>.</summary>
    public static void Ahead(ReadOnlySpan<ReplayEntry> entries, ReadOnlySpan<int> order, int k)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        // Five entries ahead its own line; four, its event and command list; three, the event's parts and the list's
        // items; two, the commands; one, the commands' parts. Each level reads only what the one before asked for.
        var n = order.Length;
        if (k + 5 < n)
        {
            Line(entries[order[k + 5]]);
        }

        if (k + 4 < n)
        {
            var e = entries[order[k + 4]];
            Line(e.Event);
            Line(e.Commands);
        }

        if (k + 3 < n)
        {
            var e = entries[order[k + 3]];
            EventParts(e.Event);
            var commands = Items(e.Commands);
            if (!commands.IsEmpty)
            {
                Line(ref MemoryMarshal.GetReference(commands));
            }
        }

        if (k + 2 < n)
        {
            foreach (var c in Items(entries[order[k + 2]].Commands))
            {
                Line(c);
            }
        }

        if (k + 1 < n)
        {
            foreach (var c in Items(entries[order[k + 1]].Commands))
            {
                CommandParts(c);
            }
        }
    }

    private static void EventParts(UeEvent e)
    {
        Line(e.Cell);
        if (e is UeAttached a)
        {
            Line(a.UeAddress);
            Line(a.Bearers);
        }
    }

    private static void CommandParts(ControlCommand c)
    {
        switch (c)
        {
            case Notify n:
                Line(n.Detail);
                break;
            case InstallSteering s:
                Line(s.Intent);
                break;
        }
    }

    /// <summary>A list's items in place when it is an array or a List (the MC's are); else none.</summary>
    private static ReadOnlySpan<ControlCommand> Items(IReadOnlyList<ControlCommand> list) => list switch
    {
        List<ControlCommand> items => CollectionsMarshal.AsSpan(items),
        ControlCommand[] array => array,
        _ => default,
    };

    private static unsafe void Line(object? o)
    {
        if (o is not null)
        {
            // The object's header and the start of its fields; most of the model's records end within the next line.
            var at = (byte*)Unsafe.As<object, nint>(ref o);
            Sse.Prefetch0(at);
            Sse.Prefetch0(at + 56);
        }
    }

    /// <summary>An array's elements from the first one on.</summary>
    private static unsafe void Line(ref ControlCommand first) => Sse.Prefetch0(Unsafe.AsPointer(ref first));
}
