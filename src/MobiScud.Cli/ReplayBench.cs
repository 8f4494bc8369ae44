using System.Diagnostics;
using System.Globalization;
using MobiScud.Capture;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Cli;

/// <summary>
/// `mobiscud replay --bench FILES...`: S1AP messages per second end to end (file bytes in memory -> frames -> link/IP/SCTP
/// -> S1AP decode of the MC-relevant IEs), and with the UE tracker and MC on top, next to tshark on the same files in
/// the same run. tshark is timed as a process (start-up included) on each file, and on one large capture generated
/// from them with fresh TSNs (see <see cref="BenchCaptureGenerator"/>) where its start-up no longer matters.
/// </summary>
internal static class ReplayBench
{
    public static int Run(string[] files, double seconds, int repeat, TextWriter output, bool withTshark = true)
    {
        if (files.Length == 0)
        {
            Console.Error.WriteLine("--bench needs capture files");
            return 2;
        }

        var images = files.Select(f => (Name: f, Bytes: File.ReadAllBytes(f))).ToList();
        var (decodeRate, decodeMessages) = Measure(images, seconds, tracker: false);
        var (fullRate, _) = Measure(images, seconds, tracker: true);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"S1AP messages per pass over {files.Length} file(s): {decodeMessages}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ours, pipeline + S1AP decode (1 thread):          {decodeRate,14:N0} msg/s"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ours, + UE tracker + MC decisions (1 thread):     {fullRate,14:N0} msg/s"));

        if (!withTshark)
        {
            foreach (var image in images)
            {
                var (rate, perPass) = Measure([image], Math.Max(0.5, seconds / images.Count), tracker: false);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Path.GetFileName(image.Name),-40} {perPass,6} S1AP/pass {rate,14:N0} msg/s"));
            }

            return 0;
        }

        string tshark;
        try
        {
            tshark = FindTool("tshark");
        }
        catch (FileNotFoundException e)
        {
            output.WriteLine(e.Message);
            return 1;
        }

        long tsharkMessages = 0;
        var tsharkTime = TimeSpan.Zero;
        foreach (var (name, _) in images)
        {
            var (messages, elapsed) = TimeTshark(tshark, name);
            tsharkMessages += messages;
            tsharkTime += elapsed;
        }

        var tsharkSmallRate = tsharkMessages / tsharkTime.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tshark -r on the same files (process per file):   {tsharkSmallRate,14:N0} msg/s ({tsharkMessages} messages in {tsharkTime.TotalSeconds:0.00} s)"));

        var big = Path.Combine(Path.GetTempPath(), $"mobiscud-bench-{Environment.ProcessId}.pcap");
        try
        {
            using (var stream = File.Create(big))
            {
                BenchCaptureGenerator.Generate(files, repeat, stream, sctpOnly: true);
            }

            var (bigMessages, bigElapsed) = TimeTshark(tshark, big);
            var bigRate = bigMessages / bigElapsed.TotalSeconds;
            var bigImage = new List<(string, byte[])> { (big, File.ReadAllBytes(big)) };
            var (oursBig, oursBigMessages) = Measure(bigImage, seconds, tracker: false);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated capture: {repeat} repetitions with fresh TSNs, {new FileInfo(big).Length / 1e6:0.0} MB, tshark found {bigMessages} S1AP messages, we found {oursBigMessages}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tshark -r on the generated capture:               {bigRate,14:N0} msg/s ({bigElapsed.TotalSeconds:0.00} s)"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ours on the generated capture (decode):           {oursBig,14:N0} msg/s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio ours/tshark: {decodeRate / tsharkSmallRate:0}x on the shared files, {oursBig / bigRate:0}x on the generated capture"));
        }
        finally
        {
            File.Delete(big);
        }

        return 0;
    }

    /// <summary>Passes over the in-memory files until at least <paramref name="seconds"/> have gone by.</summary>
    private static (double Rate, long MessagesPerPass) Measure(List<(string Name, byte[] Bytes)> images, double seconds, bool tracker)
    {
        long perPass = 0;
        long messages = 0;
        var watch = Stopwatch.StartNew();
        var passes = 0;
        do
        {
            long pass = 0;
            foreach (var (name, bytes) in images)
            {
                using var source = CaptureFile.Open(bytes, name);
                if (tracker)
                {
                    var result = new ReplaySession().Run(source, name);
                    pass += result.Statistics.S1apMessages;
                }
                else
                {
                    var pipeline = new SignallingPipeline(CountingSink.Instance);
                    pipeline.Run(source);
                    pass += pipeline.Statistics.S1apMessages;
                }
            }

            perPass = pass;
            messages += pass;
            passes++;
        }
        while (watch.Elapsed.TotalSeconds < seconds || passes < 2);

        return (messages / watch.Elapsed.TotalSeconds, perPass);
    }

    private static (long Messages, TimeSpan Elapsed) TimeTshark(string tshark, string file)
    {
        var psi = new ProcessStartInfo(tshark) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-r", file, "-n", "-Y", "s1ap", "-T", "fields", "-e", "s1ap.procedureCode" })
        {
            psi.ArgumentList.Add(a);
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var errors = process.StandardError.ReadToEndAsync();
        long messages = 0;
        while (process.StandardOutput.ReadLine() is { } line)
        {
            messages += line.Split(',').Length;
        }

        process.WaitForExit();
        _ = errors.Result;
        return (messages, watch.Elapsed);
    }

    private static string FindTool(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Append("/usr/bin"))
        {
            var candidate = Path.Combine(dir, name);
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name} is not installed: apt-get install -y tshark");
    }

    private sealed class CountingSink : ISignallingSink
    {
        public static readonly CountingSink Instance = new();

        public void OnS1ap(in PayloadContext context, S1apSummary summary)
        {
        }

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
        {
        }
    }
}
