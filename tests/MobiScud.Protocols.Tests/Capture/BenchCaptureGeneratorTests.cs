using System.Globalization;
using MobiScud.Bench.Support;
using MobiScud.Capture;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Capture;

public sealed class BenchCaptureGeneratorTests
{
    [Fact]
    public async Task Many_repetitions_of_captures_years_apart_keep_valid_increasing_timestamps()
    {
        // 2019 and 2021 captures: their dates used to become the span of one repetition, overflowing Int64 nanoseconds after ~17.
        string[] inputs = [TestData.Capture("open5gs_testepc_2019.pcapng"), TestData.Capture("magma_gx_gy_combined_04_32ue.pcapng")];
        var path = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():n}.pcap");
        try
        {
            const int repeat = 40;
            long frames;
            using (var file = File.Create(path))
            {
                (frames, _) = BenchCaptureGenerator.Generate(inputs, repeat, file, sctpOnly: true);
            }

            var perRepetition = frames / repeat;
            var times = new List<long>();
            using (var source = CaptureFile.Open(path))
            {
                while (source.TryReadNext(out var frame))
                {
                    times.Add(frame.TimestampNanos);
                }
            }

            Assert.Equal(frames, times.Count);
            Assert.All(times, t => Assert.InRange(t, BenchCaptureGenerator.FirstTimestamp, BenchCaptureGenerator.FirstTimestamp + (10L * 365 * 86400 * 1_000_000_000L)));
            // Each repetition starts after the previous one has ended.
            for (var r = 1; r < repeat; r++)
            {
                var previous = times.Skip((int)((r - 1) * perRepetition)).Take((int)perRepetition).Max();
                Assert.True(times[(int)(r * perRepetition)] > previous, $"repetition {r} starts at {times[(int)(r * perRepetition)]}, before the previous one ended ({previous})");
            }

            // tshark reads the same times (the oracle for the file format), last frame included.
            var last = await Tshark.FieldsAsync(path, string.Empty, "frame.time_epoch");
            Assert.Equal(frames, last.Count);
            var tsharkLast = decimal.Parse(last[^1][0], CultureInfo.InvariantCulture);
            Assert.Equal(times[^1] / 1_000_000_000m, tsharkLast);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Signalling_capture_is_s1ap_dense_and_tshark_dissects_every_message_of_every_repetition()
    {
        // Diameter over SCTP and non-signalling traffic (magma's capture is mostly that) would cost tshark time and us
        // none: the generated capture keeps the S1AP associations and some GTP-U only.
        string[] inputs = [TestData.Capture("open5gs_testepc_2019.pcapng"), TestData.Capture("magma_gx_gy_combined_04_32ue.pcapng")];
        var path = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():n}.pcap");
        try
        {
            const int repeat = 3;
            using (var file = File.Create(path))
            {
                BenchCaptureGenerator.Generate(inputs, repeat, file, BenchFilter.Signalling);
            }

            // tshark -r open5gs_testepc_2019.pcapng -Y s1ap: 310 messages; magma_gx_gy_combined_04_32ue.pcapng: 544 (539 frames).
            var s1ap = await Tshark.FieldsAsync(path, "s1ap", "s1ap.procedureCode");
            Assert.Equal(repeat * (310 + 544), s1ap.Sum(r => r[0].Split(',').Length));
            Assert.Empty(await Tshark.FieldsAsync(path, "_ws.malformed || diameter", "frame.number"));
            var other = await Tshark.FieldsAsync(path, "!(sctp.port == 36412) && !gtp", "frame.number");
            Assert.Empty(other);
            Assert.NotEmpty(await Tshark.FieldsAsync(path, "gtp", "frame.number"));

            var pipeline = new SignallingPipeline(new CountingSink());
            using (var source = CaptureFile.Open(path))
            {
                pipeline.Run(source);
            }

            Assert.Equal(repeat * (310 + 544), pipeline.Statistics.S1apMessages);
            Assert.Equal(0, pipeline.Statistics.Undecodable);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class CountingSink : ISignallingSink
    {
        public void OnS1ap(in PayloadContext context, MobiScud.Protocols.S1ap.S1apSummary summary)
        {
        }

        public void OnGtp(in PayloadContext context, UdpPayloadKind kind, ReadOnlySpan<byte> payload)
        {
        }
    }
}
