using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Control;
using MobiScud.Control.Model;
using Spectre.Console;

namespace MobiScud.Cli;

/// <summary>`mobiscud replay FILE`: a capture's UEs as the MC sees them, and the commands it would issue.</summary>
public static class ReplayCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "pcap or pcapng capture(s); with --bench, all are measured", Arity = ArgumentArity.ZeroOrMore };
        var json = new Option<bool>("--json") { Description = "Print the timeline, commands and counters as JSON" };
        var live = new Option<string?>("--live") { Description = "Capture live from this interface (libpcap) and stream each UE event and MC command as it happens; Ctrl+C or SIGTERM stops and prints the summary" };
        var write = new Option<string?>("--write") { Description = "With --live: also write the captured frames to this pcapng file (nanosecond timestamps, drop counters at the end)" };
        var captureMode = new Option<LiveCaptureMode>("--capture-mode") { Description = "With --live: Ring (our TPACKET_V3 ring of small blocks, read in place; Ethernet interfaces), Block (libpcap TPACKET_V3: 256 KiB blocks, handed over at the latest after --block-timeout-ms) or Immediate (libpcap: each frame wakes the reader; a ring of snaplen-sized slots)", DefaultValueFactory = _ => LiveCaptureMode.Ring };
        var blockTimeout = new Option<int>("--block-timeout-ms") { Description = "With --capture-mode Block: the longest a frame waits in a part-filled block", DefaultValueFactory = _ => 1 };
        var bufferMb = new Option<int>("--buffer-mb") { Description = "With --live: kernel ring size in MiB (absorbs bursts)", DefaultValueFactory = _ => 64 };
        var decodeOnly = new Option<bool>("--decode-only") { Description = "With --live: capture and decode only, no UE tracker or MC (measures the tap's own capacity)" };
        var quiet = new Option<bool>("--quiet") { Description = "With --live: print only the summary at the end (rate measurements, long runs)" };
        var filter = new Option<string?>("--filter") { Description = "With --live: BPF filter instead of the default (SCTP, RFC 6951 port, GTPv2-C, GTP-U, IP fragments; also in a VLAN)" };
        var sites = new Option<string?>("--sites") { Description = "eNB -> site map file, one 'ENB_ID SITE' per line; ENB_ID as replay prints it (enb-N) or decimal or 0x hex: a macro eNB's 20-bit id (e.g. 0xA2C) or a Home eNB's 28-bit id (e.g. 0x00A2C01, or home:0x00A2C01); default: one site per eNB" };
        var sctpUdpPort = new Option<int>("--sctp-udp-port") { Description = "UDP port of UDP-encapsulated SCTP (RFC 6951)", DefaultValueFactory = _ => 9899 };
        var bench = new Option<bool>("--bench") { Description = "Measure S1AP messages/s end to end over the files, next to tshark on the same files" };
        var seconds = new Option<double>("--bench-seconds") { Description = "Minimum measuring time per figure", DefaultValueFactory = _ => 3 };
        var noTshark = new Option<bool>("--bench-no-tshark") { Description = "Only our figures, per file (no tshark run)" };
        var repeat = new Option<int>("--bench-repeat") { Description = "Repetitions (fresh TSNs) in the generated large capture for tshark", DefaultValueFactory = _ => 200 };
        var generate = new Option<string?>("--bench-generate") { Description = "Only write the S1AP-dense capture --bench measures (the files' SCTP packets, --bench-repeat times with fresh TSNs; raw IP pcap) to this file, e.g. for tcpreplay after `tcprewrite --dlt=enet`" };
        var command = new Command("replay", "Replay real S1AP (+S11, GTP-U) captures through the UE tracker and the MC");
        command.Arguments.Add(files);
        foreach (var o in new Option[] { json, live, write, quiet, decodeOnly, captureMode, blockTimeout, bufferMb, filter, sites, sctpUdpPort, bench, seconds, repeat, noTshark, generate })
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
                using var stream = new FileStream(generated, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
                var (frames, bytes) = BenchCaptureGenerator.Generate(paths, parse.GetValue(repeat), stream, sctpOnly: true);
                Console.Out.WriteLine($"{generated}: {frames} frames, {bytes} bytes");
                return Task.FromResult(0);
            }

            if (parse.GetValue(bench))
            {
                return Task.FromResult(ReplayBench.Run(paths, parse.GetValue(seconds), parse.GetValue(repeat), Console.Out, !parse.GetValue(noTshark)));
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
                return RunLiveAsync(liveInterface, capture, parse.GetValue(write), siteMap, options, parse.GetValue(json), parse.GetValue(quiet) || parse.GetValue(decodeOnly), cancellation, parse.GetValue(decodeOnly));
            }

            if (parse.GetValue(write) is not null)
            {
                Console.Error.WriteLine("--write needs --live");
                return Task.FromResult(2);
            }

            return Task.FromResult(Run(null, paths[0], siteMap, options, parse.GetValue(json), Console.Out, cancellation));
        });
        return command;
    }

    /// <summary>
    /// The live view on its own thread, so that the command line's SIGINT/SIGTERM handling sees a running task: it
    /// cancels the token, the token wakes the capture, and the summary is printed before the process exits 0.
    /// </summary>
    private static Task<int> RunLiveAsync(string iface, LiveCaptureOptions capture, string? write, IReadOnlyDictionary<EnbId, SiteId>? sites, PipelineOptions options, bool json, bool quiet, CancellationToken cancellation, bool decodeOnly)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                // Our own buffered writer: lines are flushed once per frame that produced any, not once per line.
                using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16) { AutoFlush = false };
                done.SetResult(RunLive(iface, capture, write, sites, options, json, stdout, Console.Error, cancellation, quiet, decodeOnly));
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
    public static int RunLive(string iface, LiveCaptureOptions capture, string? write, IReadOnlyDictionary<EnbId, SiteId>? sites, PipelineOptions options, bool json, TextWriter output, TextWriter error, CancellationToken cancellation = default, bool quiet = false, bool decodeOnly = false)
    {
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
            return new LiveReplay(new ReplaySession(sites), output, json, quiet) { DecodeOnly = decodeOnly }.Run(source, write, options, error, cancellation);
        }
    }

    /// <summary>Runs a replay and prints it; the entry point the tests call in-process.</summary>
    public static int Run(string? liveInterface, string? file, IReadOnlyDictionary<EnbId, SiteId>? sites, PipelineOptions options, bool json, TextWriter output, CancellationToken cancellation = default)
    {
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

        if (json)
        {
            output.WriteLine(ToJson(result).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            Print(result, output);
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
                throw new FormatException($"{path}:{n}: '{parts[0]}' is not an eNB id (decimal or 0x hex: a macro eNB's 20-bit id, a Home eNB's 28-bit id, home:ID or macro:ID, or enb-N as replay prints it)");
            }

            map[id] = new SiteId(parts[1]);
        }

        return map;
    }

    /// <summary>
    /// An eNB id as a sites map writes it: decimal or 0x hex, optionally `home:` (a 28-bit Home eNB id) or `macro:` (a
    /// 20-bit macro eNB id), or `enb-N` as replay prints it (N may be an id the tracker derived, top bit set). A Home
    /// eNB id and a macro eNB id are the same kind of key: the number of the Global eNB ID.
    /// </summary>
    public static EnbId? ParseEnbId(string text)
    {
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

    private static void Print(ReplayResult result, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No });
        if (!ReferenceEquals(output, Console.Out) || Console.IsOutputRedirected)
        {
            // Not a terminal: use a wide page rather than 80 columns, so addresses and TEIDs stay on one line.
            console.Profile.Width = 200;
        }
        var s = result.Statistics;
        console.MarkupLine(CultureInfo.InvariantCulture, $"[bold]{Markup.Escape(result.Source)}[/]: {s.Frames} frames, {s.S1apMessages} S1AP messages, {s.NgapMessages} NGAP messages, {s.GtpcPackets} GTPv2-C, {s.GtpuPackets} GTP-U packets, {result.Entries.Select(e => e.Event.Ue).Distinct().Count()} UEs");
        foreach (var ue in result.Entries.GroupBy(e => e.Event.Ue))
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
            foreach (var note in result.Notes)
            {
                console.MarkupLine(Markup.Escape(note));
            }
        }
    }

    public static JsonObject ToJson(ReplayResult result)
    {
        var s = result.Statistics;
        var dropped = new JsonArray();
        foreach (var (reason, count) in s.Dropped.OrderBy(d => d.Key.Layer).ThenBy(d => d.Key.Reason, StringComparer.Ordinal))
        {
            dropped.Add(new JsonObject { ["layer"] = reason.Layer.ToString(), ["reason"] = reason.Reason, ["count"] = count });
        }

        var ues = new JsonArray();
        foreach (var ue in result.Entries.GroupBy(e => e.Event.Ue))
        {
            var timeline = new JsonArray();
            foreach (var e in ue)
            {
                timeline.Add(EntryJson(e));
            }

            ues.Add(new JsonObject { ["ue"] = ue.Key.Value, ["timeline"] = timeline });
        }

        var sites = new JsonObject();
        foreach (var (enb, site) in result.Sites.OrderBy(k => k.Key.Value))
        {
            sites[enb.Value.ToString(CultureInfo.InvariantCulture)] = site.Value;
        }

        return new JsonObject
        {
            ["source"] = result.Source,
            ["frames"] = s.Frames,
            ["s1apMessages"] = s.S1apMessages,
            ["ngapMessages"] = s.NgapMessages,
            ["gtpcPackets"] = s.GtpcPackets,
            ["gtpuPackets"] = s.GtpuPackets,
            ["undecodable"] = s.Undecodable,
            ["dropped"] = dropped,
            ["sites"] = sites,
            ["ues"] = ues,
            ["notes"] = new JsonArray(result.Notes.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
        };
    }

    /// <summary>One timeline entry: the event (with the UE), its frame and time, and the MC's commands.</summary>
    public static JsonObject EntryJson(ReplayEntry e)
    {
        var commands = new JsonArray();
        foreach (var c in e.Commands)
        {
            var node = ToNode(c);
            node["summary"] = Describe(c);
            commands.Add(node);
        }

        var ev = ToNode(e.Event);
        ev["summary"] = Describe(e.Event);
        return new JsonObject
        {
            ["at"] = e.At.TotalSeconds,
            ["frame"] = e.Frame,
            ["event"] = ev,
            ["commands"] = commands,
        };
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        Converters = { new IpAddressConverter(), new ValueConverter<UeId>(v => v.Value), new ValueConverter<EnbId>(v => v.Value.ToString(CultureInfo.InvariantCulture)), new ValueConverter<SiteId>(v => v.Value), new ValueConverter<PvmId>(v => v.Value), new ValueConverter<MigrationId>(v => v.ToString()) },
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    private static JsonObject ToNode(object value)
    {
        var node = JsonSerializer.SerializeToNode(value, value.GetType(), JsonOptions)!.AsObject();
        node.Insert(0, "type", value.GetType().Name);
        return node;
    }

    private sealed class IpAddressConverter : System.Text.Json.Serialization.JsonConverter<IPAddress>
    {
        public override IPAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => IPAddress.Parse(reader.GetString()!);

        public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }

    private sealed class ValueConverter<T>(Func<T, string> format) : System.Text.Json.Serialization.JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(format(value));
    }
}
