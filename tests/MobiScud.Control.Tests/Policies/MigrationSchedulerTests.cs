using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using static MobiScud.Control.Tests.Fixture;

namespace MobiScud.Control.Tests;

public sealed class MigrationSchedulerTests
{
    private static readonly TimeSpan _t0 = TimeSpan.FromSeconds(100);

    private static StartMigration Move(int ue, SiteId from, SiteId to) =>
        new(new UeId($"ue{ue}"), new MigrationId(new UeId($"ue{ue}"), 1), PvmId.For(new UeId($"ue{ue}")), from, to, MigrationReason.Handover);

    private static CreatePvm Create(int ue, SiteId site) => new(new UeId($"ue{ue}"), PvmId.For(new UeId($"ue{ue}")), site);

    private sealed class Host(SchedulerConfig config)
    {
        public SchedulerState State { get; private set; } = SchedulerState.Empty;

        public IReadOnlyList<SchedulerGrant> Do(SchedulerRequest request)
        {
            var step = MigrationScheduler.Step(config, State, request);
            State = step.State;
            return step.Grants;
        }

        public IReadOnlyList<SchedulerGrant> Request(StartMigration m, double benefit = 1, TimeSpan? deadline = null) =>
            Do(new MigrationRequested(_t0, m, benefit, deadline ?? _t0 + TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void One_migration_per_link_the_rest_wait_and_are_granted_as_links_free()
    {
        var host = new Host(new SchedulerConfig { Graph = Line(), MaxConcurrentPerLink = 1 });
        Assert.IsType<MigrationGranted>(Assert.Single(host.Request(Move(1, A, B))));

        // B - C is another link: it runs at once.
        Assert.IsType<MigrationGranted>(Assert.Single(host.Request(Move(2, B, C))));

        // A - C crosses both busy links; A - B the first.
        Assert.IsType<MigrationQueued>(Assert.Single(host.Request(Move(3, A, C))));
        Assert.IsType<MigrationQueued>(Assert.Single(host.Request(Move(4, B, A))));
        Assert.Equal(2, host.State.Queue.Count);

        // A - B frees: the waiting A - C still needs B - C, but B -> A fits.
        var grants = host.Do(new MigrationEnded(_t0 + TimeSpan.FromSeconds(5), Move(1, A, B).Migration, Landed: true));
        Assert.Equal(Move(4, B, A), Assert.IsType<MigrationGranted>(Assert.Single(grants)).Start);

        host.Do(new MigrationEnded(_t0 + TimeSpan.FromSeconds(6), Move(2, B, C).Migration, Landed: true));
        grants = host.Do(new MigrationEnded(_t0 + TimeSpan.FromSeconds(7), Move(4, B, A).Migration, Landed: false));
        Assert.Equal(Move(3, A, C), Assert.IsType<MigrationGranted>(Assert.Single(grants)).Start);
        Assert.Equal(2, host.State.LinkInFlight.Count);
        Assert.Empty(host.State.Queue);
    }

    [Fact]
    public void The_queue_serves_the_highest_benefit_first_then_the_earliest_deadline()
    {
        var host = new Host(new SchedulerConfig { Graph = Line(), MaxConcurrentPerLink = 1 });
        host.Request(Move(1, A, B));
        host.Request(Move(2, A, B), benefit: 1, deadline: _t0 + TimeSpan.FromSeconds(10));
        host.Request(Move(3, A, B), benefit: 5);
        host.Request(Move(4, A, B), benefit: 1, deadline: _t0 + TimeSpan.FromSeconds(5));
        Assert.Equal(["ue3", "ue4", "ue2"], host.State.Queue.Select(q => q.Start.Ue.Value));

        var order = new List<string>();
        var running = Move(1, A, B).Migration;
        for (var i = 0; i < 3; i++)
        {
            var granted = Assert.IsType<MigrationGranted>(Assert.Single(host.Do(new MigrationEnded(_t0 + TimeSpan.FromSeconds(1), running, true))));
            order.Add(granted.Start.Ue.Value);
            running = granted.Start.Migration;
        }

        Assert.Equal(["ue3", "ue4", "ue2"], order);
    }

    [Fact]
    public void A_request_still_waiting_at_its_deadline_is_refused_and_its_place_freed()
    {
        var capacities = new Dictionary<SiteId, int> { [B] = 2 };
        var host = new Host(new SchedulerConfig { Graph = Line(capacities), MaxConcurrentPerLink = 1 });
        host.Request(Move(1, A, B));
        host.Request(Move(2, A, B), deadline: _t0 + TimeSpan.FromSeconds(8));
        Assert.Equal(2, host.State.Occupancy[B]);
        Assert.Empty(host.Do(new SchedulerTick(_t0 + TimeSpan.FromSeconds(7))));
        var refused = Assert.IsType<MigrationRefused>(Assert.Single(host.Do(new SchedulerTick(_t0 + TimeSpan.FromSeconds(8)))));
        Assert.Equal("ue2", refused.Start.Ue.Value);
        Assert.Contains("deadline", refused.Reason);
        Assert.Equal(1, host.State.Occupancy[B]);
    }

    [Fact]
    public void A_withdrawn_request_is_dropped_from_the_queue()
    {
        var host = new Host(new SchedulerConfig { Graph = Line(), MaxConcurrentPerLink = 1 });
        host.Request(Move(1, A, B));
        host.Request(Move(2, A, B));
        var dropped = Assert.IsType<MigrationDropped>(Assert.Single(host.Do(new MigrationWithdrawn(_t0, Move(2, A, B).Migration))));
        Assert.Equal("ue2", dropped.Start.Ue.Value);
        Assert.Empty(host.State.Queue);

        // A running migration is not dropped: its end is reported when the hypervisor stops it.
        Assert.Empty(host.Do(new MigrationWithdrawn(_t0, Move(1, A, B).Migration)));
        Assert.Single(host.State.Running);
    }

    [Fact]
    public void A_bandwidth_share_limits_how_many_run_on_a_link()
    {
        // 10 Gbps links, half for migrations, 2 Gbps each: two at once.
        var host = new Host(new SchedulerConfig { Graph = Line(), MigrationShare = 0.5, MigrationGbps = 2 });
        Assert.IsType<MigrationGranted>(Assert.Single(host.Request(Move(1, A, B))));
        Assert.IsType<MigrationGranted>(Assert.Single(host.Request(Move(2, A, B))));
        Assert.IsType<MigrationQueued>(Assert.Single(host.Request(Move(3, A, B))));
    }

    [Fact]
    public void A_thousand_pvms_do_not_overfill_a_site_of_a_hundred()
    {
        // What serve did: only migrations were admitted, so creation put 1,000 PVMs on a site of capacity 100.
        var capacities = new Dictionary<SiteId, int> { [A] = 100, [B] = 300, [C] = 500 };
        var host = new Host(new SchedulerConfig { Graph = Line(capacities) });
        var placed = new Dictionary<SiteId, int>();
        var refused = 0;
        for (var ue = 0; ue < 1000; ue++)
        {
            switch (Assert.Single(host.Do(new PlacementRequested(_t0, Create(ue, A), [B, C]))))
            {
                case PlacementGranted g:
                    placed[g.Create.Site] = placed.GetValueOrDefault(g.Create.Site) + 1;
                    break;
                case PlacementRefused r:
                    Assert.Contains("no room", r.Reason);
                    refused++;
                    break;
            }
        }

        Assert.Equal(100, placed[A]);
        Assert.Equal(300, placed[B]);
        Assert.Equal(500, placed[C]);
        Assert.Equal(100, refused);

        // One PVM goes away: the next creation takes its place at A.
        host.Do(new PvmGone(_t0, new UeId("ue3")));
        Assert.Equal(A, Assert.IsType<PlacementGranted>(Assert.Single(host.Do(new PlacementRequested(_t0, Create(2000, A), [B])))).Create.Site);
    }

    [Fact]
    public void A_migration_into_a_full_site_is_refused_and_places_move_when_it_lands()
    {
        var capacities = new Dictionary<SiteId, int> { [A] = 1, [B] = 1 };
        var host = new Host(new SchedulerConfig { Graph = Line(capacities) });
        host.Do(new PvmAdopted(_t0, new UeId("ue1"), A));
        host.Do(new PvmAdopted(_t0, new UeId("ue2"), B));
        var refused = Assert.IsType<MigrationRefused>(Assert.Single(host.Request(Move(1, A, B))));
        Assert.Contains("full", refused.Reason);

        Assert.IsType<MigrationGranted>(Assert.Single(host.Request(Move(2, B, C))));

        // While it copies, the PVM holds both places.
        Assert.Equal(1, host.State.Occupancy[B]);
        Assert.Equal(1, host.State.Occupancy[C]);
        host.Do(new MigrationEnded(_t0, Move(2, B, C).Migration, Landed: true));
        Assert.False(host.State.Occupancy.ContainsKey(B));
        Assert.Equal(C, host.State.PvmAt[new UeId("ue2")]);

        Assert.IsType<MigrationGranted>(Assert.Single(host.Request(Move(1, A, B) with { Migration = new MigrationId(new UeId("ue1"), 2) })));
    }

    [Fact]
    public void A_gone_pvm_leaves_the_queue()
    {
        var host = new Host(new SchedulerConfig { Graph = Line(), MaxConcurrentPerLink = 1 });
        host.Request(Move(1, A, B));
        host.Request(Move(2, A, B));
        Assert.IsType<MigrationDropped>(Assert.Single(host.Do(new PvmGone(_t0, new UeId("ue2")))));
        Assert.Empty(host.State.Queue);
        Assert.False(host.State.PvmAt.ContainsKey(new UeId("ue2")));
    }
}
