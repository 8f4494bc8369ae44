using System.Collections.Immutable;
using System.Net;
using MobiScud.Control.Model;

namespace MobiScud.Tracking;

/// <summary>
/// The mutable twin of <see cref="UeIndex"/>, owned by the one thread that feeds the tracker: the same records and
/// lookups in plain dictionaries, changed in place, so a step that changes nothing allocates nothing and one that
/// changes a UE costs that UE's record and dictionary slots, not new tree nodes. <see cref="Snapshot"/> gives the
/// immutable <see cref="UeIndex"/> when a host asks, built from the last snapshot and what changed since.
/// </summary>
/// <remarks>
/// <see cref="Put"/> and <see cref="Remove"/> keep the lookups in line with the records (one owner per connection, the
/// key given an identity last answers for it; tests check them against an immutable model), and log each record's value before its first change in a step, so a step that fails can be
/// undone (<see cref="Rollback"/>): the tracker's contract is that a faulty step leaves the state as it was.
/// </remarks>
internal sealed partial class UeStore
{
    private readonly Dictionary<UeKey, TrackedUe> _ues = [];

    // Each UE's LastSeen, kept beside its record: stamping the time into the record would copy it a second time on
    // most steps (the handler's copy, then one with the time). The records here may carry an older LastSeen; the
    // snapshot's records carry this one.
    private readonly Dictionary<UeKey, TimeSpan> _lastSeen = [];
    private readonly Dictionary<ConnectionKey, UeKey> _connections = [];
    private readonly Lookup<string> _imsi = new(StringComparer.Ordinal);
    private readonly Lookup<uint> _mtmsi = new(null);
    private readonly Lookup<uint> _mme = new(null);
    private readonly Lookup<IPAddress> _address = new(null);
    private readonly Lookup<GtpEndpoint> _uplinks = new(null);
    private readonly SortedSet<UeKey> _handovers = [];

    // The step in progress, to undo it: each record as it was before the step first changed it (null: it did not
    // exist), each connection's holder before each change, each handover set change; the lookups log their own.
    private readonly List<(UeKey Key, TrackedUe? Old, TimeSpan OldSeen)> _undo = [];
    private readonly HashSet<UeKey> _logged = [];
    private readonly List<(ConnectionKey Connection, bool Held, UeKey Holder)> _undoConnections = [];
    private readonly List<(UeKey Key, bool Was)> _undoHandovers = [];
    private TimeSpan _boundAtStart;

    // What changed since the last snapshot (null _base: nothing tracked, the next snapshot is built whole).
    private UeIndex? _base;
    private int _changes;
    private readonly HashSet<UeKey> _changedUes = [];
    private readonly HashSet<ConnectionKey> _changedConnections = [];

    /// <summary>Past this many changes since the last snapshot, stop tracking them and rebuild the next snapshot whole: a
    /// feed that is never asked for a snapshot must not keep every key it ever changed. (Settable for tests.)</summary>
    public int MaxTrackedChanges { get; set; } = 65_536;

    /// <summary>See <see cref="UeIndex.ForgetBound"/>.</summary>
    public TimeSpan ForgetBound { get; set; } = TimeSpan.MaxValue;

    public int Count => _ues.Count;

    /// <summary>Whether the step in progress changed a record (or the bound).</summary>
    public bool ChangedInStep => _undo.Count > 0 || ForgetBound != _boundAtStart;

    /// <summary>The UEs with an S1 handover in preparation, in key order (as <see cref="UeIndex.Handovers"/>).</summary>
    public SortedSet<UeKey> Handovers => _handovers;

    /// <summary>The records, in no particular order (callers that emit in a loop order them).</summary>
    public Dictionary<UeKey, TrackedUe>.ValueCollection Ues => _ues.Values;

    /// <summary>The connections, in no particular order.</summary>
    public Dictionary<ConnectionKey, UeKey>.KeyCollection Connections => _connections.Keys;

