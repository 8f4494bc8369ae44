using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Configuration;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// Serve's migrations go through the core's MigrationScheduler (one grain for the cluster, `MobiScud:Backhaul` budgets):
/// the simulated hypervisor's own inventory says how many run at once; the MC's states say where every PVM ended up.
/// </summary>
public sealed class MigrationSchedulingTests
{
    private static Dictionary<string, string?> Budget(int perLink, Dictionary<string, string?>? extra = null)
    {
        var s = Settings(new()
        {
            ["MobiScud:Policy:Kind"] = "always",
            ["MobiScud:Backhaul:MaxConcurrentPerLink"] = perLink.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MobiScud:Backhaul:TickEvery"] = "00:00:00.200",
        });
        foreach (var (k, v) in extra ?? [])
        {
            s[k] = v;
        }

        return s;
    }

    private static SimulatedHypervisor Hypervisor(int memoryMiB) =>
        new(new HypervisorOptions { MemoryMiB = memoryMiB, DirtyMiBps = 1, BootTime = TimeSpan.FromMilliseconds(100) });

    private static async Task AttachAll(ServeTestHost serve, int ues)
    {
        for (var i = 0; i < ues; i++)
        {
            await serve.Pipeline.PostAsync(Attach(i, EnbA, Now));
        }

        await serve.Pipeline.FlushAsync();
        await Wait.Until(async () =>
        {
            for (var i = 0; i < ues; i++)
            {
                if (await serve.State(Ue(i)) is not { PvmStatus: PvmStatus.Running })
                {
                    return false;
                }
            }

            return true;
        }, "every PVM running at site-a");
    }

    private static async Task<bool> AllAt(ServeTestHost serve, int ues, SiteId site)
    {
        for (var i = 0; i < ues; i++)
        {
            if (await serve.State(Ue(i)) is not { PvmSite: { } at, Migration: null } || at != site)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Samples the hypervisor's migrations in flight and the scheduler's queue until <paramref name="done"/>.</summary>
    private static async Task<(int MaxRunning, int MaxQueued)> Watch(ServeTestHost serve, SimulatedHypervisor hypervisor, Func<Task<bool>> done, string what)
    {
        var maxRunning = 0;
        var maxQueued = 0;
        await Wait.Until(async () =>
        {
            maxRunning = Math.Max(maxRunning, (await hypervisor.InventoryAsync()).Count(p => p.Migrating is not null));
            maxQueued = Math.Max(maxQueued, (await serve.Grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key).Get()).Queued.Length);
            return await done();
        }, what, 120);
        return (maxRunning, maxQueued);
    }

    [Fact]
    public async Task Six_simultaneous_migrations_over_one_link_with_budget_two_run_two_at_a_time_and_all_complete()
    {
        const int ues = 6;
        var hypervisor = Hypervisor(96);
        await using var serve = await StartAsync(Budget(2), hypervisor);
        await AttachAll(serve, ues);

        // Every UE hands over to site-b's eNB at once: six migrations over the one site-a - site-b link.
        for (var i = 0; i < ues; i++)
        {
            await serve.Pipeline.PostAsync(Switched(i, EnbB, Now));
        }

        await serve.Pipeline.FlushAsync();
        var (maxRunning, maxQueued) = await Watch(serve, hypervisor, () => AllAt(serve, ues, B), "every PVM at site-b");

        Assert.Equal(2, maxRunning);
        Assert.True(maxQueued >= 1, "some migrations waited in the scheduler's queue");
        Assert.Equal(ues, hypervisor.MigrationsCompleted);
        Assert.Equal(0, hypervisor.MigrationsFailed);
        var inventory = await hypervisor.InventoryAsync();
        Assert.Equal(ues, inventory.Count);
        Assert.All(inventory, p => Assert.Equal(B, p.Site));
        await Wait.Until(async () => await serve.Grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key).Get() is { Running.Length: 0, Queued.Length: 0 }, "the scheduler is idle");
    }

