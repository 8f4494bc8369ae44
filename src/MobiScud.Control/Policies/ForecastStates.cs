using MobiScud.Control.Model;

namespace MobiScud.Control.Policies;

/// <summary>
/// Predictive's forecast states, (cell, extra rings) -> weight, kept in the order they were first added. The sums over
/// them (a step's mass, a site's transmission cost) run in that order, as they did over the dictionaries this replaces,
/// so every figure is the same to the last bit. Arrays with an open-addressed index instead of a dictionary per step:
/// the forecast runs on every event of a user whose PVM is away, and those dictionaries were most of what predictive
/// allocated per decision.
/// </summary>
internal sealed class ForecastStates
{
    private (EnbId Cell, int Extra)[] _keys;
    private double[] _values;

    // Slot -> entry + 1 (0: empty); a power of two at least twice the capacity, so probes stay short.
    private int[] _index;

    public ForecastStates(int capacity)
    {
        capacity = Math.Max(4, capacity);
        _keys = new (EnbId, int)[capacity];
        _values = new double[capacity];
        _index = new int[IndexSize(capacity)];
    }

    public int Count { get; private set; }

    public (EnbId Cell, int Extra) Key(int i) => _keys[i];

    public double Value(int i) => _values[i];

    /// <summary>The weight of <paramref name="key"/> plus <paramref name="p"/> (a new key starts at 0), as <c>d[key] = d.GetValueOrDefault(key) + p</c>.</summary>
    public void Accumulate((EnbId Cell, int Extra) key, double p)
    {
        var slot = Slot(key);
        if (_index[slot] is var entry and > 0)
        {
            _values[entry - 1] += p;
            return;
        }

        if (Count == _keys.Length)
        {
            Grow();
            slot = Slot(key);
        }

        _keys[Count] = key;
        _values[Count] = 0 + p;
        _index[slot] = ++Count;
    }

    /// <summary><see cref="Accumulate"/> of a positive weight only (a state no chance reaches is not followed).</summary>
    public void AddPositive((EnbId Cell, int Extra) key, double p)
    {
        if (p > 0)
        {
            Accumulate(key, p);
        }
    }

    public void Clear()
    {
        if (Count > 0)
        {
            Array.Clear(_index);
            Count = 0;
        }
    }

    /// <summary>The sum of the weights, in insertion order.</summary>
    public double Total()
    {
        var total = 0.0;
        for (var i = 0; i < Count; i++)
        {
            total += _values[i];
        }

        return total;
    }

    /// <summary>
    /// Keeps the <paramref name="width"/> likeliest states (weight descending, then cell id, then extra rings, then
    /// insertion: a stable sort's first), in that order, their mass scaled back up to the whole (the rest is spread in
    /// proportion). Nothing changes when no more than <paramref name="width"/> are held.
    /// </summary>
    public void Prune(int width)
    {
        if (Count <= width)
        {
            return;
        }

        var total = Total();
        Span<bool> taken = Count <= 512 ? stackalloc bool[Count] : new bool[Count];
        Span<int> kept = width <= 64 ? stackalloc int[width] : new int[width];
        for (var r = 0; r < width; r++)
        {
            var best = -1;
            for (var i = 0; i < Count; i++)
            {
                if (!taken[i] && (best < 0 || Before(i, best)))
                {
                    best = i;
                }
            }

            taken[best] = true;
            kept[r] = best;
        }

        var keptMass = 0.0;
        foreach (var i in kept)
        {
            keptMass += _values[i];
        }

        Span<(EnbId Cell, int Extra)> keys = width <= 64 ? stackalloc (EnbId Cell, int Extra)[width] : new (EnbId Cell, int Extra)[width];
        Span<double> values = width <= 64 ? stackalloc double[width] : new double[width];
        for (var r = 0; r < width; r++)
        {
            keys[r] = _keys[kept[r]];
            values[r] = _values[kept[r]] * total / keptMass;
        }

        Clear();
        for (var r = 0; r < width; r++)
        {
            var slot = Slot(keys[r]);
            _keys[r] = keys[r];
            _values[r] = values[r];
            _index[slot] = r + 1;
        }

        Count = width;
    }

    private bool Before(int a, int b)
    {
        var order = _values[b].CompareTo(_values[a]);
        if (order != 0)
        {
            return order < 0;
        }

        var (ka, kb) = (_keys[a], _keys[b]);
        return ka.Cell.Value != kb.Cell.Value ? ka.Cell.Value < kb.Cell.Value
            : ka.Extra != kb.Extra ? ka.Extra < kb.Extra
            : a < b;
    }

    private int Slot((EnbId Cell, int Extra) key)
    {
        var mask = _index.Length - 1;
        var slot = (int)(((key.Cell.Value * 0x9E3779B1u) ^ ((uint)key.Extra * 0x85EBCA6Bu) ^ (uint)key.Cell.Rat) & (uint)mask);
        while (_index[slot] is var entry and > 0 && _keys[entry - 1] != key)
        {
            slot = (slot + 1) & mask;
        }

        return slot;
    }

    private void Grow()
    {
        var capacity = _keys.Length * 2;
        Array.Resize(ref _keys, capacity);
        Array.Resize(ref _values, capacity);
        _index = new int[IndexSize(capacity)];
        for (var i = 0; i < Count; i++)
        {
            _index[Slot(_keys[i])] = i + 1;
        }
    }

    private static int IndexSize(int capacity) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2);
}
