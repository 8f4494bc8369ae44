using System.Text.Json.Nodes;
using MobiScud.Bench.Support;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Protocols.Link;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>
/// The S1AP-dense bench stream (`replay --bench-generate --bench-bundle N`): what it writes is read by tshark, which we
/// did not write: the same S1AP messages in fewer frames, no malformed packet, and the per-frame count the sender uses
/// (<see cref="SctpBundler.S1apMessages"/>) agrees with tshark's.
/// </summary>
public sealed class SctpBundlerTests
{
    private static readonly string[] _inputs =
        ["open5gs_testattach.pcapng", "magma_gx_gy_combined_04_32ue.pcapng", "mobiscud_home_enb_handovers.pcap"];

    [Fact]
    public async Task A_bundled_capture_holds_every_s1ap_message_of_the_original_in_fewer_frames_and_tshark_finds_nothing_malformed()
    {
        var inputs = _inputs.Select(TestData.Capture).ToList();
        var plain = Generate(inputs, bundle: 1, keepUeOrder: false);
        var dense = Generate(inputs, bundle: 16, keepUeOrder: false);
        try
        {
            // Two repetitions: the second one's TSNs are moved on, so tshark dissects it again rather than as retransmissions.
            var plainMessages = await S1apMessagesByTshark(plain);
            var denseMessages = await S1apMessagesByTshark(dense);
            Assert.True(plainMessages.Count > 500, $"only {plainMessages.Count} S1AP messages in the inputs");
            Assert.Equal(plainMessages.Order(StringComparer.Ordinal), denseMessages.Order(StringComparer.Ordinal));

            var denseFrames = (await Tshark.FieldsAsync(dense, "s1ap", "frame.number")).Count;
            var plainFrames = (await Tshark.FieldsAsync(plain, "s1ap", "frame.number")).Count;
            Assert.True(denseFrames * 3 < plainFrames, $"{denseFrames} bundled S1AP frames for {plainFrames} plain ones: barely bundled");
            Assert.Empty(await Tshark.FieldsAsync(dense, "_ws.malformed or _ws.expert.severity >= error", "frame.number"));

            // The sender's count, frame by frame, is tshark's.
            var counted = 0L;
            using (var source = CaptureFile.Open(dense))
            {
                while (source.TryReadNext(out var frame))
                {
                    Assert.True(LinkDecoder.TryDecode(frame.LinkType, frame.Data.Span, out _, out var at, out _));
                    counted += SctpBundler.S1apMessages(frame.Data.Span[at..]);
                }
            }

            Assert.Equal(denseMessages.Count, counted);

            // And our pipeline decodes every one of them.
            var replay = new StringWriter();
            Assert.Equal(0, ReplayCommand.Run(null, dense, null, PipelineOptions.Default, json: true, replay));
            var summary = JsonNode.Parse(replay.ToString())!;
            Assert.Equal(denseMessages.Count, summary["s1apMessages"]!.GetValue<long>());
            Assert.Equal(0, summary["undecodable"]!.GetValue<long>());
        }
        finally
        {
            File.Delete(plain);
            File.Delete(dense);
        }
    }

    [Fact]
    public void Keeping_every_ues_order_the_bundled_capture_replays_to_the_same_ue_events()
    {
        var inputs = _inputs.Select(TestData.Capture).ToList();
        var plain = Generate(inputs, bundle: 1, keepUeOrder: true);
        var ordered = Generate(inputs, bundle: 16, keepUeOrder: true);
        try
        {
            Assert.True(Frames(ordered) < Frames(plain), "nothing was bundled");
            Assert.Equal(Timelines(plain), Timelines(ordered));
        }
        finally
        {
            File.Delete(plain);
            File.Delete(ordered);
        }
    }

    [Fact]
    public void A_packet_that_is_not_ip_or_not_sctp_passes_unchanged_and_bad_arguments_are_refused()
    {
        var junk = new byte[] { 0x45, 0, 0 };
        var result = SctpBundler.Bundle([(1L, junk)], maxChunks: 8);
        Assert.Same(junk, Assert.Single(result).Ip);
        Assert.Equal(0, SctpBundler.S1apMessages(junk));
        Assert.Throws<ArgumentOutOfRangeException>(() => SctpBundler.Bundle([], maxChunks: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchCaptureGenerator.Generate([TestData.Capture(_inputs[0])], 1, Stream.Null, BenchFilter.Signalling, bundle: 33));
    }

    private static string Generate(IReadOnlyList<string> inputs, int bundle, bool keepUeOrder)
    {
        var path = Path.Combine(Path.GetTempPath(), $"msbundle-{Guid.NewGuid():n}.pcap");
        using var stream = File.Create(path);
        BenchCaptureGenerator.Generate(inputs, 2, stream, BenchFilter.Signalling, bundle, keepUeOrder);
        return path;
    }

    /// <summary>Every S1AP message tshark dissects: procedure code and PDU type, one entry per message.</summary>
    private static async Task<List<string>> S1apMessagesByTshark(string file)
    {
        var rows = await Tshark.FieldsAsync(file, "s1ap", "s1ap.procedureCode");
        return [.. rows.SelectMany(r => r[0].Split(',', StringSplitOptions.RemoveEmptyEntries))];
    }

    private static long Frames(string file)
    {
        using var source = CaptureFile.Open(file);
        var n = 0L;
        while (source.TryReadNext(out _))
        {
            n++;
        }

        return n;
    }

    /// <summary>Each UE's events and commands, without times and frame numbers (those move with bundling).</summary>
    private static Dictionary<string, List<string>> Timelines(string file)
    {
        var output = new StringWriter();
        Assert.Equal(0, ReplayCommand.Run(null, file, null, PipelineOptions.Default, json: true, output));
        var json = JsonNode.Parse(output.ToString())!;
        return json["ues"]!.AsArray().ToDictionary(
            u => u!["ue"]!.GetValue<string>(),
            u => u!["timeline"]!.AsArray().Select(t => LiveTapTests.Comparable(t!)).ToList());
    }
}
