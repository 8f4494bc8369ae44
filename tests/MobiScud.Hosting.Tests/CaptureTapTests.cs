using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using MobiScud.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// The real captures through `mobiscud serve` (pcap taps, two silos clustered on Redis or PostgreSQL) against `mobiscud replay`'s code path
/// run here on the same files: same UEs, same events, same commands per UE, same final state.
/// </summary>
public sealed class CaptureTapTests
{
    private const string TestEpc = "open5gs_testepc_2019.pcapng";

    /// <summary>The handover captures of SOURCES.md (X2 + S1 + cancel; a partial X2 view; EN-DC E-RAB modification; idle and service request).</summary>
    private static readonly string[] _captures = [TestEpc, "ttm4133_X2Handover.pcapng", "magma_nsa_connection.pcapng", "magma_inbound_roaming_05.pcapng"];

    private sealed record Reference(ReplaySession Session, ReplayResult Result);

    private static Reference Replay(string capture, IReadOnlyDictionary<EnbId, SiteId>? sites)
    {
        var session = new ReplaySession(sites);
        using var source = CaptureFile.Open(TestData.Capture(capture));
        return new Reference(session, session.Run(source, capture));
    }

    [Theory]
    [InlineData(StorageKind.Redis)]
    [InlineData(StorageKind.Postgres)]
    public async Task Serving_the_handover_captures_on_two_silos_gives_the_same_per_ue_results_as_replay(StorageKind storage)
    {
        // The replay path gives every eNB its own site; serve gets that map as configuration, and the reference is
        // replayed again with it, so both decide with the same McConfig.
        var map = _captures.SelectMany(c => Replay(c, null).Result.Sites).DistinctBy(kv => kv.Key).ToDictionary();
        var reference = _captures.ToDictionary(c => c, c => Replay(c, map));
        var ues = reference.Values.SelectMany(r => r.Session.States.Keys).ToList();
        Assert.Equal(ues.Count, ues.Distinct().Count()); // the captures' UEs are told apart in one service

        // Facts from tshark, so that agreeing with the replay path cannot be agreeing on nothing:
        //   tshark -r open5gs_testepc_2019.pcapng -Y 's1ap.procedureCode==3 && s1ap.initiatingMessage_element' | wc -l -> 2 (PathSwitchRequest)
        //   tshark -r open5gs_testepc_2019.pcapng -Y 's1ap.procedureCode==2' | wc -l -> 2 (HandoverNotify)
        //   tshark -r open5gs_testepc_2019.pcapng -Y 's1ap.procedureCode==4 && s1ap.initiatingMessage_element' | wc -l -> 1 (HandoverCancel)
        //   tshark -r magma_nsa_connection.pcapng -Y 's1ap.procedureCode==50 && s1ap.initiatingMessage_element' | wc -l -> 1 (E-RABModificationIndication)
        var epc = reference[TestEpc].Result.Entries;
        Assert.Equal(2, epc.Count(e => e.Event is PathSwitched));
        Assert.Equal(2, epc.Count(e => e.Event is HandoverCompleted));
        Assert.Equal(1, epc.Count(e => e.Event is HandoverCancelled));
        //   tshark -r open5gs_testepc_2019.pcapng -Y 's1ap.procedureCode==0 && s1ap.successfulOutcome_element' | wc -l -> 3 (HandoverCommand)
        Assert.Equal(3, epc.Count(e => e.Event is HandoverExecuting));
        Assert.Equal(1, reference["magma_nsa_connection.pcapng"].Result.Entries.Count(e => e.Event is BearerModified));
        Assert.Contains(reference["magma_inbound_roaming_05.pcapng"].Result.Entries, e => e.Event is ServiceRequested);
        Assert.Contains(reference["ttm4133_X2Handover.pcapng"].Session.States.Values, s => s.Imsi == "208950000000010");
        Assert.True(epc.SelectMany(e => e.Commands).Count(c => c is StartMigration) >= 2, "the handovers must move PVMs between sites");

        await using var backend = await TestStorage.StartAsync(storage);
        var cluster = $"taps-{Guid.NewGuid():N}";
        Dictionary<string, string?> Settings(bool taps)
        {
            var s = new Dictionary<string, string?>(backend.Settings)
            {
                ["MobiScud:Api:Token"] = ServeTestHost.Token,
                ["MobiScud:Api:Port"] = "0",
                ["MobiScud:Silo:SiloPort"] = RedisServer.FreePort().ToString(CultureInfo.InvariantCulture),
                ["MobiScud:Silo:GatewayPort"] = RedisServer.FreePort().ToString(CultureInfo.InvariantCulture),
                ["MobiScud:Silo:ClusterId"] = cluster,
                ["MobiScud:Hypervisor:Kind"] = "Replay",
            };
            var i = 0;
            foreach (var (enb, site) in map.OrderBy(kv => kv.Key.Value))
            {
                s[$"MobiScud:Sites:{i}:Name"] = site.Value;
                s[$"MobiScud:Sites:{i}:Enbs:0"] = enb.Value.ToString(CultureInfo.InvariantCulture);
                i++;
            }

            if (taps)
            {
                for (var t = 0; t < _captures.Length; t++)
                {
                    s[$"MobiScud:Taps:{t}:Pcap"] = TestData.Capture(_captures[t]);
                    // testepc at its recorded pace (35 s of capture, ten times faster); the others as fast as possible.
                    s[$"MobiScud:Taps:{t}:Speed"] = _captures[t] == TestEpc ? "Recorded" : "Max";
                    s[$"MobiScud:Taps:{t}:Rate"] = "10";
                }
            }

            return s;
        }

        // The second silo is up first; UE grains go to both silos in turn (random placement of 9 UEs may leave them all on one).
        await using var other = await ServeTestHost.StartAsync(Settings(taps: false), silo: AlternatingPlacement.Use);
        await using var serve = await ServeTestHost.StartAsync(Settings(taps: true), silo: AlternatingPlacement.Use);
        var taps = serve.App.Services.GetRequiredService<CaptureTaps>();
        await taps.FilesDone.WaitAsync(TimeSpan.FromMinutes(2));
        await serve.Pipeline.FlushAsync().WaitAsync(TimeSpan.FromMinutes(1));
        foreach (var status in taps.Status)
        {
            Assert.Null(status.Error);
            var expected = reference[Path.GetFileName(status.Name)].Result;
            Assert.Equal(expected.Statistics.Frames, status.Frames);
            Assert.Equal(expected.Statistics.S1apMessages, status.Statistics!.S1apMessages);
            Assert.Equal(expected.Entries.Count, status.Events);
        }

        var placed = await serve.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        Assert.Equal(2, placed.Where(p => p.GrainType.Contains(nameof(UeGrain)) && p.ActivationCount > 0).Select(p => p.SiloAddress).Distinct().Count());

        Assert.Equal(ues.Select(u => u.Value).Order(StringComparer.Ordinal), await UePartitions.AllAsync(serve.Grains));
        foreach (var (capture, r) in reference)
        {
            foreach (var (ue, expected) in r.Session.States)
            {
                var grain = serve.Grains.GetGrain<IUeGrain>(ue.Value);
                var timeline = await grain.Timeline();
                var mine = r.Result.Entries.Where(e => e.Event.Ue == ue).ToList();

                // The tracker's events, in order (serve's timeline also holds the hypervisor's PvmStarted outcomes).
                Assert.Equal(
                    mine.Select(e => McText.Describe(e.Event)),
                    timeline.Where(t => t.Event is not null and not PvmStarted).Select(t => McText.Describe(t.Event!)));

                // Every command the MC issued for the UE, in order; notifications are timeline entries of their own.
                var replayCommands = mine.SelectMany(e => e.Commands).Where(c => c is not Notify).Select(McText.Describe).ToList();
                var serveCommands = timeline.Where(t => t.Event is not null).SelectMany(t => t.Commands ?? []).Select(McText.Describe).ToList();
                Assert.True(replayCommands.SequenceEqual(serveCommands), $"{capture} {ue}: replay\n  {string.Join("\n  ", replayCommands)}\nserve\n  {string.Join("\n  ", serveCommands)}");
                var replayNotes = mine.SelectMany(e => e.Commands).OfType<Notify>().Select(n => $"{n.Kind}: {n.Detail}");
                var serveNotes = timeline.Where(t => t.Event is null).Select(t => $"{t.Kind}: {t.Detail}");
                Assert.Equal(replayNotes, serveNotes);

                // The same final state: serving eNB, PVM and its site, bearers and TEIDs, steering, migration in flight.
                var state = (await grain.Get()).State;
                Assert.Equal(Timeless(expected), Timeless(state));
            }
        }

        var handovers = (await Task.WhenAll(ues.Select(u => serve.Grains.GetGrain<IUeGrain>(u.Value).Timeline())))
            .SelectMany(t => t).Count(t => t.Event is PathSwitched or HandoverCompleted);
        Assert.Equal(4, handovers); // testepc's 2 path switches and 2 S1 handovers, seen by serve itself
    }

