using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Tracking;

internal sealed partial class UeStore
{
    /// <summary>
    /// One lookup (identity -> the UEs given it, the last given it last), with what changed since the last snapshot and
    /// how to undo the step in progress (each change logged with the position it moved the key from, so the order comes
    /// back too).
    /// </summary>
    private sealed class Lookup<T>(IEqualityComparer<T>? comparer)
        where T : notnull
    {
        private readonly List<(T Id, UeKey Key, int Position, bool Added)> _undo = [];

        public Dictionary<T, List<UeKey>> Map { get; } = new(comparer);

        public HashSet<T> Changed { get; } = new(comparer);

        public void Load(ImmutableDictionary<T, ImmutableArray<UeKey>> from)
        {
            foreach (var (id, keys) in from)
            {
                Map.Add(id, [.. keys]);
            }
        }

        /// <summary>The key becomes the one given the identity last.</summary>
        public void With(UeStore store, T id, UeKey key)
        {
            var position = -1;
            if (Map.TryGetValue(id, out var keys))
            {
                position = keys.LastIndexOf(key);
                if (position >= 0)
                {
                    keys.RemoveAt(position);
                }

                keys.Add(key);
            }
            else
            {
                Map.Add(id, [key]);
            }

            _undo.Add((id, key, position, true));
            store.Track(Changed, id);
        }

        public void Without(UeStore store, T id, UeKey key)
        {
            if (!Map.TryGetValue(id, out var keys) || keys.LastIndexOf(key) is var position && position < 0)
            {
                return;
            }

            keys.RemoveAt(position);
            if (keys.Count == 0)
            {
                Map.Remove(id);
            }

            _undo.Add((id, key, position, false));
            store.Track(Changed, id);
        }

        public void EndStep() => _undo.Clear();

        /// <summary>Reverts this step's changes, last first.</summary>
        public void Undo(UeStore store)
        {
            for (var i = _undo.Count - 1; i >= 0; i--)
            {
                var (id, key, position, added) = _undo[i];
                if (!Map.TryGetValue(id, out var keys))
                {
                    Map.Add(id, keys = []);
                }

                if (added)
                {
                    keys.RemoveAt(keys.Count - 1);
                }

                if (position >= 0)
                {
                    keys.Insert(position, key);
                }

                if (keys.Count == 0)
                {
                    Map.Remove(id);
                }

                store.Track(Changed, id);
            }

            _undo.Clear();
        }

        public ImmutableDictionary<T, ImmutableArray<UeKey>> Frozen(ImmutableDictionary<T, ImmutableArray<UeKey>> empty)
        {
            var b = empty.ToBuilder();
            foreach (var (id, keys) in Map)
            {
                b.Add(id, [.. keys]);
            }

            return b.ToImmutable();
        }

        /// <summary>The last snapshot's lookup with what changed since.</summary>
        public ImmutableDictionary<T, ImmutableArray<UeKey>> Updated(ImmutableDictionary<T, ImmutableArray<UeKey>> last)
        {
            if (Changed.Count == 0)
            {
                return last;
            }

            var b = last.ToBuilder();
            foreach (var id in Changed)
            {
                if (Map.TryGetValue(id, out var keys))
                {
                    b[id] = [.. keys];
                }
                else
                {
                    b.Remove(id);
                }
            }

            return b.ToImmutable();
        }
    }
}
