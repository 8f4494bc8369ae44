using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Pipeline;
using MobiScud.TestSupport;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>One UE's bad event, a tap that fails, a service that dies: serve isolates each and says so.</summary>
public sealed class FaultIsolationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_ue_whose_event_the_mc_throws_on_is_quarantined_visibly_while_the_others_go_on()
    {
        // A hostile events file: UE 5's attach carries "bearers": null (the MC throws on it), UE 6's is fine.
        var lines = new List<string>();
        var bad = JsonNode.Parse(JsonSerializer.Serialize<UeEvent>(Attach(5, EnbA, TimeSpan.Zero), McJson.Options))!.AsObject();
        bad["bearers"] = null;
        lines.Add(bad.ToJsonString());
        lines.Add(JsonSerializer.Serialize<UeEvent>(new PinRequested(TimeSpan.FromSeconds(1), Ue(5), B), McJson.Options));
        lines.Add(JsonSerializer.Serialize<UeEvent>(Attach(6, EnbA, TimeSpan.FromSeconds(2)), McJson.Options));
        var file = Path.Combine(Directory.CreateTempSubdirectory("mobiscud-events-").FullName, "events.jsonl");
        await File.WriteAllLinesAsync(file, lines);

        var hypervisor = new Adapters.SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 });
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Taps:0:Events"] = file, ["MobiScud:Taps:0:Speed"] = "Max" }), hypervisor);
        using var api = host.Client();
        await Wait.Until(async () => (await host.State(Ue(6)))?.PvmStatus == PvmStatus.Running, "UE 6 served although UE 5's event throws");

        var ue5 = Ue(5).Value;
        var view = await api.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{ue5}");
        output.WriteLine(view.ToString());
        var note = view.GetProperty("quarantine");
        Assert.Equal("UeAttached", note.GetProperty("event").GetString());
        Assert.Contains("ArgumentNullException", note.GetProperty("error").GetString());
        Assert.Equal(1, note.GetProperty("setAside").GetInt32());
        var listed = await api.GetFromJsonAsync<List<JsonElement>>("/api/v1/quarantine");
        Assert.Equal([ue5], listed!.Select(q => q.GetProperty("ue").GetString()));
        Assert.Contains("mobiscud_ues_quarantined", await api.GetStringAsync("/metrics"));

        Assert.Equal(HttpStatusCode.Accepted, (await api.DeleteAsync($"/api/v1/ues/{ue5}/quarantine")).StatusCode);
        Assert.False((await api.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{ue5}")).TryGetProperty("quarantine", out var after) && after.ValueKind != JsonValueKind.Null);
        Assert.Equal(HttpStatusCode.NotFound, (await api.DeleteAsync($"/api/v1/ues/{ue5}/quarantine")).StatusCode);
    }

    [Fact]
    public async Task A_live_tap_whose_interface_goes_away_is_logged_and_restarted_with_back_off_and_serve_stays_up()
    {
        // serve in a namespace this test creates, tapping a dummy interface that is deleted and added again.
        var ns = $"ms-tap-{Environment.ProcessId % 10000}-{Random.Shared.Next(1000)}";
        async Task Ip(params string[] args)
        {
            var r = await ExternalTool.RunAsync("ip", args, TimeSpan.FromSeconds(30));
            Assert.True(r.ExitCode == 0, $"ip {string.Join(' ', args)}: {r.StdErr}");
        }

        await Ip("netns", "add", ns);
        try
        {
            await Ip("-n", ns, "link", "set", "lo", "up");
            await Ip("-n", ns, "link", "add", "msd0", "type", "veth", "peer", "name", "msd1");
            await Ip("-n", ns, "link", "set", "msd0", "up");
            await Ip("-n", ns, "link", "set", "msd1", "up");
            await using var serve = new ServeChild(["--token", Token, "--interface", "msd0", "--Logging:LogLevel:MobiScud=Information"], output, wrapper: ["ip", "netns", "exec", ns]);
            async Task<string> Get(string path)
            {
                var r = await ExternalTool.RunAsync("ip", ["netns", "exec", ns, "curl", "-s", "-H", $"Authorization: Bearer {Token}", $"http://127.0.0.1:{serve.Port}{path}"], TimeSpan.FromSeconds(30));
                return r.StdOut;
            }

            await Wait.Until(async () => (await Get("/readyz")).Contains("ready", StringComparison.Ordinal) && serve.Output.Contains("tap msd0: capturing live", StringComparison.Ordinal), "serve ready and capturing", 120);
            await Ip("-n", ns, "link", "del", "msd0");
            await Wait.Until(() => Task.FromResult(serve.Output.Contains("tap msd0 failed", StringComparison.Ordinal)), "the tap's failure logged");
            await Wait.Until(async () => (await Get("/metrics")).Contains("mobiscud_tap_restarts", StringComparison.Ordinal), "the restart counted in /metrics");
            await Ip("-n", ns, "link", "add", "msd0", "type", "veth", "peer", "name", "msd1");
            await Ip("-n", ns, "link", "set", "msd0", "up");
            await Ip("-n", ns, "link", "set", "msd1", "up");
            await Wait.Until(() => Task.FromResult(serve.Output.Split("tap msd0: capturing live").Length >= 3), "the tap capturing again once the interface is back");
            Assert.False(serve.HasExited);
            Assert.Contains("ready", await Get("/readyz"));
        }
        finally
        {
            await ExternalTool.RunAsync("ip", ["netns", "del", ns], TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task A_background_service_that_fails_stops_serve_with_a_non_zero_exit()
    {
        // The events tap's file fails to read (EIO: /proc/self/mem at offset 0): its service fails and the host
        // stops (before: exit 0, so a supervisor set to restart on failure did not).
        await using var serve = new ServeChild(["--token", Token, "--events", "/proc/self/mem"], output);
        var code = await serve.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(1, code);
        Assert.Contains("mobiscud serve: stopped on a fatal error: EventFileTap failed", serve.Output);
    }

    [Fact]
    public async Task Gets_for_unknown_ues_activate_no_grain_and_errors_do_not_echo_megabytes()
    {
        await using var host = await StartAsync(Settings());
        using var api = host.Client();
        await host.Pipeline.PostAsync(Attach(1, EnbA, Now));
        await Wait.Until(async () => (await api.GetAsync($"/api/v1/ues/{Ue(1).Value}")).IsSuccessStatusCode, "UE 1 known");
        var management = host.Grains.GetGrain<IManagementGrain>(0);
        async Task<int> UeActivations() => (await management.GetSimpleGrainStatistics()).Where(s => s.GrainType.Contains("UeGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
        var before = await UeActivations();
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/ues/nobody-{i}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/ues/nobody-{i}/timeline")).StatusCode);
        }

        Assert.Equal(before, await UeActivations());

        var huge = new string('x', 10_000_000);
        var r = await api.PutAsJsonAsync($"/api/v1/pvms/{Ue(1).Value}/pin", new { site = huge });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(body.Length < 2000, $"the 400 echoed {body.Length} characters");
        Assert.Contains("(10000000 characters)", body);
    }
}
