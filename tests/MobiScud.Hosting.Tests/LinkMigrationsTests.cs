using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.DependencyInjection;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// Serve tells the policies how many migrations are on each backhaul link (<see cref="Control.Policies.PolicyFacts.LinkMigrations"/>
/// from the scheduler grain): a move over a link that already carries one is expected to take twice as long, past the
/// deadline, so predictive holds where it would move over a free link, as the pure core does given the same counts; without
/// the counts (serve before them) it would have moved.
/// </summary>
public sealed class LinkMigrationsTests
{
    // A line site-a - site-b - site-c, the core behind site-a; links 0: a-b, 1: b-c, 2: a-core, 10 Gbps each.
    // 25 GB take 20 s on a free link, 40 s on one shared with another migration; admission allows
    // DeadlineShare 0.5 x 60 s = 30 s. The replay hypervisor leaves migrations running until the test ends them.
    private static Dictionary<string, string?> Line(string every) => OnBackhaulLine(new()
    {
        ["MobiScud:Hypervisor:Kind"] = "Replay",
        ["MobiScud:Policy:Kind"] = "predictive",
        ["MobiScud:Policy:TransmissionScale"] = "10",
        ["MobiScud:Policy:MigrationBytes"] = "25e9",
        ["MobiScud:Policy:ReviewAfter"] = "01:00:00",
        ["MobiScud:Policy:OccupancyEvery"] = every,
        ["MobiScud:MigrationDeadline"] = "00:01:00",
        ["MobiScud:Backhaul:MaxConcurrentPerLink"] = "2",
    });

    [Fact]
    public async Task A_move_onto_a_link_already_carrying_a_migration_is_held_as_the_pure_core_holds_it()
    {
        // Read only when the test asks (below), so that each decision's facts are known.
        await using var serve = await StartAsync(Line("01:00:00"));
        var watch = serve.App.Services.GetRequiredService<LinkMigrationsWatch>();
        var occupancy = serve.App.Services.GetRequiredService<SiteOccupancyWatch>();
        var scheduler = serve.Grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key);
        var t0 = Now;
        var posted = new List<(UeEvent Event, IReadOnlyList<int> Links)>();

        async Task Post(UeEvent e)
        {
            posted.Add((e, watch.LinkMigrations!));
            await serve.Pipeline.PostAsync(e);
            await serve.Pipeline.FlushAsync();
        }

        async Task Settled(string counts)
        {
            // The dispatcher asks the scheduler after the UE's turn, and tells it when a migration ends; the silo then reads it.
            await Wait.Until(async () => string.Join(" ", await scheduler.InFlightPerLink()) == counts, $"the scheduler counts {counts}");
            await watch.RefreshAsync();
            Assert.Equal(counts, string.Join(" ", watch.LinkMigrations!));
        }

        await Settled("0 0 0");
        await Post(Attach(0, EnbC, t0));
        await Post(Attach(1, EnbC, t0 + TimeSpan.FromSeconds(1)));
        await Post(Attach(2, EnbA, t0 + TimeSpan.FromSeconds(2)));

        // User 0 hands over from site-c to site-b's eNB: link b-c is free, the move (20 s) fits and is held in flight.
        await Post(Switched(0, EnbB, t0 + TimeSpan.FromSeconds(30)));
        var first = (await serve.State(Ue(0)))!.Migration;
        Assert.Equal((C, B), (first?.From, first?.To));
        await Settled("0 1 0");

        // User 1 does the same: the move would share link b-c (40 s > 30 s), so predictive holds.
        await Post(Switched(1, EnbB, t0 + TimeSpan.FromSeconds(31)));
        Assert.Null((await serve.State(Ue(1)))!.Migration);
        Assert.Equal(C, (await serve.State(Ue(1)))!.PvmSite);

        // User 2 hands over from site-a: link a-b is free, it moves.
        await Post(Switched(2, EnbB, t0 + TimeSpan.FromSeconds(32)));
        Assert.Equal(B, (await serve.State(Ue(2)))!.Migration?.To);
        await Settled("1 1 0");

