using Microsoft.Playwright;
using MobiScud.TestSupport;

namespace MobiScud.Dashboard.Tests;

/// <summary>
/// Playwright for .NET driving Debian's chromium (browser downloads are not reachable here): one browser per test
/// class, a page per test that records console errors and uncaught exceptions, screenshots kept as artefacts.
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Instance { get; private set; } = null!;

    /// <summary>Where screenshots go: MOBISCUD_DASHBOARD_ARTIFACTS, else TestResults/dashboard at the repository root.</summary>
    public static string Artifacts
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable("MOBISCUD_DASHBOARD_ARTIFACTS") is { Length: > 0 } d ? d : Path.Combine(TestData.RepoRoot, "TestResults", "dashboard");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public async Task InitializeAsync()
    {
        var chromium = Environment.GetEnvironmentVariable("MOBISCUD_CHROMIUM") is { Length: > 0 } c ? c : ExternalTool.Require("chromium", "chromium");
        _playwright = await Playwright.CreateAsync();
        Instance = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task<(IPage Page, List<string> Errors)> PageAsync()
    {
        var page = await Instance.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1200 } });
        var errors = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                lock (errors)
                {
                    errors.Add($"console: {m.Text}");
                }
            }
        };
        page.PageError += (_, e) =>
        {
            lock (errors)
            {
                errors.Add($"page error: {e}");
            }
        };
        return (page, errors);
    }

    public static async Task SignInAsync(IPage page, Uri address, string token)
    {
        await page.GotoAsync(address.ToString());
        await page.FillAsync("#token", token);
        await page.ClickAsync("#signin-form button[type=submit]");
        await Assertions.Expect(page.Locator("#dash")).ToBeVisibleAsync();
    }

    /// <summary>A screenshot of the page and of each panel, named after the test.</summary>
    public static async Task<List<string>> ScreenshotsAsync(IPage page, string name)
    {
        var files = new List<string> { Path.Combine(Artifacts, $"{name}-page.png") };
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = files[0], FullPage = true });
        foreach (var panel in new[] { "map", "migrations", "feed", "ues", "ladder", "charts", "lanes" })
        {
            var locator = page.Locator($"#{panel}-panel");
            if (await locator.IsVisibleAsync())
            {
                var file = Path.Combine(Artifacts, $"{name}-{panel}.png");
                await locator.ScreenshotAsync(new LocatorScreenshotOptions { Path = file });
                files.Add(file);
            }
        }

        return files;
    }

    public static int FreePort() => TestPorts.Free();

    public async Task DisposeAsync()
    {
        if (Instance is not null)
        {
            await Instance.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
