using MobiScud.Protocols.Aper;
using MobiScud.Protocols.Gtp;
using MobiScud.Protocols.Nas;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Tests.Nas;
using MobiScud.Protocols.Tests.S1ap;
using MobiScud.TestSupport;
using Xunit.Abstractions;

namespace MobiScud.Protocols.Tests.Fuzz;

/// <summary>
/// Mutation fuzzing of every codec with real messages from the shared captures as seeds: bit flips,
/// truncation, length-field corruption, insertions/deletions, splices of two messages and random bytes.
/// The only exception allowed is the codec's typed decode error; allocation per input is bounded by its
/// size (never by a length field); a watchdog fails the run if it hangs.
/// MOBISCUD_FUZZ_ITERATIONS sets the inputs per codec (default 100,000); MOBISCUD_FUZZ_SEED the seed.
/// </summary>
public class MutationFuzzTests(ITestOutputHelper output)
{
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : 100_000;

    private static int Seed =>
        int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_FUZZ_SEED"), out var s) ? s : 20260601;

    [Fact]
    public void S1ap_and_aper_survive_mutated_real_messages()
    {
        var seeds = TsharkCorpus.All("s1ap").Select(m => m.Bytes).ToList();
        var summary = new S1apSummary();
        Run("S1AP", seeds, input =>
        {
            S1apDecoder.Decode(input, summary);
            var message = S1apMessage.Decode(input);
            message.Encode();
            foreach (var ie in message.ProtocolIes)
            {
                // Typed decoders on arbitrary IE contents must also fail only with the typed error.
                var r = new AperReader(ie.Value.Span);
                S1apIeCodec.ReadCause(ref r);
            }
        }, e => e is AperDecodeException);
    }

    [Fact]
    public void Ngap_survives_mutated_real_and_built_messages()
    {
        // Seeds: every NGAP message of both 5G captures plus our handover/path switch messages (the lists captures lack).
        var seeds = Ngap.NgapOracleTests.NgapCaptures.SelectMany(Ngap.NgapOracleTests.Messages).Select(m => m.Bytes)
            .Concat(Ngap.NgapEncoderTsharkTests.HandoverMessages().Select(m => m.Encode())).ToList();
        var summary = new MobiScud.Protocols.Ngap.NgapSummary();
        Run("NGAP", seeds, input =>
        {
            MobiScud.Protocols.Ngap.NgapDecoder.Decode(input, summary);
            var message = MobiScud.Protocols.Ngap.NgapMessage.Decode(input);
            message.Encode();
        }, e => e is AperDecodeException);
    }

    [Fact]
    public void Nas5g_survives_mutated_real_messages()
    {
        var seeds = Ngap.NgapOracleTests.NgapCaptures.SelectMany(c => Nas5gOracleTests.NasPdus(c).SelectMany(x => x.Nas)).ToList();
        Run("5G NAS", seeds, input =>
        {
            Nas5gDecoder.Decode(input);
            Nas5gDecoder.Decode(input, nullCipheringInUse: true);
        }, e => e is NasDecodeException);
    }

    [Fact]
    public void Nas_survives_mutated_real_messages()
    {
        var seeds = TestData.AllCaptures().Where(c => !Path.GetFileName(c).Contains("ngap", StringComparison.Ordinal))
            .SelectMany(c => NasOracleTests.NasPdus(Path.GetFileName(c)).SelectMany(x => x.Nas)).ToList();
        Run("NAS", seeds, input =>
        {
            NasDecoder.Decode(input);
            NasDecoder.Decode(input, nullCipheringInUse: true);
        }, e => e is NasDecodeException);
    }

    [Fact]
    public void Gtpv2c_survives_mutated_real_messages()
    {
        var seeds = TsharkCorpus.All("gtpv2").Select(m => m.Bytes).ToList();
        Run("GTPv2-C", seeds, input => GtpV2Decoder.Decode(input), e => e is GtpDecodeException);
    }

    [Fact]
    public void Gtpu_survives_mutated_real_messages()
    {
        // GTP-U headers with extension headers are rare in the captures, so a few synthetic chains join the seeds.
        var seeds = TsharkCorpus.All("gtp").Select(m => m.Bytes).Take(2000).ToList();
        seeds.Add([0x34, 0xFF, 0x00, 0x10, 0, 0, 0, 1, 0x00, 0x01, 0x00, 0x85, 0x01, 0x10, 0x05, 0x00, 0x45, 0, 0, 0, 0, 0, 0, 0]);
        seeds.Add([0x36, 0xFE, 0x00, 0x0C, 0, 0, 0, 2, 0x12, 0x34, 0x00, 0xC0, 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00]);
        Run("GTP-U", seeds, input =>
        {
            var h = GtpU.Decode(input);
            _ = h.Payload(input).Length;
        }, e => e is GtpDecodeException);
    }

