using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Dashboard.Tests;

/// <summary>
/// The dashboard of `mobiscud serve` in a real browser: a real capture played into serve's pcap tap at its recorded
/// pace, the simulated hypervisor (pre-copy model on the wall clock) behind it.
/// </summary>
public sealed class ServeDashboardTests(Browser browser, ITestOutputHelper output) : IClassFixture<Browser>
{
    private const string Token = "dashboard-test-token-0123456789";
    private const string Capture = "open5gs_testepc_2019.pcapng";

    [Fact]
    public async Task A_wrong_token_is_refused_and_the_right_one_opens_the_dashboard()
    {
        await using var serve = await StartAsync(new Dictionary<EnbId, SiteId> { [new EnbId(1)] = new SiteId("site-a") }, tap: false);
        var (page, _) = await browser.PageAsync();
        await page.GotoAsync(serve.Address.ToString());
        await Assertions.Expect(page.Locator("#signin")).ToBeVisibleAsync();
        await page.FillAsync("#token", "not-the-token");
        await page.ClickAsync("#signin-form button[type=submit]");
        await Assertions.Expect(page.Locator("#signin-error")).ToHaveTextAsync("The token was refused.");
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('mobiscud.token')"));

        // Without the token the data stays shut even though the page itself is open.
        using var anonymous = new HttpClient { BaseAddress = serve.Address };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/dashboard/stream")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);

        await page.FillAsync("#token", Token);
        await page.ClickAsync("#signin-form button[type=submit]");
        await Assertions.Expect(page.Locator("#dash")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("live");
        Assert.Equal(Token, await page.EvaluateAsync<string>("sessionStorage.getItem('mobiscud.token')"));

        // A reload keeps the session's token: straight to the dashboard.
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#dash")).ToBeVisibleAsync();
        await Browser.ScreenshotsAsync(page, "signin");
        await page.CloseAsync();
    }

    [Fact]
    public async Task A_capture_played_into_serve_shows_its_ues_moves_them_on_handover_and_a_migration_bar_completes()
    {
        // The reference: the same capture through `mobiscud replay`'s code path, each eNB its own site.
        var sites = Replay(null).Result.Sites;
        var reference = Replay(sites);
        // A handover after which the UE stays at least 2 s of capture time (1 s at the tap's rate of 2) on its new eNB (the
        // capture's UEs also ping-pong within milliseconds): the n-th handover of its UE.
        var handovers = reference.Result.Entries.Select(e => e.Event).Where(e => e is PathSwitched or HandoverCompleted).ToList();
        var chosen = handovers.Select((e, i) => (Event: e, Next: handovers.Skip(i + 1).FirstOrDefault(n => n.Ue == e.Ue)))
            .First(p => p.Next is null || p.Next.At - p.Event.At >= TimeSpan.FromSeconds(2)).Event;
        var ue = chosen.Ue.Value;
        var targetEnb = chosen is PathSwitched ps ? ps.Target : ((HandoverCompleted)chosen).Target;
        var target = targetEnb.Value.ToString(CultureInfo.InvariantCulture);
        var nth = handovers.Where(e => e.Ue == chosen.Ue).ToList().IndexOf(chosen) + 1;
        output.WriteLine($"handover {nth} of {ue} to eNB {target} at {chosen.At.TotalSeconds:0.000} s of the capture");

        // tshark -r open5gs_testepc_2019.pcapng -Y 's1ap' -T fields -e _ws.col.Info: the S1AP message names it shows.
        var tshark = ExternalTool.Require("tshark", "tshark");
        var info = await ExternalTool.RunAsync(tshark, ["-r", TestData.Capture(Capture), "-Y", "s1ap", "-T", "fields", "-e", "_ws.col.Info"], TimeSpan.FromMinutes(1));
        var tsharkNames = info.StdOut.Split([',', '\n', ' ', '['], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        Assert.Contains("PathSwitchRequest", tsharkNames);

        await using var serve = await StartAsync(sites, tap: true);
        var (page, errors) = await browser.PageAsync();
        await Browser.SignInAsync(page, serve.Address, Token);

        // The UE attaches several seconds into the capture, before its handovers.
        var row = page.Locator($"#ues tr[data-ue='{ue}']");
        await Assertions.Expect(row).ToBeVisibleAsync(new() { Timeout = 30_000 });

        // The handover: from the moment the MC has applied it, the page shows the UE on its new eNB within 1 s.
        var grains = serve.App.Services.GetRequiredService<IGrainFactory>();
        var deadline = Stopwatch.StartNew();
        while ((await grains.GetGrain<IUeGrain>(ue).Timeline()).Count(t => t.Kind is nameof(PathSwitched) or nameof(HandoverCompleted)) < nth)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(1))
            {
                var tap = serve.App.Services.GetRequiredService<CaptureTaps>().Status[0];
                var now = (await grains.GetGrain<IUeGrain>(ue).Get()).State;
                Assert.Fail($"serve never applied the capture's path switch of {ue} to eNB {target}: tap {tap.Frames} frames, {tap.Events} events, error {tap.Error}; the UE is on {now?.ServingEnb}; reference: "
                    + string.Join("; ", reference.Result.Entries.Where(e => e.Event.Ue.Value == ue).Select(e => McText.Describe(e.Event))));
            }

            await Task.Delay(10);
        }

        Assert.Equal(targetEnb, (await grains.GetGrain<IUeGrain>(ue).Get()).State?.ServingEnb);
        await Assertions.Expect(row.Locator(".enb")).ToHaveTextAsync(target, new() { Timeout = 1000 });

        // The ladder: the UE's S1AP messages as the tap saw them, names as tshark prints them, and the MC's commands.
        await row.ClickAsync();
        var ladder = page.Locator("#ladder");
        await Assertions.Expect(ladder).ToContainTextAsync("InitialContextSetupRequest");
        var lines = await page.Locator("#ladder li").AllTextContentsAsync();
        var s1ap = lines.Where(l => l.Contains("eNB \u2192 MME", StringComparison.Ordinal) || l.Contains("MME \u2192 eNB", StringComparison.Ordinal))
            .Select(l => l[(l.LastIndexOf("  ", StringComparison.Ordinal) + 2)..].Trim()).ToList();
        Assert.Contains("InitialUEMessage", s1ap);
        Assert.Contains("InitialContextSetupRequest", s1ap);
        Assert.Contains(chosen is PathSwitched ? "PathSwitchRequest" : "HandoverNotify", s1ap);
        Assert.All(s1ap, name => Assert.Contains(name, tsharkNames));
        Assert.Contains(lines, l => l.Contains("MC \u2192 switch", StringComparison.Ordinal) && l.Contains("InstallSteering", StringComparison.Ordinal));

        // The map: every UE the MC holds at the end, on the eNB the reference has it on, drawn on the canvas.
        await serve.App.Services.GetRequiredService<CaptureTaps>().FilesDone.WaitAsync(TimeSpan.FromMinutes(1));
        var expected = reference.Session.States.Values.Where(s => s.Connection != ConnectionState.Detached && s.ServingEnb is not null)
            .ToDictionary(s => s.Ue.Value, s => s.ServingEnb!.Value.Value.ToString(CultureInfo.InvariantCulture));
        Assert.NotEmpty(expected);
        await WaitForAsync(async () =>
        {
            var shown = await ShownUesAsync(page);
            return expected.All(kv => shown.TryGetValue(kv.Key, out var enb) && enb == kv.Value) ? null : $"page shows {string.Join(", ", shown)}; MC has {string.Join(", ", expected)}";
        });
        var ueDots = await page.EvaluateAsync<int>(CountUeColourScript);
        Assert.True(ueDots > 0, "no UE is drawn on the map canvas");

        // A migration: move the UE's PVM by hand once the capture's own migrations are over; its bar moves, then completes.
        await WaitForAsync(async () => (await grains.GetGrain<IUeGrain>(ue).Get()).State?.Migration is null ? null : "a capture migration is still in flight");
        var state = (await grains.GetGrain<IUeGrain>(ue).Get()).State!;
        var to = sites.Values.First(s => s != state.PvmSite).Value;
        using var client = new HttpClient { BaseAddress = serve.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        (await client.PostAsJsonAsync($"/api/v1/pvms/{ue}/move", new { site = to })).EnsureSuccessStatusCode();
        var seen = new List<double>();
        await WaitForAsync(async () =>
        {
            // Phase and figure in one read: the page redraws the bar between two separate reads.
            if ((await page.EvaluateAsync<string?>(LastBarScript, ue))?.Split('|') is [var phase, var p])
            {
                seen.Add(double.Parse(p, CultureInfo.InvariantCulture));
                if (phase == "completed")
                {
                    return null;
                }
            }

            return $"migration to {to} not completed on the page; percentages seen: {string.Join(", ", seen)}";
        }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
        output.WriteLine($"progress seen: {string.Join(", ", seen.Distinct())}");
        Assert.Contains(seen, p => p > 0 && p < 100);
        Assert.Equal(100, seen[^1]);
        Assert.True(seen.Zip(seen.Skip(1)).Count(p => p.Second > p.First) >= 2, "the bar should move forward more than once");
        await Assertions.Expect(page.Locator("#feed")).ToContainTextAsync("MigrationCompleted");

        foreach (var file in await Browser.ScreenshotsAsync(page, "serve-capture"))
        {
            output.WriteLine(file);
        }

        await page.CloseAsync();
        Assert.Empty(errors);
    }

    /// <summary>The phase and figure of a UE's last migration bar, read together, or null when it has none.</summary>
    private const string LastBarScript = """
        ue => {
          const all = document.querySelectorAll(`.migration[data-ue='${ue}'][data-phase]`);
          const e = all[all.length - 1];
          return e ? `${e.dataset.phase}|${e.dataset.percent}` : null;
        }
        """;

    /// <summary>Pixels of the UE colour (#e8590c) on the map canvas.</summary>
    private const string CountUeColourScript = """
        () => {
          const c = document.querySelector('#map');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] === 0xe8 && d[i + 1] === 0x59 && d[i + 2] === 0x0c) n++;
          return n;
        }
        """;

    private static async Task<Dictionary<string, string>> ShownUesAsync(IPage page) =>
        (await page.EvaluateAsync<string[][]>("() => Array.from(document.querySelectorAll('#ues tbody tr')).map(r => [r.dataset.ue, r.querySelector('.enb').textContent])"))
        .ToDictionary(r => r[0], r => r[1]);

    private static async Task WaitForAsync(Func<Task<string?>> problem, TimeSpan? timeout = null, TimeSpan? every = null)
    {
        var watch = Stopwatch.StartNew();
        string? last;
        while ((last = await problem()) is not null)
        {
            if (watch.Elapsed > (timeout ?? TimeSpan.FromSeconds(30)))
            {
                Assert.Fail(last);
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
        }
    }

    private static (ReplaySession Session, ReplayResult Result) Replay(IReadOnlyDictionary<EnbId, SiteId>? sites)
    {
        var session = new ReplaySession(sites);
        using var source = CaptureFile.Open(TestData.Capture(Capture));
        return (session, session.Run(source, Capture));
    }

    private static async Task<Serve> StartAsync(IReadOnlyDictionary<EnbId, SiteId> sites, bool tap)
    {
        var s = new Dictionary<string, string?>
        {
            ["MobiScud:Api:Token"] = Token,
            ["MobiScud:Api:Port"] = "0",
            ["MobiScud:Silo:SiloPort"] = Browser.FreePort().ToString(CultureInfo.InvariantCulture),
            ["MobiScud:Silo:GatewayPort"] = Browser.FreePort().ToString(CultureInfo.InvariantCulture),
            ["MobiScud:Silo:ClusterId"] = $"dashboard-{Guid.NewGuid():N}",
            ["MobiScud:Hypervisor:Kind"] = "Simulated",

            // A migration of 256 MiB over 400 Mbit/s takes about 5 s: the bar has time to be seen moving.
            ["MobiScud:Hypervisor:MemoryMiB"] = "256",
            ["MobiScud:Hypervisor:LinkMbps"] = "400",
        };
        var i = 0;
        foreach (var (enb, site) in sites.OrderBy(kv => kv.Key.Value))
        {
            s[$"MobiScud:Sites:{i}:Name"] = site.Value;
            s[$"MobiScud:Sites:{i}:Enbs:0"] = enb.Value.ToString(CultureInfo.InvariantCulture);
            i++;
        }

        if (tap)
        {
            // At twice the recorded pace: the page is open before the capture's handovers (18 s in, 9 s after the start).
            s["MobiScud:Taps:0:Pcap"] = TestData.Capture(Capture);
            s["MobiScud:Taps:0:Speed"] = "Recorded";
            s["MobiScud:Taps:0:Rate"] = "2";
        }

        var app = ServeHost.Build([], null, new ServeOverrides { Settings = s, Logging = l => l.SetMinimumLevel(LogLevel.Warning) });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new Serve(app, address);
    }

    private sealed record Serve(WebApplication App, Uri Address) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
