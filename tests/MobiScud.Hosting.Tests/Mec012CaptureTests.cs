using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.TestSupport;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>MEC 012 cell-change notifications for the S1 handovers of a real capture, as the tracker reads them.</summary>
public sealed class Mec012CaptureTests
{
    [Fact]
    public async Task A_mec012_subscriber_hears_preparation_execution_and_completion_of_the_captures_s1_handovers()
    {
        // The tracker's events for the S1-handover UE of testepc: HandoverRequired 422/443/462, HandoverCommand
        // 427/448/467 (tshark -Y 's1ap.procedureCode==0 && s1ap.successfulOutcome_element'), HandoverNotify 430/451,
        // HandoverCancel 468.
        var session = new ReplaySession(runMc: false);
        using (var source = CaptureFile.Open(TestData.Capture("open5gs_testepc_2019.pcapng")))
        {
            session.Run(source, "open5gs_testepc_2019.pcapng");
        }

        var ue = new UeId("imsi-001010123456815");
        var events = session.Entries.Where(e => e.Event.Ue == ue).ToList();
        Assert.Equal(new[] { 427L, 448L, 467L }, events.Where(e => e.Event is HandoverExecuting).Select(e => e.Frame));

        using var sink = new WebhookSink();
        var hypervisor = new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 });
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Sites:0:Enbs:2"] = "498", ["MobiScud:Sites:1:Enbs:1"] = "67", ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32" }), hypervisor);
        using var api = host.Client();
        var rni = await api.PostAsJsonAsync("/rni/v2/subscriptions", new { subscriptionType = "CellChangeSubscription", callbackReference = $"{sink.Address}cells" });
        Assert.Equal(HttpStatusCode.Created, rni.StatusCode);

        foreach (var e in events)
        {
            await host.Pipeline.PostAsync(e.Event);
        }

        await Wait.Until(() => Task.FromResult(sink.Received().Count >= 9), "nine cell-change notifications");
        var cells = sink.Received();
        Assert.Equal(
            ["IN_PREPARATION", "IN_EXECUTION", "COMPLETED", "IN_PREPARATION", "IN_EXECUTION", "COMPLETED", "IN_PREPARATION", "IN_EXECUTION", "CANCELLED"],
            cells.Select(c => c.GetProperty("hoStatus").GetString()));
        Assert.All(cells, c => Assert.Equal("CellChangeNotification", c.GetProperty("notificationType").GetString()));
        Assert.All(cells, c => Assert.Equal("45.45.0.11", c.GetProperty("associateId")[0].GetProperty("value").GetString()));

        // The first handover goes from eNB 498 to eNB 67; its execution names the same cells as its preparation.
        var executing = cells[1];
        Assert.Equal(498, executing.GetProperty("srcEcgi").GetProperty("enbId").GetInt64());
        Assert.Equal(67, executing.GetProperty("trgEcgi")[0].GetProperty("enbId").GetInt64());
        Assert.Equal(events.Single(e => e.Frame == 427).Event.At, TimeSpan.FromSeconds(executing.GetProperty("timeStamp").GetProperty("seconds").GetInt64())
            + TimeSpan.FromTicks(executing.GetProperty("timeStamp").GetProperty("nanoSeconds").GetInt32() / 100));
    }

    [Fact]
    public async Task An_N2_handover_between_gNBs_names_them_by_NR_CGI()
    {
        // Issue 15: gNBs listed under a site's Gnbs are NR nodes: the cell change names them srcNrcgi/trgNrcgi (gNB
        // ids as the 5G tracker reports them), where an eNB has srcEcgi/trgEcgi. An eNB -> gNB handover mixes both.
        using var sink = new WebhookSink();
        var hypervisor = new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 });
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Sites:0:Gnbs:0"] = "16384", ["MobiScud:Sites:1:Gnbs:0"] = "44789231", ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32" }), hypervisor);
        using var api = host.Client();
        var rni = await api.PostAsJsonAsync("/rni/v2/subscriptions", new { subscriptionType = "CellChangeSubscription", callbackReference = $"{sink.Address}cells" });
        Assert.Equal(HttpStatusCode.Created, rni.StatusCode);

        var (gnbA, gnbB) = (new EnbId(16384), new EnbId(44789231));
        var t = TimeSpan.FromSeconds(1);
        UeEvent[] events =
        [
            Attach(1, gnbA, t),
            new HandoverPrepared(t + TimeSpan.FromSeconds(1), Ue(1), gnbA, gnbB, HandoverKind.S1),
            new HandoverExecuting(t + TimeSpan.FromSeconds(2), Ue(1), gnbB),
            new HandoverCompleted(t + TimeSpan.FromSeconds(3), Ue(1), gnbB, [new BearerDownlink(5, new GtpEndpoint(IPAddress.Parse("10.0.0.3"), 0xC1))]),
            new HandoverPrepared(t + TimeSpan.FromSeconds(4), Ue(1), gnbB, EnbA, HandoverKind.S1),
        ];
        foreach (var e in events)
        {
            await host.Pipeline.PostAsync(e);
        }

        await Wait.Until(() => Task.FromResult(sink.Received().Count >= 4), "four cell-change notifications");
        var cells = sink.Received();
        Assert.Equal(["IN_PREPARATION", "IN_EXECUTION", "COMPLETED", "IN_PREPARATION"], cells.Select(c => c.GetProperty("hoStatus").GetString()));
        foreach (var c in cells.Take(3))
        {
            Assert.Equal(16384, c.GetProperty("srcNrcgi").GetProperty("gnbId").GetInt64());
            Assert.Equal(44789231, c.GetProperty("trgNrcgi")[0].GetProperty("gnbId").GetInt64());
            Assert.False(c.TryGetProperty("srcEcgi", out _));
            Assert.False(c.TryGetProperty("trgEcgi", out _));
        }

        Assert.Equal(44789231, cells[3].GetProperty("srcNrcgi").GetProperty("gnbId").GetInt64());
        Assert.Equal(1, cells[3].GetProperty("trgEcgi")[0].GetProperty("enbId").GetInt64());
    }

    [Fact]
    public void A_gNB_id_that_is_already_an_eNB_of_another_site_is_refused_naming_the_key()
    {
        var bad = Settings(new() { ["MobiScud:Sites:1:Gnbs:0"] = "1" }); // eNB 1 belongs to site-a
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = bad }));
        Assert.Contains("MobiScud:Sites:1:Gnbs lists gNB 1, already served by site 'site-a'", e.Message, StringComparison.Ordinal);
    }

    /// <summary>An HTTP listener on a free loopback port that keeps every JSON body posted to it, in arrival order.</summary>
    private sealed class WebhookSink : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly List<JsonElement> _received = [];
        private readonly Task _receiving;

        public WebhookSink()
        {
            var port = RedisServer.FreePort();
            Address = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Address);
            _listener.Start();
            _receiving = Task.Run(Receive);
        }

        public string Address { get; }

        public List<JsonElement> Received()
        {
            lock (_received)
            {
                return [.. _received];
            }
        }

        private async Task Receive()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using (var reader = new StreamReader(ctx.Request.InputStream))
                {
                    var json = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
                    lock (_received)
                    {
                        _received.Add(json);
                    }
                }

                ctx.Response.StatusCode = 204;
                ctx.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _receiving.Wait(TimeSpan.FromSeconds(10));
        }
    }
}
