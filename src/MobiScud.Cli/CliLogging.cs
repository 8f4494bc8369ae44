using System.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace MobiScud.Cli;

/// <summary>
/// The logger factory of the commands that build adapters themselves (`testbed run`, `sdn bench`, `pvm`; `serve`
/// has its host's): the console, every level on stderr, so stdout keeps only what the command reports (tables,
/// paths, figures) and can be piped.
/// </summary>
internal static class CliLogging
{
    public static readonly Option<LogLevel> Level = new("--log-level")
    {
        Description = "Least level of the diagnostics written to stderr: Trace, Debug, Information, Warning, Error, Critical or None",
        DefaultValueFactory = _ => LogLevel.Information,
    };

    public static ILoggerFactory Create(ParseResult parse) => Create(parse.GetValue(Level));

    public static ILoggerFactory Create(LogLevel level) => LoggerFactory.Create(b => b
        .SetMinimumLevel(level)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }));
}
