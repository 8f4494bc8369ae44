namespace MobiScud.Cloud.Simulated;

/// <summary>The per-cap virtual clocks of direct migrations: a binary heap of round ends per class.</summary>
public sealed partial class PreCopyMigrationModel
{
    // The heap of a class: slots ordered by Finish, then by start order (a deterministic tie-break).
    private bool Before(int a, int b)
    {
        ref readonly var x = ref _hot[a];
        ref readonly var y = ref _hot[b];
        return x.Finish < y.Finish || (x.Finish == y.Finish && x.Order < y.Order);
    }

    private void HeapPush(DirectClass c, int slot)
    {
        if (c.Count == c.Heap.Length)
        {
            Array.Resize(ref c.Heap, c.Heap.Length * 2);
        }

        SiftUp(c, c.Count++, slot);
    }

    private int HeapPop(DirectClass c)
    {
        var top = c.Heap[0];
        HeapRemoveAt(c, 0);
        return top;
    }

    private void HeapRemove(DirectClass c, int slot) => HeapRemoveAt(c, _hot[slot].HeapIndex);

    private void HeapRemoveAt(DirectClass c, int i)
    {
        _hot[c.Heap[i]].HeapIndex = -1;
        var last = c.Heap[--c.Count];
        if (i == c.Count)
        {
            return;
        }

        // The last element takes the hole and moves whichever way its key says.
        if (i > 0 && Before(last, c.Heap[(i - 1) / 2]))
        {
            SiftUp(c, i, last);
        }
        else
        {
            SiftDown(c, i, last);
        }
    }

    private void SiftUp(DirectClass c, int i, int slot)
    {
        var heap = c.Heap;
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Before(slot, heap[parent]))
            {
                break;
            }

            heap[i] = heap[parent];
            _hot[heap[i]].HeapIndex = i;
            i = parent;
        }

        heap[i] = slot;
        _hot[slot].HeapIndex = i;
    }

    private void SiftDown(DirectClass c, int i, int slot)
    {
        var heap = c.Heap;
        var n = c.Count;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && Before(heap[child + 1], heap[child]))
            {
                child++;
            }

            if (!Before(heap[child], slot))
            {
                break;
            }

            heap[i] = heap[child];
            _hot[heap[i]].HeapIndex = i;
            i = child;
        }

        heap[i] = slot;
        _hot[slot].HeapIndex = i;
    }

    /// <summary>The direct migrations of one cap on a link: all send at Rate, so one clock tells what each has sent.</summary>
    private sealed class DirectClass(double cap)
    {
        public readonly double Cap = cap;

        /// <summary>Bytes each migration of the class has sent since the class was last empty.</summary>
        public double Clock;

        public double Rate;

        public int[] Heap = new int[8];

        public int Count;
    }
}
