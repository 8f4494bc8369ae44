using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MobiScud.Hosting.Tests.Mec;

/// <summary>A MEC subscriber: an HTTP listener on a free loopback port that keeps every JSON body posted to it, with its path, in arrival order.</summary>
internal sealed class MecReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<(string Path, JsonElement Body)> _received = [];
    private readonly Task _receiving;

    public MecReceiver()
    {
        var port = RedisServer.FreePort();
        Address = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(Address);
        _listener.Start();
        _receiving = Task.Run(Receive);
    }

    public string Address { get; }

    public List<JsonElement> Received() => [.. Posts().Select(p => p.Body)];

    public List<(string Path, JsonElement Body)> Posts()
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
                    _received.Add((ctx.Request.Url!.AbsolutePath, json));
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

/// <summary>Request bodies as the specifications define them, for tests that need a subscription.</summary>
internal static class MecBodies
{
    /// <summary>A MEC 012 CellChangeSubscription; without statuses the specification's default (3 = COMPLETED) applies.</summary>
    public static JsonObject CellChange(string callback, params int[] hoStatus)
    {
        var filter = new JsonObject();
        if (hoStatus.Length > 0)
        {
            filter["hoStatus"] = new JsonArray([.. hoStatus.Select(s => (JsonNode)s)]);
        }

        return new JsonObject { ["subscriptionType"] = "CellChangeSubscription", ["callbackReference"] = callback, ["filterCriteriaAssocHo"] = filter };
    }

    /// <summary>How many subscriptions a SubscriptionLinkList names.</summary>
    public static async Task<int> Count(HttpClient api, string prefix) =>
        (await api.GetFromJsonAsync<JsonElement>($"{prefix}/subscriptions")).GetProperty("_links").GetProperty("subscription").GetArrayLength();
}