    [Fact]
    public async Task A_queued_migration_whose_ue_hands_back_is_withdrawn_and_never_reaches_the_hypervisor()
    {
        var hypervisor = Hypervisor(256);
        await using var serve = await StartAsync(Budget(1), hypervisor);
        await AttachAll(serve, 2);

        await serve.Pipeline.PostAsync(Switched(0, EnbB, Now));
        await serve.Pipeline.FlushAsync();
        await Wait.Until(async () => (await hypervisor.InventoryAsync()).Any(p => p.Ue == Ue(0) && p.Migrating is not null), "UE 0's migration on the wire");
        await serve.Pipeline.PostAsync(Switched(1, EnbB, Now));
        await serve.Pipeline.FlushAsync();
        var scheduler = serve.Grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key);
        await Wait.Until(async () => (await scheduler.Get()).Queued.Length == 1, "UE 1's migration queued behind UE 0's");
        Assert.NotNull((await serve.State(Ue(1)))!.Migration);
        Assert.DoesNotContain(await hypervisor.InventoryAsync(), p => p.Ue == Ue(1) && p.Migrating is not null);

        // Ping-pong: UE 1 is back at site-a's eNB before its migration got a slot.
        await serve.Pipeline.PostAsync(Switched(1, EnbA, Now));
        await serve.Pipeline.FlushAsync();
        await Wait.Until(async () => await serve.State(Ue(1)) is { Migration: null }, "UE 1's migration withdrawn");
        Assert.Empty((await scheduler.Get()).Queued);
        Assert.Equal(A, (await serve.State(Ue(1)))!.PvmSite);
        var timeline = await serve.Grains.GetGrain<IUeGrain>(Ue(1).Value).Timeline();
        Assert.Contains(timeline, t => t.Detail.Contains("cancelled while queued", StringComparison.Ordinal));

