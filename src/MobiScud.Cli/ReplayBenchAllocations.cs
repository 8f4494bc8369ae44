using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace MobiScud.Cli;

/// <summary>
/// `MOBISCUD_BENCH_ALLOC=1 mobiscud replay --bench`: which types the in-memory replay allocates, from the runtime's
/// sampled GCAllocationTick events (one per ~100 KB allocated, naming the type that crossed the mark), so the shares are
/// estimates proportional to bytes. A profiling aid for the tracker's allocation work (issue 18), not a figure to quote.
/// </summary>
internal static class AllocationProfile
{
    public static void Print(Action run, TextWriter output)
    {
        using var listener = new TickListener();
        run();
        var total = listener.Bytes.Values.Sum();
        output.WriteLine(Inv($"  allocations by type (sampled, {total / 1e6:N0} MB seen):"));
        foreach (var (type, bytes) in listener.Bytes.OrderByDescending(p => p.Value).Take(30))
        {
            output.WriteLine(Inv($"    {100.0 * bytes / total,5:0.0}% {type}"));
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private sealed class TickListener : EventListener
    {
        public ConcurrentDictionary<string, long> Bytes { get; } = new(StringComparer.Ordinal);

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick is verbose
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null || e.PayloadNames is null)
            {
                return;
            }

            var type = e.PayloadNames.IndexOf("TypeName") is >= 0 and var t ? e.Payload[t] as string ?? "?" : "?";
            var amount = e.PayloadNames.IndexOf("AllocationAmount64") is >= 0 and var a ? Convert.ToInt64(e.Payload[a], CultureInfo.InvariantCulture) : 100_000;
            Bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
        }
    }
}
