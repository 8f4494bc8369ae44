using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>
/// `mobiscud replay --live` as an operator runs it: the CLI in its own process captures on one end of a veth pair
/// while Debian's tcpreplay plays a shared capture into the other end; then SIGINT, as Ctrl+C sends it.
/// </summary>
public sealed class LiveTapTests(ITestOutputHelper output)
{
    private const string Capture = "magma_gx_gy_combined_04_32ue.pcapng";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Live_json_streams_the_same_ue_events_as_the_file_and_sigint_prints_the_summary(int threads)
    {
        var tcpreplay = ExternalTool.Require("tcpreplay", "tcpreplay");
        var ip = ExternalTool.Require("ip", "iproute2");
        var file = TestData.Capture(Capture);

        // The reference: the same file replayed, UE by UE.
        var reference = new StringWriter();
        Assert.Equal(0, ReplayCommand.Run(null, file, null, PipelineOptions.Default, json: true, reference));
        var expected = JsonNode.Parse(reference.ToString())!;
        var expectedEvents = expected["ues"]!.AsArray().Sum(u => u!["timeline"]!.AsArray().Count);
        Assert.True(expectedEvents > 32, $"the reference replay found only {expectedEvents} events");

        var name = $"mslt{Environment.ProcessId % 100000}";
        var (sender, receiver) = (name + "a", name + "b");
        var written = Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():n}.pcapng");
        await Run(ip, ["link", "del", sender], mayFail: true);
        await Run(ip, ["link", "add", sender, "type", "veth", "peer", "name", receiver]);
        try
        {
            await Run(ip, ["link", "set", sender, "up"]);
            await Run(ip, ["link", "set", receiver, "up"]);
            using var cli = new CliProcess(["replay", "--live", receiver, "--json", "--write", written, "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await cli.WaitForAsync(() => cli.StdErr.Contains("capturing on", StringComparison.Ordinal), "the capture to start");

            // A moderate rate: 2,000 packets/s, so the 4,070 packets take about 2 s.
            await Run(tcpreplay, ["-q", "-i", sender, "--pps=2000", file]);
            await cli.WaitForAsync(() => cli.Lines().Count(l => l.Contains("\"type\":\"event\"", StringComparison.Ordinal)) >= expectedEvents, $"{expectedEvents} events");

            Assert.Equal(0, (await ExternalTool.RunAsync("kill", ["-INT", cli.Id.ToString()], TimeSpan.FromSeconds(10))).ExitCode);
            var exit = await cli.WaitForExitAsync(TimeSpan.FromSeconds(30));
            output.WriteLine(cli.StdErr);
            Assert.True(exit == 0, $"exit code {exit} after SIGINT; stderr: {cli.StdErr}");

            var lines = cli.Lines().Select(l => JsonNode.Parse(l)!).ToList();
            var summary = lines[^1];
            Assert.Equal("summary", summary["type"]!.GetValue<string>());
            var events = lines.Where(l => l["type"]!.GetValue<string>() == "event").ToList();
            Assert.Equal(lines.Count - 1, events.Count);

            // Same UEs, same events and commands in the same order per UE; times and frame numbers differ (tcpreplay's pace, the filter).
            var live = events.GroupBy(e => e["ue"]!.GetValue<string>()).ToDictionary(g => g.Key, g => g.Select(Comparable).ToList());
            var fromFile = expected["ues"]!.AsArray().ToDictionary(u => u!["ue"]!.GetValue<string>(), u => u!["timeline"]!.AsArray().Select(t => Comparable(t!)).ToList());
            Assert.Equal(fromFile.Keys.Order(), live.Keys.Order());
            foreach (var (ue, timeline) in fromFile)
            {
                Assert.Equal(timeline, live[ue]);
            }

            Assert.Equal(expected["s1apMessages"]!.GetValue<long>(), summary["s1apMessages"]!.GetValue<long>());
            Assert.Equal(fromFile.Count, summary["ueCount"]!.GetValue<int>());
            Assert.Equal(0, summary["undecodable"]!.GetValue<long>());
            var capture = summary["capture"]!;
            Assert.Equal(0, capture["kernelDropped"]!.GetValue<long>());
            Assert.Equal(0, capture["interfaceDropped"]!.GetValue<long>());
            Assert.True(capture["nanosecondTimestamps"]!.GetValue<bool>());
            Assert.Equal(summary["frames"]!.GetValue<long>(), capture["received"]!.GetValue<long>());
            Assert.Equal(0, capture["unreadAtStop"]!.GetValue<long>());
            Assert.Equal(threads, summary["threads"]!.GetValue<int>());
            if (threads == 2)
            {
                // Every message decoded on the capture thread was tracked on the other one.
                var handoff = summary["handoff"]!;
                Assert.True(handoff["handedOver"]!.GetValue<long>() >= expected["s1apMessages"]!.GetValue<long>());
                Assert.Equal(0, handoff["notTracked"]!.GetValue<long>());
            }

            // What --write recorded, read by tshark: every S1AP frame of the original.
            var s1apOriginal = await Tshark.FieldsAsync(file, "s1ap", "frame.number");
            var s1apWritten = await Tshark.FieldsAsync(written, "s1ap", "frame.number");
            Assert.Equal(s1apOriginal.Count, s1apWritten.Count);
            Assert.Equal(capture["written"]!.GetValue<long>(), (await Tshark.FieldsAsync(written, string.Empty, "frame.number")).Count);
        }
        finally
        {
            await Run(ip, ["link", "del", sender], mayFail: true);
            File.Delete(written);
        }
    }

    [Fact]
    public async Task Two_fanout_members_share_the_frames_each_exactly_once()
    {
        var tcpreplay = ExternalTool.Require("tcpreplay", "tcpreplay");
        var tcpdump = ExternalTool.Require("tcpdump", "tcpdump");
        var ip = ExternalTool.Require("ip", "iproute2");
        var file = TestData.Capture(Capture);
        var filter = CaptureFilter.For(PipelineOptions.Default);
        // The oracle: tcpdump applies the same BPF filter to the file.
        var dump = await ExternalTool.RunAsync(tcpdump, ["-r", file, "-nn", "-q", filter], TimeSpan.FromSeconds(60));
        var passed = dump.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.True(passed > 1000, $"tcpdump passed only {passed} frames: {dump.StdErr}");
        // PACKET_FANOUT_FLAG_DEFRAG hands each fragmented datagram over whole: one frame fewer per non-first fragment.
        var nonFirstFragments = (await Tshark.FieldsAsync(file, "ip.frag_offset > 0", "frame.number")).Count;
        var expected = passed - nonFirstFragments;
        var reference = new SignallingPipeline(new NoSink());
        using (var source = CaptureFile.Open(file))
        {
            reference.Run(source);
        }

        var name = $"mslf{Environment.ProcessId % 100000}";
        var (sender, receiver) = (name + "a", name + "b");
        await Run(ip, ["link", "del", sender], mayFail: true);
        await Run(ip, ["link", "add", sender, "type", "veth", "peer", "name", receiver]);
        try
        {
            await Run(ip, ["link", "set", sender, "up"]);
            await Run(ip, ["link", "set", receiver, "up"]);
            var options = new LiveCaptureOptions { FanoutGroup = Environment.ProcessId & 0xFFFF };
            using var first = new LiveCaptureSource(receiver, options);
            using var second = new LiveCaptureSource(receiver, options);
            var pipelines = new[] { new SignallingPipeline(new NoSink()), new SignallingPipeline(new NoSink()) };
            var readers = new[] { first, second }.Select((source, i) => new Thread(() =>
            {
                while (source.TryReadNext(out var frame))
                {
                    pipelines[i].Process(frame);
                }
            })).ToList();
            readers.ForEach(t => t.Start());
            await Run(tcpreplay, ["-q", "-i", sender, "--pps=2000", file]);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (first.Frames + second.Frames < expected && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            first.Stop();
            second.Stop();
            readers.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(10)), "a reader did not stop"));
            Assert.Equal(expected, first.Frames + second.Frames);
            Assert.Equal(0, first.Statistics().KernelDropped + second.Statistics().KernelDropped);
            // Hashed by flow, both directions alike: every S1AP message is still decoded, by one member or the other.
            Assert.Equal(reference.Statistics.S1apMessages, pipelines.Sum(p => p.Statistics.S1apMessages));
            Assert.Equal(0, pipelines.Sum(p => p.Statistics.Undecodable));
        }
        finally
        {
            await Run(ip, ["link", "del", sender], mayFail: true);
        }
    }

    [Fact]
    public void An_interface_that_does_not_exist_is_named_in_the_error_and_exits_3()
    {
        var error = new StringWriter();
        var code = ReplayCommand.RunLive("nosuchif0", LiveCaptureOptions.Default, null, null, PipelineOptions.Default, json: true, new StringWriter(), error);
        Assert.Equal(3, code);
        Assert.Contains("nosuchif0", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>An entry without its times and frame numbers (they differ between a file and a live capture of it).</summary>
    internal static string Comparable(JsonNode entry)
    {
        var copy = entry.DeepClone().AsObject();
        foreach (var key in new[] { "type", "ue", "at", "frame", "wireNanos", "decisionMicros" })
        {
            copy.Remove(key);
        }

        RemoveTimes(copy);
        return copy.ToJsonString();
    }

    private static void RemoveTimes(JsonNode? node)
    {
        if (node is JsonObject o)
        {
            o.Remove("at");
            foreach (var (_, child) in o.ToList())
            {
                RemoveTimes(child);
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var child in a)
            {
                RemoveTimes(child);
            }
        }
    }

    private static async Task Run(string tool, string[] args, bool mayFail = false)
    {
        var result = await ExternalTool.RunAsync(tool, args, TimeSpan.FromSeconds(60));
        Assert.True(mayFail || result.ExitCode == 0, $"{Path.GetFileName(tool)} {string.Join(' ', args)}: exit {result.ExitCode}: {result.StdErr}");
    }

    private sealed class NoSink : ISignallingSink
    {
        public void OnS1ap(in PayloadContext context, MobiScud.Protocols.S1ap.S1apSummary summary)
        {
        }

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
        {
        }
    }

    /// <summary>The CLI as a child process, its stdout and stderr collected as they come; killed if still running at the end.</summary>
    private sealed class CliProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _out = new();
        private readonly StringBuilder _err = new();

        public CliProcess(IEnumerable<string> args)
        {
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mobiscud.dll"));
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start mobiscud");
            _process.OutputDataReceived += (_, e) => Append(_out, e.Data);
            _process.ErrorDataReceived += (_, e) => Append(_err, e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public int Id => _process.Id;

        public string StdErr
        {
            get
            {
                lock (_err)
                {
                    return _err.ToString();
                }
            }
        }

        public List<string> Lines()
        {
            lock (_out)
            {
                return _out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            }
        }

        public async Task WaitForAsync(Func<bool> condition, string what)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!condition())
            {
                if (_process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"waited in vain for {what} (exited: {_process.HasExited}); stderr:\n{StdErr}\n{Lines().Count} stdout lines, the last: {Lines().LastOrDefault()?[..Math.Min(400, Lines().Last().Length)]}");
                }

                await Task.Delay(50);
            }
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new InvalidOperationException($"mobiscud did not exit within {timeout.TotalSeconds} s of SIGINT; stderr:\n{StdErr}");
            }

            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }

        private static void Append(StringBuilder sb, string? line)
        {
            if (line is not null)
            {
                lock (sb)
                {
                    sb.AppendLine(line);
                }
            }
        }
    }
}
