using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Hosting.Tests.Mec;
using MobiScud.Control.Model;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>MEC subscriptions: no SSRF, no credentials kept, no redirects, bounded retries, no duplicates, nothing stored on a failed write.</summary>
public sealed class WebhookSafetyTests(ITestOutputHelper output)
{
    private static JsonObject Sub(string callback) => MecBodies.CellChange(callback, 1, 2, 3, 4, 5);

    private static Task<HttpResponseMessage> Post(HttpClient api, JsonObject body, string idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/rni/v2/subscriptions") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return api.SendAsync(request);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/", "link-local")]
    [InlineData("http://[fe80::1]/x", "link-local")]
    [InlineData("http://127.0.0.1:9/x", "loopback")]
    [InlineData("http://localhost:9/x", "loopback")]
    [InlineData("http://[::1]:9/x", "loopback")]
    [InlineData("http://0.0.0.0/x", "cannot receive")]
    [InlineData("http://admin:hunter2@example.com/x", "credentials")]
    [InlineData("ftp://example.com/x", "http(s)")]
    public async Task Callbacks_to_internal_addresses_or_with_credentials_are_refused_by_default(string callback, string reason)
    {
        await using var host = await StartAsync(Settings());
        using var api = host.Client();
        var r = await api.PostAsJsonAsync("/rni/v2/subscriptions", Sub(callback));
        var body = await r.Content.ReadAsStringAsync();
        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains(reason, body);
        Assert.DoesNotContain("hunter2", body);
        Assert.Equal(0, await MecBodies.Count(api, "/rni/v2"));
    }

    [Fact]
    public async Task An_allow_list_admits_what_it_names_and_nothing_else()
    {
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32", ["MobiScud:Api:Webhooks:Allowed:1"] = "hooks.example.net" }));
        using var api = host.Client();
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/rni/v2/subscriptions", Sub("http://127.0.0.1:9/x"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/rni/v2/subscriptions", Sub("https://hooks.example.net/x"))).StatusCode);
        var other = await api.PostAsJsonAsync("/rni/v2/subscriptions", Sub("https://example.com/x"));
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        Assert.Contains("not in MobiScud:Api:Webhooks:Allowed", await other.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Creating_the_same_subscription_again_returns_the_first_by_natural_or_client_key()
    {
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32" }));
        using var api = host.Client();
        var first = await api.PostAsJsonAsync("/rni/v2/subscriptions", Sub("http://127.0.0.1:9/a"));
        var again = await api.PostAsJsonAsync("/rni/v2/subscriptions", Sub("http://127.0.0.1:9/a"));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first.Headers.Location, new Uri((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("_links").GetProperty("self").GetProperty("href").GetString()!));

        // The same client key (Idempotency-Key header: the specification's body has no field for it) returns the first.
        var keyed = await Post(api, Sub("http://127.0.0.1:9/b"), "client-1");
        var keyedAgain = await Post(api, Sub("http://127.0.0.1:9/c"), "client-1");
        Assert.Equal(HttpStatusCode.Created, keyed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, keyedAgain.StatusCode);
        Assert.Equal(2, await MecBodies.Count(api, "/rni/v2"));
    }

    [Fact]
    public async Task Redirects_are_not_followed_and_failures_are_retried_a_bounded_number_of_times()
    {
        var port = RedisServer.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var hits = new Dictionary<string, int>();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var path = ctx.Request.Url!.AbsolutePath;
                lock (hits)
                {
                    hits[path] = hits.GetValueOrDefault(path) + 1;
                }

                if (path == "/redirect")
                {
                    ctx.Response.StatusCode = 307;
                    ctx.Response.RedirectLocation = $"http://127.0.0.1:{port}/elsewhere";
                }
                else
                {
                    ctx.Response.StatusCode = path == "/fail" ? 500 : 204;
                }

                ctx.Response.Close();
            }
        });

        await using (var host = await StartAsync(Settings(new() { ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32", ["MobiScud:Api:Webhooks:MaxAttempts"] = "3" })))
        {
            using var api = host.Client();
            foreach (var path in new[] { "redirect", "fail", "ok" })
            {
                Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/rni/v2/subscriptions", Sub($"http://127.0.0.1:{port}/{path}"))).StatusCode);
            }

            var cellA = new Ecgi("001", "01", 0x0000101);
            await host.Pipeline.PostAsync(Attach(1, EnbA, Now) with { Cell = cellA });
            await host.Pipeline.PostAsync(new HandoverPrepared(Now, Ue(1), EnbA, EnbB, HandoverKind.S1) { Cell = cellA, TargetCell = new Ecgi("001", "01", 0x0000301) });
            await Wait.Until(() =>
            {
                lock (hits)
                {
                    return Task.FromResult(hits.GetValueOrDefault("/ok") == 1 && hits.GetValueOrDefault("/fail") == 3 && hits.GetValueOrDefault("/redirect") == 1);
                }
            }, "one notification each: ok once, the failing one three times, the redirect once");
            await Task.Delay(1500);
        }

        listener.Stop();
        await serving;
        output.WriteLine(string.Join(", ", hits.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Equal(0, hits.GetValueOrDefault("/elsewhere"));
        Assert.Equal(3, hits["/fail"]);
    }

    [Fact]
    public async Task A_subscription_post_that_storage_did_not_take_is_503_and_not_stored()
    {
        await using var redis = await DurableRedis.StartNewAsync();
        await using var host = await StartAsync(Settings(new()
        {
            ["MobiScud:Storage:Kind"] = "Redis",
            ["MobiScud:Storage:Redis"] = redis.Endpoint + ",syncTimeout=2000,asyncTimeout=2000",
            ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32",
        }));
        using var api = host.Client();
        Assert.Equal(0, await MecBodies.Count(api, "/rni/v2"));
        await redis.KillAsync();
        var during = await api.PostAsJsonAsync("/rni/v2/subscriptions", Sub("http://127.0.0.1:9/x"));
        output.WriteLine($"{(int)during.StatusCode} {await during.Content.ReadAsStringAsync()}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        Assert.NotNull(during.Headers.RetryAfter);
        await redis.StartAsync();
        await Wait.Until(async () => (await api.GetAsync("/rni/v2/subscriptions")).IsSuccessStatusCode, "the API answers again");
        Assert.Equal(0, await MecBodies.Count(api, "/rni/v2"));
    }
}
