using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MobiScud.Testbed.Tests;

/// <summary>An <see cref="ILoggerProvider"/> that keeps every entry (category, level, formatted message) for a test to read.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();
    private int _disposed;

    public ListLoggerProvider() => Factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(this));

    public sealed record Entry(string Category, LogLevel Level, string Message);

    /// <summary>A factory whose loggers write here.</summary>
    public ILoggerFactory Factory { get; }

    public IReadOnlyCollection<Entry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    /// <summary>Disposes the factory (which disposes this provider again: the second call does nothing).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Factory.Dispose();
        }
    }

    private sealed class ListLogger(ListLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new Entry(category, logLevel, formatter(state, exception)));
    }
}
