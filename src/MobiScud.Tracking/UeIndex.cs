using System.Collections.Immutable;
using System.Net;
using MobiScud.Control.Model;

namespace MobiScud.Tracking;

/// <summary>The tracker's own key for a UE: allocated once, never reused, never changed (the IMSI may come later).</summary>
public readonly record struct UeKey(long Value) : IComparable<UeKey>
{
    public int CompareTo(UeKey other) => Value.CompareTo(other.Value);

    public override string ToString() => $"ue-{Value}";
}

/// <summary>
/// The tracker's UEs and every way to find one: IMSI, M-TMSI (GUTI/S-TMSI), UE address, MME-UE-S1AP-ID, S1
/// connections, uplink (S-GW) tunnel ends, and UEs with a handover in preparation. Immutable.
/// </summary>
/// <remarks>
/// The lookups are derived from the UE records. An index is made by <see cref="UeStore.Snapshot"/>, whose Put and Remove
/// are the one place that changes them: each diffs the old record against the new one and adds and removes that UE's
/// key in every lookup, so a lookup can never name a UE that is gone or no longer holds that identity (the KeyNotFoundException crashes of
/// issue 13 were lookups left pointing at UEs removed or merged away). A connection belongs to one UE: a UE that claims
/// a connection another holds takes it, and the other forgets it. The other identities may be shared for a while (an
/// M-TMSI reallocated, a UE seen twice before it is recognised); their lookups answer the UE given it last.
/// </remarks>
public sealed class UeIndex
{
    private readonly ImmutableDictionary<string, ImmutableArray<UeKey>> _imsi;
    private readonly ImmutableDictionary<uint, ImmutableArray<UeKey>> _mtmsi;
    private readonly ImmutableDictionary<uint, ImmutableArray<UeKey>> _mme;
    private readonly ImmutableDictionary<IPAddress, ImmutableArray<UeKey>> _address;
    private readonly ImmutableDictionary<GtpEndpoint, ImmutableArray<UeKey>> _uplinks;

    /// <summary>An index of these parts, which the caller has kept in line with each other (<see cref="UeStore"/>'s snapshot).</summary>
    internal UeIndex(
        ImmutableDictionary<UeKey, TrackedUe> ues,
        ImmutableDictionary<ConnectionKey, UeKey> connections,
        ImmutableDictionary<string, ImmutableArray<UeKey>> imsi,
        ImmutableDictionary<uint, ImmutableArray<UeKey>> mtmsi,
        ImmutableDictionary<uint, ImmutableArray<UeKey>> mme,
        ImmutableDictionary<IPAddress, ImmutableArray<UeKey>> address,
        ImmutableDictionary<GtpEndpoint, ImmutableArray<UeKey>> uplinks,
        ImmutableSortedSet<UeKey> handovers,
        TimeSpan forgetBound)
    {
        Ues = ues;
        Connections = connections;
        _imsi = imsi;
        _mtmsi = mtmsi;
        _mme = mme;
        _address = address;
        _uplinks = uplinks;
        Handovers = handovers;
        ForgetBound = forgetBound;
    }

    public static UeIndex Empty { get; } = new(
        ImmutableDictionary<UeKey, TrackedUe>.Empty,
        ImmutableDictionary<ConnectionKey, UeKey>.Empty,
        ImmutableDictionary<string, ImmutableArray<UeKey>>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableDictionary<uint, ImmutableArray<UeKey>>.Empty,
        ImmutableDictionary<uint, ImmutableArray<UeKey>>.Empty,
        ImmutableDictionary<IPAddress, ImmutableArray<UeKey>>.Empty,
        ImmutableDictionary<GtpEndpoint, ImmutableArray<UeKey>>.Empty,
        ImmutableSortedSet<UeKey>.Empty,
        TimeSpan.MaxValue);

    internal ImmutableDictionary<string, ImmutableArray<UeKey>> ImsiLookup => _imsi;

