using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using MobiScud.Protocols.Ngap;

namespace MobiScud.Bench;

/// <summary>
/// NGAP decode throughput on one core over every NGAP-PDU (carried by SCTP) of the shared 5G captures. Each operation
/// is one message (the corpus is cycled to 10,000 messages per invocation), so 1/Mean is the messages per second.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class NgapDecodeBenchmarks
{
    private const int MessagesPerInvoke = 10_000;
    private readonly NgapSummary _summary = new();
    private byte[][] _messages = [];

    internal static List<byte[]> Load()
    {
        var all = new List<byte[]>();
        foreach (var capture in S1apCorpus.Captures().Where(c => Path.GetFileName(c).Contains("ngap", StringComparison.Ordinal)))
        {
            var psi = new ProcessStartInfo("tshark", ["-r", capture, "-Y", "ngap && sctp", "-T", "json", "-x", "-J", "frame ngap"])
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
                else if (line.TrimStart().StartsWith("\"ngap_raw\": [", StringComparison.Ordinal))
                {
                    takeNext = true;
                }
            }

            p.WaitForExit();
        }

        return all;
    }

    [GlobalSetup]
    public void Setup()
    {
        var corpus = Load();
        if (corpus.Count == 0)
        {
            throw new InvalidOperationException("no NGAP messages found in the shared captures");
        }

        _messages = Enumerable.Range(0, MessagesPerInvoke).Select(i => corpus[i % corpus.Count]).ToArray();
        Console.WriteLine($"// NGAP corpus: {corpus.Count} messages");
    }

    /// <summary>The MC fast path: header, UE ids, PDU session lists with their transfers' tunnels, NAS-PDU ... into a reused summary.</summary>
    [Benchmark(OperationsPerInvoke = MessagesPerInvoke, Baseline = true)]
    public long McFieldsFastPath()
    {
        long acc = 0;
        foreach (var m in _messages)
        {
            NgapDecoder.Decode(m, _summary);
            acc += _summary.PduSessions.Count + (long)(_summary.AmfUeNgapId ?? 0);
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
            acc += NgapMessage.Decode(m).Encode().Length;
        }

        return acc;
    }
}
