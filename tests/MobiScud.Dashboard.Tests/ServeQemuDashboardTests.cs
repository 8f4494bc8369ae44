using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using MobiScud.Cloud.Qemu;
using MobiScud.Control.Model;
using MobiScud.Hosting;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Dashboard.Tests;

/// <summary>QEMU tests of the dashboard: their own collection, one at a time (TCG guests on 2 shared cores).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QemuDashboardCollection
{
    public const string Name = "qemu-dashboard";
}

/// <summary>
/// `mobiscud serve` with `Hypervisor:Kind: Qemu` in a real browser: a real TCG guest (the Cloud part's guest image) moved
/// between sites through the REST API, its migration bar fed by QEMU's query-migrate as the adapter reports it.
/// </summary>
[Collection(QemuDashboardCollection.Name)]
public sealed class ServeQemuDashboardTests(Browser browser, ITestOutputHelper output) : IClassFixture<Browser>
{
    private const string Token = "qemu-dashboard-token-0123456789";

    [Fact]
    public async Task A_qemu_migration_after_a_rest_move_moves_its_bar_and_completes_it()
    {
        ExternalTool.Require("qemu-system-x86_64", "qemu-system-x86");
        ExternalTool.Require("busybox", "busybox-static");
        var root = Directory.CreateTempSubdirectory($"mobiscud-dashqemu-{Environment.ProcessId}-").FullName;
        var settings = new Dictionary<string, string?>
        {
            ["MobiScud:Api:Token"] = Token,
            ["MobiScud:Api:Port"] = "0",
            ["MobiScud:Silo:SiloPort"] = Browser.FreePort().ToString(CultureInfo.InvariantCulture),
            ["MobiScud:Silo:GatewayPort"] = Browser.FreePort().ToString(CultureInfo.InvariantCulture),
            ["MobiScud:Silo:ClusterId"] = $"dashqemu-{Guid.NewGuid():N}",
            ["MobiScud:Sites:0:Name"] = "site-a",
            ["MobiScud:Sites:0:Enbs:0"] = "1",
            ["MobiScud:Sites:1:Name"] = "site-b",
            ["MobiScud:Sites:1:Enbs:0"] = "2",
            ["MobiScud:Hypervisor:Kind"] = "Qemu",
            ["MobiScud:Hypervisor:Qemu:RunDirectory"] = root,
            ["MobiScud:Hypervisor:Qemu:KeepPvmsOnStop"] = "false",

            // A random port block per run, so parallel runs and leftovers do not collide.
            ["MobiScud:Hypervisor:Qemu:FirstPort"] = TestPorts.RandomBase().ToString(CultureInfo.InvariantCulture),
            ["MobiScud:Hypervisor:Qemu:PortsPerSite"] = "20",
        };
        var ue = new UeId("imsi-001010000000042");
        try
        {
            var app = ServeHost.Build([], null, new ServeOverrides { Settings = settings, Logging = l => l.SetMinimumLevel(LogLevel.Warning) });
            await using (app)
            {
                await app.StartAsync();
                var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
                var adapter = app.Services.GetRequiredService<QemuHypervisorAdapter>();
                var reports = new List<QemuMigrationReport>();
                adapter.MigrationReported += r => { lock (reports) { reports.Add(r); } };
                var grains = app.Services.GetRequiredService<IGrainFactory>();
                var (page, errors) = await browser.PageAsync();
                await Browser.SignInAsync(page, address, Token);

                // The UE attaches at eNB 1: QEMU boots its PVM at site-a.
                await app.Services.GetRequiredService<EventPipeline>().PostAsync(new UeAttached(
                    DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch, ue, "001010000000042", IPAddress.Parse("10.45.0.42"), new EnbId(1), null,
                    [new Bearer(5, new GtpEndpoint(IPAddress.Parse("10.77.0.2"), 0x1042), new GtpEndpoint(IPAddress.Parse("10.77.1.1"), 0x2042))]));
                await Until(async () => (await grains.GetGrain<IUeGrain>(ue.Value).Get()).State is { PvmStatus: MobiScud.Control.PvmStatus.Running, PvmSite.Value: "site-a" }, "the PVM booted at site-a", TimeSpan.FromSeconds(120));
                var row = page.Locator($"#ues tr[data-ue='{ue.Value}']");
                await Assertions.Expect(row.Locator(".site")).ToHaveTextAsync("site-a");

                // Slowed to 8 MiB/s, so that the copy lasts a few seconds on any machine and the bar is seen on its way.
                var hv = await adapter.Hypervisor;
                hv.Policy = hv.Policy with { MaxBandwidthBytesPerSecond = 8 << 20 };
                using var client = new HttpClient { BaseAddress = address };
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
                (await client.PostAsJsonAsync($"/api/v1/pvms/{ue.Value}/move", new { site = "site-b" })).EnsureSuccessStatusCode();

                var seen = new List<(double Percent, string Text)>();
                var watch = Stopwatch.StartNew();
                while (true)
                {
                    // Phase, figure and text in one read: the page redraws the bar between separate reads, and a figure read
                    // before "completed" may be a stale 67 %.
                    var read = await page.EvaluateAsync<string?>(
                        "ue => { const all = document.querySelectorAll(`.migration[data-ue='${ue}']`); const e = all[all.length - 1];" +
                        " return e ? [e.dataset.phase, e.dataset.percent, e.querySelector('.what')?.textContent ?? ''].join('|') : null; }", ue.Value);
                    if (read?.Split('|', 3) is [var phase, var p, var text])
                    {
                        var percent = double.Parse(p, CultureInfo.InvariantCulture);
                        if (seen.Count == 0 || seen[^1].Percent != percent)
                        {
                            seen.Add((percent, text));
                        }

                        if (phase == "completed")
                        {
                            break;
                        }
                    }

                    Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), $"the migration to site-b did not complete on the page; seen: {string.Join("; ", seen)}");
                    await Task.Delay(50);
                }

                foreach (var (percent, text) in seen)
                {
                    output.WriteLine($"{percent,5:0.0} %  {text}");
                }

                // It moved (at least one figure strictly between start and end, never backwards) and completed.
                Assert.Contains(seen, s => s.Percent > 0 && s.Percent < 100);
                Assert.Equal(100, seen[^1].Percent);
                Assert.True(seen.Zip(seen.Skip(1)).All(s => s.Second.Percent >= s.First.Percent), "the bar went backwards");
                await Assertions.Expect(row.Locator(".site")).ToHaveTextAsync("site-b");
                await Assertions.Expect(page.Locator("#feed")).ToContainTextAsync("MigrationCompleted");
                QemuMigrationReport report;
                lock (reports)
                {
                    report = Assert.Single(reports);
                }

                Assert.True(report.Succeeded, report.FailureReason);
                output.WriteLine($"QEMU: {report.RamBytes >> 20} MiB in {report.Rounds} round(s), wall {report.WallTime.TotalMilliseconds:0} ms, downtime {report.Downtime.TotalMilliseconds:0} ms");
                await Browser.ScreenshotsAsync(page, "serve-qemu");
                await page.CloseAsync();
                Assert.Empty(errors);
                await app.StopAsync();
            }

            Assert.Empty(QemuProcesses.Under(root));
        }
        finally
        {
            QemuProcesses.KillUnder(root);
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task Until(Func<Task<bool>> condition, string what, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < limit, $"timed out after {limit.TotalSeconds:0} s waiting for {what}");
            await Task.Delay(100);
        }
    }
}
