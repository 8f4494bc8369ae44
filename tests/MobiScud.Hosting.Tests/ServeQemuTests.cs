using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using MobiScud.Cloud.Qemu;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>`mobiscud serve` with `Hypervisor:Kind: Qemu`: real TCG guests (the Cloud part's guest image), real live migration.</summary>
public sealed class ServeQemuTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Serve_boots_a_real_qemu_pvm_on_attach_and_live_migrates_it_on_handover()
    {
        ExternalTool.Require("qemu-system-x86_64", "qemu-system-x86");
        ExternalTool.Require("busybox", "busybox-static");
        var root = Directory.CreateTempSubdirectory($"mobiscud-serveqemu-{Environment.ProcessId}-").FullName;
        var settings = Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Qemu",
            ["MobiScud:Hypervisor:Qemu:RunDirectory"] = root,

            // This test checks that the service's stop ends its QEMUs (the opt-out of adoption).
            ["MobiScud:Hypervisor:Qemu:KeepPvmsOnStop"] = "false",

            // A random port block per run, so parallel helpers and leftovers do not collide (the allocator skips busy ports).
            ["MobiScud:Hypervisor:Qemu:FirstPort"] = TestPorts.RandomBase().ToString(),
            ["MobiScud:Hypervisor:Qemu:PortsPerSite"] = "20",
        });
        var ue = Ue(7);
        var pvm = PvmId.For(ue);
        try
        {
            await using (var serve = await StartAsync(settings, output: output))
            {
                var adapter = serve.App.Services.GetRequiredService<QemuHypervisorAdapter>();
                var hv = await adapter.Hypervisor;
                var reports = new List<QemuMigrationReport>();
                adapter.MigrationReported += r => { lock (reports) { reports.Add(r); } };

                await serve.Pipeline.PostAsync(Attach(7, EnbA, Now));
                await Wait.Until(async () => await serve.State(ue) is { PvmStatus: PvmStatus.Running, PvmSite: var s } && s == A, "the PVM booted at site-a", seconds: 90);
                var before = hv.Describe(pvm)!;
                Assert.True(QemuProcesses.IsQemuUnder(before.ProcessId, root), $"pid {before.ProcessId} is not a QEMU under {root}");
                var token = await GuestTokenAsync(before.Ports.Token);
                output.WriteLine($"booted: pid {before.ProcessId}, {token}");

                // The inventory is QEMU's own answer over QMP.
                var held = Assert.Single(await adapter.InventoryAsync());
                Assert.Equal((A, true, pvm), (held.Site, held.Running, held.Pvm));

                await serve.Pipeline.PostAsync(Switched(7, EnbB, Now));
                await Wait.Until(async () => await serve.State(ue) is { Migration: null, PvmSite: var s } && s == B, "the PVM live-migrated to site-b", seconds: 90);

                using var client = serve.Client();
                var pvms = await client.GetFromJsonAsync<JsonElement>("/api/v1/pvms");
                var view = Assert.Single(pvms.EnumerateArray());
                Assert.Equal(("site-b", "Running"), (view.GetProperty("site").GetString(), view.GetProperty("status").GetString()));

                // The same guest (its boot token) runs at site-b in a new QEMU; the source QEMU is gone.
                var after = hv.Describe(pvm)!;
                Assert.NotEqual(before.ProcessId, after.ProcessId);
                Assert.True(QemuProcesses.IsQemuUnder(after.ProcessId, Path.Combine(root, B.Value)), $"pid {after.ProcessId} is not a QEMU under site-b's directory");
                Assert.Equal(token.Split(' ')[1], (await GuestTokenAsync(after.Ports.Token)).Split(' ')[1]);
                await Wait.Until(() => Task.FromResult(!QemuProcesses.IsQemuUnder(before.ProcessId, root)), "the source QEMU stopped");
                await Wait.Until(() => Task.FromResult(reports.Count > 0), "QEMU's migration report");
                Assert.Equal([after.ProcessId], QemuProcesses.Under(root));
                var report = Assert.Single(reports);
                Assert.True(report.Succeeded, report.FailureReason);
                Assert.Equal((A, B), (report.From, report.To));
                output.WriteLine($"migrated: wall {report.WallTime.TotalMilliseconds:0} ms, downtime {report.Downtime.TotalMilliseconds:0} ms, {report.RamBytes >> 20} MiB in {report.Rounds} rounds");

                held = Assert.Single(await adapter.InventoryAsync());
                Assert.Equal((B, true), (held.Site, held.Running));
            }

            // The service's shutdown ends its QEMUs.
            Assert.Empty(QemuProcesses.Under(root));
        }
        finally
        {
            QemuProcesses.KillUnder(root);

            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Restarting_serve_mid_migration_adopts_a_finished_one_rolls_back_an_unfinished_one_and_keeps_one_qemu_pvm()
    {
        ExternalTool.Require("qemu-system-x86_64", "qemu-system-x86");
        await using var redis = await RedisServer.StartAsync();
        var root = Directory.CreateTempSubdirectory($"mobiscud-serveqemu-{Environment.ProcessId}-").FullName;

        // The QEMUs live in this process and outlive the service, as they would outlive a restart of the MC alone.
        var adapter = new QemuHypervisorAdapter(
            new QemuServeOptions { RunDirectory = root, FirstPort = TestPorts.RandomBase(), PortsPerSite = 20, KeepPvmsOnStop = false },
            [A.Value, B.Value, C.Value, "core"], TimeProvider.System, NullLogger<QemuHypervisorAdapter>.Instance);
        var reports = new List<QemuMigrationReport>();
        adapter.MigrationReported += r => { lock (reports) { reports.Add(r); } };
        var settings = Settings(new() { ["MobiScud:Storage:Kind"] = "Redis", ["MobiScud:Storage:Redis"] = redis.Endpoint });
        Task<ServeTestHost> Restart() => StartAsync(Settings(new()
        {
            ["MobiScud:Storage:Kind"] = "Redis",
            ["MobiScud:Storage:Redis"] = redis.Endpoint,
            ["MobiScud:Silo:ClusterId"] = settings["MobiScud:Silo:ClusterId"],

            // Should QEMU's report of the cancelled copy reach the MC after the restart (the order is not fixed), the
            // MC backs off before trying again: keep that short here.
            ["MobiScud:MigrationRetryAfter"] = "00:00:02",
        }), adapter, output: output);
        var ue = Ue(8);
        var pvm = PvmId.For(ue);
        try
        {
            string token;
            await using (var first = await StartAsync(settings, adapter, output: output))
            {
                await first.Pipeline.PostAsync(Attach(8, EnbA, Now));
                await Wait.Until(async () => await first.State(ue) is { PvmStatus: PvmStatus.Running, PvmSite: var s } && s == A, "the PVM booted at site-a", seconds: 90);
                token = (await GuestTokenAsync((await adapter.Hypervisor).Describe(pvm)!.Ports.Token)).Split(' ')[1];
                await first.Pipeline.PostAsync(Switched(8, EnbB, Now));
                await Wait.Until(async () => (await adapter.InventoryAsync()).Any(p => p.Migrating is not null), "the live migration to site-b under way");
            }

            // 1. The MC is down; QEMU finishes the migration, and its outcome reaches no one. The restart adopts it.
            await Wait.Until(async () => (await adapter.InventoryAsync()).Single() is { Migrating: null, Site: var s } && s == B, "QEMU finished the migration to site-b while the MC was down");
            await using (var second = await Restart())
            {
                await Wait.Until(async () => await second.State(ue) is { PvmStatus: PvmStatus.Running, Migration: null, PvmSite: var s } && s == B, "the MC adopted the PVM at site-b");
                await AssertOneGuestAsync(adapter, pvm, root, B, token);

                // 2. Hand over to site-c with a migration slowed to 1 MiB/s: still copying when the MC goes down and comes back.
                (await adapter.Hypervisor).Policy = MigrationPolicy.QemuDefaults with { MaxBandwidthBytesPerSecond = 1 << 20 };
                await second.Pipeline.PostAsync(Switched(8, EnbC, Now));
                await Wait.Until(async () => (await adapter.InventoryAsync()).Any(p => p.Migrating is not null), "the slow migration to site-c under way");
            }

            (await adapter.Hypervisor).Policy = MigrationPolicy.Tuned;
            await using var third = await Restart();

            // The reconciliation cancelled the unfinished copy (QEMU rolled back to site-b); the MC then migrated again, at full speed.
            try
            {
                await Wait.Until(async () => await third.State(ue) is { PvmStatus: PvmStatus.Running, Migration: null, PvmSite: var s } && s == C, "the PVM at site-c after the retried migration", seconds: 90);
            }
            catch (TimeoutException e)
            {
                // Say where it stuck: the MC's view of the UE, its timeline and what QEMU holds.
                var timeline = await third.Grains.GetGrain<Grains.IUeGrain>(ue.Value).Timeline();
                throw new Xunit.Sdk.XunitException($"{e.Message}\nstate: {await third.State(ue)}\ninventory: {string.Join("; ", await adapter.InventoryAsync())}\ntimeline:\n{string.Join("\n", timeline.Select(t => $"{t.At} {t.Kind} {t.Detail}"))}");
            }

            await AssertOneGuestAsync(adapter, pvm, root, C, token);
            await Wait.Until(() => Task.FromResult(reports.Count >= 3), "QEMU's reports of the three migrations");
            output.WriteLine($"stale mirror targets removed before a migration: {(await adapter.Hypervisor).StaleMirrorTargetsRemoved}");
            lock (reports)
            {
                output.WriteLine(string.Join('\n', reports.Select(r => $"{r.From}->{r.To} {(r.Succeeded ? "ok" : r.FailureReason)} wall {r.WallTime.TotalMilliseconds:0} ms")));
                Assert.Equal([(A, B, true), (B, C, false), (B, C, true)], reports.Select(r => (r.From, r.To, r.Succeeded)));
                Assert.Equal("cancelled on request", reports[1].FailureReason);
            }
        }
        finally
        {
            await adapter.DisposeAsync();
            QemuProcesses.KillUnder(root);

            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Exactly one QEMU holds the PVM, at <paramref name="site"/>, and it is the guest that booted first (same token).</summary>
    private static async Task AssertOneGuestAsync(QemuHypervisorAdapter adapter, PvmId pvm, string root, SiteId site, string token)
    {
        var held = Assert.Single(await adapter.InventoryAsync());
        Assert.Equal((site, true, (MigrationId?)null), (held.Site, held.Running, held.Migrating));
        var info = (await adapter.Hypervisor).Describe(pvm)!;
        await Wait.Until(() => Task.FromResult(QemuProcesses.Under(root).Count == 1), "a single QEMU left");
        Assert.Equal([info.ProcessId], QemuProcesses.Under(root));
        Assert.Equal(token, (await GuestTokenAsync(info.Ports.Token)).Split(' ')[1]);
    }

    /// <summary>The guest's token service (port 9) prints "TOKEN t UPTIME s" on connect.</summary>
    private static async Task<string> GuestTokenAsync(int port)
    {
        using var c = new TcpClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await c.ConnectAsync("127.0.0.1", port, cts.Token);
        using var reader = new StreamReader(c.GetStream());
        var line = await reader.ReadLineAsync(cts.Token) ?? "";
        Assert.StartsWith("TOKEN ", line);
        return line;
    }
}
