using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;
using MobiScud.Cli;
using MobiScud.Hosting.Dashboard;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;
using Xunit.Abstractions;

namespace MobiScud.Dashboard.Tests;

/// <summary>The dashboard on its own small host: a live simulation's lanes, and the page's size with 10,000 UEs.</summary>
public sealed class StandaloneDashboardTests(Browser browser, ITestOutputHelper output) : IClassFixture<Browser>
{
    private const string Token = "standalone-token-0123456789";

    [Fact]
    public async Task A_live_simulation_feeds_the_map_the_migrations_and_the_lane_comparison()
    {
        // The demo city, 3 simulated minutes at 600x: paced by the observer, every lane of the demo shown.
        var scenario = new ScenarioConfig { Name = "live-test", Duration = TimeSpan.FromMinutes(3) };
        var observer = new LiveRun.LiveObserver(TimeProvider.System, 600, CancellationToken.None);
        var state = new DashboardState(() => observer.VirtualSeconds);
        observer.State = state;
        var simulator = new Simulator(scenario) { Observer = observer };
        observer.Attach(simulator);
        await using var app = DashboardHost.Build(state, Token, IPAddress.Loopback, 0);
        await app.StartAsync();
        var (page, errors) = await browser.PageAsync();
        await Browser.SignInAsync(page, DashboardHost.Address(app), Token);
        var result = await Task.Factory.StartNew(() => simulator.Run(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        observer.Sampled(simulator);

        // The lane table carries every lane with the figures of the run's own result.
        foreach (var lane in result.Lanes)
        {
            var row = page.Locator($"#lanes tr[data-lane='{lane.Name}']");
            await Assertions.Expect(row).ToBeVisibleAsync();
            await Assertions.Expect(row.Locator("td").Nth(4)).ToHaveTextAsync(lane.Migrations.Started.ToString(CultureInfo.InvariantCulture));
        }

        Assert.Contains(result.Lanes, l => l.Migrations.Started > 0);
        var attached = Enumerable.Range(0, simulator.UeIds.Length).Count(i => simulator.Live.Ue(i).Attached);
        await Assertions.Expect(page.Locator("#counts")).ToContainTextAsync($"{attached} UEs");
        Assert.True(await page.Locator("#ues tbody tr").CountAsync() > 0);
        await Assertions.Expect(page.Locator("#feed")).ToContainTextAsync("MigrationStarted");
        Assert.True(state.Series().Count > 10, "the charts get a point per sample tick");
        await Browser.ScreenshotsAsync(page, "live-simulation");
        await page.CloseAsync();
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Ten_thousand_ues_travel_aggregated_and_the_page_draws_them()
    {
        var state = new DashboardState(() => 3600);
        var sites = Enumerable.Range(0, 50).Select(i => new DashboardSite($"edge-{i}", i % 10 * 2000, i / 10 * 2000, 400, false)).ToList();
        var enbs = Enumerable.Range(0, 500).Select(i => new DashboardEnb($"{1000 + i}", (i % 25 * 400) + 100, (i / 25 * 400) + 100, $"edge-{i % 50}")).ToList();
        state.SetTopology(new DashboardTopology("10k", false, enbs, sites, false));
        for (var u = 0; u < 10_000; u++)
        {
            state.UpdateUe($"ue-{u}", enbs[u % 500].Id, sites[(u * 7) % 50].Name, true);
        }

        state.Sample();
        await using var app = DashboardHost.Build(state, Token, IPAddress.Loopback, 0);
        await app.StartAsync();
        var address = DashboardHost.Address(app);

        // One frame on the wire: groups of (eNB, site), not 10,000 UE objects.
        using var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var frame = System.Text.Json.JsonSerializer.Serialize(state.Frame(0), DashboardEndpoints.Json);
        output.WriteLine($"frame with 10,000 UEs: {frame.Length:N0} bytes");
        Assert.Null(state.Frame(0).List);
        Assert.True(frame.Length < 200_000, $"a frame is {frame.Length} bytes");

        var (page, errors) = await browser.PageAsync();
        await page.GotoAsync(address + "#token=" + Token);
        await page.WaitForFunctionAsync("() => Number(document.body.dataset.frames) >= 1");
        var ms = await page.EvaluateAsync<double>("() => performance.now()");
        var nav = await page.EvaluateAsync<double>("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd");
        output.WriteLine($"10,000 UEs: DOMContentLoaded {nav:0} ms, first frame drawn {ms:0} ms after navigation start (loopback, headless chromium)");
        await Assertions.Expect(page.Locator("#counts")).ToContainTextAsync("10000 UEs");
        await Assertions.Expect(page.Locator("#ues-note")).ToContainTextAsync("too many to list");
        await Browser.ScreenshotsAsync(page, "ten-thousand");
        await page.CloseAsync();
        Assert.Empty(errors);
    }
}
