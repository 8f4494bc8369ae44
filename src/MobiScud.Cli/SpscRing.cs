using System.Numerics;
using System.Runtime.InteropServices;

namespace MobiScud.Cli;

/// <summary>
/// A bounded single-producer single-consumer queue of structs: one array allocated up front, no locks, no allocation
/// per item. Exactly one thread may call <see cref="TryEnqueue"/> and exactly one (another) <see cref="TryDequeue"/>.
/// The two indices sit on their own cache lines so that the threads do not invalidate each other's line per item.
/// </summary>
internal sealed class SpscRing<T>
    where T : struct
{
    private readonly T[] _items;
    private readonly long _mask;
    private SpscIndices _at;

    public SpscRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)capacity);
        _items = new T[size];
        _mask = size - 1;
    }

    public int Capacity => _items.Length;

    /// <summary>Items waiting (a snapshot; exact only on the producer or the consumer thread when the other is idle).</summary>
    public long Count => Volatile.Read(ref _at.Tail) - Volatile.Read(ref _at.Head);

    /// <summary>Producer only. False when full: the item was not taken.</summary>
    public bool TryEnqueue(in T item)
    {
        var tail = _at.Tail;
        if (tail - Volatile.Read(ref _at.Head) >= _items.Length)
        {
            return false;
        }

        _items[tail & _mask] = item;

        // Release: the item is written before the consumer can see the new tail.
        Volatile.Write(ref _at.Tail, tail + 1);
        return true;
    }

    /// <summary>Consumer only. False when empty.</summary>
    public bool TryDequeue(out T item)
    {
        var head = _at.Head;
        if (head == Volatile.Read(ref _at.Tail))
        {
            item = default;
            return false;
        }

        var slot = head & _mask;
        item = _items[slot];

        // The slot lets go of what it references (the GC can take it) before the producer may reuse it.
        _items[slot] = default;
        Volatile.Write(ref _at.Head, head + 1);
        return true;
    }
}

/// <summary>The ring's indices, each on its own cache line (outside the generic type: a generic type cannot have explicit layout).</summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct SpscIndices
{
    [FieldOffset(64)]
    public long Head;

    [FieldOffset(128)]
    public long Tail;
}
