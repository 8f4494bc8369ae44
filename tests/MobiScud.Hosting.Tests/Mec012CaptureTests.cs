using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Tests.Mec;
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

        using var sink = new MecReceiver();
        var hypervisor = new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 });
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Sites:0:Enbs:2"] = "498", ["MobiScud:Sites:1:Enbs:1"] = "67", ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32" }), hypervisor);
        using var api = host.Client();
        var rni = await api.PostAsJsonAsync("/rni/v2/subscriptions", MecBodies.CellChange($"{sink.Address}cells", 1, 2, 3, 4, 5));
        Assert.Equal(HttpStatusCode.Created, rni.StatusCode);

        foreach (var e in events)
        {
            await host.Pipeline.PostAsync(e.Event);
        }

        await Wait.Until(() => Task.FromResult(sink.Received().Count >= 9), "nine cell-change notifications");
        var cells = sink.Received();
        Assert.All(cells, c => MecSchemas.AssertValid(MecSpec.Mec012, "CellChangeNotification", JsonNode.Parse(c.GetRawText())));

        // hoStatus as MEC 012 numbers it: 1 = IN_PREPARATION, 2 = IN_EXECUTION, 3 = COMPLETED, 5 = CANCELLED.
        Assert.Equal([1, 2, 3, 1, 2, 3, 1, 2, 5], cells.Select(c => c.GetProperty("hoStatus").GetInt32()));
        Assert.All(cells, c => Assert.Equal("CellChangeNotification", c.GetProperty("notificationType").GetString()));
        Assert.All(cells, c => Assert.Equal("45.45.0.11", c.GetProperty("associateId")[0].GetProperty("value").GetString()));

        // The first handover goes from eNB 498's cell to eNB 67's: tshark shows HandoverRequired (422) naming target
        // cell-ID 0x000043a0 and the UE's last visited cell 0x0001f20a, HandoverNotify (430) EUTRAN-CGI 0x000043a0,
        // PLMN 00f110 (MCC 001, MNC 01). Its execution names the same cells as its preparation.
        var executing = cells[1];
        Assert.Equal("001F20A", executing.GetProperty("srcEcgi").GetProperty("cellId").GetString());
        Assert.Equal("00043A0", executing.GetProperty("trgEcgi")[0].GetProperty("cellId").GetString());
        Assert.Equal("001", executing.GetProperty("srcEcgi").GetProperty("plmn").GetProperty("mcc").GetString());
        Assert.Equal("01", executing.GetProperty("srcEcgi").GetProperty("plmn").GetProperty("mnc").GetString());
        Assert.Equal("00043A0", cells[2].GetProperty("trgEcgi")[0].GetProperty("cellId").GetString());
        Assert.Equal("001F20A", cells[5].GetProperty("trgEcgi")[0].GetProperty("cellId").GetString());
        Assert.Equal(events.Single(e => e.Frame == 427).Event.At, TimeSpan.FromSeconds(executing.GetProperty("timeStamp").GetProperty("seconds").GetInt64())
            + TimeSpan.FromTicks(executing.GetProperty("timeStamp").GetProperty("nanoSeconds").GetInt32() / 100));
    }

    [Fact]
    public async Task A_5G_UEs_PDU_sessions_reach_mec012_subscribers_with_the_NR_cell_the_tracker_read_from_NGAP()
    {
        // open5gs_testregistration_ngap: one UE registering, setting up PDU session 5, going idle and coming back. tshark:
        // every NR-CGI is PLMN 09f107 (MCC 901, MNC 70) with nRCellIdentity 0x0000040001 (frames 59, 141, 151, ...) or,
        // from frame 2711 on, 0x0000000ce7; PDUSessionResourceSetupRequestTransfer's fiveQI is 9 (frames 127, 145, ...).
        var session = new ReplaySession(runMc: false);
        using (var source = CaptureFile.Open(TestData.Capture("open5gs_testregistration_ngap.pcapng")))
        {
            session.Run(source, "open5gs_testregistration_ngap.pcapng");
        }

        var ue = new UeId("imsi-901700000021309");
        var events = session.Entries.Where(e => e.Event.Ue == ue).Select(e => e.Event).ToList();
        var trackerCells = events.Select(e => e.NrCell).OfType<Ncgi>().Distinct().ToList();
        Assert.Equal([new Ncgi("901", "70", 0x40001), new Ncgi("901", "70", 0xce7)], trackerCells);
        var established = events.Count(e => e is UeAttached { Bearers.Count: > 0 } or ServiceRequested { Bearers.Count: > 0 } or BearerAdded);
        Assert.True(established >= 3, $"{established} PDU session establishments in the capture");
        Assert.All(events.OfType<UeAttached>().SelectMany(a => a.Bearers), b => Assert.Equal((byte?)9, b.Qci));

        using var sink = new MecReceiver();
        var hypervisor = new SimulatedHypervisor(new HypervisorOptions { TimeScale = 50 });
        await using var host = await StartAsync(Settings(new() { ["MobiScud:Sites:0:Gnbs:0"] = "16384", ["MobiScud:Api:Webhooks:Allowed:0"] = "127.0.0.1/32" }), hypervisor);
        using var api = host.Client();
        JsonObject Rni(string type, string path, JsonObject filter) =>
            new() { ["subscriptionType"] = type, ["callbackReference"] = $"{sink.Address}{path}", ["filterCriteriaQci"] = filter };
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/rni/v2/subscriptions", Rni("RabEstSubscription", "rab-est", new JsonObject { ["qci"] = 9 }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/rni/v2/subscriptions", Rni("RabRelSubscription", "rab-rel", new JsonObject { ["qci"] = 9, ["erabId"] = 5 }))).StatusCode);

        foreach (var e in events)
        {
            await host.Pipeline.PostAsync(e);
        }

        List<JsonElement> On(string path) => [.. sink.Posts().Where(p => p.Path == path).Select(p => p.Body)];
        await Wait.Until(() => Task.FromResult(On("/rab-est").Count >= established && On("/rab-rel").Count >= 1), $"{established} RAB establishments and a release");
        var bodies = On("/rab-est").Select(b => ("RabEstNotification", b)).Concat(On("/rab-rel").Select(b => ("RabRelNotification", b))).ToList();
        Assert.Equal(established, On("/rab-est").Count);
        foreach (var (schema, body) in bodies)
        {
            var node = JsonNode.Parse(body.GetRawText());
            MecSchemas.AssertValid(MecSpec.Mec012AsPublished, schema, node);
            MecSchemas.AssertValid(MecSpec.Mec012Nr, schema, node);

            // The NCGI the tracker read for the event the notification reports (its timeStamp is the event's capture time):
            // the 36-bit cell as nine hex digits in PLMN 901/70; the required Ecgi names no E-UTRA cell.
            var at = TimeSpan.FromSeconds(body.GetProperty("timeStamp").GetProperty("seconds").GetInt64()) + TimeSpan.FromTicks(body.GetProperty("timeStamp").GetProperty("nanoSeconds").GetInt32() / 100);
            var cells = session.Entries.Where(e => e.Event.Ue == ue && e.Event.At == at && (schema == "RabEstNotification" ? e.Event is UeAttached or ServiceRequested or BearerAdded : e.Event is UeReleasedToIdle or Detached or BearerReleased))
                .Select(e => e.Event.NrCell ?? LastNrCellBefore(e.Event)).Distinct().ToList();
            var cell = Assert.Single(cells);
            Assert.NotNull(cell);
            Assert.Equal(cell.NrCellId.ToString("X9", System.Globalization.CultureInfo.InvariantCulture), body.GetProperty("nrcgi").GetProperty("nrcellId").GetString());
            Assert.Equal("901", body.GetProperty("nrcgi").GetProperty("plmn").GetProperty("mcc").GetString());
            Assert.Equal("70", body.GetProperty("nrcgi").GetProperty("plmn").GetProperty("mnc").GetString());
            Assert.Equal(string.Empty, body.GetProperty("ecgi").GetProperty("cellId").GetString());
        }

        // Both of the capture's cells were reported.
        Assert.Equal(["000000CE7", "000040001"], bodies.Select(b => b.Item2.GetProperty("nrcgi").GetProperty("nrcellId").GetString()).Distinct().Order());

        Assert.All(On("/rab-est"), b => Assert.Equal(5, b.GetProperty("erabId").GetInt32()));
        Assert.All(On("/rab-est"), b => Assert.Equal(9, b.GetProperty("erabQosParameters").GetProperty("qci").GetInt32()));
        Assert.All(On("/rab-rel"), b => Assert.Equal(5, b.GetProperty("erabReleaseInfo").GetProperty("erabId").GetInt32()));

        // A release that named no cell is reported in the cell the UE grain last knew.
        Ncgi? LastNrCellBefore(UeEvent e) => events.TakeWhile(x => !ReferenceEquals(x, e)).Select(x => x.NrCell).OfType<Ncgi>().LastOrDefault();
    }

    [Fact]
    public void A_gNB_id_listed_by_two_sites_is_refused_naming_the_key()
    {
        var bad = Settings(new() { ["MobiScud:Sites:0:Gnbs:0"] = "7", ["MobiScud:Sites:1:Gnbs:0"] = "7" });
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = bad }));
        Assert.Contains("MobiScud:Sites:1:Gnbs lists gNB 7, already served by site 'site-a'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gNB_and_an_eNB_with_the_same_number_are_two_nodes_at_their_own_sites()
    {
        var options = new MobiScudOptions { Api = { Token = "a-token-of-16-chars" } };
        options.Sites.Add(new SiteOptions { Name = "site-a", Enbs = [1] });
        options.Sites.Add(new SiteOptions { Name = "site-b", Gnbs = [1] });
        var result = new MobiScudOptionsValidator().Validate(null, options);
        Assert.True(result.Succeeded, result.FailureMessage);
        var config = options.ToMcConfig();
        Assert.Equal(new SiteId("site-a"), config.SiteOfEnb[new EnbId(1)]);
        Assert.Equal(new SiteId("site-b"), config.SiteOfEnb[new EnbId(1, Rat.Nr)]);
    }
}
