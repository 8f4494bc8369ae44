using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Protocols.Tests.Captures;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>
/// Issue 14 item 1 through `mobiscud replay`: the Home eNB capture (two HeNBs, no S1 Setup, an S1 handover one way, an
/// X2 handover back, idle, a service request) shows two eNBs, and a sites map of Home eNB ids puts the MC's commands
/// at the right sites.
/// </summary>
public sealed class HomeEnbReplayTests
{
    private static readonly EnbId _heNb1 = new(HomeEnbCapture.HeNb1);
    private static readonly EnbId _heNb2 = new(HomeEnbCapture.HeNb2);

    [Fact]
    public void A_sites_map_of_home_enb_ids_puts_every_command_at_the_site_of_the_enb_serving_the_ue()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mobiscud-home-{Environment.ProcessId}-sites.txt");
        File.WriteAllLines(file, ["# Home eNB ids: 28 bits", "home:0x00A2C01 site-a", "0x00A2D01 site-b"]);
        var map = ReplayCommand.ReadSites(file);
        Assert.Equal(new Dictionary<EnbId, SiteId> { [_heNb1] = new("site-a"), [_heNb2] = new("site-b") }, map);

        var session = new ReplaySession(map);
        using var source = CaptureFile.Open(TestData.Capture(HomeEnbCapture.FileName));
        var result = session.Run(source, HomeEnbCapture.FileName);

        Assert.DoesNotContain(result.Entries, e => e.Event is EnbIdentified);
        Assert.Equal(["UeAttached", "HandoverPrepared", "HandoverExecuting", "HandoverCompleted", "PathSwitched", "UeReleasedToIdle", "ServiceRequested"], result.Entries.Select(e => e.Event.GetType().Name));
        Assert.Equal(new CreatePvm(result.Entries[0].Event.Ue, PvmId.For(result.Entries[0].Event.Ue), new SiteId("site-a")), Assert.Single(result.Entries[0].Commands.OfType<CreatePvm>()));

        // Steering is installed at the switch of the site whose eNB serves the UE, via that eNB: A, then B, A, and B again.
        EnbId? serving = null;
        var steered = new List<(EnbId Enb, SiteId Switch)>();
        foreach (var entry in result.Entries)
        {
            serving = entry.Event switch
            {
                UeAttached a => a.Enb,
                HandoverCompleted c => c.Target,
                PathSwitched p => p.Target,
                ServiceRequested s => s.Enb,
                _ => serving,
            };
            foreach (var install in entry.Commands.OfType<InstallSteering>())
            {
                Assert.Equal(serving, install.Intent.Enb);
                Assert.Equal(map[serving!.Value], install.Intent.SwitchSite);
                steered.Add((install.Intent.Enb, install.Intent.SwitchSite));
            }
        }

        Assert.Equal([_heNb1, _heNb2, _heNb1, _heNb2], Runs(steered.Select(s => s.Enb)));
        var sites = result.Entries.SelectMany(e => e.Commands).SelectMany(c => c switch
        {
            CreatePvm p => [p.Site],
            StartMigration m => [m.From, m.To],
            InstallSteering s => [s.Intent.SwitchSite, s.Intent.PvmSite],
            RemoveSteering r => new[] { r.SwitchSite },
            _ => [],
        }).Distinct().OrderBy(s => s.Value, StringComparer.Ordinal).ToList();
        Assert.Equal([new SiteId("site-a"), new SiteId("site-b")], sites);
    }

    [Fact]
    public void Without_a_sites_map_the_replay_shows_two_enbs_and_says_how_it_learnt_the_first()
    {
        var output = new StringWriter();
        Assert.Equal(0, ReplayCommand.Run(null, TestData.Capture(HomeEnbCapture.FileName), null, PipelineOptions.Default, json: true, output));
        var json = JsonNode.Parse(output.ToString())!.AsObject();
        Assert.Equal(["666625", "666881"], json["sites"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        var timeline = json["ues"]!.AsArray().Single()!["timeline"]!.AsArray();
        var renamed = timeline.Single(t => t!["event"]!["type"]!.GetValue<string>() == "EnbIdentified")!;
        Assert.StartsWith("enb-2604 is enb-666625", renamed["event"]!["summary"]!.GetValue<string>(), StringComparison.Ordinal);

        // The PVM placed at the site first named after the cell's macro reading stays there: same eNB, better name.
        Assert.Equal("site-enb-2604", json["sites"]!["666625"]!.GetValue<string>());
        Assert.Contains(json["notes"]!.AsArray(), n => n!.GetValue<string>().Contains("home reading of cell 0x00A2C01", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0x00A2C01", 0x00A2C01u)]
    [InlineData("home:0x00A2C01", 0x00A2C01u)]
    [InlineData("home:666625", 0x00A2C01u)]
    [InlineData("HOME:0xa2c01", 0x00A2C01u)]
    [InlineData("macro:0xA2C", 0xA2Cu)]
    [InlineData("2604", 2604u)]
    [InlineData("enb-666625", 666625u)]
    [InlineData("enb-2402083438", 2402083438u)] // an id the tracker derived from an association, as replay prints it
    [InlineData("0x0FFFFFFF", 0x0FFFFFFFu)]
    [InlineData("macro:0x100000", null)] // 21 bits: not a macro eNB id
    [InlineData("home:0x10000000", null)] // 29 bits: not a Home eNB id
    [InlineData("0x10000000", null)]
    [InlineData("home:enb-1", null)]
    [InlineData("-1", null)]
    [InlineData("0x", null)]
    public void Sites_map_enb_ids_are_macro_or_home_ids_in_decimal_or_hex(string text, uint? id) =>
        Assert.Equal(id is { } v ? new EnbId(v) : null, ReplayCommand.ParseEnbId(text));

    [Theory]
    [InlineData("gnb:0x4000", 0x4000u)]
    [InlineData("GNB:16384", 0x4000u)]
    [InlineData("gnb-16384", 0x4000u)]
    [InlineData("gnb:0xFFFFFFF0", 0xFFFFFFF0u)] // a 32-bit gNB id
    [InlineData("gnb:0x100000000", null)]
    [InlineData("gnb:", null)]
    [InlineData("gnb:-1", null)]
    public void Sites_map_gnb_ids_are_nr_nodes_apart_from_the_enb_with_the_same_number(string text, uint? id)
    {
        var parsed = ReplayCommand.ParseEnbId(text);
        Assert.Equal(id is { } v ? new EnbId(v, Rat.Nr) : null, parsed);
        if (parsed is { } p)
        {
            Assert.NotEqual(new EnbId(p.Value), p);
            Assert.Equal($"gnb-{p.Value}", p.ToString());
        }
    }

    private static List<EnbId> Runs(IEnumerable<EnbId> ids)
    {
        var runs = new List<EnbId>();
        foreach (var id in ids)
        {
            if (runs.Count == 0 || runs[^1] != id)
            {
                runs.Add(id);
            }
        }

        return runs;
    }
}
