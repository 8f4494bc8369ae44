using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// `mobiscud serve` as a child process on a real Redis that is SIGKILLed and restarted (append-only file): a REST write
/// answered 2xx is persisted, whatever happens after; one storage could not take is a 503 with Retry-After, never a
/// 202. Storage that comes back empty is noticed, and what the live grains hold is written back.
/// </summary>
public sealed class PersistThenAcknowledgeTests(ITestOutputHelper output)
{
    private static List<string> Args(DurableRedis redis, string events) =>
    [
        "--storage", "redis", "--redis", redis.Endpoint, "--token", Token,
        $"--MobiScud:Silo:ClusterId=test-{Guid.NewGuid():N}",
        "--MobiScud:Sites:0:Name=site-a", "--MobiScud:Sites:0:Enbs:0=1",
        "--MobiScud:Sites:1:Name=site-b", "--MobiScud:Sites:1:Enbs:0=3",
        "--MobiScud:Api:WriteDeadline=00:00:02",
        "--MobiScud:Storage:CheckInterval=00:00:00.2",
        "--events", events, "--speed", "Max",
    ];

    /// <summary>One attach per UE at eNB 1 (site-a), as JSON lines for the events tap.</summary>
    internal static string EventsFile(int ues)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mobiscud-events-").FullName, "events.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, ues).Select(i => JsonSerializer.Serialize<UeEvent>(Attach(i, EnbA, TimeSpan.FromSeconds(i)), McJson.Options)));
        return path;
    }

    [Fact]
    public async Task A_pin_during_a_redis_outage_is_503_and_every_acknowledged_pin_survives_redis_and_serve_being_killed()
    {
        await using var redis = await DurableRedis.StartNewAsync();
        var args = Args(redis, EventsFile(3));
        var ue = Ue(1).Value;
        await using (var serve = new ServeChild(args, output))
        {
            using var api = await serve.ReadyAsync();
            await Wait.Until(async () => (await api.GetAsync($"/api/v1/ues/{ue}")).IsSuccessStatusCode, "the tap's UEs known");

            await redis.KillAsync();
            await Wait.Until(async () => (await api.GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable, "/readyz fails while Redis is down");

            // Before: 202 here, and the pin was applied in memory only, then skipped by the retry as "already applied".
            var during = await api.PutAsJsonAsync($"/api/v1/pvms/{ue}/pin", new { site = "site-b" });
            output.WriteLine($"pin during the outage: {(int)during.StatusCode} {await during.Content.ReadAsStringAsync()}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
            Assert.NotNull(during.Headers.RetryAfter);

            // Storage refused the write (not merely queued it in the client until Redis came back).
            await Wait.Until(() => Task.FromResult(serve.Output.Contains($"delivery of 1 event(s) to {ue} failed", StringComparison.Ordinal)), "the pin's write failed");
            await redis.StartAsync();

            // A client retries a 503 until it is acknowledged.
            await Wait.Until(async () => (await api.PutAsJsonAsync($"/api/v1/pvms/{ue}/pin", new { site = "site-b" })).StatusCode == HttpStatusCode.Accepted, "the pin acknowledged once Redis is back");
            await Wait.Until(async () => (await api.GetAsync("/readyz")).IsSuccessStatusCode, "/readyz ready again");
            await serve.KillAsync();
        }

        await using (var again = new ServeChild(args, output))
        {
            using var api = await again.ReadyAsync();
            var view = await api.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{ue}");
            Assert.Equal("site-b", view.GetProperty("pinnedSite").GetString());

            // The pin's consequence (the PVM moves to site-b) follows from the persisted state.
            await Wait.Until(async () => (await api.GetFromJsonAsync<JsonElement>($"/api/v1/ues/{ue}")).GetProperty("pvmSite").GetString() == "site-b", "the pinned PVM at site-b");
        }
    }

    [Fact]
    public async Task Redis_wiped_under_serve_is_detected_loudly_and_the_live_state_is_written_back()
    {
        await using var redis = await DurableRedis.StartNewAsync();
        var args = Args(redis, EventsFile(4));
        await using (var serve = new ServeChild(args, output))
        {
            using var api = await serve.ReadyAsync();
            await Wait.Until(async () => (await api.GetFromJsonAsync<List<JsonElement>>("/api/v1/ues"))!.Count == 4, "the tap's 4 UEs known");
            Assert.Equal(HttpStatusCode.Accepted, (await api.PutAsJsonAsync($"/api/v1/pvms/{Ue(2).Value}/pin", new { site = "site-b" })).StatusCode);

            Assert.Contains("OK", await redis.Cli("FLUSHALL"));
            await Wait.Until(() => Task.FromResult(serve.Output.Contains("STORAGE WIPED", StringComparison.Ordinal)), "the wipe logged");
            await Wait.Until(() => Task.FromResult(serve.Output.Contains("storage rebuilt after the wipe", StringComparison.Ordinal)), "the state written back");
            Assert.True((await api.GetAsync("/readyz")).IsSuccessStatusCode);

            // A write after the wipe lands on the rebuilt state, not on an empty one.
            Assert.Equal(HttpStatusCode.Accepted, (await api.PutAsJsonAsync($"/api/v1/pvms/{Ue(3).Value}/pin", new { site = "site-b" })).StatusCode);
            await serve.KillAsync();
        }

        await using (var again = new ServeChild(args, output))
        {
            using var api = await again.ReadyAsync();
            var ues = (await api.GetFromJsonAsync<List<JsonElement>>("/api/v1/ues"))!;
            Assert.Equal(4, ues.Count);
            Assert.Equal("site-b", ues.Single(u => u.GetProperty("ue").GetString() == Ue(2).Value).GetProperty("pinnedSite").GetString());
            Assert.Equal("site-b", ues.Single(u => u.GetProperty("ue").GetString() == Ue(3).Value).GetProperty("pinnedSite").GetString());
        }
    }

    [Fact]
    public async Task On_postgres_a_pin_during_an_outage_is_503_and_the_acknowledged_pin_survives_a_restart_while_the_refused_subscription_is_not_stored()
    {
        await using var backend = await TestStorage.StartAsync(StorageKind.Postgres);
        var admin = new Npgsql.NpgsqlConnectionStringBuilder(backend.Connection) { Database = "postgres" }.ConnectionString;
        var extra = new Dictionary<string, string?>(backend.Settings)
        {
            ["MobiScud:Api:WriteDeadline"] = "00:00:02",
            ["MobiScud:Storage:CheckInterval"] = "00:00:00.2",
            ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32",
        };
        var settings = Settings(extra);
        var hypervisor = new Adapters.SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 });
        await using (var host = await StartAsync(settings, hypervisor))
        {
            using var api = host.Client();
            await host.Pipeline.PostAsync(Attach(1, EnbA, Now));
            await Wait.Until(async () => (await host.State(Ue(1)))?.PvmStatus == Control.PvmStatus.Running, "UE 1's PVM running");

            // The outage, as the service sees it: the database refuses new connections and drops the open ones.
            await PostgresServer.QueryAsync(admin, "ALTER DATABASE mobiscud ALLOW_CONNECTIONS false");
            await PostgresServer.QueryAsync(admin, "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE datname = 'mobiscud'");
            await Wait.Until(async () => (await api.GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable, "/readyz fails while PostgreSQL refuses");
            var pin = await api.PutAsJsonAsync($"/api/v1/pvms/{Ue(1).Value}/pin", new { site = "site-b" });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, pin.StatusCode);
            Assert.NotNull(pin.Headers.RetryAfter);
            var sub = await api.PostAsJsonAsync("/rni/v2/subscriptions", Mec.MecBodies.CellChange("http://127.0.0.1:9/x"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, sub.StatusCode);

            await PostgresServer.QueryAsync(admin, "ALTER DATABASE mobiscud ALLOW_CONNECTIONS true");
            await Wait.Until(async () => (await api.PutAsJsonAsync($"/api/v1/pvms/{Ue(1).Value}/pin", new { site = "site-b" })).StatusCode == HttpStatusCode.Accepted, "the pin acknowledged once PostgreSQL is back");
            await Wait.Until(async () => (await api.GetAsync("/readyz")).IsSuccessStatusCode, "/readyz ready again");
        }

        await using var again = await StartAsync(settings, hypervisor);
        Assert.Equal(B, (await again.State(Ue(1)))?.PinnedSite);
        using var client = again.Client();
        Assert.Equal(0, await Mec.MecBodies.Count(client, "/rni/v2"));
    }
}
