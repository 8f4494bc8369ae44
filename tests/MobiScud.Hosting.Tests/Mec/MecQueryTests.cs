using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Protocols.S1ap;
using MobiScud.TestSupport;
using MobiScud.Tracking;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests.Mec;

/// <summary>
/// MEC 012 /queries/plmn_info, MEC 021 /queries/adjacent_app_instances and MEC 012 hoStatus 4 (REJECTED): every body
/// validated against the official schemas, the values checked against tshark and the MC's own state.
/// </summary>
public sealed class MecQueryTests(ITestOutputHelper output)
{
    private const string Epc = "open5gs_testepc_2019.pcapng";

    [Fact]
    public async Task Plmn_info_answers_the_PLMNs_of_the_cells_the_signalling_named_as_tshark_reads_them()
    {
        var session = new ReplaySession(runMc: false);
        using (var source = CaptureFile.Open(TestData.Capture(Epc)))
        {
            session.Run(source, Epc);
        }

        await using var host = await StartAsync(Settings(new() { ["MobiScud:Sites:0:Enbs:2"] = "498", ["MobiScud:Sites:1:Enbs:1"] = "67" }),
            new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 }));
        using var api = host.Client();

        // app_ins_id is required; before any signalling no PLMN is known: an empty array (a PlmnInfo needs one).
        await Call(api, "/rni/v2/queries/plmn_info", MecSpec.Mec012, HttpStatusCode.BadRequest, null);
        var none = await Call(api, "/rni/v2/queries/plmn_info?app_ins_id=app-1", MecSpec.Mec012, HttpStatusCode.OK, "PlmnInfo");
        Assert.Empty(none!.AsArray());

        foreach (var e in session.Entries)
        {
            await host.Pipeline.PostAsync(e.Event);
        }

        // The PLMNs of the cells the tracker last named for each UE (InitialUEMessage, HandoverNotify, PathSwitchRequest).
        var seen = session.Entries.Where(e => e.Event.Cell is not null).GroupBy(e => e.Event.Ue).Select(u => u.Last().Event.Cell!)
            .Select(c => $"{c.Mcc}-{c.Mnc}").Distinct().Order().ToList();
        Assert.NotEmpty(seen);
        async Task<List<string>[]> Asked(string query) =>
            [.. (await Call(api, $"/rni/v2/queries/plmn_info?{query}", MecSpec.Mec012, HttpStatusCode.OK, "PlmnInfo"))!.AsArray()
                .Select(i => i!["plmn"]!.AsArray().Select(p => $"{p!["mcc"]!.GetValue<string>()}-{p["mnc"]!.GetValue<string>()}").ToList())];
        await Wait.Until(async () => (await Asked("app_ins_id=app-1")) is [{ } one] && one.SequenceEqual(seen), "the UEs' PLMNs answered");

        // tshark reads the same PLMNs in the EUTRAN-CGI IEs of those messages (TBCD: 00f110 is MCC 001, MNC 01).
        var tshark = await ExternalTool.RunAsync(ExternalTool.Require("tshark", "tshark"),
            ["-r", TestData.Capture(Epc), "-Y", "(s1ap.procedureCode == 2 || s1ap.procedureCode == 3 || s1ap.procedureCode == 12) && s1ap.initiatingMessage_element", "-O", "s1ap", "-V"], TimeSpan.FromMinutes(2));
        Assert.Equal(0, tshark.ExitCode);
        var inCapture = System.Text.RegularExpressions.Regex.Matches(tshark.StdOut, @"EUTRAN-CGI\s*\n\s*pLMNidentity: ([0-9a-f]{6})")
            .Select(m => Plmn(m.Groups[1].Value)).ToHashSet();
        output.WriteLine($"tshark: {string.Join(", ", inCapture)}; answered: {string.Join(", ", seen)}");
        Assert.Subset(inCapture, seen.ToHashSet());

        // A UE attached in another PLMN's cell adds that PLMN, for every application instance asked.
        await host.Pipeline.PostAsync(Attach(9, EnbA, Now) with { Cell = new Ecgi("460", "34", (EnbA.Value << 8) | 1) });
        var expected = seen.Append("460-34").Order().ToList();
        await Wait.Until(async () => (await Asked("app_ins_id=app-1")) is [{ } one] && one.SequenceEqual(expected), "the new PLMN answered");

        // A 5G UE (no E-UTRA cell, an NR cell: NCGI) in a third PLMN adds that PLMN too.
        await host.Pipeline.PostAsync(Attach(10, EnbB, Now) with { NrCell = new Ncgi("999", "70", 0x4000_4001) });
        expected = [.. expected.Append("999-70").Order()];
        await Wait.Until(async () => (await Asked("app_ins_id=app-1")) is [{ } two] && two.SequenceEqual(expected), "the 5G UE's PLMN answered");
        var info = (await Call(api, "/rni/v2/queries/plmn_info?app_ins_id=app-1,app-2&app_ins_id=app-3", MecSpec.Mec012, HttpStatusCode.OK, "PlmnInfo"))!.AsArray();
        Assert.Equal(["app-1", "app-2", "app-3"], info.Select(i => i!["appInstanceId"]!.GetValue<string>()));
        Assert.All(info, i => Assert.Equal(expected,
            i!["plmn"]!.AsArray().Select(p => $"{p!["mcc"]!.GetValue<string>()}-{p["mnc"]!.GetValue<string>()}").ToList()));
    }

    /// <summary>A TBCD PLMN identity (3 octets as hex) as "MCC-MNC" (TS 24.008 10.5.1.13: filler F for a 2-digit MNC).</summary>
    private static string Plmn(string hex)
    {
        var d = hex.Select(c => c).ToArray();
        var mcc = $"{d[1]}{d[0]}{d[3]}";
        var mnc = d[2] is 'f' or 'F' ? $"{d[5]}{d[4]}" : $"{d[5]}{d[4]}{d[2]}";
        return $"{mcc}-{mnc}";
    }

    [Fact]
    public async Task Adjacent_app_instances_are_the_running_PVMs_at_their_sites_filtered_as_MEC_009_defines()
    {
        await using var host = await StartAsync(Settings(), new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 }));
        using var api = host.Client();
        await host.Pipeline.PostAsync(Attach(9, EnbA, Now));
        await host.Pipeline.PostAsync(Attach(10, EnbB, Now));
        foreach (var i in new[] { 9, 10 })
        {
            await Wait.Until(async () => (await host.State(Ue(i)))?.PvmStatus == Control.PvmStatus.Running, $"UE {i}'s PVM running");
        }

        var registration = await api.PostAsJsonAsync("/amsi/v1/app_mobility_services", new JsonObject
        {
            ["serviceConsumerId"] = new JsonObject { ["appInstanceId"] = "app-1" },
            ["deviceInformation"] = new JsonArray(new JsonObject { ["associateId"] = new JsonObject { ["type"] = 1, ["value"] = UeAddress(9).ToString() } }),
        });
        Assert.Equal(HttpStatusCode.Created, registration.StatusCode);

        var all = (await Call(api, "/amsi/v1/queries/adjacent_app_instances", MecSpec.Mec021, HttpStatusCode.OK, "AdjacentAppInstanceInfo"))!.AsArray();
        Assert.Equal(2, all.Count);
        var withoutDescriptor = all[0]!.DeepClone().AsObject();
        withoutDescriptor.Remove("appDId");
        Assert.NotEmpty(MecSchemas.Validate(MecSpec.Mec021, "AdjacentAppInstanceInfo", withoutDescriptor)); // the validator can refuse
        foreach (var i in new[] { 9, 10 })
        {
            var state = (await host.State(Ue(i)))!;
            var info = all.Single(a => a!["appInstanceId"]!.GetValue<string>() == state.Pvm.Value)!;
            Assert.Equal(state.PvmSite!.Value.Value, info["mecHostInformation"]!["hostId"]!["site"]!.GetValue<string>());
            Assert.Equal(state.PvmAddress!.ToString(), info["appInstanceCommLink"]![0]!["ipAddresses"]![0]!["host"]!.GetValue<string>());
            Assert.Equal(i == 9 ? "app-1" : null, info["registeredInstanceId"]?.GetValue<string>());
        }

        var siteB = (await host.State(Ue(10)))!.PvmSite!.Value.Value;
        async Task<string[]> Filtered(string filter) =>
            [.. (await Call(api, $"/amsi/v1/queries/adjacent_app_instances?filter={Uri.EscapeDataString(filter)}", MecSpec.Mec021, HttpStatusCode.OK, "AdjacentAppInstanceInfo"))!
                .AsArray().Select(a => a!["appInstanceId"]!.GetValue<string>())];
        var pvm9 = PvmId.For(Ue(9)).Value;
        var pvm10 = PvmId.For(Ue(10)).Value;
        Assert.Equal([pvm10], await Filtered($"(eq,mecHostInformation/hostId/site,{siteB})"));
        Assert.Equal([pvm9], await Filtered($"(neq,mecHostInformation/hostId/site,{siteB})"));
        Assert.Equal([pvm9], await Filtered("(eq,registeredInstanceId,app-1)"));
        Assert.Equal([pvm9], await Filtered($"(in,appInstanceId,'{pvm9}',nobody);(eq,appDId,mobiscud-pvm)"));
        Assert.Empty(await Filtered("(gt,appInstanceCommLink/ipAddresses/port,0)"));
        Assert.Equal([pvm10], await Filtered($"(cont,appInstanceId,{Ue(10).Value})"));
        var everything = await Call(api, "/amsi/v1/queries/adjacent_app_instances?all_fields&exclude_default", MecSpec.Mec021, HttpStatusCode.OK, "AdjacentAppInstanceInfo");
        Assert.Equal(all.ToJsonString(), everything!.ToJsonString()); // nothing is excluded by default

        foreach (var bad in new[] { "?filter=(eq,nope,1)", "?filter=(like,appDId,x)", "?filter=(eq,appDId,a,b)", "?filter=eq,appDId,x", "?filter=(eq,appDId,'x)", "?fields=appDId" })
        {
            await Call(api, $"/amsi/v1/queries/adjacent_app_instances{bad}", MecSpec.Mec021, HttpStatusCode.BadRequest, null);
        }
    }

    [Fact]
    public async Task A_handover_preparation_the_MME_refuses_is_hoStatus_4_REJECTED()
    {
        // No capture here has a HandoverPreparationFailure (tshark -Y 's1ap.procedureCode == 0 &&
        // s1ap.unsuccessfulOutcome_element' finds none), so: testepc through the tracker up to its third HandoverRequired
        // (frame 462), then the MME's HandoverPreparationFailure to it (cause ho-failure-in-target-EPC-eNB-or-target-system).
        var ue = new UeId("imsi-001010123456815");
        var events = new List<UeEvent>();
        S1apSignal? required = null;
        var feed = new TrackerFeed((e, _) => events.Add(e))
        {
            S1apPlaced = (s, _) =>
            {
                if (s is { Procedure: S1apProcedureCode.HandoverPreparation, PduType: S1apPduType.InitiatingMessage })
                {
                    required = s;
                }
            },
        };
        using (var source = CaptureFile.Open(TestData.Capture(Epc)))
        {
            while (source.TryReadNext(out var frame) && frame.Number <= 462)
            {
                feed.Process(frame);
            }
        }

        Assert.NotNull(required);
        feed.Feed(new S1apSignal(required.At + TimeSpan.FromMilliseconds(5), required.Destination, required.Source, S1apProcedureCode.HandoverPreparation, S1apPduType.UnsuccessfulOutcome)
        {
            MmeUeS1apId = required.MmeUeS1apId,
            EnbUeS1apId = required.EnbUeS1apId,
            Cause = new S1apCause(CauseGroup.RadioNetwork, 6),
        }, 0);
        var mine = events.Where(e => e.Ue == ue).ToList();
        Assert.IsType<HandoverPrepared>(mine[^2]);
        Assert.True(Assert.IsType<HandoverCancelled>(mine[^1]).Rejected);

        using var sink = new MecReceiver();
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Sites:0:Enbs:2"] = "498", ["MobiScud:Sites:1:Enbs:1"] = "67", ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32" }),
            new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 }));
        using var api = host.Client();
        var subscription = MecBodies.CellChange($"{sink.Address}cells", 4, 5);
        MecSchemas.AssertValid(MecSpec.Mec012, "CellChangeSubscription", subscription);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/rni/v2/subscriptions", subscription)).StatusCode);
        foreach (var e in mine)
        {
            await host.Pipeline.PostAsync(e);
        }

        await Wait.Until(() => Task.FromResult(sink.Received().Count >= 1), "the rejection's notification");
        await Task.Delay(300);
        var cell = Assert.Single(sink.Received());
        output.WriteLine(cell.GetRawText());
        MecSchemas.AssertValid(MecSpec.Mec012, "CellChangeNotification", JsonNode.Parse(cell.GetRawText()));
        Assert.Equal(4, cell.GetProperty("hoStatus").GetInt32());
        Assert.Equal("00043A0", cell.GetProperty("trgEcgi")[0].GetProperty("cellId").GetString()); // 462's targetCell-ID: cell-ID 0x000043a0
    }

    [Fact]
    public async Task Layer2_meas_answers_that_no_measurement_is_known_and_checks_its_parameters()
    {
        await using var host = await StartAsync(Settings(), new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 }));
        using var api = host.Client();
        await host.Pipeline.PostAsync(Attach(9, EnbA, Now) with { Cell = new Ecgi("001", "01", (EnbA.Value << 8) | 1) });
        foreach (var query in new[] { "", "?app_ins_id=app-1&cell_id=0000101", $"?ue_ipv4_address={UeAddress(9)}&dl_gbr_prb_usage_cell=10" })
        {
            using var response = await api.GetAsync($"/rni/v2/queries/layer2_meas{query}");
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            output.WriteLine($"{query} -> {(int)response.StatusCode} {body!.ToJsonString()}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            MecSchemas.AssertValid(MecSpec.Mec012, "L2Meas", body);
            Assert.Empty(body["cellInfo"]!.AsArray());
            Assert.Empty(body["cellUEInfo"]!.AsArray());
        }

        foreach (var bad in new[] { "?cell_id=nothex", "?ue_ipv4_address=x", "?dl_gbr_prb_usage_cell=ten" })
        {
            await Call(api, $"/rni/v2/queries/layer2_meas{bad}", MecSpec.Mec012, HttpStatusCode.BadRequest, null);
        }
    }

    /// <summary>A GET, its status checked and its body validated: an array of <paramref name="itemSchema"/>, or ProblemDetails for an error.</summary>
    private async Task<JsonNode?> Call(HttpClient api, string path, MecSpec spec, HttpStatusCode expected, string? itemSchema)
    {
        using var response = await api.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        output.WriteLine($"GET {path} -> {(int)response.StatusCode} {text}");
        Assert.Equal(expected, response.StatusCode);
        var json = JsonNode.Parse(text);
        if ((int)expected >= 400)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            MecSchemas.AssertValid(spec, "ProblemDetails", json);
            return json;
        }

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.All(json!.AsArray(), item => MecSchemas.AssertValid(spec, itemSchema!, item));
        return json;
    }
}
