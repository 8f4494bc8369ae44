using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.TestSupport;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests.Mec;

/// <summary>
/// Conformance of serve's MEC 021 (/amsi/v1) and MEC 012 (/rni/v2) with the official OpenAPI files: every request this
/// test sends, every response serve answers and every notification serve posts to a subscriber on loopback validates
/// against the specification's schema (closed objects: a field the specification lacks is an error). Serve is fed the
/// tracker's events of a real capture (open5gs testepc: attach, S1 handovers 498 -> 67 -> 498 and a cancelled one).
/// </summary>
public sealed class MecConformanceTests(ITestOutputHelper output)
{
    private static readonly UeId _handoverUe = new("imsi-001010123456815");
    private const string HandoverUeAddress = "45.45.0.11";

    [Fact]
    public async Task Every_body_serve_answers_or_sends_for_a_real_capture_validates_against_the_ETSI_schemas()
    {
        var session = new ReplaySession(runMc: false);
        using (var source = CaptureFile.Open(TestData.Capture("open5gs_testepc_2019.pcapng")))
        {
            session.Run(source, "open5gs_testepc_2019.pcapng");
        }

        var events = session.Entries.Select(e => e.Event).ToList();
        var attach = events.OfType<UeAttached>().First(a => a.Ue == _handoverUe);
        Assert.NotNull(attach.Cell);
        var bearer = attach.Bearers[0];
        Assert.NotNull(bearer.Qci);
        var firstHandover = events.FindIndex(e => e is HandoverCompleted && e.Ue == _handoverUe);
        var (releasedQci, releasedERab) = FirstRelease(events);

        using var sink = new MecReceiver();
        var hypervisor = new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50, FailMigrationsTo = ["site-c"] });
        await using var host = await StartAsync(Settings(new()
        {
            ["MobiScud:Sites:0:Enbs:2"] = "498",
            ["MobiScud:Sites:1:Enbs:1"] = "67",
            ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32",
        }), hypervisor);
        using var api = host.Client();
        var soon = MecJsonTime(Now + TimeSpan.FromSeconds(10));

        // Waits; on a timeout the log shows what the subscriber did receive, and the UE's state.
        async Task Until(Func<bool> condition, string what)
        {
            try
            {
                await Wait.Until(() => Task.FromResult(condition()), what);
            }
            catch (TimeoutException)
            {
                output.WriteLine("received: " + string.Join("; ", Seen(sink).Order()));
                output.WriteLine("state: " + JsonSerializer.Serialize(await host.State(_handoverUe), McJson.Options));
                throw;
            }
        }


        // MEC 021 subscriptions: every type, a test notification asked for, one that expires, one by registered application.
        var mobility = await Create(api, "/amsi/v1", MecSpec.Mec021, "MobilityProcedureSubscription", new JsonObject
        {
            ["subscriptionType"] = "MobilityProcedureSubscription",
            ["callbackReference"] = $"{sink.Address}mobility",
            ["requestTestNotification"] = true,
            ["filterCriteria"] = new JsonObject { ["mobilityStatus"] = new JsonArray(1, 2, 3) },
        });
        var byApp = await Create(api, "/amsi/v1", MecSpec.Mec021, "MobilityProcedureSubscription", new JsonObject
        {
            ["subscriptionType"] = "MobilityProcedureSubscription",
            ["callbackReference"] = $"{sink.Address}mobility-app",
            ["filterCriteria"] = new JsonObject { ["appInstanceId"] = "app-1" },
        });
        Assert.Equal("[1]", byApp["filterCriteria"]!["mobilityStatus"]!.ToJsonString()); // the default, "included in the response"
        await Create(api, "/amsi/v1", MecSpec.Mec021, "AdjacentAppInfoSubscription", new JsonObject
        {
            ["subscriptionType"] = "AdjacentAppInfoSubscription",
            ["callbackReference"] = $"{sink.Address}adjacent",
            ["filterCriteria"] = new JsonObject(),
        });
        await Create(api, "/amsi/v1", MecSpec.Mec021, "MobilityProcedureSubscription", new JsonObject
        {
            ["subscriptionType"] = "MobilityProcedureSubscription",
            ["callbackReference"] = $"{sink.Address}ams-expiry",
            ["filterCriteria"] = new JsonObject(),
            ["expiryDeadline"] = soon.DeepClone(),
        });
        var list = await Call(api, HttpMethod.Get, "/amsi/v1/subscriptions", null, MecSpec.Mec021, null, HttpStatusCode.OK, "SubscriptionLinkList");
        Assert.Equal(4, list!["_links"]!["subscription"]!.AsArray().Count);
        var adjacentOnly = await Call(api, HttpMethod.Get, "/amsi/v1/subscriptions?subscriptiontype=adj_app_info", null, MecSpec.Mec021, null, HttpStatusCode.OK, "SubscriptionLinkList");
        Assert.Single(adjacentOnly!["_links"]!["subscription"]!.AsArray());
        var mobilityPath = new Uri(mobility["_links"]!["self"]!["href"]!.GetValue<string>()).AbsolutePath;
        var read = await Call(api, HttpMethod.Get, mobilityPath, null, MecSpec.Mec021, null, HttpStatusCode.OK, "MobilityProcedureSubscription");
        Assert.Equal(mobility.ToJsonString(), read!.ToJsonString());
        var put = (JsonObject)mobility.DeepClone();
        put.Remove("requestTestNotification");
        await Call(api, HttpMethod.Put, mobilityPath, put, MecSpec.Mec021, "MobilityProcedureSubscription", HttpStatusCode.OK, "MobilityProcedureSubscription");

        // MEC 021 errors are ProblemDetails.
        var stringStatus = new JsonObject
        {
            ["subscriptionType"] = "MobilityProcedureSubscription",
            ["callbackReference"] = $"{sink.Address}x",
            ["filterCriteria"] = new JsonObject { ["mobilityStatus"] = new JsonArray("INTERHOST_MOVEOUT_COMPLETED") },
        };
        await Call(api, HttpMethod.Post, "/amsi/v1/subscriptions", stringStatus, MecSpec.Mec021, null, HttpStatusCode.BadRequest, null);
        await Call(api, HttpMethod.Get, "/amsi/v1/subscriptions/nope", null, MecSpec.Mec021, null, HttpStatusCode.NotFound, null);
        using (var anonymous = host.Client(token: null))
        {
            await Call(anonymous, HttpMethod.Get, "/amsi/v1/subscriptions", null, MecSpec.Mec021, null, HttpStatusCode.Unauthorized, null);
        }


        // Registrations: app-1 serves the handover UE; a second one is deregistered by its task.
        var registration = await Call(api, HttpMethod.Post, "/amsi/v1/app_mobility_services", new JsonObject
        {
            ["serviceConsumerId"] = new JsonObject { ["appInstanceId"] = "app-1" },
            ["deviceInformation"] = new JsonArray(new JsonObject
            {
                ["associateId"] = new JsonObject { ["type"] = 1, ["value"] = HandoverUeAddress },
                ["appMobilityServiceLevel"] = new JsonObject { ["appMobilityServiceLevel"] = 3 },
                ["contextTransferState"] = 0,
            }),
            ["expiryTime"] = 0,
        }, MecSpec.Mec021, "RegistrationInfo", HttpStatusCode.Created, "RegistrationInfo");
        var registrationPath = $"/amsi/v1/app_mobility_services/{registration!["appMobilityServiceId"]!.GetValue<string>()}";
        await Call(api, HttpMethod.Get, registrationPath, null, MecSpec.Mec021, null, HttpStatusCode.OK, "RegistrationInfo");
        var replaced = (JsonObject)registration.DeepClone();
        replaced["deviceInformation"]![0]!["contextTransferState"] = 1;
        await Call(api, HttpMethod.Put, registrationPath, replaced, MecSpec.Mec021, "RegistrationInfo", HttpStatusCode.OK, "RegistrationInfo");
        var other = await Call(api, HttpMethod.Post, "/amsi/v1/app_mobility_services", new JsonObject
        {
            ["serviceConsumerId"] = new JsonObject { ["mepId"] = "mep-1" },
            ["expiryTime"] = 600,
        }, MecSpec.Mec021, "RegistrationInfo", HttpStatusCode.Created, "RegistrationInfo");
        var otherPath = $"/amsi/v1/app_mobility_services/{other!["appMobilityServiceId"]!.GetValue<string>()}";
        await Call(api, HttpMethod.Post, $"{otherPath}/deregister_task", null, MecSpec.Mec021, null, HttpStatusCode.NoContent, null);
        await Call(api, HttpMethod.Get, otherPath, null, MecSpec.Mec021, null, HttpStatusCode.NotFound, null);
        var registrations = (await api.GetFromJsonAsync<JsonArray>("/amsi/v1/app_mobility_services"))!;
        Assert.Single(registrations);
        Assert.All(registrations, r => MecSchemas.AssertValid(MecSpec.Mec021, "RegistrationInfo", r));

        // MEC 012 subscriptions: every type this MC emits, one that expires.
        JsonObject Rni(string type, string path, string filterKey, JsonObject filter) =>
            new() { ["subscriptionType"] = type, ["callbackReference"] = $"{sink.Address}{path}", [filterKey] = filter };
        var cell = await Create(api, "/rni/v2", MecSpec.Mec012, "CellChangeSubscription",
            Rni("CellChangeSubscription", "cell", "filterCriteriaAssocHo", new JsonObject { ["hoStatus"] = new JsonArray(1, 2, 3, 4, 5) }));
        await Create(api, "/rni/v2", MecSpec.Mec012, "RabEstSubscription", Rni("RabEstSubscription", "rab-est", "filterCriteriaQci", new JsonObject { ["qci"] = bearer.Qci!.Value }));
        await Create(api, "/rni/v2", MecSpec.Mec012, "RabRelSubscription",
            Rni("RabRelSubscription", "rab-rel", "filterCriteriaQci", new JsonObject { ["qci"] = releasedQci, ["erabId"] = releasedERab }));
        var s1 = Rni("S1BearerSubscription", "s1", "S1BearerSubscriptionCriteria", new JsonObject
        {
            ["associateId"] = new JsonArray(new JsonObject { ["type"] = 1, ["value"] = HandoverUeAddress }),
        });
        s1["eventType"] = new JsonArray(1, 2, 3);
        await Create(api, "/rni/v2", MecSpec.Mec012, "S1BearerSubscription", s1);
        var s1All = Rni("S1BearerSubscription", "s1-all", "S1BearerSubscriptionCriteria", new JsonObject());
        s1All["eventType"] = new JsonArray(3);
        await Create(api, "/rni/v2", MecSpec.Mec012, "S1BearerSubscription", s1All);
        var expiring = Rni("CellChangeSubscription", "rni-expiry", "filterCriteriaAssocHo", new JsonObject());
        expiring["expiryDeadline"] = soon.DeepClone();
        var expiringSub = await Create(api, "/rni/v2", MecSpec.Mec012, "CellChangeSubscription", expiring);
        Assert.Equal("[3]", expiringSub["filterCriteriaAssocHo"]!["hoStatus"]!.ToJsonString()); // the default COMPLETED, included
        var rniList = await Call(api, HttpMethod.Get, "/rni/v2/subscriptions", null, MecSpec.Mec012, null, HttpStatusCode.OK, "SubscriptionLinkList");
        Assert.Equal(6, rniList!["_links"]!["subscription"]!.AsArray().Count);
        var rabEstOnly = await Call(api, HttpMethod.Get, "/rni/v2/subscriptions?subscription_type=rab_est", null, MecSpec.Mec012, null, HttpStatusCode.OK, "SubscriptionLinkList");
        Assert.Single(rabEstOnly!["_links"]!["subscription"]!.AsArray());
        var cellPath = new Uri(cell["_links"]!["self"]!["href"]!.GetValue<string>()).AbsolutePath;
        await Call(api, HttpMethod.Get, cellPath, null, MecSpec.Mec012, null, HttpStatusCode.OK, "CellChangeSubscription");
        await Call(api, HttpMethod.Put, cellPath, cell, MecSpec.Mec012, "CellChangeSubscription", HttpStatusCode.OK, "CellChangeSubscription");
        await Call(api, HttpMethod.Post, "/rni/v2/subscriptions", Rni("RabEstSubscription", "x", "filterCriteriaQci", new JsonObject()), MecSpec.Mec012, null, HttpStatusCode.BadRequest, null);
        await Call(api, HttpMethod.Post, "/rni/v2/subscriptions", Rni("MeasRepUeSubscription", "x", "filterCriteriaAssocTri", new JsonObject()), MecSpec.Mec012, "MeasRepUeSubscription", HttpStatusCode.BadRequest, null);
        await Call(api, HttpMethod.Get, "/rni/v2/subscriptions/nope", null, MecSpec.Mec012, null, HttpStatusCode.NotFound, null);
        var doomed = await Create(api, "/rni/v2", MecSpec.Mec012, "CellChangeSubscription", Rni("CellChangeSubscription", "doomed", "filterCriteriaAssocHo", new JsonObject()));
        var doomedPath = new Uri(doomed["_links"]!["self"]!["href"]!.GetValue<string>()).AbsolutePath;
        await Call(api, HttpMethod.Delete, doomedPath, null, MecSpec.Mec012, null, HttpStatusCode.NoContent, null);
        await Call(api, HttpMethod.Get, doomedPath, null, MecSpec.Mec012, null, HttpStatusCode.NotFound, null);

        // The capture up to the UE's first completed handover, then the queries while it is connected at eNB 67.
        foreach (var e in events.Take(firstHandover + 1))
        {
            await host.Pipeline.PostAsync(e);
        }

        await Wait.Until(async () => (await host.State(_handoverUe))?.ServingEnb == new EnbId(67), "the UE served by eNB 67");
        var rab = await Call(api, HttpMethod.Get, "/rni/v2/queries/rab_info?app_ins_id=app-1", null, MecSpec.Mec012, null, HttpStatusCode.OK, "RabInfo");
        Assert.Contains(rab!["cellUserInfo"]!.AsArray(), c => c!["ecgi"]!["cellId"]!.GetValue<string>() == "00043A0");
        var bearers = await Call(api, HttpMethod.Get, $"/rni/v2/queries/s1_bearer_info?ue_ipv4_address={HandoverUeAddress}", null, MecSpec.Mec012, null, HttpStatusCode.OK, "S1BearerInfo");
        Assert.Equal(HandoverUeAddress, bearers!["s1UeInfo"]![0]!["associateId"]![0]!["value"]!.GetValue<string>());
        await Call(api, HttpMethod.Get, "/rni/v2/queries/s1_bearer_info?cell_id=FFFFFFF", null, MecSpec.Mec012, null, HttpStatusCode.NotFound, null);
        await Call(api, HttpMethod.Get, "/rni/v2/queries/rab_info?cell_id=nothex", null, MecSpec.Mec012, null, HttpStatusCode.BadRequest, null);

        // The PVM follows the UE to site-b (INTERHOST_MOVEOUT_TRIGGERED, then COMPLETED); an operator's move to site-c,
        // whose migrations fail, gives INTERHOST_MOVEOUT_FAILED. Then the rest of the capture.
        await Until(() => Statuses(sink, "/mobility").Contains(2), "a completed migration");
        Assert.Equal(HttpStatusCode.Accepted, (await api.PostAsJsonAsync($"/api/v1/pvms/{_handoverUe}/move", new { site = "site-c" })).StatusCode);
        await Until(() => Statuses(sink, "/mobility").Contains(3), "a failed migration");
        foreach (var e in events.Skip(firstHandover + 1))
        {
            await host.Pipeline.PostAsync(e);
        }

        string[] expected =
        [
            "/mobility TestNotification", "/mobility MobilityProcedureNotification 1", "/mobility MobilityProcedureNotification 2",
            "/mobility MobilityProcedureNotification 3", "/mobility-app MobilityProcedureNotification 1", "/adjacent AdjacentAppInfoNotification",
            "/ams-expiry ExpiryNotification", "/cell CellChangeNotification 1", "/cell CellChangeNotification 2", "/cell CellChangeNotification 3",
            "/cell CellChangeNotification 5", "/rab-est RabEstNotification", "/rab-rel RabRelNotification", "/s1 S1BearerNotification 1",
            "/s1 S1BearerNotification 2", "/s1-all S1BearerNotification 3", "/rni-expiry ExpiryNotification",
        ];
        await Until(() => expected.All(Seen(sink).Contains), $"every kind of notification: {string.Join(", ", expected)}");
        await Task.Delay(500);
        var posts = sink.Posts();
        output.WriteLine(string.Join("\n", Seen(sink).Order()));
        foreach (var (path, body) in posts)
        {
            var (spec, schema) = SchemaOf(path, body);
            MecSchemas.AssertValid(spec, schema, JsonNode.Parse(body.GetRawText()));
        }

        // What the notifications say, beyond their shape.
        var cells = posts.Where(p => p.Path == "/cell").Select(p => p.Body).ToList();
        var first = cells.First(c => c.GetProperty("hoStatus").GetInt32() == 3 && c.GetProperty("associateId")[0].GetProperty("value").GetString() == HandoverUeAddress);
        Assert.Equal("001F20A", first.GetProperty("srcEcgi").GetProperty("cellId").GetString());
        Assert.Equal("00043A0", first.GetProperty("trgEcgi")[0].GetProperty("cellId").GetString());
        Assert.All(posts.Where(p => p.Path == "/mobility-app").Select(p => p.Body),
            m => Assert.Equal(HandoverUeAddress, m.GetProperty("associateId")[0].GetProperty("value").GetString()));
        Assert.All(posts.Where(p => p.Path == "/rab-est").Select(p => p.Body), r => Assert.Equal(bearer.Qci!.Value, r.GetProperty("erabQosParameters").GetProperty("qci").GetInt32()));
        Assert.All(posts.Where(p => p.Path == "/s1").Select(p => p.Body),
            s => Assert.Equal(HandoverUeAddress, s.GetProperty("s1UeInfo").GetProperty("associateId")[0].GetProperty("value").GetString()));
        var adjacent = posts.First(p => p.Path == "/adjacent").Body;
        Assert.Equal($"pvm-{_handoverUe}", adjacent.GetProperty("adjacentAppInfo")[0].GetProperty("appInstanceId").GetString());

        // The expired subscriptions are gone; the others are still there.
        Assert.Equal(3, await MecBodies.Count(api, "/amsi/v1"));
        Assert.Equal(5, await MecBodies.Count(api, "/rni/v2"));
        Assert.All(posts.Where(p => p.Path == "/rab-rel").Select(p => p.Body), r => Assert.Equal(releasedERab, r.GetProperty("erabReleaseInfo").GetProperty("erabId").GetInt32()));
    }

    /// <summary>The QCI and E-RAB id of the first bearer the capture releases (E-RAB release, S1 release or detach).</summary>
    private static (byte Qci, byte ERabId) FirstRelease(List<UeEvent> events)
    {
        var bearers = new Dictionary<UeId, Dictionary<byte, byte?>>();
        foreach (var e in events)
        {
            var known = bearers.TryGetValue(e.Ue, out var b) ? b : bearers[e.Ue] = [];
            switch (e)
            {
                case UeAttached a:
                    known.Clear();
                    a.Bearers.ToList().ForEach(x => known[x.ERabId] = x.Qci);
                    break;
                case ServiceRequested r:
                    r.Bearers.ToList().ForEach(x => known[x.ERabId] = x.Qci);
                    break;
                case BearerAdded added:
                    known[added.Bearer.ERabId] = added.Bearer.Qci;
                    break;
                case BearerReleased r when known.TryGetValue(r.ERabId, out var q) && q is { } qci:
                    return (qci, r.ERabId);
                case UeReleasedToIdle or Detached when known.FirstOrDefault(k => k.Value is not null) is { Value: { } qci } first:
                    return (qci, first.Key);
            }
        }

        throw new InvalidOperationException("the capture releases no bearer with a known QCI");
    }

    [Fact]
    public async Task A_websocket_subscriber_gets_its_mobility_notifications_over_the_socket_serve_names()
    {
        await using var host = await StartAsync(Settings(), new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 }));
        using var api = host.Client();
        var request = new JsonObject
        {
            ["subscriptionType"] = "MobilityProcedureSubscription",
            ["websockNotifConfig"] = new JsonObject { ["requestWebsocketUri"] = true },
            ["filterCriteria"] = new JsonObject { ["mobilityStatus"] = new JsonArray(1, 2) },
        };
        var sub = await Call(api, HttpMethod.Post, "/amsi/v1/subscriptions", request, MecSpec.Mec021, "MobilityProcedureSubscription", HttpStatusCode.Created, "MobilityProcedureSubscription");
        Assert.Null(sub!["callbackReference"]);
        var uri = new Uri(sub["websockNotifConfig"]!["websocketUri"]!.GetValue<string>());
        Assert.Equal("ws", uri.Scheme);

        // Without the token the upgrade is refused like any call.
        using (var anonymous = new System.Net.WebSockets.ClientWebSocket())
        {
            await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => anonymous.ConnectAsync(uri, CancellationToken.None));
        }

        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {Token}");
        await socket.ConnectAsync(uri, CancellationToken.None);

        // The socket is attached once its grain knows it; a migration's news then arrives on it.
        var cellA = new Ecgi("001", "01", (EnbA.Value << 8) | 1);
        await host.Pipeline.PostAsync(Attach(9, EnbA, Now) with { Cell = cellA });
        await Wait.Until(async () => (await host.State(Ue(9)))?.PvmStatus == Control.PvmStatus.Running, "UE 9's PVM running");
        await host.Pipeline.PostAsync(Switched(9, EnbB, Now) with { Cell = new Ecgi("001", "01", (EnbB.Value << 8) | 1), SourceCell = cellA });
        var statuses = new List<int>();
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (statuses.Count < 2)
        {
            var read = await socket.ReceiveAsync(buffer, deadline.Token);
            Assert.True(read.EndOfMessage);
            var body = JsonNode.Parse(buffer.AsSpan(0, read.Count));
            output.WriteLine($"socket: {body!.ToJsonString()}");
            MecSchemas.AssertValid(MecSpec.Mec021, "MobilityProcedureNotification", body);
            Assert.Equal(UeAddress(9).ToString(), body["associateId"]![0]!["value"]!.GetValue<string>());
            statuses.Add(body["mobilityStatus"]!.GetValue<int>());
        }

        Assert.Equal([1, 2], statuses);
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    private static JsonObject MecJsonTime(TimeSpan unix) => new() { ["seconds"] = (long)unix.TotalSeconds, ["nanoSeconds"] = 0 };

    private static List<int> Statuses(MecReceiver sink, string path) =>
        [.. sink.Posts().Where(p => p.Path == path && p.Body.TryGetProperty("mobilityStatus", out _)).Select(p => p.Body.GetProperty("mobilityStatus").GetInt32())];

    /// <summary>"path type [status]" of every notification received.</summary>
    private static HashSet<string> Seen(MecReceiver sink) =>
    [
        .. sink.Posts().Select(p =>
        {
            var type = p.Body.TryGetProperty("notificationType", out var t) ? t.GetString() : "ExpiryNotification";
            var status = p.Body.TryGetProperty("mobilityStatus", out var m) ? $" {m.GetInt32()}"
                : p.Body.TryGetProperty("hoStatus", out var h) ? $" {h.GetInt32()}"
                : p.Body.TryGetProperty("s1Event", out var s) ? $" {s.GetInt32()}" : "";
            return $"{p.Path} {type}{status}";
        }),
    ];

    /// <summary>The schema a notification must follow: its API from the callback path, its type from its body.</summary>
    private static (MecSpec Spec, string Schema) SchemaOf(string path, JsonElement body)
    {
        var type = body.TryGetProperty("notificationType", out var t) ? t.GetString()! : "ExpiryNotification";
        var rni = path is "/cell" or "/rab-est" or "/rab-rel" or "/s1" or "/s1-all" or "/rni-expiry";
        return (rni ? MecSpec.Mec012 : type == "AdjacentAppInfoNotification" ? MecSpec.Mec021AdvantEdge : MecSpec.Mec021, type);
    }

    private async Task<JsonObject> Create(HttpClient api, string prefix, MecSpec spec, string schema, JsonObject body)
    {
        var created = await Call(api, HttpMethod.Post, $"{prefix}/subscriptions", body, spec, schema, HttpStatusCode.Created, schema);
        return (JsonObject)created!;
    }

    /// <summary>
    /// One request: its body (when a schema is named) validated before it is sent, the status checked, the response
    /// validated against <paramref name="responseSchema"/>, or as ProblemDetails (application/problem+json) for an error.
    /// </summary>
    private async Task<JsonNode?> Call(HttpClient api, HttpMethod method, string path, JsonObject? body, MecSpec spec, string? requestSchema, HttpStatusCode expected, string? responseSchema)
    {
        if (body is not null && requestSchema is not null)
        {
            MecSchemas.AssertValid(spec, requestSchema, body);
        }

        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await api.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{method} {path} -> {(int)response.StatusCode} {text}");
        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.Created)
        {
            Assert.NotNull(response.Headers.Location);
        }

        if (text.Length == 0)
        {
            return null;
        }

        var json = JsonNode.Parse(text);
        if ((int)expected >= 400)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            MecSchemas.AssertValid(spec, "ProblemDetails", json);
            Assert.Equal((int)expected, json!["status"]!.GetValue<int>());
        }
        else if (responseSchema is not null)
        {
            MecSchemas.AssertValid(spec, responseSchema, json);
        }

        return json;
    }
}
