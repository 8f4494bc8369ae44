using System.Diagnostics;
using System.Globalization;
using MobiScud.Bench.Support;
using MobiScud.Capture;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Cli;

/// <summary>What `replay --bench` measures: the inputs, the generated capture's size, how many runs.</summary>
internal sealed record BenchSettings(IReadOnlyList<string> Files, int Repeat, int Runs, double Seconds, bool Tshark, bool Ngap, string? Keep);

/// <summary>
/// `mobiscud replay --bench`: whole process against whole process on one large generated capture, both writing the same
/// rows (`mobiscud decode --fields` / `--json --fields` against `tshark -T fields -e` of the same fields, to /dev/null),
/// then `replay --json` and `replay` (the table) against tshark's fields run. Each round runs every command once, in
/// turn, so a ratio compares runs made under the same machine load; CPU time (the kernel's account of the reaped child)
/// is quoted beside wall-clock, since on a shared machine the wall clock also counts other processes' turns. The
/// in-memory rates (file already read, no output) are reported separately and labelled as such.
/// </summary>
internal static class ReplayBench
{
    /// <summary>The S1AP mix: attach, ICS, E-RAB setup/modify/release, S1 and X2 handovers, releases, service requests, some GTP-U.</summary>
    public static readonly string[] DefaultS1apInputs =
    [
        "open5gs_testepc_2019.pcapng", "open5gs_testattach.pcapng", "magma_gx_gy_combined_04_32ue.pcapng",
        "magma_inbound_roaming_05.pcapng", "mobiscud_home_enb_handovers.pcap",
    ];

    /// <summary>The NGAP mix: registrations, PDU sessions, releases, deregistrations.</summary>
    public static readonly string[] DefaultNgapInputs = ["open5gs_testregistration_ngap.pcapng", "5greplay_oai_ngap.pcap"];

    private const string S1apFields = "frame,procedureCode,mmeUeS1apId,enbUeS1apId";
    private const string NgapFields = "frame,procedureCode";

    public static int Run(BenchSettings settings, TextWriter output)
    {
        string? tshark = null;
        if (settings.Tshark)
        {
            tshark = FindTool("tshark");
            if (tshark is null)
            {
                output.WriteLine("tshark is not installed (apt-get install -y tshark); use --bench-no-tshark for our figures only");
                return 1;
            }
        }

        var suites = new List<(string Name, IReadOnlyList<string> Inputs)>();
        if (settings.Files.Count > 0)
        {
            suites.Add(("given files", settings.Files));
        }
        else
        {
            var captures = FindCaptures();
            if (captures is null)
            {
                output.WriteLine("--bench without files needs the repository's data/captures (run it from the checkout, or set MOBISCUD_DATA)");
                return 2;
            }

            suites.Add(("S1AP", DefaultS1apInputs.Select(f => Path.Combine(captures, f)).ToList()));
            if (settings.Ngap)
            {
                suites.Add(("NGAP", DefaultNgapInputs.Select(f => Path.Combine(captures, f)).ToList()));
            }
        }

        foreach (var (name, inputs) in suites)
        {
            var missing = inputs.FirstOrDefault(f => !File.Exists(f));
            if (missing is not null)
            {
                output.WriteLine($"--bench: {missing} not found");
                return 2;
            }

            RunSuite(name, inputs, settings, tshark, output);
        }

        return 0;
    }