    internal ImmutableDictionary<uint, ImmutableArray<UeKey>> MTmsiLookup => _mtmsi;

    internal ImmutableDictionary<uint, ImmutableArray<UeKey>> MmeLookup => _mme;

    internal ImmutableDictionary<IPAddress, ImmutableArray<UeKey>> AddressLookup => _address;

    internal ImmutableDictionary<GtpEndpoint, ImmutableArray<UeKey>> UplinkLookup => _uplinks;

    public ImmutableDictionary<UeKey, TrackedUe> Ues { get; }

    /// <summary>Each S1 connection's UE (a connection belongs to one UE).</summary>
    public ImmutableDictionary<ConnectionKey, UeKey> Connections { get; }

    /// <summary>UEs with an S1 handover between HandoverRequired and its end.</summary>
    public ImmutableSortedSet<UeKey> Handovers { get; }

    /// <summary>
    /// At most the <see cref="TrackedUe.LastSeen"/> of every UE that has no connection, no handover and is not announced
    /// without an IMSI (the UEs the tracker may forget when long gone): so the tracker scans for them only once one can
    /// be old enough, not on every new UE. Lowered by every record put (<see cref="UeStore.Put"/>,
    /// the one place records change), set after a scan.
    /// </summary>
    public TimeSpan ForgetBound { get; }

    /// <summary>The UEs the tracker may forget when long gone (see <see cref="ForgetBound"/>).</summary>
    internal static bool MayBeForgotten(TrackedUe ue) => ue.Connections.IsEmpty && ue.Handover is null && (!ue.Announced || ue.Imsi is not null);

    /// <summary>How many uplink tunnel ends are known (each UE's bearers' S-GW ends).</summary>
    public int UplinkCount => _uplinks.Count;

    public TrackedUe? Get(UeKey key) => Ues.GetValueOrDefault(key);

    public TrackedUe? ByConnection(ConnectionKey connection) =>
        Connections.TryGetValue(connection, out var key) ? Ues[key] : null;

    public TrackedUe? ByImsi(string imsi) => Latest(_imsi, imsi);

    public TrackedUe? ByMTmsi(uint mtmsi) => Latest(_mtmsi, mtmsi);

    public TrackedUe? ByAddress(IPAddress address) => Latest(_address, address);

    /// <summary>The UE whose bearer uses this S-GW tunnel end (the one given it last).</summary>
    public TrackedUe? ByUplink(GtpEndpoint uplink) => Latest(_uplinks, uplink);

    /// <summary>Every UE with this uplink tunnel end, oldest first.</summary>
    public IEnumerable<TrackedUe> AllByUplink(GtpEndpoint uplink) => All(_uplinks, uplink);

    /// <summary>UEs last given this MME-UE-S1AP-ID, oldest first.</summary>
    public IEnumerable<TrackedUe> ByMmeUeS1apId(uint id) => All(_mme, id);

