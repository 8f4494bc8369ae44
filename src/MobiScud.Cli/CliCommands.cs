using System.CommandLine;

namespace MobiScud.Cli;

internal static class CliCommands
{
    /// <summary>Every `mobiscud` subcommand, one factory per file.</summary>
    public static IEnumerable<Command> All() => [ServeCommand.Create()];
}
