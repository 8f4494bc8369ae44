using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Playwright;
using MobiScud.Cli;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Hosting.Dashboard;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Emulation;
using MobiScud.Testbed.Topology;
using MobiScud.TestSupport;

namespace MobiScud.Dashboard.Tests;

/// <summary>
/// `mobiscud testbed run --dashboard` without QEMU: the real testbed (namespaces, OVS, the emulated EPC's SCTP and
/// S1AP), the real MC on the backhaul tap, hooked to the dashboard as the command wires it; a hypervisor whose outcomes
/// the test gives, so that the migration bar's steps are known.
/// </summary>
public sealed class TestbedDashboardTests(Browser browser) : IClassFixture<Browser>
{
    private const string Token = "testbed-dashboard-token-0123456789";
    private const long GuestRam = 128L << 20;

    /// <summary>Answers CreatePvm with a started PVM at once; a migration's progress and end come from the test.</summary>
    [Fact]
    public async Task The_testbed_MC_feeds_the_dashboard_its_ues_a_handover_and_a_migration_bar()
    {
        ExternalTool.Require("ovs-vswitchd", "openvswitch-switch");
        var runDir = Path.Combine(Path.GetTempPath(), $"msd-test-{Guid.NewGuid():N}");
        var net = TestbedNetwork.Up(new Scenario(), runDir);
        try
        {
            var state = new DashboardState(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
            await using var app = DashboardHost.Build(state, Token, IPAddress.Loopback, 0);
            await app.StartAsync();
            var address = DashboardHost.Address(app);
            using var tap = BackhaulTap.Open(net.Plan.CoreNs, TestbedPlan.MirrorDevice, Path.Combine(runDir, "s1.pcap"));
            var pvms = new RecordingPvms();
            var hooks = TestbedDashboard.Hooks(state, net.Plan, GuestRam);
            await using var mc = new TestbedMc(tap.Frames, net.Plan.McConfig(), pvms, new InMemorySteering(), DateTime.UtcNow, hooks: hooks);
            await using var epc = await EpcEmulator.StartAsync(net.Plan);
            var ue = epc.Ues[0];
            var ueId = $"imsi-{ue.Imsi}";
            var enb1 = TestbedPlan.EnbIdOf(1).ToString(CultureInfo.InvariantCulture);
            var enb2 = TestbedPlan.EnbIdOf(2).ToString(CultureInfo.InvariantCulture);

            // The map has the plan's eNBs (their S1AP ids) at their sites.
            using var client = new HttpClient { BaseAddress = address };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var topology = JsonDocument.Parse(await client.GetStringAsync("/api/v1/dashboard/topology"));
            var enbs = topology.RootElement.GetProperty("enbs").EnumerateArray().ToDictionary(e => e.GetProperty("id").GetString()!, e => e.GetProperty("site").GetString());
            Assert.Equal(new Dictionary<string, string?> { [enb1] = "a", [enb2] = "b" }, enbs);

            var (page, errors) = await browser.PageAsync();
            await Browser.SignInAsync(page, address, Token);
            var row = page.Locator($"#ues tr[data-ue='{ueId}']");

            // Attach at eNB 1: the UE shows there with its PVM at site a.
            await epc.AttachAsync(ue, 1);
            await Assertions.Expect(row.Locator(".enb")).ToHaveTextAsync(enb1, new() { Timeout = 30_000 });
            await Assertions.Expect(row.Locator(".site")).ToHaveTextAsync("a", new() { Timeout = 30_000 });

            // The X2 handover to eNB 2 (site b): the stream's frame moves the UE, and the MC starts the PVM's migration.
            using var stream = await client.GetStreamAsync("/api/v1/dashboard/stream");
            using var reader = new StreamReader(stream);
            await epc.X2HandoverAsync(ue, 2);
            var moved = await FrameAsync(reader, f => f.TryGetProperty("list", out var l) && l.EnumerateArray().Any(u => u[0].GetString() == ueId && u[1].GetString() == enb2));
            Assert.Equal(1, moved.GetProperty("ues").GetInt32());
            await Assertions.Expect(row.Locator(".enb")).ToHaveTextAsync(enb2, new() { Timeout = 5_000 });
            await Until(() => pvms.Executed.OfType<StartMigration>().Any());
            var migration = pvms.Executed.OfType<StartMigration>().Single();
            Assert.Equal(("a", "b"), (migration.From.Value, migration.To.Value));

            // The bar follows the hypervisor's rounds as they reach the MC, then completes.
            var bar = page.Locator($".migration[data-id='{migration.Migration}']");
            await Assertions.Expect(bar).ToHaveAttributeAsync("data-phase", "running");
            pvms.Report(new MigrationProgressed(TimeSpan.Zero, migration.Migration, 1, GuestRam / 4));
            await Assertions.Expect(bar).ToHaveAttributeAsync("data-percent", "25.0");
            pvms.Report(new MigrationProgressed(TimeSpan.Zero, migration.Migration, 2, GuestRam * 3 / 4));
            await Assertions.Expect(bar).ToHaveAttributeAsync("data-percent", "75.0");
            pvms.Report(new MigrationCompleted(TimeSpan.Zero, migration.Migration, new MigrationStats(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(30), GuestRam, 3)));
            await Assertions.Expect(bar).ToHaveAttributeAsync("data-phase", "completed");
            await Assertions.Expect(bar).ToHaveAttributeAsync("data-percent", "100.0");
            await Assertions.Expect(row.Locator(".site")).ToHaveTextAsync("b");
            await Assertions.Expect(page.Locator("#feed")).ToContainTextAsync("HandoverExecuted");
            await Assertions.Expect(page.Locator("#feed")).ToContainTextAsync("MigrationCompleted");

            // The ladder: the S1AP messages the tap saw on this UE, and the MC's commands.
            using var detail = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/dashboard/ues/{ueId}"));
            var ladder = detail.RootElement.GetProperty("ladder").EnumerateArray().Select(e => (From: e.GetProperty("from").GetString(), Text: e.GetProperty("text").GetString()!)).ToList();
            Assert.Contains(("eNB", "InitialUEMessage"), ladder);
            Assert.Contains(("MME", "InitialContextSetupRequest"), ladder);
            Assert.Contains(("eNB", "PathSwitchRequest"), ladder);
            Assert.Contains(ladder, e => e.From == "MC" && e.Text.Contains("StartMigration", StringComparison.Ordinal));
            await row.ClickAsync();
            await Assertions.Expect(page.Locator("#ladder")).ToContainTextAsync("PathSwitchRequest");
            await Browser.ScreenshotsAsync(page, "testbed");
            await page.CloseAsync();
            Assert.Empty(errors);
            Assert.All(mc.Problems, p => Assert.Equal(TestbedProblemSource.Tracker, p.Source));
        }
        finally
        {
            Assert.Empty(net.Down());
        }
    }

    /// <summary>The first `frame` event of the stream that satisfies <paramref name="wanted"/>.</summary>
    private static async Task<JsonElement> FrameAsync(StreamReader reader, Func<JsonElement, bool> wanted)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var kind = "";
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                kind = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && kind == "frame")
            {
                var frame = JsonDocument.Parse(line[6..]).RootElement.Clone();
                if (wanted(frame))
                {
                    return frame;
                }
            }
        }

        throw new InvalidOperationException("the stream ended");
    }

    private static async Task Until(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(20, cts.Token);
        }
    }
}