        // UE 0's migration completes; UE 1's never ran.
        await Wait.Until(async () => await serve.State(Ue(0)) is { PvmSite: { } s, Migration: null } && s == B, "UE 0 at site-b");
        Assert.Equal(1, hypervisor.MigrationsCompleted);
        Assert.Equal(0, hypervisor.MigrationsFailed);
        Assert.Equal(A, (await hypervisor.InventoryAsync()).Single(p => p.Ue == Ue(1)).Site);
    }

    [Fact]
    public async Task A_migration_queued_past_its_deadline_is_refused_and_the_mc_hears_it_failed()
    {
        var hypervisor = Hypervisor(512);
        await using var serve = await StartAsync(Budget(1, new() { ["MobiScud:Backhaul:QueueDeadline"] = "00:00:01" }), hypervisor);
        await AttachAll(serve, 2);
        await serve.Pipeline.PostAsync(Switched(0, EnbB, Now));
        await serve.Pipeline.FlushAsync();
        await Wait.Until(async () => (await hypervisor.InventoryAsync()).Any(p => p.Ue == Ue(0) && p.Migrating is not null), "UE 0's migration on the wire");
        await serve.Pipeline.PostAsync(Switched(1, EnbB, Now));
        await serve.Pipeline.FlushAsync();

        // UE 0's 512 MiB take longer than UE 1 may wait: the scheduler refuses UE 1's, and the MC backs off (retry in 1 h here).
        await Wait.Until(async () => await serve.State(Ue(1)) is { Migration: null, MigrationBlockedUntil: var until } && until > TimeSpan.Zero, "UE 1's migration refused");
        var timeline = await serve.Grains.GetGrain<IUeGrain>(Ue(1).Value).Timeline();
        Assert.Contains(timeline, t => t.Detail.Contains("past its deadline", StringComparison.Ordinal));
        Assert.Equal(A, (await serve.State(Ue(1)))!.PvmSite);
        Assert.Empty((await serve.Grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key).Get()).Queued);
        Assert.DoesNotContain(await hypervisor.InventoryAsync(), p => p.Ue == Ue(1) && p.Migrating is not null);
    }

    [Fact]
    public async Task Restarting_the_service_mid_queue_loses_no_migration()
    {
        const int ues = 4;
        var hypervisor = Hypervisor(128);
        var store = new InProcessStateStore();
        var settings = Budget(1);
        var first = await StartAsync(settings, hypervisor, stateStore: store);
        await AttachAll(first, ues);
        for (var i = 0; i < ues; i++)
        {
            await first.Pipeline.PostAsync(Switched(i, EnbB, Now));
        }

        await first.Pipeline.FlushAsync();
        await Wait.Until(async () => (await first.Grains.GetGrain<IMigrationSchedulerGrain>(IMigrationSchedulerGrain.Key).Get()).Queued.Length >= 2, "migrations queued");

        // Down with one migration on the wire and the rest queued: the queue lived only in the scheduler grain.
        await first.DisposeAsync();
        await using var second = await StartAsync(settings, hypervisor, stateStore: store);
        var (maxRunning, _) = await Watch(second, hypervisor, () => AllAt(second, ues, B), "every PVM at site-b after the restart");

        Assert.Equal(1, maxRunning);
        var inventory = await hypervisor.InventoryAsync();
        Assert.Equal(ues, inventory.Count);
        Assert.All(inventory, p => Assert.Equal(B, p.Site));
    }

    [Fact]
    public void Backhaul_links_and_budgets_bind_and_bad_values_name_their_key()
    {
        var options = Options(new()
        {
            ["MobiScud:Backhaul:MaxConcurrentPerLink"] = "2",
            ["MobiScud:Backhaul:Links:0:A"] = "site-a",
            ["MobiScud:Backhaul:Links:0:B"] = "core",
            ["MobiScud:Backhaul:Links:1:A"] = "site-b",
            ["MobiScud:Backhaul:Links:1:B"] = "core",
            ["MobiScud:Backhaul:Links:2:A"] = "site-c",
            ["MobiScud:Backhaul:Links:2:B"] = "core",
            ["MobiScud:Backhaul:Links:2:DelayMs"] = "4",
        });
        Assert.Empty(new MobiScudOptionsValidator().Validate(null, options).Failures ?? []);
        var graph = options.ToMcConfig().Sites!;
        Assert.Equal(2, graph.Hops(A, B));
        Assert.Equal(5, graph.DelayMs(A, C));
        Assert.Equal(2, options.Backhaul.ToSchedulerConfig(graph).LinkBudget(0));

        var bad = Options(new()
        {
            ["MobiScud:Backhaul:MaxConcurrentPerLink"] = "0",
            ["MobiScud:Backhaul:Links:0:A"] = "site-a",
            ["MobiScud:Backhaul:Links:0:B"] = "site-x",
        });
        var failures = new MobiScudOptionsValidator().Validate(null, bad).Failures!.ToList();
        Assert.Contains(failures, f => f.Contains("MobiScud:Backhaul:MaxConcurrentPerLink", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("MobiScud:Backhaul:Links:0:B", StringComparison.Ordinal) && f.Contains("site-x", StringComparison.Ordinal));

        // Links that leave a site unreachable.
        var cut = Options(new()
        {
            ["MobiScud:Backhaul:Links:0:A"] = "site-a",
            ["MobiScud:Backhaul:Links:0:B"] = "site-b",
        });
        Assert.Contains(new MobiScudOptionsValidator().Validate(null, cut).Failures!, f => f.Contains("MobiScud:Backhaul:Links", StringComparison.Ordinal) && f.Contains("cannot be reached", StringComparison.Ordinal));
    }

    private static MobiScudOptions Options(Dictionary<string, string?> extra)
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(Settings(extra)).Build().GetSection(MobiScudOptions.Section);
        Assert.Empty(StrictConfiguration.Check(section, typeof(MobiScudOptions)));
        return section.Get<MobiScudOptions>()!;
    }
}
