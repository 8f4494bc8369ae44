using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace MobiScud.Hosting.Tests;

/// <summary>Writes the service's log into the test's output, so a failure in CI shows what the service saw.</summary>
internal sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    private volatile bool _disposed;

    public ILogger CreateLogger(string categoryName) => new OutputLogger(this, categoryName);

    // The helper throws once its test has ended; a service still stopping may log after that.
    public void Dispose() => _disposed = true;

    private sealed class OutputLogger(TestOutputLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (owner._disposed)
            {
                return;
            }

            try
            {
                owner.Output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : $" {exception}")}");
            }
            catch (InvalidOperationException)
            {
                // "There is no currently active test": the test ended while the service was still logging.
            }
        }
    }

    private ITestOutputHelper Output => output;
}