    /// <summary>Recomputes every lookup from the UE records and compares; describes each difference.</summary>
    internal IEnumerable<string> Violations()
    {
        var holders = new Dictionary<ConnectionKey, UeKey>();
        var expected = new HashSet<(string Lookup, object Id, UeKey Key)>();
        foreach (var ue in Ues.Values)
        {
            foreach (var c in ue.Connections)
            {
                if (!holders.TryAdd(c, ue.Key))
                {
                    yield return $"{c} is a connection of both {holders[c]} and {ue.Key}";
                }
            }

            Expect(expected, "IMSI", ue.Imsi, ue.Key);
            Expect(expected, "M-TMSI", ue.MTmsi, ue.Key);
            Expect(expected, "MME-UE-S1AP-ID", ue.MmeUeS1apId, ue.Key);
            Expect(expected, "address", ue.Address, ue.Key);
            foreach (var b in ue.Bearers.Values)
            {
                Expect(expected, "uplink", b.Uplink, ue.Key);
            }

            Expect(expected, "handover", ue.Handover is null ? null : "pending", ue.Key);
            if (ue.Serving is { } s && !ue.Connections.Contains(s))
            {
                yield return $"{ue.Key} is served by {s}, which is not one of its connections";
            }

            if (ue.Handover?.TargetConnection is { } t && !ue.Connections.Contains(t))
            {
                yield return $"{ue.Key}'s handover target {t} is not one of its connections";
            }

            if (ue.PathSwitch is { } p && !ue.Connections.Contains(p.Connection))
            {
                yield return $"{ue.Key}'s path switch {p.Connection} is not one of its connections";
            }

            if (ue.Announced && ue.Id is null)
            {
                yield return $"{ue.Key} was announced without an id";
            }

            if (MayBeForgotten(ue) && ue.LastSeen < ForgetBound)
            {
                yield return $"{ue.Key} may be forgotten from {ue.LastSeen}, before the bound {ForgetBound} the tracker scans from";
            }
        }

        foreach (var (c, k) in Connections)
        {
            if (!holders.TryGetValue(c, out var holder) || holder != k)
            {
                yield return $"connection lookup says {c} is {k}; the UE records say {(holders.TryGetValue(c, out var r) ? r.ToString() : "nobody")}";
            }
        }

        foreach (var c in holders.Keys.Where(c => !Connections.ContainsKey(c)))
        {
            yield return $"connection lookup lacks {c}, held by {holders[c]}";
        }

        var actual = new HashSet<(string Lookup, object Id, UeKey Key)>();
        Collect(actual, "IMSI", _imsi);
        Collect(actual, "M-TMSI", _mtmsi);
        Collect(actual, "MME-UE-S1AP-ID", _mme);
        Collect(actual, "address", _address);
        Collect(actual, "uplink", _uplinks);
        foreach (var k in Handovers)
        {
            actual.Add(("handover", "pending", k));
        }

        foreach (var extra in actual.Except(expected))
        {
            yield return $"{extra.Lookup} lookup has {extra.Id} -> {extra.Key}, which that UE's record does not hold{(Ues.ContainsKey(extra.Key) ? "" : " (no such UE)")}";
        }

        foreach (var missing in expected.Except(actual))
        {
            yield return $"{missing.Lookup} lookup lacks {missing.Id} -> {missing.Key}";
        }
    }

    private static void Expect(HashSet<(string, object, UeKey)> set, string lookup, object? id, UeKey key)
    {
        if (id is not null)
        {
            set.Add((lookup, id, key));
        }
    }

    private static void Collect<T>(HashSet<(string, object, UeKey)> set, string lookup, ImmutableDictionary<T, ImmutableArray<UeKey>> map)
        where T : notnull
    {
        foreach (var (id, keys) in map)
        {
            if (keys.IsEmpty)
            {
                set.Add((lookup, "an empty entry", default));
            }

            foreach (var k in keys)
            {
                set.Add((lookup, id, k));
            }
        }
    }

    /// <summary>A UE's record without one connection, and without what referred to it.</summary>
    internal static TrackedUe Forget(TrackedUe ue, ConnectionKey c) => ue with
    {
        Connections = ue.Connections.Remove(c),
        Serving = ue.Serving == c ? null : ue.Serving,
        Handover = ue.Handover is { } h && h.TargetConnection == c ? h with { TargetConnection = null } : ue.Handover,
        PathSwitch = ue.PathSwitch is { } p && p.Connection == c ? null : ue.PathSwitch,
    };

    private TrackedUe? Latest<T>(ImmutableDictionary<T, ImmutableArray<UeKey>> map, T id)
        where T : notnull
        => map.TryGetValue(id, out var keys) ? Ues[keys[^1]] : null;

    private IEnumerable<TrackedUe> All<T>(ImmutableDictionary<T, ImmutableArray<UeKey>> map, T id)
        where T : notnull
        => map.TryGetValue(id, out var keys) ? keys.Select(k => Ues[k]) : [];
}
