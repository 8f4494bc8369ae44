using System.Collections.Immutable;
using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking.Tests.Live;

/// <summary>
/// The mutable <see cref="UeStore"/> against the immutable <see cref="UeIndex"/> it replaces on the feed's thread: the
/// same random puts and removes (records drawn from small pools of connections, IMSIs, M-TMSIs, MME ids, addresses and
/// uplinks, so identities are shared, connections stolen and UEs merged away) give the same records, lookups (with the
/// order that says who was given an identity last), handovers, forget bound and lost-connection callbacks; and a step
/// rolled back leaves the store exactly as before it.
/// </summary>
public sealed class UeStoreTests
{
    private static readonly SctpAssociationKey[] _associations =
    [
        SctpAssociationKey.From(new NetEndpoint(NetAddress.FromIpv4([10, 0, 0, 1]), 36412), new NetEndpoint(NetAddress.FromIpv4([10, 0, 0, 2]), 5000), out _),
        SctpAssociationKey.From(new NetEndpoint(NetAddress.FromIpv4([10, 0, 0, 1]), 36412), new NetEndpoint(NetAddress.FromIpv4([10, 0, 0, 3]), 5001), out _),
    ];

    private static readonly string[] _imsis = ["001010000000001", "001010000000002", "001010000000003"];
    private static readonly IPAddress[] _addresses = [IPAddress.Parse("10.45.0.2"), IPAddress.Parse("10.45.0.3"), IPAddress.Parse("2001:db8::1")];
    private static readonly GtpEndpoint[] _uplinks = [new(IPAddress.Parse("10.0.0.9"), 1), new(IPAddress.Parse("10.0.0.9"), 2), new(IPAddress.Parse("10.0.0.8"), 1)];

    [Fact]
    public void Random_puts_and_removes_give_what_the_immutable_index_gives_and_a_rollback_undoes_a_step()
    {
        for (var seed = 0; seed < 500; seed++)
        {
            var random = new Random(seed);
            var index = UeIndex.Empty;
            var store = UeStore.From(UeIndex.Empty);
            if (random.Next(2) == 0)
            {
                store.MaxTrackedChanges = random.Next(1, 30);
            }

            // As the tracker's steps put records: derived from the one held, the store stamping the step's time (the
            // old steps put a copy with that time); or plain puts of records with any time.
            var stamped = random.Next(2) == 0;
            var clock = TimeSpan.FromSeconds(random.Next(100));
            var steps = random.Next(1, 12);
            for (var step = 0; step < steps; step++)
            {
                var before = StateText.Of(store.Snapshot());
                var rollback = random.Next(4) == 0;
                var indexAfter = index;
                store.BeginStep();
                var ops = random.Next(1, 8);
                var lostIndex = new List<string>();
                var lostStore = new List<string>();
                for (var op = 0; op < ops; op++)
                {
                    var key = new UeKey(random.Next(1, 7));
                    if (random.Next(5) == 0)
                    {
                        indexAfter = indexAfter.Remove(key);
                        store.Remove(key);
                    }
                    else if (stamped)
                    {
                        // Time mostly forward, sometimes back (frames out of order).
                        clock += TimeSpan.FromSeconds(random.Next(-3, 20));
                        var change = RandomChange(key, random, withTime: false);
                        var ue = change(indexAfter.Get(key));
                        indexAfter = indexAfter.Put(ue.LastSeen < clock ? ue with { LastSeen = clock } : ue, (l, c) => lostIndex.Add($"{l.Key} lost {c}"));
                        store.Put(change(store.Get(key)), clock, (l, c) => lostStore.Add($"{l.Key} lost {c}"));
                    }
                    else
                    {
                        var ue = RandomChange(key, random, withTime: true)(indexAfter.Get(key));
                        indexAfter = indexAfter.Put(ue, (l, c) => lostIndex.Add($"{l.Key} lost {c}"));
                        store.Put(ue, null, (l, c) => lostStore.Add($"{l.Key} lost {c}"));
                    }

                    Assert.Equal(lostIndex, lostStore);
                    Assert.Equal(indexAfter.Ues.Count, store.Count);
                }

                if (rollback)
                {
                    store.Rollback();
                    Assert.Equal(before, StateText.Of(store.Snapshot()));
                }
                else
                {
                    store.EndStep();
                    index = indexAfter;
                    Assert.Equal(StateText.Of(index), StateText.Of(store.Snapshot()));
                    Assert.Empty(index.Violations());
                }

                // Lookups answer the same between snapshots too (by value: a UE that lost a connection is a record each
                // side built for itself).
                foreach (var ue in index.Ues.Values)
                {
                    Assert.Equal(StateText.Of(index.Get(ue.Key)), StateText.Of(store.Get(ue.Key)! with { LastSeen = store.LastSeen(ue) }));
                    foreach (var c in ue.Connections)
                    {
                        Assert.Equal(index.ByConnection(c)?.Key, store.ByConnection(c)?.Key);
                    }

                    Assert.Equal(ue.Imsi is { } i ? index.ByImsi(i)?.Key : null, ue.Imsi is { } j ? store.ByImsi(j)?.Key : null);
                    Assert.Equal(ue.MTmsi is { } m ? index.ByMTmsi(m)?.Key : null, ue.MTmsi is { } n ? store.ByMTmsi(n)?.Key : null);
                    Assert.Equal(ue.Address is { } a ? index.ByAddress(a)?.Key : null, ue.Address is { } b ? store.ByAddress(b)?.Key : null);
                    Assert.Equal(
                        ue.MmeUeS1apId is { } x ? index.ByMmeUeS1apId(x).Select(u => u.Key).ToList() : [],
                        ue.MmeUeS1apId is { } y ? store.ByMmeUeS1apId(y).Select(u => u.Key).ToList() : []);
                }

                foreach (var u in _uplinks)
                {
                    Assert.Equal(index.AllByUplink(u).Select(x => x.Key), store.AllByUplink(u).Select(x => x.Key));
                }

                Assert.Equal(index.Handovers, store.Handovers);
                Assert.Equal(index.ForgetBound, store.ForgetBound);
            }
        }
    }

