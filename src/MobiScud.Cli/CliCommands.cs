using System.CommandLine;

namespace MobiScud.Cli;

internal static class CliCommands
{
    /// <summary>Every `mobiscud` subcommand, one factory per file.</summary>
    public static IEnumerable<Command> All() =>
    [
        DemoCommand.Create(),
        RunCommand.Create(),
        PvmCommand.Create(),
        TestbedCommand.Create(),
        SdnCommand.Create(),
        ReplayCommand.Create(),
        DecodeCommand.Create(),
        ServeCommand.Create(),
        BenchSendCommand.Create(),
    ];
}