    [Fact]
    public void A_missing_or_broken_capture_is_a_configuration_error_naming_the_key_and_the_file()
    {
        var broken = Path.Combine(Path.GetTempPath(), $"mobiscud-hosting-{Environment.ProcessId}-broken.pcap");
        File.WriteAllBytes(broken, [1, 2, 3, 4, 5, 6, 7, 8]);
        var missing = Path.Combine(Path.GetTempPath(), $"mobiscud-hosting-{Environment.ProcessId}-missing.pcapng");
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides
        {
            Settings = new Dictionary<string, string?>
            {
                ["MobiScud:Api:Token"] = ServeTestHost.Token,
                ["MobiScud:Taps:0:Pcap"] = missing,
                ["MobiScud:Taps:1:Pcap"] = broken,
                ["MobiScud:Taps:2:Interface"] = "no-such-nic0",
                ["MobiScud:Taps:3:Pcap"] = TestData.Capture(TestEpc),
                ["MobiScud:Taps:3:Rate"] = "0",
            },
        }));
        Assert.Contains(ex.Failures, f => f.StartsWith("MobiScud:Taps:0:Pcap", StringComparison.Ordinal) && f.Contains(missing) && f.Contains("does not exist"));
        Assert.Contains(ex.Failures, f => f.StartsWith("MobiScud:Taps:1:Pcap", StringComparison.Ordinal) && f.Contains(broken) && f.Contains("neither pcap nor pcapng"));
        Assert.Contains(ex.Failures, f => f.StartsWith("MobiScud:Taps:2:Interface", StringComparison.Ordinal) && f.Contains("no-such-nic0"));
        Assert.Contains(ex.Failures, f => f.StartsWith("MobiScud:Taps:3", StringComparison.Ordinal) && f.Contains("Rate"));
    }

    [Fact]
    public async Task A_capture_broken_part_way_stops_its_tap_with_the_file_and_offset_and_keeps_what_was_applied()
    {
        // A valid header and the first blocks of a real capture, then cut short: only reading finds the damage.
        var bytes = await File.ReadAllBytesAsync(TestData.Capture(TestEpc));
        var cut = Path.Combine(Path.GetTempPath(), $"mobiscud-hosting-{Environment.ProcessId}-cut.pcapng");
        await File.WriteAllBytesAsync(cut, bytes[..(bytes.Length / 2 + 3)]);
        await using var serve = await ServeTestHost.StartAsync(ServeTestHost.Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Replay",
            ["MobiScud:Taps:0:Pcap"] = cut,
            ["MobiScud:Taps:0:Speed"] = "Max",
        }));
        var taps = serve.App.Services.GetRequiredService<CaptureTaps>();
        await taps.FilesDone.WaitAsync(TimeSpan.FromMinutes(1));
        await serve.Pipeline.FlushAsync().WaitAsync(TimeSpan.FromMinutes(1));
        var status = Assert.Single(taps.Status);
        Assert.NotNull(status.Error);
        Assert.Contains(cut, status.Error);
        Assert.Contains("byte offset", status.Error);
        Assert.True(status.Events > 0, "the events before the damage are applied");
        Assert.NotEmpty(await UePartitions.AllAsync(serve.Grains));
        using var api = serve.Client();
        var metrics = await api.GetStringAsync("/metrics");
        Assert.Contains("mobiscud_decode_errors_total{", metrics);
        Assert.Contains("reason=\"capture-truncated\"", metrics);
    }

    /// <summary>The state as JSON without its times (serve moves a capture's times onto its own clock).</summary>
    private static string Timeless(UeState? state)
    {
        var node = JsonSerializer.SerializeToNode(state, McJson.Options);
        Strip(node);
        return node?.ToJsonString() ?? "null";

        static void Strip(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var key in o.Select(kv => kv.Key).Where(k => k is "at" or "startedAt" or "lastEventAt" or "migrationBlockedUntil" or "servingSince" or "siteSince" or "previousSince" or "policyReviewAt" or "retryAt").ToList())
                    {
                        o.Remove(key);
                    }

                    foreach (var (_, child) in o)
                    {
                        Strip(child);
                    }

                    break;
                case JsonArray a:
                    foreach (var child in a)
                    {
                        Strip(child);
                    }

                    break;
            }
        }
    }
}
