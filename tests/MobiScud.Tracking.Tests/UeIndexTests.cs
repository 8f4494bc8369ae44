using System.Collections.Immutable;
using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking.Tests;

public sealed class UeIndexTests
{
    private static readonly SctpAssociationKey _association = SctpAssociationKey.From(
        new NetEndpoint(NetAddress.FromIpv4([10, 0, 0, 1]), 36412), new NetEndpoint(NetAddress.FromIpv4([10, 0, 0, 2]), 5000), out _);

    private static readonly ConnectionKey _conn = new(_association, 7);
    private static readonly GtpEndpoint _uplink = new(IPAddress.Parse("10.0.0.9"), 0x100);

    private static TrackedUe Ue(long key) => new(new UeKey(key)) { Status = TrackedUeStatus.Connected };

    private static TrackedUe WithBearer(TrackedUe ue) =>
        ue with { Bearers = ImmutableSortedDictionary<byte, TrackedBearer>.Empty.Add(5, new TrackedBearer(5, _uplink, null)) };

    [Fact]
    public void Every_lookup_follows_the_records_and_a_removed_ue_leaves_none()
    {
        var a = WithBearer(Ue(1)) with { Imsi = "001010000000001", MTmsi = 42, Address = IPAddress.Parse("10.45.0.2"), MmeUeS1apId = 9, Serving = _conn, Connections = [_conn] };
        var index = UeIndex.Empty.Put(a);
        Assert.Equal(a, index.ByImsi("001010000000001"));
        Assert.Equal(a, index.ByMTmsi(42));
        Assert.Equal(a, index.ByAddress(IPAddress.Parse("10.45.0.2")));
        Assert.Equal(a, index.ByUplink(_uplink));
        Assert.Equal(a, index.ByConnection(_conn));
        Assert.Equal([a], index.ByMmeUeS1apId(9));
        Assert.Empty(index.Violations());

        // A new M-TMSI moves the lookup; the old one names nobody.
        index = index.Put(a with { MTmsi = 43 });
        Assert.Null(index.ByMTmsi(42));
        Assert.Equal(new UeKey(1), index.ByMTmsi(43)?.Key);

        index = index.Remove(new UeKey(1));
        Assert.Null(index.ByImsi("001010000000001"));
        Assert.Null(index.ByMTmsi(43));
        Assert.Null(index.ByUplink(_uplink));
        Assert.Null(index.ByConnection(_conn));
        Assert.Empty(index.ByMmeUeS1apId(9));
        Assert.Empty(index.Connections);
        Assert.Empty(index.Violations());
    }

    [Fact]
    public void A_connection_claimed_by_another_ue_moves_and_the_first_forgets_it()
    {
        var a = Ue(1) with { Serving = _conn, Connections = [_conn] };
        var lost = new List<(UeKey, ConnectionKey)>();
        var index = UeIndex.Empty.Put(a).Put(Ue(2) with { Serving = _conn, Connections = [_conn] }, (loser, c) => lost.Add((loser.Key, c)));
        Assert.Equal(new UeKey(2), index.ByConnection(_conn)?.Key);
        Assert.Null(index.Get(new UeKey(1))!.Serving);
        Assert.Empty(index.Get(new UeKey(1))!.Connections);
        Assert.Equal([(new UeKey(1), _conn)], lost);
        Assert.Empty(index.Violations());
    }

    [Fact]
    public void Shared_identities_answer_the_ue_given_them_last()
    {
        var index = UeIndex.Empty.Put(WithBearer(Ue(2))).Put(WithBearer(Ue(1)));
        Assert.Equal(new UeKey(1), index.ByUplink(_uplink)?.Key);
        Assert.Equal([new UeKey(2), new UeKey(1)], index.AllByUplink(_uplink).Select(u => u.Key));
        index = index.Remove(new UeKey(1));
        Assert.Equal(new UeKey(2), index.ByUplink(_uplink)?.Key);
        Assert.Empty(index.Violations());
    }

    [Fact]
    public void Check_invariants_names_a_ue_served_by_a_connection_it_does_not_hold()
    {
        var state = TrackerState.Empty with { Index = UeIndex.Empty.Put(Ue(1) with { Serving = _conn }), NextKey = 2 };
        var e = Assert.Throws<InvalidOperationException>(() => UeTracker.CheckInvariants(state));
        Assert.Contains("ue-1 is served by", e.Message, StringComparison.Ordinal);

        var stale = TrackerState.Empty with { Index = UeIndex.Empty.Put(Ue(5)), NextKey = 2 };
        Assert.Contains("ue-5 is outside", Assert.Throws<InvalidOperationException>(() => UeTracker.CheckInvariants(stale)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_connections_that_changed_move_and_an_unchanged_set_keeps_the_lookup()
    {
        var other = new ConnectionKey(_association, 8);
        var a = Ue(1) with { Serving = _conn, Connections = [_conn] };
        var index = UeIndex.Empty.Put(a);
        var lookup = index.Connections;

        // Same set instance, another field changed: the connection lookup is the same object.
        index = index.Put(index.Get(new UeKey(1))! with { MmeUeS1apId = 3 });
        Assert.Same(lookup, index.Connections);

        // One added, then the first released: the lookup follows each change.
        index = index.Put(index.Get(new UeKey(1))! with { Connections = [_conn, other] });
        Assert.Equal(new UeKey(1), index.ByConnection(other)?.Key);
        index = index.Put(UeIndex.Forget(index.Get(new UeKey(1))!, _conn));
        Assert.Null(index.ByConnection(_conn));
        Assert.Equal(new UeKey(1), index.ByConnection(other)?.Key);
        Assert.Empty(index.Violations());
    }

    [Fact]
    public void The_forget_bound_is_at_most_the_last_seen_of_every_ue_that_may_be_forgotten()
    {
        Assert.Equal(TimeSpan.MaxValue, UeIndex.Empty.ForgetBound);
        var index = UeIndex.Empty.Put(Ue(1) with { LastSeen = TimeSpan.FromMinutes(5) })
            .Put(Ue(2) with { LastSeen = TimeSpan.FromMinutes(9), Serving = _conn, Connections = [_conn] });
        Assert.Equal(TimeSpan.FromMinutes(5), index.ForgetBound);
        Assert.Empty(index.Violations());

        // A scan raised the bound to the oldest forgettable UE left (UE 1 is gone): UE 2, whose record has a
        // connection, loses it to UE 3 without a new LastSeen, so the bound comes down to UE 2's again.
        index = index.Remove(new UeKey(1)).WithForgetBound(TimeSpan.MaxValue);
        Assert.Empty(index.Violations());
        index = index.Put(Ue(3) with { LastSeen = TimeSpan.FromMinutes(20), Serving = _conn, Connections = [_conn] });
        Assert.Equal(TimeSpan.FromMinutes(9), index.ForgetBound);
        Assert.Empty(index.Violations());

        // A bound above a forgettable UE's LastSeen is a broken invariant.
        Assert.Contains(index.WithForgetBound(TimeSpan.FromMinutes(10)).Violations(), v => v.Contains("ue-2 may be forgotten", StringComparison.Ordinal));
    }
}
