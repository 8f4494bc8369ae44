using MobiScud.Control.Host;
using Microsoft.Extensions.Logging;

namespace MobiScud.Control.Tests.Host;

public sealed class BackgroundTasksTests
{
    [Fact]
    public async Task A_failure_is_logged_with_what_the_task_was_doing_and_counted()
    {
        var log = new RecordingLogger();
        var tasks = new BackgroundTasks(log);
        tasks.Start(() => throw new InvalidOperationException("boom"), "watching switch 7");
        await tasks.DrainAsync();

        Assert.Equal(1, tasks.Failed);
        var entry = Assert.Single(log.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal("watching switch 7", entry.What);
        Assert.IsType<InvalidOperationException>(entry.Exception);
    }

    [Fact]
    public async Task Drain_waits_for_every_running_task_and_cancellation_is_not_a_failure()
    {
        var log = new RecordingLogger();
        var tasks = new BackgroundTasks(log);
        var release = new TaskCompletionSource();
        using var stop = new CancellationTokenSource();
        var finished = 0;
        tasks.Start(async () => { await release.Task; Interlocked.Increment(ref finished); }, "waiting");
        tasks.Track(Task.Delay(Timeout.Infinite, stop.Token), "delay");
        var drained = tasks.DrainAsync();
        Assert.False(drained.IsCompleted);

        release.SetResult();
        await stop.CancelAsync();
        await drained;

        Assert.Equal(1, finished);
        Assert.Equal(0, tasks.Count);
        Assert.Equal(0, tasks.Failed);
        Assert.Empty(log.Entries);
    }

    [Fact]
    public async Task Run_returns_a_task_that_ends_with_the_work_and_never_faults()
    {
        var tasks = new BackgroundTasks(new RecordingLogger());
        var t = tasks.Run(() => throw new IOException("gone"), "reading");
        await t;

        Assert.True(t.IsCompletedSuccessfully);
        Assert.Equal(1, tasks.Failed);
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<(LogLevel Level, string? What, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var what = state is IReadOnlyList<KeyValuePair<string, object?>> values ? values.FirstOrDefault(v => v.Key == "What").Value as string : null;
            lock (Entries)
            {
                Entries.Add((logLevel, what, exception));
            }
        }
    }
}
