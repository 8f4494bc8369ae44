using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MobiScud.Control;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

public sealed class ServeApiTests
{
    [Fact]
    public async Task Api_rejects_a_missing_or_bad_token_with_a_json_body()
    {
        await using var host = await StartAsync(Settings());
        using var anonymous = host.Client(token: null);
        var response = await anonymous.GetAsync("/api/v1/ues");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(401, body.GetProperty("status").GetInt32());
        Assert.Contains("missing Authorization header", body.GetProperty("detail").GetString());

        using var wrong = host.Client(token: "not-the-token-at-all");
        response = await wrong.PostAsJsonAsync("/api/v1/sites/site-a/drain", new { });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("not valid", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        using var basic = new HttpClient { BaseAddress = host.BaseAddress };
        basic.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");
        Assert.Equal(HttpStatusCode.Unauthorized, (await basic.GetAsync("/openapi/v1.json")).StatusCode);

        using var good = host.Client();
        Assert.Equal(HttpStatusCode.OK, (await good.GetAsync("/api/v1/sites")).StatusCode);
        var openapi = await good.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        Assert.True(openapi.GetProperty("paths").TryGetProperty("/api/v1/ues/{ue}/timeline", out _));

        // Probes and the scrape stay open.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task A_bad_configuration_value_is_named()
    {
        var bad = Settings(new() { ["MobiScud:Pipeline:Partitions"] = "0", ["MobiScud:Sites:1:Enbs:0"] = "1" });
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = bad }));
        Assert.Contains(e.Failures, f => f.Contains("MobiScud:Pipeline:Partitions"));
        Assert.Contains(e.Failures, f => f.Contains("MobiScud:Sites:1:Enbs") && f.Contains("site-a"));

        var notAnEnum = Settings(new() { ["MobiScud:Storage:Kind"] = "floppy" });
        e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = notAnEnum }));
        Assert.Contains(e.Failures, f => f.Contains("MobiScud:Storage:Kind") && f.Contains("floppy"));

        var noToken = Settings(new() { ["MobiScud:Api:Token"] = "" });
        e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = noToken }));
        Assert.Contains(e.Failures, f => f.Contains("MobiScud:Api:Token"));
    }

    [Fact]
    public async Task A_mec021_subscriber_hears_the_mobility_of_a_handover_and_mec012_the_cell_change()
    {
        using var listener = new HttpListener();
        var port = RedisServer.FreePort();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = new List<JsonElement>();
        var receiving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync();
                }
                catch (HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                using (var reader = new StreamReader(ctx.Request.InputStream))
                {
                    var json = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
                    lock (received)
                    {
                        received.Add(json);
                    }
                }

                ctx.Response.StatusCode = 204;
                ctx.Response.Close();
            }
        });

        var hypervisor = new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 });

        // Webhooks to loopback are refused unless allowed explicitly.
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32" }), hypervisor);
        using var api = host.Client();
        var ue = 7;
        var sub = await api.PostAsJsonAsync("/amsi/v1/subscriptions", new
        {
            subscriptionType = "MobilityProcedureSubscription",
            callbackReference = $"http://127.0.0.1:{port}/mobility",
            filterCriteria = new { associateId = new[] { new { type = 1, value = UeAddress(ue).ToString() } }, mobilityStatus = new[] { 1, 2 } },
        });
        Assert.Equal(HttpStatusCode.Created, sub.StatusCode);
        var rni = await api.PostAsJsonAsync("/rni/v2/subscriptions", Mec.MecBodies.CellChange($"http://127.0.0.1:{port}/cells", 1, 3));
        Assert.Equal(HttpStatusCode.Created, rni.StatusCode);
        var wrongType = await api.PostAsJsonAsync("/amsi/v1/subscriptions", new { subscriptionType = "CellChangeSubscription", callbackReference = $"http://127.0.0.1:{port}/x" });
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);

        // Another UE's handover must not reach the filtered MEC 021 subscriber.
        Control.Model.Ecgi Cell(Control.Model.EnbId enb) => new("001", "01", (enb.Value << 8) | 1);
        await host.Pipeline.PostAsync(Attach(ue, EnbA, Now) with { Cell = Cell(EnbA) });
        await host.Pipeline.PostAsync(Attach(ue + 1, EnbA, Now) with { Cell = Cell(EnbA) });
        await Wait.Until(async () => (await host.State(Ue(ue)))?.PvmStatus == PvmStatus.Running && (await host.State(Ue(ue + 1)))?.PvmStatus == PvmStatus.Running, "both PVMs running at site-a");
        await host.Pipeline.PostAsync(new Control.Model.HandoverPrepared(Now, Ue(ue), EnbA, EnbB, Control.Model.HandoverKind.X2) { Cell = Cell(EnbA), TargetCell = Cell(EnbB) });
        await host.Pipeline.PostAsync(Switched(ue, EnbB, Now) with { Cell = Cell(EnbB), SourceCell = Cell(EnbA) });
        await host.Pipeline.PostAsync(Switched(ue + 1, EnbC, Now) with { Cell = Cell(EnbC), SourceCell = Cell(EnbA) });
        await Wait.Until(async () => (await host.State(Ue(ue))) is { PvmSite: var s, Migration: null } && s == B, "UE 7's PVM migrated to site-b");

        List<JsonElement> Mobility()
        {
            lock (received)
            {
                return [.. received.Where(r => r.GetProperty("notificationType").GetString() == "MobilityProcedureNotification")];
            }
        }

        await Wait.Until(() => Task.FromResult(Mobility().Count >= 2), "two mobility notifications");
        var statuses = Mobility().Select(m => m.GetProperty("mobilityStatus").GetInt32()).ToList();
        Assert.Equal([1, 2], statuses); // INTERHOST_MOVEOUT_TRIGGERED, INTERHOST_MOVEOUT_COMPLETED
        var done = Mobility()[1];
        Assert.Equal(UeAddress(ue).ToString(), done.GetProperty("associateId")[0].GetProperty("value").GetString());
        Assert.Equal($"pvm-{Ue(ue)}", done.GetProperty("targetAppInfo").GetProperty("appInstanceId").GetString());

        await Wait.Until(() => Task.FromResult(received.Count(r => r.GetProperty("notificationType").GetString() == "CellChangeNotification") >= 3), "cell changes of both UEs");
        List<int> cells;
        lock (received)
        {
            cells = [.. received.Where(r => r.GetProperty("notificationType").GetString() == "CellChangeNotification"
                && r.GetProperty("associateId")[0].GetProperty("value").GetString() == UeAddress(ue).ToString()).Select(r => r.GetProperty("hoStatus").GetInt32())];
        }

        Assert.Equal([1, 3], cells); // IN_PREPARATION, COMPLETED

        // The REST view agrees, and the timeline tells the story in order.
        var view = await api.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{Ue(ue)}");
        Assert.Equal("site-b", view.GetProperty("pvmSite").GetString());
        var timeline = await api.GetFromJsonAsync<JsonElement[]>($"/api/v1/ues/{Ue(ue)}/timeline");
        var kinds = timeline!.Select(t => t.GetProperty("kind").GetString()).ToList();
        Assert.True(kinds.IndexOf("MigrationStarted") < kinds.IndexOf("MigrationCompleted"), string.Join(",", kinds));
        var metrics = await api.GetStringAsync("/metrics");
        Assert.Contains("mobiscud_events_total", metrics);
        Assert.Contains("outcome=\"completed\"", metrics);
        listener.Stop();
        await receiving;
    }
}