    /// <summary>A store holding what <paramref name="index"/> holds; its first snapshot is that index.</summary>
    public static UeStore From(UeIndex index)
    {
        var store = new UeStore { ForgetBound = index.ForgetBound };
        foreach (var (k, ue) in index.Ues)
        {
            store._ues.Add(k, ue);
            store._lastSeen.Add(k, ue.LastSeen);
        }

        foreach (var (c, k) in index.Connections)
        {
            store._connections.Add(c, k);
        }

        store._imsi.Load(index.ImsiLookup);
        store._mtmsi.Load(index.MTmsiLookup);
        store._mme.Load(index.MmeLookup);
        store._address.Load(index.AddressLookup);
        store._uplinks.Load(index.UplinkLookup);
        store._handovers.UnionWith(index.Handovers);
        store._base = index;
        store._boundAtStart = store.ForgetBound;
        return store;
    }

    /// <summary>How much the store holds (tests check that a long run stays bounded by the live UEs).</summary>
    internal StoreSizes Sizes() => new(
        _ues.Count,
        _connections.Count,
        _imsi.Map.Count + _mtmsi.Map.Count + _mme.Map.Count + _address.Map.Count + _uplinks.Map.Count,
        Math.Max(Math.Max(Longest(_imsi), Longest(_mtmsi)), Math.Max(Math.Max(Longest(_mme), Longest(_address)), Longest(_uplinks))),
        _handovers.Count,
        _changedUes.Count + _changedConnections.Count + _imsi.Changed.Count + _mtmsi.Changed.Count + _mme.Changed.Count + _address.Changed.Count + _uplinks.Changed.Count);

    private static int Longest<T>(Lookup<T> lookup)
        where T : notnull
    {
        var longest = 0;
        foreach (var keys in lookup.Map.Values)
        {
            longest = Math.Max(longest, keys.Count);
        }

        return longest;
    }

    public TrackedUe? Get(UeKey key) => _ues.GetValueOrDefault(key);

    public TrackedUe? ByConnection(ConnectionKey connection) =>
        _connections.TryGetValue(connection, out var key) ? _ues[key] : null;

    public TrackedUe? ByImsi(string imsi) => Latest(_imsi, imsi);

    public TrackedUe? ByMTmsi(uint mtmsi) => Latest(_mtmsi, mtmsi);

    public TrackedUe? ByAddress(IPAddress address) => Latest(_address, address);

    public TrackedUe? ByUplink(GtpEndpoint uplink) => Latest(_uplinks, uplink);

    /// <summary>Every UE with this uplink tunnel end, oldest first (a copy: the caller may change the store meanwhile).</summary>
    public IEnumerable<TrackedUe> AllByUplink(GtpEndpoint uplink) => All(_uplinks, uplink);

    /// <summary>Every UE with this M-TMSI, oldest first (a copy).</summary>
    public IEnumerable<TrackedUe> AllByMTmsi(uint mtmsi) => All(_mtmsi, mtmsi);

    /// <summary>UEs last given this MME-UE-S1AP-ID, oldest first (a copy).</summary>
    public IEnumerable<TrackedUe> ByMmeUeS1apId(uint id) => All(_mme, id);

    private TrackedUe? Latest<T>(Lookup<T> lookup, T id)
        where T : notnull
        => lookup.Map.TryGetValue(id, out var keys) ? _ues[keys[^1]] : null;

    private TrackedUe[] All<T>(Lookup<T> lookup, T id)
        where T : notnull
    {
        if (!lookup.Map.TryGetValue(id, out var keys))
        {
            return [];
        }

        var all = new TrackedUe[keys.Count];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = _ues[keys[i]];
        }