        // User 0's migration ends: link b-c is free again, and the next user over it moves.
        await Post(new MigrationCompleted(t0 + TimeSpan.FromSeconds(50), first!.Id, new MigrationStats(TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(40), 25_000_000_000, 3)));
        Assert.Equal(B, (await serve.State(Ue(0)))!.PvmSite);
        await Settled("1 0 0");
        await Post(Attach(3, EnbC, t0 + TimeSpan.FromSeconds(51)));
        await Post(Switched(3, EnbB, t0 + TimeSpan.FromSeconds(60)));
        Assert.Equal((C, B), ((await serve.State(Ue(3)))!.Migration?.From, (await serve.State(Ue(3)))!.Migration?.To));
        await Settled("1 1 0");

        // Every decision serve made equals the pure core's fed the same events with the counts serve had read; a core
        // told no counts (serve before this fact) differs in user 1's hand-over alone: it moves.
        var config = serve.App.Services.GetRequiredService<McConfigProvider>().Current;
        var core = new SingleThreadedMc(config) { LearnMobility = true, Facts = new() { SiteOccupancy = occupancy.Occupancy } };
        var blind = new SingleThreadedMc(config) { LearnMobility = true, Facts = new() { SiteOccupancy = occupancy.Occupancy } };
        var ues = posted.Select(p => p.Event.Ue).ToArray();
        var byUe = await CoreComparison.Timelines(serve, ues);
        var blindByUe = await CoreComparison.Timelines(serve, ues);
        var postedOf = posted.GroupBy(p => p.Event.Ue).ToDictionary(g => g.Key, g => new Queue<UeEvent>(g.Select(p => p.Event)));
        var compared = 0;
        var differing = new List<string>();
        foreach (var (e, links) in posted)
        {
            core.Facts = core.Facts with { LinkMigrations = links };
            postedOf[e.Ue].Dequeue();
            bool SameTurn(TimelineEntry next) => !(postedOf[e.Ue].TryPeek(out var p) && p.GetType() == next.Event!.GetType() && p.At == next.Event.At);

            // The posted event, then the outcomes serve applied in the same turn (up to the UE's next posted event).
            compared += CoreComparison.CompareTurn(core, e, byUe[e.Ue], SameTurn);
            var entries = blindByUe[e.Ue];
            do
            {
                var entry = entries.Dequeue();
                if (!CoreComparison.Same(blind, entry))
                {
                    differing.Add($"{e.Ue} {entry.Event!.GetType().Name}");
                }
            }
            while (entries.TryPeek(out var next) && SameTurn(next));
        }

        Assert.All(byUe.Values, q => Assert.Empty(q));
        Assert.Equal([$"{Ue(1)} PathSwitched"], differing);
        Console.Error.WriteLine($"{compared} decisions equal the pure core's given the counts read; without them {differing.Count} differs");
    }

    [Fact]
    public async Task Off_every_link_looks_free_and_the_scheduler_alone_budgets()
    {
        await using var serve = await StartAsync(Line("00:00:00"));
        var watch = serve.App.Services.GetRequiredService<LinkMigrationsWatch>();
        var scheduler = serve.Grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key);
        var t0 = Now;
        foreach (var e in new UeEvent[] { Attach(0, EnbC, t0), Attach(1, EnbC, t0), Switched(0, EnbB, t0 + TimeSpan.FromSeconds(30)), Switched(1, EnbB, t0 + TimeSpan.FromSeconds(31)) })
        {
            await serve.Pipeline.PostAsync(e);
            await serve.Pipeline.FlushAsync();
        }

        // Both move over link b-c: the second was not told of the first.
        await Wait.Until(async () => string.Join(" ", await scheduler.InFlightPerLink()) == "0 2 0", "both migrations on link b-c");
        Assert.Equal(TimeSpan.Zero, watch.Every);
        Assert.Null(watch.LinkMigrations);
        Assert.Null(watch.With(null));
    }

    [Fact]
    public async Task Without_a_backhaul_budget_there_is_nothing_to_read()
    {
        var settings = Line("00:00:01");
        settings.Remove("MobiScud:Backhaul:MaxConcurrentPerLink");
        await using var serve = await StartAsync(settings);
        var watch = serve.App.Services.GetRequiredService<LinkMigrationsWatch>();
        await watch.RefreshAsync();
        Assert.Equal(TimeSpan.Zero, watch.Every);
        Assert.Null(watch.LinkMigrations);
    }
}