    [Fact]
    public void A_store_loaded_from_an_index_snapshots_as_that_index_and_goes_on_from_it()
    {
        var random = new Random(7);
        var index = UeIndex.Empty;
        for (var i = 0; i < 40; i++)
        {
            var key = new UeKey(random.Next(1, 9));
            index = index.Put(RandomChange(key, random, withTime: true)(index.Get(key)));
        }

        var store = UeStore.From(index);
        Assert.Same(index, store.Snapshot());
        var ue = RandomChange(new UeKey(3), random, withTime: true)(index.Get(new UeKey(3)));
        store.BeginStep();
        store.Put(ue);
        store.EndStep();
        Assert.Equal(StateText.Of(index.Put(ue)), StateText.Of(store.Snapshot()));
    }

    /// <summary>A random change, drawn once, that can be made to either side's record of the UE.</summary>
    private static Func<TrackedUe?, TrackedUe> RandomChange(UeKey key, Random random, bool withTime)
    {
        // Often a small change of the UE's current record (most steps), sometimes a fresh one; the tracker's steps make a
        // fresh record only for a new key (so a stamped put's record always derives from the one held).
        var fresh = withTime && random.Next(3) == 0;
        var kind = random.Next(withTime ? 8 : 7);
        Func<TrackedUe, TrackedUe> change;
        switch (kind)
        {
            case 0:
                var imsi = Pick(random, _imsis);
                change = ue => ue with { Imsi = imsi };
                break;
            case 1:
                uint? mtmsi = random.Next(4) == 0 ? null : (uint)random.Next(1, 4);
                change = ue => ue with { MTmsi = mtmsi };
                break;
            case 2:
                uint? mme = random.Next(4) == 0 ? null : (uint)random.Next(1, 4);
                change = ue => ue with { MmeUeS1apId = mme };
                break;
            case 3:
                var address = Pick(random, _addresses);
                change = ue => ue with { Address = address };
                break;
            case 4:
                var bearers = ImmutableSortedDictionary<byte, TrackedBearer>.Empty;
                for (var b = random.Next(3); b > 0; b--)
                {
                    var id = (byte)random.Next(5, 8);
                    bearers = bearers.SetItem(id, new TrackedBearer(id, _uplinks[random.Next(_uplinks.Length)], null));
                }

                change = ue => ue with { Bearers = bearers };
                break;
            case 5:
                var connections = ImmutableHashSet<ConnectionKey>.Empty;
                for (var c = random.Next(3); c > 0; c--)
                {
                    connections = connections.Add(new ConnectionKey(_associations[random.Next(2)], (uint)random.Next(1, 4)));
                }

                ConnectionKey? serving = connections.IsEmpty ? null : connections.First();
                change = ue => ue with { Connections = connections, Serving = serving };
                break;
            case 6:
                var handover = random.Next(2) == 0 ? null : new TrackedHandover(new EnbId(1), new EnbId(2));
                change = ue => ue with { Handover = handover };
                break;
            default:
                var seen = TimeSpan.FromSeconds(random.Next(0, 100));
                change = ue => ue with { LastSeen = seen };
                break;
        }

        return old => change(old is not null && !fresh ? old : new TrackedUe(key));
    }

    private static T? Pick<T>(Random random, T[] values)
        where T : class
        => random.Next(values.Length + 1) is var i && i == values.Length ? null : values[i];
}
