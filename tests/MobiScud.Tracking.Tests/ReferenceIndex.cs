using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Tracking.Tests;

/// <summary>
/// The immutable way to change a <see cref="UeIndex"/>, the model <see cref="UeStore"/> is checked against (the tracker
/// changes its UEs only in the mutable store; these were UeIndex's own methods before the store replaced them there):
/// each diffs the old record against the new one and moves that UE's key in every lookup. A connection belongs to one
/// UE: a UE that claims a connection another holds takes it, and the other forgets it; the other identities answer
/// the UE given them last.
/// </summary>
internal static class ReferenceIndex
{
    /// <summary>Adds or replaces a UE's record and brings every lookup in line with it.</summary>
    /// <param name="lost">Called for each other UE that lost a connection to this one (its record is already updated).</param>
    public static UeIndex Put(this UeIndex index, TrackedUe ue, Action<TrackedUe, ConnectionKey>? lost = null)
    {
        var old = index.Ues.GetValueOrDefault(ue.Key);
        if (ReferenceEquals(old, ue))
        {
            return index;
        }

        var connections = index.Connections;
        var ues = index.Ues;
        List<(TrackedUe, ConnectionKey)>? losers = null;
        var before = old?.Connections ?? ImmutableHashSet<ConnectionKey>.Empty;

        // Only what changed: most steps keep the set (the same instance), and the lookup already holds the old record's
        // connections for this UE (the invariant Violations checks), so only added and removed ones need work.
        if (!ReferenceEquals(before, ue.Connections))
        {
            foreach (var c in ue.Connections)
            {
                if (before.Contains(c))
                {
                    continue;
                }

                if (connections.TryGetValue(c, out var holder) && holder != ue.Key)
                {
                    // The eNB reused the id (its release was not seen) or a procedure moved the connection: one owner.
                    var loser = UeIndex.Forget(ues[holder], c);
                    ues = ues.SetItem(loser.Key, loser);
                    (losers ??= []).Add((loser, c));
                }

                connections = connections.SetItem(c, ue.Key);
            }

            foreach (var c in before)
            {
                if (!ue.Connections.Contains(c))
                {
                    connections = connections.Remove(c);
                }
            }
        }

        var handovers = index.Handovers;
        var next = new UeIndex(
            ues.SetItem(ue.Key, ue),
            connections,
            Move(index.ImsiLookup, ue.Key, old?.Imsi, ue.Imsi),
            MoveValue(index.MTmsiLookup, ue.Key, old?.MTmsi, ue.MTmsi),
            MoveValue(index.MmeLookup, ue.Key, old?.MmeUeS1apId, ue.MmeUeS1apId),
            Move(index.AddressLookup, ue.Key, old?.Address, ue.Address),
            MoveUplinks(index.UplinkLookup, ue.Key, old, ue),
            (old?.Handover is null) == (ue.Handover is null) ? handovers : ue.Handover is null ? handovers.Remove(ue.Key) : handovers.Add(ue.Key),
            Lower(index.ForgetBound, ue, losers));
        if (losers is not null)
        {
            foreach (var (loser, c) in losers)
            {
                // The losers' other identities are unchanged: only their connection fields moved, already dropped above.
                lost?.Invoke(loser, c);
            }
        }

        return next;
    }

    /// <summary>Removes a UE and every lookup that named it.</summary>
    public static UeIndex Remove(this UeIndex index, UeKey key)
    {
        if (!index.Ues.TryGetValue(key, out var old))
        {
            return index;
        }

        var connections = index.Connections;
        foreach (var c in old.Connections)
        {
            connections = connections.Remove(c);
        }

        return new UeIndex(
            index.Ues.Remove(key),
            connections,
            Move(index.ImsiLookup, key, old.Imsi, null),
            MoveValue(index.MTmsiLookup, key, old.MTmsi, null),
            MoveValue(index.MmeLookup, key, old.MmeUeS1apId, null),
            Move(index.AddressLookup, key, old.Address, null),
            MoveUplinks(index.UplinkLookup, key, old, null),
            index.Handovers.Remove(key),
            index.ForgetBound);
    }