        return all;
    }

    /// <summary>Starts a step: what it changes can be undone until <see cref="EndStep"/>.</summary>
    public void BeginStep() => EndStep();

    /// <summary>Ends a step, keeping what it changed.</summary>
    public void EndStep()
    {
        _undo.Clear();
        _logged.Clear();
        _undoConnections.Clear();
        _undoHandovers.Clear();
        _imsi.EndStep();
        _mtmsi.EndStep();
        _mme.EndStep();
        _address.EndStep();
        _uplinks.EndStep();
        _boundAtStart = ForgetBound;
    }

    /// <summary>Undoes the step in progress: every record, lookup (with its order), connection and handover as before it.</summary>
    public void Rollback()
    {
        for (var i = _undo.Count - 1; i >= 0; i--)
        {
            var (key, old, oldSeen) = _undo[i];
            if (old is null)
            {
                _ues.Remove(key);
                _lastSeen.Remove(key);
            }
            else
            {
                _ues[key] = old;
                _lastSeen[key] = oldSeen;
            }

            Changed(key);
        }

        for (var i = _undoConnections.Count - 1; i >= 0; i--)
        {
            var (c, held, holder) = _undoConnections[i];
            if (held)
            {
                _connections[c] = holder;
            }
            else
            {
                _connections.Remove(c);
            }

            Changed(c);
        }

        for (var i = _undoHandovers.Count - 1; i >= 0; i--)
        {
            var (key, was) = _undoHandovers[i];
            if (was)
            {
                _handovers.Add(key);
            }
            else
            {
                _handovers.Remove(key);
            }
        }

        _imsi.Undo(this);
        _mtmsi.Undo(this);
        _mme.Undo(this);
        _address.Undo(this);
        _uplinks.Undo(this);
        ForgetBound = _boundAtStart;
        EndStep();
    }

    /// <summary>The UE's LastSeen (its record here may carry an older one).</summary>
    public TimeSpan LastSeen(TrackedUe ue) => _lastSeen[ue.Key];

    /// <summary>
    /// Adds or replaces a UE's record and brings every lookup in line with it; with <paramref name="at"/>, the UE last
    /// seen then (or later, as it was): what the tracker's steps did by putting a copy of the record with that time.
    /// </summary>
    /// <param name="lost">Called for each other UE that lost a connection to this one (its record is already updated).</param>
    public void Put(TrackedUe ue, TimeSpan? at = null, Action<TrackedUe, ConnectionKey>? lost = null)
    {
        var known = _ues.TryGetValue(ue.Key, out var old);
        var wasSeen = known ? _lastSeen[ue.Key] : default;

        // The record derives from the one held (the tracker makes a new record only for a new key), so its time is the
        // held one's at the latest.
        var seen = ue.LastSeen;
        if (at is { } t)
        {
            seen = known && wasSeen > seen ? wasSeen : seen;
            seen = t > seen ? t : seen;
        }

        if (ReferenceEquals(old, ue))
        {
            if (seen != wasSeen)
            {
                // Only the time moves: no lookup changes.
                Log(ue.Key, old, wasSeen);
                _lastSeen[ue.Key] = seen;
                Changed(ue.Key);
                ForgetBound = seen < ForgetBound ? seen : ForgetBound;
            }

            return;
        }

        Log(ue.Key, old, wasSeen);
        _lastSeen[ue.Key] = seen;
        List<(TrackedUe, ConnectionKey)>? losers = null;
        var before = old?.Connections ?? ImmutableHashSet<ConnectionKey>.Empty;

        // Only what changed: most steps keep the set (the same instance), and the lookup already holds the old record's
        // connections for this UE (the invariant UeIndex.Violations checks), so only added and removed ones need work.
        if (!ReferenceEquals(before, ue.Connections))
        {
            foreach (var c in ue.Connections)
            {
                if (before.Contains(c))
                {
                    continue;
                }

                if (_connections.TryGetValue(c, out var holder) && holder != ue.Key)
                {
                    // The eNB reused the id (its release was not seen) or a procedure moved the connection: one owner.
                    var was = _ues[holder];
                    Log(holder, was, _lastSeen[holder]);
                    var loser = UeIndex.Forget(was, c);
                    _ues[holder] = loser;
                    Changed(holder);
                    (losers ??= []).Add((loser, c));
                }

                SetConnection(c, ue.Key);
            }

            foreach (var c in before)
            {
                if (!ue.Connections.Contains(c))
                {
                    RemoveConnection(c);
                }
            }
        }

        _ues[ue.Key] = ue;
        Changed(ue.Key);
        Move(_imsi, ue.Key, old?.Imsi, ue.Imsi);
        MoveValue(_mtmsi, ue.Key, old?.MTmsi, ue.MTmsi);
        MoveValue(_mme, ue.Key, old?.MmeUeS1apId, ue.MmeUeS1apId);
        Move(_address, ue.Key, old?.Address, ue.Address);
        MoveUplinks(ue.Key, old, ue);
        if ((old?.Handover is null) != (ue.Handover is null))
        {
            SetHandover(ue.Key, ue.Handover is not null);
        }

        var bound = ForgetBound;
        bound = seen < bound ? seen : bound;
        if (losers is not null)
        {
            foreach (var (loser, _) in losers)
            {
                // A loser's record changed here without a new LastSeen: it may have lost its last connection.
                var loserSeen = _lastSeen[loser.Key];
                bound = loserSeen < bound ? loserSeen : bound;
            }
        }

        ForgetBound = bound;
        if (losers is not null)
        {
            foreach (var (loser, c) in losers)
            {
                // The losers' other identities are unchanged: only their connection fields moved, already dropped above.
                lost?.Invoke(loser, c);
            }
        }
    }

    /// <summary>Removes a UE and every lookup that named it.</summary>
    public void Remove(UeKey key)
    {
        if (!_ues.TryGetValue(key, out var old))
        {
            return;
        }

        Log(key, old, _lastSeen[key]);
        _lastSeen.Remove(key);
        foreach (var c in old.Connections)
        {
            RemoveConnection(c);
        }

        _ues.Remove(key);
        Changed(key);
        Move(_imsi, key, old.Imsi, null);
        MoveValue(_mtmsi, key, old.MTmsi, null);
        MoveValue(_mme, key, old.MmeUeS1apId, null);
        Move(_address, key, old.Address, null);
        MoveUplinks(key, old, null);
        SetHandover(key, false);
    }

    /// <summary>
    /// The immutable index of what this store holds now: the last snapshot with what changed since applied (so its cost
    /// follows the changes, not the UEs), or built whole when nothing was tracked.
    /// </summary>
    public UeIndex Snapshot()
    {
        if (_base is null)
        {
            _base = Whole();
        }
        else if (_changes > 0)
        {
            _base = Updated(_base);
        }

        ClearChanges();
        return _base;
    }

    private UeIndex Whole() => new UeIndex(
        _ues.Values.Select(Stamped).ToImmutableDictionary(u => u.Key),
        _connections.ToImmutableDictionary(),
        _imsi.Frozen(ImmutableDictionary<string, ImmutableArray<UeKey>>.Empty.WithComparers(StringComparer.Ordinal)),
        _mtmsi.Frozen(ImmutableDictionary<uint, ImmutableArray<UeKey>>.Empty),
        _mme.Frozen(ImmutableDictionary<uint, ImmutableArray<UeKey>>.Empty),
        _address.Frozen(ImmutableDictionary<IPAddress, ImmutableArray<UeKey>>.Empty),
        _uplinks.Frozen(ImmutableDictionary<GtpEndpoint, ImmutableArray<UeKey>>.Empty),
        [.. _handovers],
        ForgetBound);

    private UeIndex Updated(UeIndex last)
    {
        var ues = last.Ues.ToBuilder();
        var handovers = last.Handovers.ToBuilder();
        foreach (var k in _changedUes)
        {
            if (_ues.TryGetValue(k, out var ue))
            {
                ues[k] = Stamped(ue);
            }
            else
            {
                ues.Remove(k);
            }

            if (_handovers.Contains(k))
            {
                handovers.Add(k);
            }
            else
            {
                handovers.Remove(k);
            }
        }

        var connections = last.Connections.ToBuilder();
        foreach (var c in _changedConnections)
        {
            if (_connections.TryGetValue(c, out var k))
            {
                connections[c] = k;
            }
            else
            {
                connections.Remove(c);
            }
        }

        return new UeIndex(
            ues.ToImmutable(),
            connections.ToImmutable(),
            _imsi.Updated(last.ImsiLookup),
            _mtmsi.Updated(last.MTmsiLookup),
            _mme.Updated(last.MmeLookup),
            _address.Updated(last.AddressLookup),
            _uplinks.Updated(last.UplinkLookup),
            handovers.ToImmutable(),
            ForgetBound);
    }

    private void ClearChanges()
    {
        _changes = 0;
        _changedUes.Clear();
        _changedConnections.Clear();
        _imsi.Changed.Clear();
        _mtmsi.Changed.Clear();
        _mme.Changed.Clear();
        _address.Changed.Clear();
        _uplinks.Changed.Clear();
    }

    /// <summary>The record as a snapshot holds it: with its LastSeen (a copy only when the time moved).</summary>
    private TrackedUe Stamped(TrackedUe ue) => _lastSeen[ue.Key] is var seen && seen == ue.LastSeen ? ue : ue with { LastSeen = seen };

    private void Log(UeKey key, TrackedUe? old, TimeSpan oldSeen)
    {
        if (_logged.Add(key))
        {
            _undo.Add((key, old, oldSeen));
        }
    }

    private void SetConnection(ConnectionKey c, UeKey key)
    {
        _undoConnections.Add((c, _connections.TryGetValue(c, out var holder), holder));
        _connections[c] = key;
        Changed(c);
    }

    private void RemoveConnection(ConnectionKey c)
    {
        if (_connections.Remove(c, out var holder))
        {
            _undoConnections.Add((c, true, holder));
            Changed(c);
        }
    }

    private void SetHandover(UeKey key, bool pending)
    {
        if (pending ? _handovers.Add(key) : _handovers.Remove(key))
        {
            _undoHandovers.Add((key, !pending));
        }
    }

    private void Changed(UeKey key) => Track(_changedUes, key);

    private void Changed(ConnectionKey c) => Track(_changedConnections, c);

    /// <summary>Notes a changed entry for the next snapshot; past the bound, forgets the base (the snapshot is rebuilt).</summary>
    internal void Track<T>(HashSet<T> changed, T id)
    {
        if (_base is null)
        {
            return;
        }

        if (++_changes > MaxTrackedChanges)
        {
            _base = null;
            ClearChanges();
            return;
        }

        changed.Add(id);
    }

    private void Move<T>(Lookup<T> lookup, UeKey key, T? from, T? to)
        where T : class
    {
        if (Equals(from, to))
        {
            return;
        }

        if (from is not null)
        {
            lookup.Without(this, from, key);
        }

        if (to is not null)
        {
            lookup.With(this, to, key);
        }
    }

    private void MoveValue<T>(Lookup<T> lookup, UeKey key, T? from, T? to)
        where T : struct
    {
        if (Nullable.Equals(from, to))
        {
            return;
        }

        if (from is { } f)
        {
            lookup.Without(this, f, key);
        }

        if (to is { } t)
        {
            lookup.With(this, t, key);
        }
    }

    private void MoveUplinks(UeKey key, TrackedUe? old, TrackedUe? ue)
    {
        var before = old?.Bearers ?? ImmutableSortedDictionary<byte, TrackedBearer>.Empty;
        var after = ue?.Bearers ?? ImmutableSortedDictionary<byte, TrackedBearer>.Empty;
        if (ReferenceEquals(before, after))
        {
            return;
        }

        foreach (var (_, b) in before)
        {
            if (!HasUplink(after, b.Uplink))
            {
                _uplinks.Without(this, b.Uplink, key);
            }
        }

        foreach (var (_, b) in after)
        {
            if (!HasUplink(before, b.Uplink))
            {
                _uplinks.With(this, b.Uplink, key);
            }
        }
    }

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
}

/// <summary>The sizes of a <see cref="UeStore"/>'s collections: UEs, connections, lookup entries (all five), the longest
/// lookup list, handovers in preparation, and changes remembered for the next snapshot.</summary>
internal readonly record struct StoreSizes(int Ues, int Connections, int LookupEntries, int LongestLookup, int Handovers, int TrackedChanges);
