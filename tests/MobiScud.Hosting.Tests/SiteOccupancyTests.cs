using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.DependencyInjection;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// Serve tells the policies where there is room (<see cref="PolicyFacts.SiteOccupancy"/> from the site grains' admitted
/// counts): with a site full, its decisions go to the next site with room directly, and equal the pure core's given the
/// same occupancy; the counts follow creations, migrations and removals.
/// </summary>
public sealed class SiteOccupancyTests
{
    [Theory]
    [InlineData("always")]
    [InlineData("myopic")]
    [InlineData("predictive")]
    public async Task With_a_site_full_serve_decides_for_the_next_site_with_room_as_the_pure_core_does(string kind)
    {
        // A line site-a - site-b - site-c, the core 5 ms behind site-a: from site-a the next site is site-b (1 hop, 1 ms),
        // not the core (1 hop, 5 ms). site-a holds 2 PVMs. Transmission weighs 10x so that myopic moves in hops at all.
        await using var serve = await StartAsync(OnBackhaulLine(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Replay",
            ["MobiScud:Sites:0:Capacity"] = "2",
            ["MobiScud:Policy:Kind"] = kind,
            ["MobiScud:Policy:TransmissionScale"] = "10",
            // Read only when the test asks (below), so that each decision's facts are known.
            ["MobiScud:Policy:OccupancyEvery"] = "01:00:00",
        }));
        var watch = serve.App.Services.GetRequiredService<SiteOccupancyWatch>();
        var t0 = Now;
        var posted = new List<(UeEvent Event, IReadOnlyDictionary<SiteId, int> Occupancy)>();

        async Task Post(UeEvent e)
        {
            posted.Add((e, watch.Occupancy!));
            await serve.Pipeline.PostAsync(e);
            await serve.Pipeline.FlushAsync();
        }

        async Task Settled(int a, int b, int c)
        {
            // The site grains count what the dispatcher admitted and the UE grains synced; the silo then reads them.
            await Wait.Until(async () => await Count(A) == a && await Count(B) == b && await Count(C) == c, $"sites count {a}/{b}/{c}");
            await watch.RefreshAsync();
            Assert.Equal($"site-a={a} site-b={b} site-c={c}", string.Join(" ", watch.Occupancy!.OrderBy(kv => kv.Key.Value, StringComparer.Ordinal).Select(kv => $"{kv.Key.Value}={kv.Value}")));
        }

        async Task<int> Count(SiteId site) => await serve.Grains.GetGrain<ISiteGrain>(site.Value).Count();

        await Settled(0, 0, 0);
        await Post(Attach(0, EnbA, t0));
        await Post(Attach(1, EnbA, t0 + TimeSpan.FromSeconds(1)));
        await Settled(2, 0, 0);

        // Creation: site-a is full, so the MC asks for site-b itself (before, it asked for site-a and admission fell back).
        await Post(Attach(2, EnbA, t0 + TimeSpan.FromSeconds(2)));
        Assert.Equal(B, CreateOf(await Timeline(serve, Ue(2))).Site);
        await Settled(2, 1, 0);

        // Migration: a user at site-c's eNB hands over to site-a's; site-a is full.
        await Post(Attach(3, EnbC, t0 + TimeSpan.FromSeconds(3)));
        await Settled(2, 1, 1);
        await Post(Switched(3, EnbA, t0 + TimeSpan.FromSeconds(30)));
        var target = (await serve.State(Ue(3)))!.Migration;
        if (kind != "predictive")
        {
            Assert.Equal(B, target?.To);
        }

        Assert.NotEqual(A, target?.To);
        var atB = target?.To == B ? 2 : 1;
        await Settled(2, atB, 1);
        if (target is not null)
        {
            // The hypervisor model starts migrations and leaves them running: the test ends this one.
            await Post(new MigrationCompleted(t0 + TimeSpan.FromSeconds(33), target.Id, new MigrationStats(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(40), 1 << 20, 3)));
            Assert.Equal(target.To, (await serve.State(Ue(3)))!.PvmSite);
        }