    private static void RunSuite(string name, IReadOnlyList<string> inputs, BenchSettings settings, string? tshark, TextWriter output)
    {
        var big = settings.Keep is { } keep && settings.Files.Count > 0 ? keep
            : settings.Keep is { } k ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(k)) ?? ".", $"{Path.GetFileNameWithoutExtension(k)}-{name.ToLowerInvariant().Replace(' ', '-')}{Path.GetExtension(k)}")
            : Path.Combine(Path.GetTempPath(), $"mobiscud-bench-{Environment.ProcessId}-{name.ToLowerInvariant().Replace(' ', '-')}.pcap");
        try
        {
            long frames;
            using (var stream = new FileStream(big, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                (frames, _) = BenchCaptureGenerator.Generate(inputs, settings.Repeat, stream, BenchFilter.Signalling);
            }

            output.WriteLine(Inv($"== {name}: {big}"));
            output.WriteLine(Inv($"generated from {string.Join(", ", inputs.Select(Path.GetFileName))}: their S1AP/NGAP associations and 1 GTP-U packet in {BenchCaptureGenerator.GtpuEvery}, {settings.Repeat} times with fresh SCTP TSNs; {frames} frames, {new FileInfo(big).Length / 1e6:0.0} MB"));
            var bytes = File.ReadAllBytes(big);
            var mix = MessageMix(bytes, big);
            output.WriteLine(Inv($"message mix: {mix.S1ap} S1AP, {mix.Ngap} NGAP messages, {mix.Gtpu} GTP-U packets, {mix.Other} other frames"));
            foreach (var ((protocol, message), count) in mix.ByMessage.OrderByDescending(m => m.Value).ThenBy(m => m.Key.Message, StringComparer.Ordinal))
            {
                output.WriteLine(Inv($"  {protocol,-5} {message,-48} {count,9} {100.0 * count / (mix.S1ap + mix.Ngap),5:0.0}%"));
            }

            var messages = mix.S1ap + mix.Ngap;
            output.WriteLine("in memory (file already read, one thread, no output; not comparable with whole-process figures):");
            var decode = Measure(bytes, big, settings.Seconds, InMemory.Decode);
            output.WriteLine(Inv($"  pipeline + {(mix.Ngap > mix.S1ap ? "NGAP" : "S1AP")} decode:         {messages / decode.Cpu.TotalSeconds,12:N0} msg/s {decode.Bytes / messages,8:N0} B/msg allocated"));
            var tracked = Measure(bytes, big, settings.Seconds, InMemory.Tracker);
            output.WriteLine(Inv($"  + UE tracker:                  {messages / tracked.Cpu.TotalSeconds,12:N0} msg/s {tracked.Bytes / messages,8:N0} B/msg allocated"));
            var decided = Measure(bytes, big, settings.Seconds, InMemory.TrackerAndMc);
            output.WriteLine(Inv($"  + UE tracker + MC decisions:   {messages / decided.Cpu.TotalSeconds,12:N0} msg/s {decided.Bytes / messages,8:N0} B/msg allocated"));
            if (Environment.GetEnvironmentVariable("MOBISCUD_BENCH_ALLOC") is "1")
            {
                AllocationProfile.Print(() => Measure(bytes, big, 0, InMemory.TrackerAndMc), output);
            }

            if (tshark is null)
            {
                return;
            }

            WholeProcess(big, mix, settings.Runs, tshark, output);
        }
        finally
        {
            if (settings.Keep is null)
            {
                File.Delete(big);
            }
        }
    }

    private static void WholeProcess(string file, Mix mix, int runs, string tshark, TextWriter output)
    {
        var ngap = mix.Ngap > mix.S1ap;
        var ours = OurCommand();
        var fields = ngap ? NgapFields : S1apFields;
        var tsharkFields = ngap ? ["frame.number", "ngap.procedureCode"] : new[] { "frame.number", "s1ap.procedureCode", "s1ap.MME_UE_S1AP_ID", "s1ap.ENB_UE_S1AP_ID" };
        var filter = ngap ? "ngap" : "s1ap";
        string[] TsharkFields(params string[] f) => [tshark, "-r", file, "-n", "-Y", filter, "-T", "fields", .. f.SelectMany(x => new[] { "-e", x })];
        var commands = new List<(string Label, string[] Argv)>
        {
            ($"tshark -T fields -e {string.Join(" -e ", tsharkFields)}", TsharkFields(tsharkFields)),
            ($"mobiscud decode --fields {fields}", [.. ours, "decode", "--fields", fields, file]),
            ($"mobiscud decode --json --fields {fields}", [.. ours, "decode", "--json", "--fields", fields, file]),
            ($"tshark -T fields -e {filter}.procedureCode", TsharkFields($"{filter}.procedureCode")),
            ("mobiscud replay --json", [.. ours, "replay", "--json", "--timings", file]),
            ("mobiscud replay (table)", [.. ours, "replay", "--timings", file]),
        };

        output.WriteLine(Inv($"whole process, output to /dev/null, {runs} round(s) after a warm-up (each round runs every command once, in turn):"));
        var scratch = Path.Combine(Path.GetTempPath(), $"mobiscud-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(scratch);
        try
        {
            // Warm-up: the page cache, and each command's output kept once to count its rows.
            var lines = new long[commands.Count];
            for (var i = 0; i < commands.Count; i++)
            {
                var kept = Path.Combine(scratch, $"out{i}");
                Time(commands[i].Argv, kept, Path.Combine(scratch, $"err{i}"));
                lines[i] = CountLines(kept);
                File.Delete(kept);
            }

            var samples = commands.Select(_ => new List<Sample>()).ToList();
            var renderShare = commands.Select(_ => new List<double>()).ToList();
            for (var r = 0; r < runs; r++)
            {
                for (var i = 0; i < commands.Count; i++)
                {
                    var err = Path.Combine(scratch, $"err{i}");
                    samples[i].Add(Time(commands[i].Argv, "/dev/null", err));
                    if (RenderCpu(err) is { } render)
                    {
                        renderShare[i].Add(render / samples[i][^1].Cpu);
                    }
                }
            }

            output.WriteLine(Inv($"  {"command",-62} {"lines out",9}  {"CPU s min/median/max",-22} {"wall s min/median/max",-22}"));
            for (var i = 0; i < commands.Count; i++)
            {
                var cpu = samples[i].Select(s => s.Cpu).ToList();
                var wall = samples[i].Select(s => s.Wall).ToList();
                output.WriteLine(Inv($"  {commands[i].Label,-62} {lines[i],9}  {Stats(cpu),-22} {Stats(wall),-22}"));
            }

            output.WriteLine("  tshark / ours, pair by pair within a round (median, min-max), CPU and wall:");
            foreach (var (oursAt, theirsAt) in new[] { (1, 0), (2, 0), (4, 3), (5, 3) })
            {
                var cpu = samples[oursAt].Zip(samples[theirsAt], (o, t) => t.Cpu / o.Cpu).ToList();
                var wall = samples[oursAt].Zip(samples[theirsAt], (o, t) => t.Wall / o.Wall).ToList();
                output.WriteLine(Inv($"  {commands[oursAt].Label,-40} vs {commands[theirsAt].Label,-48} CPU {Median(cpu),6:0.0}x ({cpu.Min():0.0}-{cpu.Max():0.0}), wall {Median(wall),6:0.0}x ({wall.Min():0.0}-{wall.Max():0.0})"));
            }

            for (var i = 4; i <= 5; i++)
            {
                if (renderShare[i].Count > 0)
                {
                    output.WriteLine(Inv($"  rendering share of {commands[i].Label}'s whole-process CPU: median {100 * Median(renderShare[i]):0.0}% ({100 * renderShare[i].Min():0.0}-{100 * renderShare[i].Max():0.0}%)"));
                }
            }

            if (lines[1] == 0 && mix.Ngap > 0)
            {
                output.WriteLine("  note: this build's `decode` writes no NGAP rows: its NGAP figures are of a pass that decodes and drops them, not comparable output");
            }

            output.WriteLine("  lines out: tshark writes one line per frame (messages sharing a frame share it, comma-separated), decode one per message, replay --json indented JSON");
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Counts by message of what the pipeline decodes, as the bench prints it.</summary>
    private static Mix MessageMix(byte[] bytes, string name)
    {
        var sink = new MixSink();
        var pipeline = new SignallingPipeline(sink);
        using (var source = CaptureFile.Open(bytes, name))
        {
            pipeline.Run(source);
        }

        var s = pipeline.Statistics;
        return new Mix(s.S1apMessages, s.NgapMessages, s.GtpuPackets, s.Frames - s.S1apMessages - s.NgapMessages - s.GtpuPackets, sink.Counts);
    }

    private enum InMemory
    {
        Decode,
        Tracker,
        TrackerAndMc,
    }

    /// <summary>
    /// Passes over the in-memory file until at least <paramref name="seconds"/> of CPU have gone by: CPU time and bytes
    /// allocated (this thread) per pass.
    /// </summary>
    private static (TimeSpan Cpu, long Bytes) Measure(byte[] bytes, string name, double seconds, InMemory what)
    {
        var start = Environment.CpuUsage.TotalTime;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var passes = 0;
        TimeSpan spent;
        do
        {
            using var source = CaptureFile.Open(bytes, name);
            switch (what)
            {
                case InMemory.Decode:
                    new SignallingPipeline(CountingSink.Instance).Run(source);
                    break;
                default:
                    new ReplaySession(runMc: what == InMemory.TrackerAndMc).Run(source, name);
                    break;
            }

            passes++;
            spent = Environment.CpuUsage.TotalTime - start;
        }
        while (spent.TotalSeconds < seconds || passes < 2);

        return (spent / passes, (GC.GetAllocatedBytesForCurrentThread() - allocated) / passes);
    }

    private readonly record struct Sample(double Cpu, double Wall);

    private sealed record Mix(long S1ap, long Ngap, long Gtpu, long Other, Dictionary<(string Protocol, string Message), long> ByMessage);

    /// <summary>Runs one command with its stdout to <paramref name="stdout"/>: wall-clock, and CPU from the kernel's rusage of the reaped child.</summary>
    private static Sample Time(string[] argv, string stdout, string stderr)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var a in new[] { "-c", "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"", "sh", stdout, stderr }.Concat(argv))
        {
            psi.ArgumentList.Add(a);
        }

        var before = ThreadCpu.Children();
        var watch = TimeProvider.System.GetTimestamp();
        using (var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {argv[0]}"))
        {
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{string.Join(' ', argv)} exited {process.ExitCode}: {File.ReadAllText(stderr)}");
            }
        }

        return new Sample(ThreadCpu.Children() - before, TimeProvider.System.GetElapsedTime(watch).TotalSeconds);
    }

    /// <summary>The render CPU seconds a `replay --timings` run printed, if it did.</summary>
    private static double? RenderCpu(string stderr)
    {
        foreach (var line in File.ReadLines(stderr))
        {
            var at = line.IndexOf(", render ", StringComparison.Ordinal);
            if (line.StartsWith("replay timings", StringComparison.Ordinal) && at > 0)
            {
                var words = line[(at + ", render ".Length)..].Split(' ');
                var number = words.FirstOrDefault(w => double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
                return number is null ? null : double.Parse(number, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private static long CountLines(string file)
    {
        long n = 0;
        var buffer = new byte[1 << 16];
        using var stream = File.OpenRead(file);
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            n += buffer.AsSpan(0, read).Count((byte)'\n');
        }

        return n;
    }

    private static string Stats(List<double> values) => Inv($"{values.Min():0.00}/{Median(values):0.00}/{values.Max():0.00}");

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>This program as a command: the apphost, or `dotnet mobiscud.dll`.</summary>
    private static string[] OurCommand()
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        return Path.GetFileNameWithoutExtension(path) == "dotnet" ? [path, typeof(ReplayBench).Assembly.Location] : [path];
    }

    /// <summary>data/captures of the checkout (from the working directory or the binary up), or $MOBISCUD_DATA/captures.</summary>
    private static string? FindCaptures()
    {
        if (Environment.GetEnvironmentVariable("MOBISCUD_DATA") is { Length: > 0 } data && Directory.Exists(Path.Combine(data, "captures")))
        {
            return Path.Combine(data, "captures");
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "data", "captures");
                if (File.Exists(Path.Combine(dir.FullName, "MobiScud.slnx")) && Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Append("/usr/bin")
            .Where(d => d.Length > 0).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private sealed class CountingSink : ISignallingSink, INgapSignallingSink
    {
        public static readonly CountingSink Instance = new();

        public void OnS1ap(in PayloadContext context, S1apSummary summary)
        {
        }

        public void OnNgap(in PayloadContext context, NgapSummary summary)
        {
        }

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
        {
        }
    }

    private sealed class MixSink : ISignallingSink, INgapSignallingSink
    {
        public Dictionary<(string Protocol, string Message), long> Counts { get; } = [];

        public void OnS1ap(in PayloadContext context, S1apSummary summary) => Add("S1AP", $"{summary.ProcedureCode} {summary.PduType}");

        public void OnNgap(in PayloadContext context, NgapSummary summary) => Add("NGAP", $"{summary.ProcedureCode} {summary.PduType}");

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
        {
        }

        private void Add(string protocol, string message) => Counts[(protocol, message)] = Counts.GetValueOrDefault((protocol, message)) + 1;
    }
}
