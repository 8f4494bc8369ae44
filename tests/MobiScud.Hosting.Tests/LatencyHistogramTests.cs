using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MobiScud.Hosting.Adapters;

namespace MobiScud.Hosting.Tests;

/// <summary>The reaction-latency histogram (/metrics and the serve bench) against exact quantiles of the sorted samples.</summary>
public sealed class LatencyHistogramTests
{
    private static readonly double[] _quantiles = [0.5, 0.9, 0.99, 0.999, 1.0];

    [Property(MaxTest = 300)]
    public Property QuantileIsTheExactOneOrAtMostAnEighthAbove()
    {
        // Microseconds from 0 to about 20 minutes, spread over many octaves.
        var sample = Gen.Choose(0, 40).SelectMany(bits => Gen.Choose(0, int.MaxValue).Select(r => (long)(r % (1L << Math.Min(bits, 30))) << Math.Max(0, bits - 30)));
        return Prop.ForAll(Gen.NonEmptyListOf(sample).ToArbitrary(), values =>
        {
            var h = new LatencyHistogram();
            foreach (var v in values)
            {
                h.Record(TimeSpan.FromMicroseconds(v));
            }

            var sorted = values.Order().ToArray();
            foreach (var q in _quantiles)
            {
                var exact = sorted[Math.Max(1, (int)Math.Ceiling(q * sorted.Length)) - 1];
                var got = h.Quantile(q).TotalMicroseconds;
                if (got < exact || got > (exact * 1.125) + 1e-6)
                {
                    return false.Label($"q={q}: exact {exact} us, histogram {got} us");
                }
            }

            return (h.Count == values.Count).Label("count");
        });
    }

    [Fact]
    public void EmptyAndReset()
    {
        var h = new LatencyHistogram();
        Assert.Equal(TimeSpan.Zero, h.Quantile(0.99));
        h.Record(TimeSpan.FromMilliseconds(3));
        Assert.Equal(1, h.Count);
        h.Reset();
        Assert.Equal(0, h.Count);
    }
}