        var atC = target is null ? 1 : 0;
        await Settled(2, atB, atC);

        // Removal: a detached user's PVM fails (the MC does not create it again); site-a has room again, and the next user
        // there gets it.
        await Post(new Detached(t0 + TimeSpan.FromSeconds(40), Ue(0)));
        await Post(new PvmFailed(t0 + TimeSpan.FromSeconds(41), Ue(0), PvmId.For(Ue(0)), A, "crashed"));
        await Settled(1, atB, atC);
        await Post(Attach(4, EnbA, t0 + TimeSpan.FromSeconds(42)));
        Assert.Equal(A, CreateOf(await Timeline(serve, Ue(4))).Site);
        await Settled(2, atB, atC);

        // Every decision serve made equals the pure core's fed the same events with the occupancy serve had read.
        var config = serve.App.Services.GetRequiredService<McConfigProvider>().Current;
        var core = new SingleThreadedMc(config) { LearnMobility = kind == "predictive" };
        var byUe = await CoreComparison.Timelines(serve, posted.Select(p => p.Event.Ue));
        var postedOf = posted.GroupBy(p => p.Event.Ue).ToDictionary(g => g.Key, g => new Queue<UeEvent>(g.Select(p => p.Event)));
        var compared = 0;
        foreach (var (e, occupancy) in posted)
        {
            core.Facts = core.Facts with { SiteOccupancy = occupancy };
            postedOf[e.Ue].Dequeue();

            // The posted event, then the outcomes serve applied in the same turn (up to the UE's next posted event).
            compared += CoreComparison.CompareTurn(core, e, byUe[e.Ue], next => !(postedOf[e.Ue].TryPeek(out var p) && p.GetType() == next.Event!.GetType() && p.At == next.Event.At));
        }

        Assert.All(byUe.Values, q => Assert.Empty(q));
        Console.Error.WriteLine($"{kind}: {compared} decisions equal the pure core's; the user handing over to full site-a was sent to {target?.To.ToString() ?? "nowhere (stays)"}");
    }

    [Fact]
    public async Task Off_the_policies_are_told_nothing_and_admission_alone_refuses()
    {
        await using var serve = await StartAsync(Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Replay",
            ["MobiScud:Sites:0:Capacity"] = "1",
            ["MobiScud:Policy:OccupancyEvery"] = "00:00:00",
        }));
        var watch = serve.App.Services.GetRequiredService<SiteOccupancyWatch>();
        await serve.Pipeline.PostAsync(Attach(0, EnbA, Now));
        await serve.Pipeline.FlushAsync();
        await Wait.Until(async () => await serve.Grains.GetGrain<ISiteGrain>(A.Value).Count() == 1, "site-a counts its PVM");
        await serve.Pipeline.PostAsync(Attach(1, EnbA, Now));
        await serve.Pipeline.FlushAsync();
        Assert.Null(watch.Occupancy);
        Assert.Null(watch.With(null));

        // The MC asked for full site-a; admission placed the PVM elsewhere.
        Assert.Equal(A, CreateOf(await Timeline(serve, Ue(1))).Site);
        await Wait.Until(async () => (await serve.State(Ue(1)))?.PvmStatus == PvmStatus.Running, "the second PVM running");
        Assert.NotEqual(A, (await serve.State(Ue(1)))!.PvmSite);
    }

    private static async Task<TimelineEntry[]> Timeline(ServeTestHost serve, UeId ue) => await serve.Grains.GetGrain<IUeGrain>(ue.Value).Timeline();

    private static CreatePvm CreateOf(TimelineEntry[] timeline) =>
        timeline.Where(t => t.Event is UeAttached).SelectMany(t => t.Commands ?? []).OfType<CreatePvm>().Single();
}
