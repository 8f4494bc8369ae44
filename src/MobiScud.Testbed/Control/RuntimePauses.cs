using System.Diagnostics.Tracing;

namespace MobiScud.Testbed.Control;

/// <summary>One time the runtime stopped every managed thread: from the suspension's start to the threads' restart.</summary>
/// <param name="Reason">The runtime's suspension reason (1: a garbage collection, 6: its preparation; others: e.g. code
/// versioning); <paramref name="Generation"/>: the collection's generation, null when none ran.</param>
internal sealed record RuntimePause(DateTimeOffset Start, DateTimeOffset End, int Reason, int? Generation)
{
    public TimeSpan Duration => End - Start;
}

/// <summary>
/// Records every runtime suspension of this process (garbage collections and the others) from the runtime's own events,
/// so that a slow wire -> decision time can be laid against them (docs/testbed.md, Reaction times). A thread blocked in
/// libpcap is not stopped by a suspension, but it cannot return to managed code before the restart: the frame waits.
/// </summary>
internal sealed class RuntimePauses : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly List<RuntimePause> _pauses = [];
    private DateTimeOffset? _suspendStart;
    private int _reason;
    private int? _generation;

    /// <summary>Every pause so far, in order.</summary>
    public IReadOnlyList<RuntimePause> Pauses
    {
        get
        {
            lock (_pauses)
            {
                return [.. _pauses];
            }
        }
    }

    /// <summary>How long the runtime was stopped within [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public static TimeSpan Within(IReadOnlyList<RuntimePause> pauses, DateTimeOffset from, DateTimeOffset to)
    {
        var total = TimeSpan.Zero;
        foreach (var p in pauses)
        {
            var start = p.Start > from ? p.Start : from;
            var end = p.End < to ? p.End : to;
            if (end > start)
            {
                total += end - start;
            }
        }

        return total;
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == RuntimeSource)
        {
            EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        // Events come one at a time from the runtime's dispatch thread; the lock is for the readers of Pauses.
        switch (e.EventName)
        {
            case "GCSuspendEEBegin_V1":
                _suspendStart = new DateTimeOffset(e.TimeStamp.ToUniversalTime());
                _reason = e.Payload is [var reason, ..] ? Convert.ToInt32(reason, System.Globalization.CultureInfo.InvariantCulture) : -1;
                _generation = null;
                break;
            case "GCStart_V2":
                _generation = e.Payload is [_, var depth, ..] ? Convert.ToInt32(depth, System.Globalization.CultureInfo.InvariantCulture) : null;
                break;
            case "GCRestartEEEnd_V1" when _suspendStart is { } start:
                lock (_pauses)
                {
                    _pauses.Add(new RuntimePause(start, new DateTimeOffset(e.TimeStamp.ToUniversalTime()), _reason, _generation));
                }

                _suspendStart = null;
                break;
        }
    }
}
