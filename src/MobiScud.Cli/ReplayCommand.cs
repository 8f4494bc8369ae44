using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Bench.Support;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Model;
using Spectre.Console;

namespace MobiScud.Cli;

/// <summary>`mobiscud replay FILE`: a capture's UEs as the MC sees them, and the commands it would issue.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "pcap or pcapng capture(s); with --bench, all are measured", Arity = ArgumentArity.ZeroOrMore };
        var json = new Option<bool>("--json") { Description = "Print the timeline, commands and counters as JSON" };
        var live = new Option<string?>("--live") { Description = "Capture live from this interface (libpcap) and stream each UE event and MC command as it happens; Ctrl+C or SIGTERM stops and prints the summary" };
        var write = new Option<string?>("--write") { Description = "With --live: also write the captured frames to this pcapng file (nanosecond timestamps, drop counters at the end)" };
        var captureMode = new Option<LiveCaptureMode>("--capture-mode") { Description = "With --live: Ring (our TPACKET_V3 ring of small blocks, read in place; Ethernet interfaces), Block (libpcap TPACKET_V3: 256 KiB blocks, handed over at the latest after --block-timeout-ms) or Immediate (libpcap: each frame wakes the reader; a ring of snaplen-sized slots)", DefaultValueFactory = _ => LiveCaptureMode.Ring };
        var blockTimeout = new Option<int>("--block-timeout-ms") { Description = "With --capture-mode Block: the longest a frame waits in a part-filled block", DefaultValueFactory = _ => 1 };
        var bufferMb = new Option<int>("--buffer-mb") { Description = "With --live: kernel ring size in MiB (absorbs the reader's stalls: 256 holds ~4 s at 200,000 S1AP messages/s; docs/capture.md)", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "With --live: 2 decodes on the capture thread and tracks + decides on a second one (bounded SPSC handoff, capture order kept); 1 does all on one thread", DefaultValueFactory = _ => 2 };
        var realtime = new Option<int>("--realtime-priority") { Description = "With --live: run the capture and tracker threads SCHED_RR at this priority (1-99; needs root or CAP_SYS_NICE), so that on a loaded host they get the CPU they need at once (docs/capture.md); 0: normal scheduling", DefaultValueFactory = _ => 0 };
        var decodeOnly = new Option<bool>("--decode-only") { Description = "With --live: capture and decode only, no UE tracker or MC (measures the tap's own capacity)" };
        var quiet = new Option<bool>("--quiet") { Description = "With --live: print only the summary at the end (rate measurements, long runs)" };
        var filter = new Option<string?>("--filter") { Description = "With --live: BPF filter instead of the default (SCTP, RFC 6951 port, GTPv2-C, GTP-U, IP fragments; also in a VLAN)" };
        var sites = new Option<string?>("--sites") { Description = "eNB/gNB -> site map file, one 'ENB_ID SITE' per line; ENB_ID as replay prints it (enb-N, gnb-N) or decimal or 0x hex: a macro eNB's 20-bit id (e.g. 0xA2C) or a Home eNB's 28-bit id (e.g. 0x00A2C01, or home:0x00A2C01), or a gNB's id with gnb: (e.g. gnb:0x4000); default: one site per eNB/gNB" };
        var sctpUdpPort = new Option<int>("--sctp-udp-port") { Description = "UDP port of UDP-encapsulated SCTP (RFC 6951)", DefaultValueFactory = _ => 9899 };
        var full = new Option<bool>("--full") { Description = $"Print every UE's timeline table even for a large capture (above {SummaryUes} UEs or {SummaryEntries} entries the table is a summary: counts by event and command, the busiest UEs)" };
        var timings = new Option<bool>("--timings") { Description = "Print the CPU time of each phase (read, decode, track and decide; render) on stderr" };
        var bench = new Option<bool>("--bench") { Description = "Benchmark: whole process (decode --fields, decode --json, replay --json, replay) against tshark -T fields of the same fields on one large generated capture, with its message mix; in-memory rates apart. Without files: the repository's S1AP and NGAP mixes" };
        var seconds = new Option<double>("--bench-seconds") { Description = "With --bench: minimum CPU seconds per in-memory figure", DefaultValueFactory = _ => 3 };
        var noTshark = new Option<bool>("--bench-no-tshark") { Description = "With --bench: only the message mix and the in-memory figures (no whole-process runs)" };
        var repeat = new Option<int>("--bench-repeat") { Description = "Repetitions (fresh SCTP TSNs) of the inputs in the generated capture", DefaultValueFactory = _ => 200 };
        var runs = new Option<int>("--bench-runs") { Description = "With --bench: timed rounds of the whole-process commands, after one warm-up", DefaultValueFactory = _ => 3 };
        var keep = new Option<string?>("--bench-keep") { Description = "With --bench: keep the generated capture(s) at this path (a suffix per mix)" };
        var bundle = new Option<int>("--bench-bundle") { Description = "With --bench-generate: bundle up to N S1AP/NGAP DATA chunks of one association and direction per SCTP packet (RFC 4960 bundling; an S1AP-dense stream for rate measurements: TSN order kept per flow, messages move ahead of up to 256 packets, answers included)", DefaultValueFactory = _ => 1 };
        var generate = new Option<string?>("--bench-generate") { Description = "Only write the capture --bench measures (the files' S1AP/NGAP associations and some GTP-U, --bench-repeat times with fresh TSNs; raw IP pcap) to this file, e.g. for tcpreplay after `tcprewrite --dlt=enet`" };
        var command = new Command("replay", "Replay real S1AP (+S11, GTP-U) captures through the UE tracker and the MC");
        command.Arguments.Add(files);
        foreach (var o in new Option[] { json, full, timings, live, write, quiet, decodeOnly, captureMode, blockTimeout, bufferMb, filter, sites, sctpUdpPort, bench, seconds, repeat, runs, keep, noTshark, generate, bundle, threads, realtime })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, cancellation) =>
        {
            if (parse.GetValue(sctpUdpPort) is var port and (< 1 or > 65535))
            {
                // A cast would silently make 70000 port 4464.
                Console.Error.WriteLine($"mobiscud replay: --sctp-udp-port {port} is not a UDP port (1-65535)");
                return Task.FromResult(2);
            }

            var options = PipelineOptions.Default with { SctpOverUdpPort = (ushort)parse.GetValue(sctpUdpPort) };
            var paths = parse.GetValue(files) ?? [];
            if (parse.GetValue(generate) is { } generated)
            {
                if (parse.GetValue(bundle) is < 1 or > 32)
                {
                    Console.Error.WriteLine("mobiscud replay: --bench-bundle must be 1 to 32");
                    return Task.FromResult(2);
                }

                using var stream = new FileStream(generated, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
                var (frames, bytes) = BenchCaptureGenerator.Generate(paths, parse.GetValue(repeat), stream, BenchFilter.Signalling, parse.GetValue(bundle));
                Console.Out.WriteLine($"{generated}: {frames} frames, {bytes} bytes");
                return Task.FromResult(0);
            }

            if (parse.GetValue(bench))
            {
                if (parse.GetValue(repeat) < 1 || parse.GetValue(runs) < 1)
                {
                    Console.Error.WriteLine("mobiscud replay: --bench-repeat and --bench-runs must be at least 1");
                    return Task.FromResult(2);
                }

                var settings = new BenchSettings(paths, parse.GetValue(repeat), parse.GetValue(runs), parse.GetValue(seconds), !parse.GetValue(noTshark), Ngap: true, parse.GetValue(keep));
                return Task.FromResult(ReplayBench.Run(settings, Console.Out));
            }

            IReadOnlyDictionary<EnbId, SiteId>? siteMap = null;
            if (parse.GetValue(sites) is { } sitesFile)
            {
                try
                {
                    siteMap = ReadSites(sitesFile);
                }
                catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine(e.Message);
                    return Task.FromResult(2);
                }
            }

            var liveInterface = parse.GetValue(live);
            if (liveInterface is null && paths.Length != 1)
            {
                Console.Error.WriteLine("replay needs exactly one capture file (or --live IFACE)");
                return Task.FromResult(2);
            }

            if (liveInterface is not null)
            {
                var capture = new LiveCaptureOptions
                {
                    Mode = parse.GetValue(captureMode),
                    BlockTimeoutMs = parse.GetValue(blockTimeout),
                    BufferBytes = checked(parse.GetValue(bufferMb) << 20),
                    Filter = parse.GetValue(filter),
                };
                if (parse.GetValue(realtime) is < 0 or > 99)
                {
                    Console.Error.WriteLine($"mobiscud replay: --realtime-priority {parse.GetValue(realtime)} is outside 0..99");
                    return Task.FromResult(2);
                }

                if (parse.GetValue(threads) is not (1 or 2))
                {
                    Console.Error.WriteLine("mobiscud replay: --threads must be 1 or 2");
                    return Task.FromResult(2);
                }

                return RunLiveAsync(liveInterface, capture, parse.GetValue(write), siteMap, options, parse.GetValue(json), parse.GetValue(quiet) || parse.GetValue(decodeOnly), cancellation, parse.GetValue(decodeOnly), parse.GetValue(threads), parse.GetValue(realtime));
            }

            if (parse.GetValue(write) is not null)
            {
                Console.Error.WriteLine("--write needs --live");
                return Task.FromResult(2);
            }

            if (!parse.GetValue(json))
            {
                return Task.FromResult(Run(null, paths[0], siteMap, options, json: false, Console.Out, cancellation, parse.GetValue(full), parse.GetValue(timings) ? Console.Error : null));
            }

            // JSON goes to stdout through one large buffer, not Console.Out's autoflushing writer.
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16) { AutoFlush = false };
            var code = Run(null, paths[0], siteMap, options, json: true, stdout, cancellation, timings: parse.GetValue(timings) ? Console.Error : null);
            stdout.Flush();
            return Task.FromResult(code);
        });
        return command;
    }

    /// <summary>
    /// The live view on its own thread, so that the command line's SIGINT/SIGTERM handling sees a running task: it
    /// cancels the token, the token wakes the capture, and the summary is printed before the process exits 0.
    /// </summary>
    private static Task<int> RunLiveAsync(string iface, LiveCaptureOptions capture, string? write, IReadOnlyDictionary<EnbId, SiteId>? sites, PipelineOptions options, bool json, bool quiet, CancellationToken cancellation, bool decodeOnly, int threads, int realtimePriority)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                // Our own buffered writer: lines are flushed once per frame that produced any, not once per line.
                using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16) { AutoFlush = false };
                done.SetResult(RunLive(iface, capture, write, sites, options, json, stdout, Console.Error, cancellation, quiet, decodeOnly, threads, realtimePriority));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = $"capture {iface}" };
        thread.Start();
        return done.Task;
    }

    /// <summary>`replay --live`: streams events and commands until stopped, then the summary. 3 if the capture cannot start or fails.</summary>
    public static int RunLive(string iface, LiveCaptureOptions capture, string? write, IReadOnlyDictionary<EnbId, SiteId>? sites, PipelineOptions options, bool json, TextWriter output, TextWriter error, CancellationToken cancellation = default, bool quiet = false, bool decodeOnly = false, int threads = 1, int realtimePriority = 0)
    {
        // Compiled before the capture opens, so that no frame queues behind the JIT.
        var live = new LiveReplay(new ReplaySession(sites, retain: false), output, json, quiet) { DecodeOnly = decodeOnly, Threads = threads, RealtimePriority = realtimePriority };
        live.WarmUp();
        LiveCaptureSource source;
        try
        {
            source = new LiveCaptureSource(iface, capture, options, cancellation);
        }
        catch (CaptureFormatException e)
        {
            error.WriteLine(e.Message);
            return 3;
        }

        using (source)
        {
            return live.Run(source, write, options, error, cancellation);
        }
    }

    /// <summary>Runs a replay and prints it; the entry point the tests call in-process.</summary>
    /// <param name="full">Print every UE's table, however many UEs.</param>
    /// <param name="timings">Where to write the CPU time of each phase (null: nowhere).</param>
    public static int Run(string? liveInterface, string? file, IReadOnlyDictionary<EnbId, SiteId>? sites, PipelineOptions options, bool json, TextWriter output, CancellationToken cancellation = default, bool full = false, TextWriter? timings = null)
    {
        var cpuStart = Environment.CpuUsage.TotalTime;
        var session = new ReplaySession(sites);
        ReplayResult result;
        try
        {
            if (liveInterface is not null)
            {
                return RunLive(liveInterface, LiveCaptureOptions.Default, null, sites, options, json, output, Console.Error, cancellation);
            }

            using var source = CaptureFile.Open(file!);
            result = session.Run(source, file!, options, cancellation);
            if (source is ITruncatableSource { Truncation: { } cut })
            {
                // What came before the cut is replayed; the cut is a warning, not the end of everything.
                Console.Error.WriteLine($"warning: {cut.Message}; the frames before it were replayed");
            }
        }
        catch (CaptureFormatException e)
        {
            Console.Error.WriteLine(e.Message);
            return 3;
        }

        var cpuRun = Environment.CpuUsage.TotalTime;
        if (json)
        {
            ReplayJson.Write(result, output);
        }
        else
        {
            Print(result, output, full);
            output.Flush();
        }

        if (timings is not null)
        {
            // CPU time, not wall-clock: on a shared machine the wall clock also counts other processes' turns.
            var render = Environment.CpuUsage.TotalTime - cpuRun;
            var run = cpuRun - cpuStart;
            timings.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replay timings (CPU s): read+decode+track+decide {run.TotalSeconds:0.000}, render {(json ? "json" : full ? "full table" : "table")} {render.TotalSeconds:0.000} ({100 * render / (run + render):0.0}% of the two), {result.Entries.Count} entries"));
        }

        return 0;
    }

    public static IReadOnlyDictionary<EnbId, SiteId> ReadSites(string path)
    {
        var map = new Dictionary<EnbId, SiteId>();
        var n = 0;
        foreach (var raw in File.ReadLines(path))
        {
            n++;
            var line = raw.Split('#')[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var parts = line.Split([' ', '\t', '=', ','], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new FormatException($"{path}:{n}: expected 'ENB_ID SITE', got '{raw}'");
            }

            if (ParseEnbId(parts[0]) is not { } id)
            {
                throw new FormatException($"{path}:{n}: '{parts[0]}' is not an eNB or gNB id (decimal or 0x hex: a macro eNB's 20-bit id, a Home eNB's 28-bit id, home:ID or macro:ID, or enb-N as replay prints it; a gNB's gnb:ID or gnb-N)");
            }

            map[id] = new SiteId(parts[1]);
        }

        return map;
    }

    /// <summary>
    /// An eNB id as a sites map writes it: decimal or 0x hex, optionally `home:` (a 28-bit Home eNB id) or `macro:` (a
    /// 20-bit macro eNB id), or `enb-N` as replay prints it (N may be an id the tracker derived, top bit set). A Home
    /// eNB id and a macro eNB id are the same kind of key: the number of the Global eNB ID. A gNB is `gnb:ID` (22..32
    /// bits, decimal or 0x hex) or `gnb-N` as replay prints it: a node of its own, never the eNB with the same number.
    /// </summary>
    public static EnbId? ParseEnbId(string text)
    {
        if (text.StartsWith("gnb-", StringComparison.OrdinalIgnoreCase) || text.StartsWith("gnb:", StringComparison.OrdinalIgnoreCase))
        {
            // Any 32-bit value: a gNB id of up to 32 bits, or one the tracker derived from an association (top bit set).
            var g = text[4..];
            var gnbOk = g.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? uint.TryParse(g.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var gnb)
                : uint.TryParse(g, NumberStyles.None, CultureInfo.InvariantCulture, out gnb);
            return gnbOk ? new EnbId(gnb, Rat.Nr) : null;
        }

        // Plain or enb-N: a real id (at most 28 bits) or one the tracker derived (top bit set).
        var limit = 1u << 28;
        var derivedOk = true;
        if (text.StartsWith("enb-", StringComparison.Ordinal))
        {
            text = text[4..];
        }
        else if (text.StartsWith("home:", StringComparison.OrdinalIgnoreCase))
        {
            text = text[5..];
            derivedOk = false;
        }
        else if (text.StartsWith("macro:", StringComparison.OrdinalIgnoreCase))
        {
            text = text[6..];
            limit = 1u << 20;
            derivedOk = false;
        }

        var ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id)
            : uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id);
        return ok && (id < limit || (derivedOk && id >= 0x8000_0000u)) ? new EnbId(id) : null;
    }

    public static string Describe(UeEvent e) => McText.Describe(e);

    public static string Describe(ControlCommand c) => McText.Describe(c);

    /// <summary>Above this many UEs, `replay` prints a summary instead of every UE's table (unless --full).</summary>
    public const int SummaryUes = 50;

    /// <summary>Above this many timeline entries, `replay` prints a summary instead of every UE's table (unless --full).</summary>
    public const int SummaryEntries = 2000;

    /// <summary>How many of the busiest UEs the summary lists, and how many tracker notes it prints.</summary>
    public const int SummaryTop = 20;

    private static void Print(ReplayResult result, TextWriter output, bool full)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No });
        if (!ReferenceEquals(output, Console.Out) || Console.IsOutputRedirected)
        {
            // Not a terminal: use a wide page rather than 80 columns, so addresses and TEIDs stay on one line.
            console.Profile.Width = 200;
        }
        var s = result.Statistics;
        var byUe = result.Entries.GroupBy(e => e.Event.Ue).ToList();
        console.MarkupLine(CultureInfo.InvariantCulture, $"[bold]{Markup.Escape(result.Source)}[/]: {s.Frames} frames, {s.S1apMessages} S1AP messages, {s.NgapMessages} NGAP messages, {s.GtpcPackets} GTPv2-C, {s.GtpuPackets} GTP-U packets, {byUe.Count} UEs");
        var summary = !full && (byUe.Count > SummaryUes || result.Entries.Count > SummaryEntries);
        if (summary)
        {
            PrintSummary(console, result, byUe);
        }

        foreach (var ue in summary ? [] : byUe)
        {
            var table = new Table().Title($"[bold]{Markup.Escape(ue.Key.Value)}[/]").Border(TableBorder.Rounded).Expand();
            table.AddColumn("time (s)");
            table.AddColumn("frame");
            table.AddColumn("UE timeline");
            table.AddColumn("MC commands");
            foreach (var e in ue)
            {
                table.AddRow(
                    e.At.TotalSeconds.ToString("0.000000", CultureInfo.InvariantCulture),
                    e.Frame.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(Describe(e.Event)),
                    Markup.Escape(string.Join("\n", e.Commands.Select(Describe))));
            }

            console.Write(table);
        }

        var sites = new Table().Title("eNB -> site").Border(TableBorder.Simple);
        sites.AddColumn("eNB");
        sites.AddColumn("site");
        foreach (var (enb, site) in result.Sites.OrderBy(k => k.Key.Value))
        {
            sites.AddRow(enb.ToString(), Markup.Escape(site.Value));
        }

        console.Write(sites);
        var drops = new Table().Title("packets not used, by reason").Border(TableBorder.Simple);
        drops.AddColumn("layer");
        drops.AddColumn("reason");
        drops.AddColumn(new TableColumn("count").RightAligned());
        foreach (var (reason, count) in s.Dropped.OrderBy(d => d.Key.Layer).ThenBy(d => d.Key.Reason, StringComparer.Ordinal))
        {
            drops.AddRow(reason.Layer == DropLayer.Ignored ? "ignored (not signalling)" : reason.Layer.ToString(), Markup.Escape(reason.Reason), count.ToString(CultureInfo.InvariantCulture));
        }

        console.Write(drops);
        console.MarkupLine(CultureInfo.InvariantCulture, $"undecodable: {s.Undecodable}");
        if (result.Notes.Count > 0)
        {
            console.MarkupLine("[bold]tracker notes[/]");
            foreach (var note in summary ? result.Notes.Take(SummaryTop) : result.Notes)
            {
                console.MarkupLine(Markup.Escape(note));
            }

            if (summary && result.Notes.Count > SummaryTop)
            {
                console.MarkupLine(CultureInfo.InvariantCulture, $"... and {result.Notes.Count - SummaryTop} more notes (--full or --json for all)");
            }
        }
    }

    /// <summary>
    /// A large capture's view: rendering tens of thousands of table rows would cost more than the replay itself, and
    /// no one reads them on a terminal. Counts by event and command type, then the busiest UEs with their last event.
    /// </summary>
    private static void PrintSummary(IAnsiConsole console, ReplayResult result, List<IGrouping<UeId, ReplayEntry>> byUe)
    {
        console.MarkupLine(CultureInfo.InvariantCulture, $"{byUe.Count} UEs, {result.Entries.Count} timeline entries: a summary (more than {SummaryUes} UEs or {SummaryEntries} entries); --full prints every UE's timeline, --json everything");
        var counts = new Table().Title("UE events and MC commands, by type").Border(TableBorder.Simple);
        counts.AddColumn("kind");
        counts.AddColumn("type");
        counts.AddColumn(new TableColumn("count").RightAligned());
        foreach (var (type, count) in result.Entries.CountBy(e => e.Event.GetType().Name).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal))
        {
            counts.AddRow("event", type, count.ToString(CultureInfo.InvariantCulture));
        }

        foreach (var (type, count) in result.Entries.SelectMany(e => e.Commands).CountBy(c => c.GetType().Name).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal))
        {
            counts.AddRow("command", type, count.ToString(CultureInfo.InvariantCulture));
        }

        console.Write(counts);
        var top = new Table().Title($"the {Math.Min(SummaryTop, byUe.Count)} UEs with the most events").Border(TableBorder.Rounded).Expand();
        top.AddColumn("UE");
        top.AddColumn(new TableColumn("events").RightAligned());
        top.AddColumn(new TableColumn("commands").RightAligned());
        top.AddColumn("first (s)");
        top.AddColumn("last (s)");
        top.AddColumn("last event");
        foreach (var ue in byUe.OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Value, StringComparer.Ordinal).Take(SummaryTop))
        {
            var last = ue.Last();
            top.AddRow(
                Markup.Escape(ue.Key.Value),
                ue.Count().ToString(CultureInfo.InvariantCulture),
                ue.Sum(e => e.Commands.Count).ToString(CultureInfo.InvariantCulture),
                ue.First().At.TotalSeconds.ToString("0.000000", CultureInfo.InvariantCulture),
                last.At.TotalSeconds.ToString("0.000000", CultureInfo.InvariantCulture),
                Markup.Escape(Describe(last.Event)));
        }

        console.Write(top);
    }

    /// <summary>The `--json` document as a node (tests, callers that edit it); the CLI streams it with <see cref="ReplayJson"/>.</summary>
    public static JsonObject ToJson(ReplayResult result)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            ReplayJson.Write(w, result);
        }

        return JsonNode.Parse(buffer.ToArray())!.AsObject();
    }

    /// <summary>One timeline entry: the event (with the UE), its frame and time, and the MC's commands.</summary>
    public static JsonObject EntryJson(ReplayEntry e)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            ReplayJson.WriteEntry(w, e);
        }

        return JsonNode.Parse(buffer.ToArray())!.AsObject();
    }
}
