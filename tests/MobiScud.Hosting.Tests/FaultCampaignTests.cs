using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// The fault campaign: cycles of SIGKILL Redis, a burst of REST writes (answered 503, retried by the client), Redis
/// restarted, a burst answered 2xx; serve itself SIGKILLed and restarted every few cycles (its events tap replays
/// into the restarted service). At the end every write answered 2xx must be in the state a fresh serve reads.
/// CI size: 4 cycles, serve killed every 2. Long run: MOBISCUD_FAULT_CYCLES=100 MOBISCUD_FAULT_SERVE_EVERY=10.
/// </summary>
public sealed class FaultCampaignTests(ITestOutputHelper output)
{
    private const int Ues = 6;

    [Fact]
    public async Task Every_write_answered_2xx_survives_redis_and_serve_being_killed_over_and_over()
    {
        var cycles = int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_FAULT_CYCLES"), out var c) ? c : 4;
        var serveEvery = int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_FAULT_SERVE_EVERY"), out var e) ? e : 2;
        await using var redis = await DurableRedis.StartNewAsync();
        List<string> args =
        [
            "--storage", "redis", "--redis", redis.Endpoint, "--token", Token,
            $"--MobiScud:Silo:ClusterId=test-{Guid.NewGuid():N}",
            "--MobiScud:Sites:0:Name=site-a", "--MobiScud:Sites:0:Enbs:0=1",
            "--MobiScud:Sites:1:Name=site-b", "--MobiScud:Sites:1:Enbs:0=3",
            "--MobiScud:Api:WriteDeadline=00:00:02",
            "--MobiScud:Storage:CheckInterval=00:00:00.2",
            "--events", PersistThenAcknowledgeTests.EventsFile(Ues), "--speed", "Max",
        ];
        var acknowledged = new Dictionary<string, string>();
        long acks = 0, refused = 0, retried = 0;
        // One set of ports for every restart, as a supervisor restarts a service with its configuration.
        var port = TestServerProcess.FreePort();
        var siloPorts = (TestServerProcess.FreePort(), TestServerProcess.FreePort());
        var serve = new ServeChild(args, null, port, siloPorts: siloPorts);
        try
        {
            var api = await serve.ReadyAsync();
            await Wait.Until(async () => (await api.GetFromJsonAsync<List<JsonElement>>("/api/v1/ues"))!.Count == Ues, "the tap's UEs known");
            for (var cycle = 1; cycle <= cycles; cycle++)
            {
                var site = cycle % 2 == 0 ? "site-a" : "site-b";
                await redis.KillAsync();

                // The burst during the outage: none may be acknowledged unless persisted; a 503 is retried below.
                var during = await Task.WhenAll(Enumerable.Range(0, Ues).Select(async i => (Ue: Ue(i).Value, Status: await Status(api, $"/api/v1/pvms/{Ue(i).Value}/pin", site))));
                var pending = new List<string>();
                foreach (var (ue, status) in during)
                {
                    if (status is >= 200 and < 300)
                    {
                        acknowledged[ue] = site;
                        acks++;
                    }
                    else
                    {
                        Assert.Equal(503, status);
                        refused++;
                        pending.Add(ue);
                    }
                }

                await redis.StartAsync();
                foreach (var ue in pending)
                {
                    // The client's retry of a 503 until it is acknowledged.
                    await Wait.Until(async () => await Status(api, $"/api/v1/pvms/{ue}/pin", site) is >= 200 and < 300, $"cycle {cycle}: {ue}'s pin acknowledged after Redis came back", 120);
                    acknowledged[ue] = site;
                    retried++;
                    acks++;
                }

                // A burst with storage up: each answer 2xx.
                var other = site == "site-a" ? "site-b" : "site-a";
                foreach (var i in Enumerable.Range(0, Ues).Where(i => i % 2 == cycle % 2))
                {
                    var ue = Ue(i).Value;
                    Assert.InRange(await Status(api, $"/api/v1/pvms/{ue}/pin", other), 200, 299);
                    acknowledged[ue] = other;
                    acks++;
                }

                // A long run's progress, for whoever watches it (MOBISCUD_FAULT_LOG=file).
                if (Environment.GetEnvironmentVariable("MOBISCUD_FAULT_LOG") is { Length: > 0 } progress)
                {
                    await File.AppendAllTextAsync(progress, $"cycle {cycle}/{cycles}: {acks} acknowledged, {refused} answered 503 and retried\n");
                }

                if (cycle % serveEvery == 0)
                {
                    await serve.KillAsync();
                    await serve.DisposeAsync();
                    api.Dispose();
                    serve = new ServeChild(args, null, port, siloPorts: siloPorts);
                    api = await serve.ReadyAsync();
                }
            }

            await serve.KillAsync();
            await serve.DisposeAsync();
            serve = new ServeChild(args, null, port, siloPorts: siloPorts);
            using var final = await serve.ReadyAsync();
            var lost = new List<string>();
            foreach (var (ue, site) in acknowledged)
            {
                var view = await final.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{ue}");
                if (view.GetProperty("pinnedSite").GetString() != site)
                {
                    lost.Add($"{ue}: acknowledged {site}, found {view.GetProperty("pinnedSite")}");
                }
            }

            var summary = $"fault campaign: {cycles} cycles (serve killed every {serveEvery}), {acks} writes acknowledged, {refused} answered 503 during outages and retried ({retried}), {lost.Count} acknowledged writes lost";
            output.WriteLine(summary);
            if (Environment.GetEnvironmentVariable("MOBISCUD_FAULT_LOG") is { Length: > 0 } log)
            {
                await File.AppendAllTextAsync(log, summary + "\n" + string.Join("\n", lost) + "\n");
            }

            Assert.Empty(lost);
        }
        finally
        {
            await serve.DisposeAsync();
        }
    }

    private static async Task<int> Status(HttpClient api, string path, string site)
    {
        try
        {
            using var r = await api.PutAsJsonAsync(path, new { site });
            return (int)r.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }
}
