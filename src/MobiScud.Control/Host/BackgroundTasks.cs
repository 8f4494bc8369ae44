using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MobiScud.Control.Host;

/// <summary>
/// The tasks a component starts and owns, instead of fire-and-forget: each is kept until it ends, a failure is logged
/// with what the task was doing, and <see cref="DrainAsync"/> (on stop) waits for all of them.
/// </summary>
public sealed class BackgroundTasks(ILogger? log = null)
{
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private readonly ILogger _log = log ?? NullLogger.Instance;
    private long _next;
    private long _failed;

    /// <summary>Tasks still running.</summary>
    public int Count => _running.Count;

    /// <summary>Tasks that ended in an exception (each logged).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Runs <paramref name="work"/> on the thread pool; <paramref name="what"/> names it in the log if it fails.</summary>
    public void Start(Func<Task> work, string what) => Observe(Task.Run(work, CancellationToken.None), what);

    /// <summary>As <see cref="Start"/>, and returns a task that completes with the work and never faults (its failure is logged).</summary>
    public Task Run(Func<Task> work, string what) => Observe(Task.Run(work, CancellationToken.None), what);

    /// <summary>Keeps <paramref name="task"/> (already started) until it ends.</summary>
    public void Track(Task task, string what) => Observe(task, what);

    private Task Observe(Task task, string what)
    {
        var id = Interlocked.Increment(ref _next);
        var observed = ObserveAsync(id, task, what);
        _running[id] = observed;
        if (observed.IsCompleted)
        {
            _running.TryRemove(id, out _);
        }

        return observed;
    }

    private async Task ObserveAsync(long id, Task task, string what)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Cancelled by its owner's stop: not a failure.
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            _log.LogError(e, "{What} failed", what);
        }
        finally
        {
            _running.TryRemove(id, out _);
        }
    }

    /// <summary>Waits for every task running now (and any they start meanwhile); call after signalling them to stop.</summary>
    public async Task DrainAsync()
    {
        while (!_running.IsEmpty)
        {
            await Task.WhenAll(_running.Values).ConfigureAwait(false);
        }
    }
}
