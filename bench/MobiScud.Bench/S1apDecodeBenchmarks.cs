using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Bench;

/// <summary>
/// S1AP messages from the shared captures (bytes extracted once with tshark, as the capture reader's
/// output would be). Shared by the decode benchmarks and the tshark peer.
/// </summary>
internal static class S1apCorpus
{
    public static string CapturesDir()
    {
        var overridden = Environment.GetEnvironmentVariable("MOBISCUD_DATA");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MobiScud.slnx")))
            {
                return Path.Combine(string.IsNullOrEmpty(overridden) ? Path.Combine(dir.FullName, "data") : overridden, "captures");
            }
        }

        throw new DirectoryNotFoundException("no MobiScud.slnx above the benchmark binary: run from the repository");
    }

    public static IReadOnlyList<string> Captures() =>
        Directory.EnumerateFiles(CapturesDir()).Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();

    public static List<byte[]> Load()
    {
        var all = new List<byte[]>();
        foreach (var capture in Captures())
        {
            var psi = new ProcessStartInfo("tshark", ["-r", capture, "-Y", "s1ap", "-T", "json", "-x", "-J", "frame s1ap"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("tshark not found (apt-get install tshark)");
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            var takeNext = false;
            while (p.StandardOutput.ReadLine() is { } line)
            {
                if (takeNext)
                {
                    all.Add(Convert.FromHexString(line.Trim().Trim(',').Trim('"')));
                    takeNext = false;
                }
                else if (line.TrimStart().StartsWith("\"s1ap_raw\": [", StringComparison.Ordinal))
                {
                    takeNext = true;
                }
            }

            p.WaitForExit();
        }

        return all;
    }
}

/// <summary>
/// S1AP decode throughput on one core over every S1AP message of the shared captures. Each operation is one
/// message (the corpus is cycled to a fixed 10,000 messages per invocation), so "Mean" is the time per message
/// and 1/Mean the messages per second.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class S1apDecodeBenchmarks
{
    private const int MessagesPerInvoke = 10_000;
    private readonly S1apSummary _summary = new();
    private byte[][] _messages = [];

    [GlobalSetup]
    public void Setup()
    {
        var corpus = S1apCorpus.Load();
        if (corpus.Count == 0)
        {
            throw new InvalidOperationException("no S1AP messages found in the shared captures");
        }

        _messages = Enumerable.Range(0, MessagesPerInvoke).Select(i => corpus[i % corpus.Count]).ToArray();
        Console.WriteLine($"// S1AP corpus: {corpus.Count} distinct messages from {S1apCorpus.Captures().Count} captures");
    }

    /// <summary>The MC fast path: header, UE ids, E-RAB lists, tunnels, NAS-PDU, cause, target ... into a reused summary.</summary>
    [Benchmark(OperationsPerInvoke = MessagesPerInvoke, Baseline = true)]
    public long McFieldsFastPath()
    {
        long acc = 0;
        foreach (var m in _messages)
        {
            S1apDecoder.Decode(m, _summary);
            acc += _summary.ERabs.Count + (_summary.MmeUeS1apId ?? 0);
        }

        return acc;
    }

    /// <summary>
    /// The same MC fields as the fast path, through the object model: decode, then read each IE the MC uses from its
    /// value. The like-for-like comparison (ObjectModelDecode below only splits the IEs, it reads none of them).
    /// </summary>
    [Benchmark(OperationsPerInvoke = MessagesPerInvoke)]
    public long McFieldsViaObjectModel()
    {
        long acc = 0;
        var erabs = new List<ERabItem>(8);
        foreach (var m in _messages)
        {
            var message = S1apMessage.Decode(m);
            erabs.Clear();
            uint? mme = null;
            foreach (var ie in message.ProtocolIes)
            {
                var r = ie.Reader();
                switch (ie.Id)
                {
                    case S1apIeId.MmeUeS1apId:
                        mme = S1apIeCodec.ReadMmeUeS1apId(ref r);
                        break;
                    case S1apIeId.EnbUeS1apId:
                        acc += S1apIeCodec.ReadEnbUeS1apId(ref r);
                        break;
                    case S1apIeId.Cause:
                        acc += (long)S1apIeCodec.ReadCause(ref r).Group;
                        break;
                    case S1apIeId.TargetId:
                        acc += S1apIeCodec.ReadTargetId(ref r) is null ? 0 : 1;
                        break;
                    case S1apIeId.Tai:
                        acc += S1apIeCodec.ReadTai(ref r).Tac;
                        break;
                    case S1apIeId.EutranCgi:
                        acc += S1apIeCodec.ReadEutranCgi(ref r).CellId;
                        break;
                    default:
                        if (S1apIeCodec.IsERabList(ie.Id))
                        {
                            S1apIeCodec.ReadERabList(ref r, ie.Id, erabs);
                        }

                        break;
                }
            }

            acc += erabs.Count + (mme ?? 0);
        }

        return acc;
    }

    /// <summary>The editable object model (every IE kept as opaque bytes, none read), for comparison.</summary>
    [Benchmark(OperationsPerInvoke = MessagesPerInvoke)]
    public long ObjectModelDecode()
    {
        long acc = 0;
        foreach (var m in _messages)
        {
            acc += S1apMessage.Decode(m).ProtocolIes.Count;
        }

        return acc;
    }

    /// <summary>Decode then re-encode byte-exact through the object model.</summary>
    [Benchmark(OperationsPerInvoke = MessagesPerInvoke)]
    public long ObjectModelRoundTrip()
    {
        long acc = 0;
        foreach (var m in _messages)
        {
            acc += S1apMessage.Decode(m).Encode().Length;
        }

        return acc;
    }
}

/// <summary>
/// The peer in the same run: tshark dissecting S1AP over every shared capture (`tshark -r F -Y s1ap`, fields
/// output). Divide the S1AP message count printed at setup by the Mean to get tshark's messages per second.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class S1apTsharkPeerBenchmarks
{
    private IReadOnlyList<string> _captures = [];

    [GlobalSetup]
    public void Setup()
    {
        _captures = S1apCorpus.Captures();
        Console.WriteLine($"// tshark peer: {S1apCorpus.Load().Count} S1AP messages in {_captures.Count} captures per invocation");
    }

    [Benchmark]
    public int TsharkDissectS1apAllCaptures()
    {
        var lines = 0;
        foreach (var capture in _captures)
        {
            var psi = new ProcessStartInfo("tshark", ["-r", capture, "-Y", "s1ap", "-T", "fields", "-e", "s1ap.procedureCode", "-e", "s1ap.MME_UE_S1AP_ID", "-e", "s1ap.e_RAB_ID", "-e", "s1ap.gTP_TEID"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            while (p.StandardOutput.ReadLine() is not null)
            {
                lines++;
            }

            p.WaitForExit();
        }

        return lines;
    }
}