    private void Run(string codec, IReadOnlyList<byte[]> seeds, Action<byte[]> decode, Func<Exception, bool> typed)
    {
        Assert.True(seeds.Count > 0, $"no {codec} seeds in the captures");
        var iterations = Iterations;
        var seed = Seed;
        var failures = new List<string>();
        var typedErrors = 0;
        var work = Task.Run(() =>
        {
            var rng = new Random(seed);
            for (var i = 0; i < iterations && failures.Count < 10; i++)
            {
                var input = Mutate(rng, seeds);
                var before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    decode(input);
                }
                catch (Exception e) when (typed(e))
                {
                    typedErrors++;
                }
                catch (Exception e)
                {
                    failures.Add($"#{i} {e.GetType().Name}: {e.Message} input {Convert.ToHexString(input)}");
                }

                // Decoded views may copy the input a few times, never more than a bound proportional to it.
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (allocated > (64L * input.Length) + 256 * 1024)
                {
                    failures.Add($"#{i} allocated {allocated} bytes for a {input.Length}-byte input {Convert.ToHexString(input)}");
                }
            }
        });

        // A hang is a failure: the watchdog is generous (10 us/input budget is ~100x the real cost).
        var budget = TimeSpan.FromSeconds(Math.Max(120, iterations / 10_000.0 * 60));
        Assert.True(work.Wait(budget), $"{codec} fuzzing did not finish within {budget} (hang?)");
        output.WriteLine($"{codec}: {iterations} mutated inputs from {seeds.Count} seeds (seed {seed}), {typedErrors} typed decode errors");
        Assert.True(failures.Count == 0, $"{codec} fuzz failures (seed {seed}):\n" + string.Join("\n", failures));
        Assert.True(typedErrors > 0 && typedErrors < iterations, $"{codec}: mutations should produce some but not only errors ({typedErrors})");
    }

    private static byte[] Mutate(Random rng, IReadOnlyList<byte[]> seeds)
    {
        var src = seeds[rng.Next(seeds.Count)];
        var b = (byte[])src.Clone();
        var rounds = 1 + rng.Next(3);
        for (var r = 0; r < rounds; r++)
        {
            switch (rng.Next(8))
            {
                case 0: // bit flips
                    for (var k = 1 + rng.Next(4); k > 0 && b.Length > 0; k--)
                    {
                        b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                    }

                    break;
                case 1: // truncation
                    b = b[..rng.Next(b.Length + 1)];
                    break;
                case 2: // length-like corruption: big, fragment markers, zero, 0x80 two-octet form
                    if (b.Length > 0)
                    {
                        byte[] values = [0xFF, 0x00, 0x7F, 0x80, 0xBF, 0xC1, 0xC4, 0xC5, 0x40, 0x01];
                        b[rng.Next(b.Length)] = values[rng.Next(values.Length)];
                    }

                    break;
                case 3: // 16-bit length fields (GTP) and counts (APER containers) set large
                    if (b.Length > 3)
                    {
                        var at = rng.Next(b.Length - 1);
                        b[at] = (byte)rng.Next(256);
                        b[at + 1] = 0xFF;
                    }

                    break;
                case 4: // splice two messages
                    {
                        var other = seeds[rng.Next(seeds.Count)];
                        var cut = rng.Next(b.Length + 1);
                        var from = rng.Next(other.Length + 1);
                        b = [.. b.AsSpan(0, cut), .. other.AsSpan(from)];
                        break;
                    }

                case 5: // insert random bytes
                    {
                        var at = rng.Next(b.Length + 1);
                        var ins = new byte[1 + rng.Next(8)];
                        rng.NextBytes(ins);
                        b = [.. b.AsSpan(0, at), .. ins, .. b.AsSpan(at)];
                        break;
                    }

                case 6: // delete a range
                    if (b.Length > 1)
                    {
                        var at = rng.Next(b.Length);
                        var len = 1 + rng.Next(Math.Min(8, b.Length - at));
                        b = [.. b.AsSpan(0, at), .. b.AsSpan(at + len)];
                    }

                    break;
                default: // random bytes
                    b = new byte[rng.Next(64)];
                    rng.NextBytes(b);
                    break;
            }
        }

        return b;
    }
}
