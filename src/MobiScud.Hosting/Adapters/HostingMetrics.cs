using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace MobiScud.Hosting.Adapters;

/// <summary>The service's OpenTelemetry instruments (exported on /metrics), plus a latency histogram the bench reads.</summary>
public sealed class HostingMetrics : IDisposable
{
    public const string MeterName = "MobiScud.Hosting";
    private readonly Meter _meter;
    private readonly Counter<long> _events;
    private readonly Counter<long> _decodeErrors;
    private readonly Histogram<double> _reaction;
    private readonly Counter<long> _migrations;
    private readonly Histogram<double> _migrationSeconds;
    private readonly Counter<long> _webhooks;
    private readonly Counter<long> _steeringFailures;
    private readonly ConcurrentDictionary<string, int> _pvmsPerSite = new();
    private long _eventCount;

    public HostingMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _events = _meter.CreateCounter<long>("mobiscud.events", "{event}", "Control events applied by the MC, by type (rate = events/s)");
        _decodeErrors = _meter.CreateCounter<long>("mobiscud.decode.errors", "{error}", "Input that could not be decoded, by reason");
        _reaction = _meter.CreateHistogram<double>("mobiscud.reaction.latency", "s", "From an event entering the pipeline to its commands being executed");
        _migrations = _meter.CreateCounter<long>("mobiscud.migrations", "{migration}", "Live migrations ended, by outcome");
        _migrationSeconds = _meter.CreateHistogram<double>("mobiscud.migration.duration", "s", "Live migration duration, by outcome");
        _webhooks = _meter.CreateCounter<long>("mobiscud.webhooks", "{notification}", "MEC notifications sent, by result");
        _steeringFailures = _meter.CreateCounter<long>("mobiscud.steering.failures", "{failure}", "Steering a switch rejected or did not confirm, reported to the MC, by reason");
        _meter.CreateObservableGauge("mobiscud.site.pvms", () => _pvmsPerSite.Select(kv => new Measurement<int>(kv.Value, new KeyValuePair<string, object?>("site", kv.Key))), "{pvm}", "PVMs per site (held or arriving)");
    }

    /// <summary>Latencies in microseconds, log2 buckets: cheap enough for every event, precise enough for a p99.</summary>
    public LatencyHistogram Latency { get; } = new();

    public long EventCount => Interlocked.Read(ref _eventCount);

    public void Event(string type)
    {
        Interlocked.Increment(ref _eventCount);
        _events.Add(1, new KeyValuePair<string, object?>("type", type));
    }

    public void DecodeError(string reason) => _decodeErrors.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Reaction(long enqueuedTimestamp)
    {
        var elapsed = TimeProvider.System.GetElapsedTime(enqueuedTimestamp);
        _reaction.Record(elapsed.TotalSeconds);
        Latency.Record(elapsed);
    }

    public void MigrationEnded(string outcome, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _migrations.Add(1, tag);
        _migrationSeconds.Record(duration.TotalSeconds, tag);
    }

    /// <summary>One SteeringFailed reported to the MC; <paramref name="reason"/> is a SteeringFailureKinds value.</summary>
    public void SteeringFailure(string reason) => _steeringFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Webhook(string result) => _webhooks.Add(1, new KeyValuePair<string, object?>("result", result));

    public void SitePvms(string site, int count) => _pvmsPerSite[site] = count;

    public void Dispose() => _meter.Dispose();
}

/// <summary>
/// Microsecond latencies in buckets of 1/8 octave (values below 8 us exact): a lock-free increment per event, and any
/// quantile within 12.5 % of the truth.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBits = 3;
    private const int Sub = 1 << SubBits;
    private readonly long[] _buckets = new long[Sub + ((64 - SubBits) * Sub)];

    public void Record(TimeSpan t)
    {
        var us = Math.Max(0, (long)t.TotalMicroseconds);
        Interlocked.Increment(ref _buckets[Index(us)]);
    }

    private static int Index(long us)
    {
        if (us < Sub)
        {
            return (int)us;
        }

        var octave = 63 - (int)long.LeadingZeroCount(us);
        var sub = (int)(us >> (octave - SubBits)) - Sub;
        return Sub + ((octave - SubBits) * Sub) + sub;
    }

    /// <summary>The largest value that falls in bucket i.</summary>
    private static double UpperEdge(int i)
    {
        if (i < Sub)
        {
            return i;
        }

        var octave = ((i - Sub) / Sub) + SubBits;
        var sub = (i - Sub) % Sub;
        return ((Sub + sub + 1) * Math.Pow(2, octave - SubBits)) - 1;
    }

    public void Reset() => Array.Clear(_buckets);

    public long Count => _buckets.Sum();

    /// <summary>The upper edge of the bucket holding the quantile (at most 12.5 % over).</summary>
    public TimeSpan Quantile(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return TimeSpan.Zero;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank)
            {
                return TimeSpan.FromMicroseconds(UpperEdge(i));
            }
        }

        return TimeSpan.MaxValue;
    }
}