    private static TimeSpan Lower(TimeSpan bound, TrackedUe ue, List<(TrackedUe Loser, ConnectionKey)>? losers)
    {
        bound = ue.LastSeen < bound ? ue.LastSeen : bound;
        foreach (var (loser, _) in losers ?? [])
        {
            // A loser's record changed here without a new LastSeen: it may have lost its last connection.
            bound = loser.LastSeen < bound ? loser.LastSeen : bound;
        }

        return bound;
    }


    private static ImmutableDictionary<T, ImmutableArray<UeKey>> Move<T>(ImmutableDictionary<T, ImmutableArray<UeKey>> map, UeKey key, T? from, T? to)
        where T : class
    {
        if (Equals(from, to))
        {
            return map;
        }

        map = from is null ? map : Without(map, from, key);
        return to is null ? map : With(map, to, key);
    }

    private static ImmutableDictionary<T, ImmutableArray<UeKey>> MoveValue<T>(ImmutableDictionary<T, ImmutableArray<UeKey>> map, UeKey key, T? from, T? to)
        where T : struct
    {
        if (Nullable.Equals(from, to))
        {
            return map;
        }

        map = from is { } f ? Without(map, f, key) : map;
        return to is { } t ? With(map, t, key) : map;
    }

    private static ImmutableDictionary<GtpEndpoint, ImmutableArray<UeKey>> MoveUplinks(ImmutableDictionary<GtpEndpoint, ImmutableArray<UeKey>> map, UeKey key, TrackedUe? old, TrackedUe? ue)
    {
        var before = old?.Bearers ?? ImmutableSortedDictionary<byte, TrackedBearer>.Empty;
        var after = ue?.Bearers ?? ImmutableSortedDictionary<byte, TrackedBearer>.Empty;
        if (ReferenceEquals(before, after))
        {
            return map;
        }

        foreach (var (_, b) in before)
        {
            if (!HasUplink(after, b.Uplink))
            {
                map = Without(map, b.Uplink, key);
            }
        }

        foreach (var (_, b) in after)
        {
            if (!HasUplink(before, b.Uplink))
            {
                map = With(map, b.Uplink, key);
            }
        }

        return map;
    }

    /// <summary>Whether a bearer uses this uplink (a few bearers per UE: a scan, without LINQ's allocations).</summary>
    private static bool HasUplink(ImmutableSortedDictionary<byte, TrackedBearer> bearers, GtpEndpoint uplink)
    {
        foreach (var (_, b) in bearers)
        {
            if (b.Uplink == uplink)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The key becomes the one given the identity last.</summary>
    private static ImmutableDictionary<T, ImmutableArray<UeKey>> With<T>(ImmutableDictionary<T, ImmutableArray<UeKey>> map, T id, UeKey key)
        where T : notnull
        => map.SetItem(id, map.TryGetValue(id, out var keys) ? keys.Remove(key).Add(key) : [key]);

    private static ImmutableDictionary<T, ImmutableArray<UeKey>> Without<T>(ImmutableDictionary<T, ImmutableArray<UeKey>> map, T id, UeKey key)
        where T : notnull
    {
        if (!map.TryGetValue(id, out var keys) || !keys.Contains(key))
        {
            return map;
        }

        return keys.Length == 1 ? map.Remove(id) : map.SetItem(id, keys.Remove(key));
    }

    /// <summary>The index with the bound a scan for long-gone UEs found (see <see cref="UeIndex.ForgetBound"/>).</summary>
    public static UeIndex WithForgetBound(this UeIndex index, TimeSpan bound) =>
        bound == index.ForgetBound ? index : new UeIndex(
            index.Ues, index.Connections, index.ImsiLookup, index.MTmsiLookup, index.MmeLookup, index.AddressLookup, index.UplinkLookup, index.Handovers, bound);
}
