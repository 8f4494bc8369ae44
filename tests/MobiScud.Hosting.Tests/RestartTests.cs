using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

public sealed class RestartTests
{
    [Theory]
    [InlineData(StorageKind.Redis)]
    [InlineData(StorageKind.Postgres)]
    public async Task Restarting_the_whole_service_mid_migration_adopts_finished_and_rolls_back_failed_migrations_with_every_pvm_once(StorageKind storage)
    {
        await using var backend = await TestStorage.StartAsync(storage);
        const int ues = 12;

        // Migrations to site-c fail (a broken link); six 128 MiB guests sharing 1 Gbit/s take ~7 s, here ~1.4 s of wall time.
        var hypervisor = new SimulatedHypervisor(new HypervisorOptions { TimeScale = 5, MemoryMiB = 128, DirtyMiBps = 5, BootTime = TimeSpan.FromMilliseconds(200), FailMigrationsTo = ["site-c"] });
        var sw = new InMemorySteering();
        var settings = Settings(backend.Settings);

        Console.Error.WriteLine($"restart ({storage}): start at {DateTime.UtcNow:O}");
        var first = await StartAsync(settings, hypervisor, sw);
        Console.Error.WriteLine($"restart ({storage}): first up at {DateTime.UtcNow:O}");
        for (var i = 0; i < ues; i++)
        {
            await first.Pipeline.PostAsync(Attach(i, EnbA, Now));
        }

        await Wait.Until(async () => (await hypervisor.InventoryAsync()).Count(p => p.Running) == ues, "all PVMs running at site-a");
        await Wait.Until(async () =>
        {
            for (var i = 0; i < ues; i++)
            {
                if ((await first.State(Ue(i)))?.PvmStatus != PvmStatus.Running)
                {
                    return false;
                }
            }

            return true;
        }, "the MC saw every PVM start");
        for (var i = 0; i < ues; i++)
        {
            await first.Pipeline.PostAsync(Switched(i, i % 2 == 0 ? EnbB : EnbC, Now));
        }

        await Wait.Until(async () => (await hypervisor.InventoryAsync()).Count(p => p.Migrating is not null) == ues, "every migration under way");

        // Down mid-migration: the MC persisted that the migrations are in flight; the hypervisor carries on alone.
        Console.Error.WriteLine($"restart ({storage}): stopping first at {DateTime.UtcNow:O}");
        await first.DisposeAsync();
        Console.Error.WriteLine($"restart ({storage}): first stopped at {DateTime.UtcNow:O}");
        await Wait.Until(async () => (await hypervisor.InventoryAsync()).All(p => p.Migrating is null), "the hypervisor finished or failed every migration while the MC was down");
        var held = (await hypervisor.InventoryAsync()).ToDictionary(p => p.Ue);
        Assert.Equal(ues / 2, held.Values.Count(p => p.Site == B));
        Assert.Equal(ues / 2, held.Values.Count(p => p.Site == A));

        await using var second = await StartAsync(Settings(new(backend.Settings)
        {
            ["MobiScud:Silo:ClusterId"] = settings["MobiScud:Silo:ClusterId"],
        }), hypervisor, sw);

        Console.Error.WriteLine($"restart ({storage}): second up at {DateTime.UtcNow:O}");

        // A rolled-back migration is tried again at once (the restart cleared the back-off); to site-c it fails again.
        await Wait.Until(async () =>
        {
            for (var i = 0; i < ues; i++)
            {
                if ((await second.State(Ue(i))) is not { Migration: null })
                {
                    return false;
                }
            }

            return true;
        }, "no migration in flight");
        Console.Error.WriteLine($"restart ({storage}): converged at {DateTime.UtcNow:O}");
        for (var i = 0; i < ues; i++)
        {
            var s = await second.State(Ue(i));
            Assert.NotNull(s);
            Assert.Equal(PvmStatus.Running, s.PvmStatus);

            // Adopted (site-b) or rolled back (site-a, where the PVM still runs): the MC agrees with the hypervisor.
            Assert.Equal(i % 2 == 0 ? B : A, s.PvmSite);
            Assert.Equal(held[Ue(i)].Site, s.PvmSite);
            var timeline = await second.Grains.GetGrain<Grains.IUeGrain>(Ue(i).Value).Timeline();
            Assert.Contains(timeline, t => t.Kind == (i % 2 == 0 ? "MigrationCompleted" : "MigrationFailed") && t.Detail.Contains("while the MC was away") | t.Detail.Contains("rolled back"));

            // The history from before the restart was written behind (at the latest when the grain deactivated), in order.
            var kinds = timeline.Select(t => t.Kind).ToList();
            Assert.True(kinds.IndexOf(nameof(UeAttached)) is >= 0 and var a && kinds.IndexOf(nameof(PathSwitched)) > a, string.Join(", ", kinds));
            Assert.Contains("MigrationStarted", kinds);
        }

        // Every PVM exactly once, and steering on the serving switch toward wherever the PVM really is.
        var inventory = await hypervisor.InventoryAsync();
        Assert.Equal(ues, inventory.Count);
        Assert.Equal(ues, inventory.Select(p => p.Pvm).Distinct().Count());
        await Wait.Until(async () => (await sw.InventoryAsync()).Count == ues, "steering re-sent for every UE");
        foreach (var rule in await sw.InventoryAsync())
        {
            var i = int.Parse(rule.Ue.Value[^10..]);
            Assert.Equal(i % 2 == 0 ? B : C, rule.SwitchSite);
            Assert.Equal(held[rule.Ue].Site, rule.PvmSite);
        }

        var sites = await second.Grains.GetGrain<Grains.ISiteGrain>(A.Value).Get();
        Assert.Equal(ues / 2, sites.Ues.Length);
    }
}
