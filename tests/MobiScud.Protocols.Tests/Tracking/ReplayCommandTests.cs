using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>`mobiscud replay` run in-process on a real capture: the JSON and the table show the UE timelines and the MC's commands.</summary>
public sealed class ReplayCommandTests
{
    [Fact]
    public void Json_replay_of_testepc_shows_handovers_and_the_migrations_the_mc_starts()
    {
        var output = new StringWriter();
        var code = ReplayCommand.Run(null, TestData.Capture("open5gs_testepc_2019.pcapng"), null, PipelineOptions.Default, json: true, output);
        Assert.Equal(0, code);
        var json = JsonNode.Parse(output.ToString())!.AsObject();
        // tshark -r open5gs_testepc_2019.pcapng -Y s1ap -T fields -e s1ap.procedureCode | tr , '\n' | wc -l  ->  310
        Assert.Equal(310, json["s1apMessages"]!.GetValue<long>());
        Assert.Equal(644, json["frames"]!.GetValue<long>());
        Assert.Equal(0, json["undecodable"]!.GetValue<long>());
        var ue = json["ues"]!.AsArray().Single(u => u!["ue"]!.GetValue<string>() == "imsi-001010123456815")!;
        var timeline = ue["timeline"]!.AsArray();
        var types = timeline.Select(t => t!["event"]!["type"]!.GetValue<string>()).ToList();
        Assert.Equal(["UeAttached", "BearerAdded", "HandoverPrepared", "HandoverExecuting", "HandoverCompleted", "HandoverPrepared", "HandoverExecuting", "HandoverCompleted", "HandoverPrepared", "HandoverExecuting", "HandoverCancelled"], types);
        var attach = timeline[0]!;
        Assert.Equal("45.45.0.11", attach["event"]!["ueAddress"]!.GetValue<string>());
        Assert.Contains(attach["commands"]!.AsArray(), c => c!["type"]!.GetValue<string>() == "CreatePvm");
        // Each eNB has its own site by default, so a handover between them makes the MC migrate the PVM.
        var commandsAfterHandovers = timeline.Skip(2).SelectMany(t => t!["commands"]!.AsArray()).Select(c => c!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("StartMigration", commandsAfterHandovers);
        Assert.Contains("enb-67", timeline[4]!["event"]!["summary"]!.GetValue<string>());
        Assert.Equal("site-enb-67", json["sites"]!["67"]!.GetValue<string>());
    }

    [Fact]
    public void Json_replay_of_a_5G_capture_follows_the_UE_and_the_mc_places_its_pvm_at_the_gNB_site()
    {
        // tshark -r open5gs_testregistration_ngap.pcapng -Y 'ngap && sctp' | wc -l: 1306 NGAP-PDUs (one per message here).
        var sites = new Dictionary<Control.Model.EnbId, Control.Model.SiteId> { [new Control.Model.EnbId(16384, Control.Model.Rat.Nr)] = new("edge-gnb") };
        var output = new StringWriter();
        var code = ReplayCommand.Run(null, TestData.Capture("open5gs_testregistration_ngap.pcapng"), sites, PipelineOptions.Default, json: true, output);
        Assert.Equal(0, code);
        var json = JsonNode.Parse(output.ToString())!.AsObject();
        Assert.Equal(1306, json["ngapMessages"]!.GetValue<long>());
        Assert.Equal(0, json["s1apMessages"]!.GetValue<long>());
        var ue = json["ues"]!.AsArray().Single()!;
        Assert.Equal("imsi-901700000021309", ue["ue"]!.GetValue<string>());
        var timeline = ue["timeline"]!.AsArray();
        var attach = timeline[0]!;
        Assert.Equal("UeAttached", attach["event"]!["type"]!.GetValue<string>());
        Assert.Equal("10.45.0.2", attach["event"]!["ueAddress"]!.GetValue<string>());
        Assert.Contains(attach["commands"]!.AsArray(), c => c!["type"]!.GetValue<string>() == "CreatePvm");
        Assert.Contains("edge-gnb", attach.ToJsonString(), StringComparison.Ordinal);

        // The gNB is a node of its own in the JSON (an eNB 16384 would be "16384").
        Assert.Equal("gnb-16384", attach["event"]!["enb"]!.GetValue<string>());
        Assert.Equal("edge-gnb", json["sites"]!["gnb-16384"]!.GetValue<string>());
        Assert.Null(json["sites"]!["16384"]);
        var types = timeline.Select(t => t!["event"]!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("UeReleasedToIdle", types);
        Assert.Contains("ServiceRequested", types);
        Assert.Contains("Detached", types);
    }

    [Fact]
    public void Table_replay_counts_undecodable_packets_and_a_site_map_file_is_used()
    {
        var sites = Path.Combine(Path.GetTempPath(), $"mobiscud-capture-{Environment.ProcessId}-sites.txt");
        File.WriteAllLines(sites, ["# eNB -> site", "3584 edge-trondheim", "0xe01 edge-oslo"]);
        var map = ReplayCommand.ReadSites(sites);
        var output = new StringWriter();
        var code = ReplayCommand.Run(null, TestData.Capture("ttm4133_X2Handover.pcapng"), map, PipelineOptions.Default, json: false, output);
        Assert.Equal(0, code);
        var text = output.ToString();
        Assert.Contains("imsi-208950000000010", text);
        Assert.Contains("attach imsi 208950000000010 ip 192.172.0.2", text);
        Assert.Contains("CreatePvm pvm-imsi-208950000000010 at edge-trondheim", text);
        Assert.Contains("packets not used, by reason", text);
        Assert.Contains("undecodable:", text);
    }

    [Fact]
    public async Task A_truncated_capture_keeps_every_frame_before_the_cut_as_tshark_does_with_a_warning_naming_the_offset()
    {
        var bytes = File.ReadAllBytes(TestData.Capture("magma_nsa_connection.pcapng"));
        var broken = Path.Combine(Path.GetTempPath(), $"mobiscud-capture-{Environment.ProcessId}-broken.pcapng");
        File.WriteAllBytes(broken, bytes[..(bytes.Length - 100)]);
        var frames = 0;
        CaptureFormatException? cut;
        using (var source = CaptureFile.Open(broken))
        {
            while (source.TryReadNext(out _))
            {
                frames++;
            }

            cut = Assert.IsAssignableFrom<ITruncatableSource>(source).Truncation;
        }

        Assert.NotNull(cut);
        Assert.Equal(broken, cut.File);
        Assert.NotNull(cut.Block);
        Assert.Contains("truncated", cut.Message);
        Assert.Contains("byte offset", cut.Message);

        // Before: nothing at all (exit 3). tshark reads the same frames before the cut.
        var tshark = await ExternalTool.RunAsync(ExternalTool.Require("tshark", "tshark"), ["-r", broken, "-T", "fields", "-e", "frame.number"], TimeSpan.FromMinutes(2));
        Assert.Equal(tshark.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, frames);
        Assert.True(frames > 0);
        var output = new StringWriter();
        Assert.Equal(0, ReplayCommand.Run(null, broken, null, PipelineOptions.Default, json: true, output));
        Assert.Equal(frames.ToString(System.Globalization.CultureInfo.InvariantCulture), JsonNode.Parse(output.ToString())!["frames"]!.ToJsonString());
    }

    [Fact]
    public void Bad_site_map_lines_are_reported_with_file_and_line()
    {
        var sites = Path.Combine(Path.GetTempPath(), $"mobiscud-capture-{Environment.ProcessId}-badsites.txt");
        File.WriteAllLines(sites, ["1 a", "enb-x b"]);
        var ex = Assert.Throws<FormatException>(() => ReplayCommand.ReadSites(sites));
        Assert.Contains(":2:", ex.Message);
    }

    [Fact]
    public void Table_replay_of_a_large_capture_prints_a_summary_and_full_prints_every_timeline()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mobiscud-summary-{Guid.NewGuid():n}.pcap");
        try
        {
            using (var file = File.Create(path))
            {
                BenchCaptureGenerator.Generate([TestData.Capture("open5gs_testattach.pcapng"), TestData.Capture("magma_gx_gy_combined_04_32ue.pcapng")], 25, file, BenchFilter.Signalling);
            }

            var output = new StringWriter();
            var timings = new StringWriter();
            Assert.Equal(0, ReplayCommand.Run(null, path, null, PipelineOptions.Default, json: false, output, timings: timings));
            var text = output.ToString();
            Assert.Contains($"more than {ReplayCommand.SummaryUes} UEs or {ReplayCommand.SummaryEntries} entries", text);
            Assert.Contains("UE events and MC commands, by type", text);
            Assert.Contains("UeAttached", text);
            Assert.Contains("the 20 UEs with the most events", text);
            Assert.DoesNotContain("UE timeline", text);
            Assert.Contains("render table", timings.ToString());

            JsonNode json;
            using (var source = CaptureFile.Open(path))
            {
                json = ReplayCommand.ToJson(new ReplaySession().Run(source, path));
            }

            var entries = json["ues"]!.AsArray().Sum(u => u!["timeline"]!.AsArray().Count);
            Assert.True(entries > ReplayCommand.SummaryEntries, $"{entries} entries");
            Assert.Contains(entries.ToString(System.Globalization.CultureInfo.InvariantCulture) + " timeline entries", text);

            var full = new StringWriter();
            Assert.Equal(0, ReplayCommand.Run(null, path, null, PipelineOptions.Default, json: false, full, full: true));
            Assert.Contains("UE timeline", full.ToString());
            Assert.DoesNotContain("a summary", full.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
