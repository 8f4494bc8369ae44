using System.CommandLine;
using MobiScud.Hosting;

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

    /// <summary>
    /// How long a command may take to stop after SIGINT/SIGTERM cancelled its token before System.CommandLine ends the
    /// process anyway (exit 130/143). Its 2 s default suits the commands that stop at once (replay --live sizes its
    /// drain to it); `serve` stops a silo gracefully, which takes longer than 2 s on a loaded host, so it gets its
    /// host's own shutdown timeout and a margin (cut short, it exited 143 in the middle of that stop).
    /// </summary>
    public static TimeSpan TerminationTimeout(Command command) =>
        command.Name == "serve" ? ServeHost.ShutdownTimeout + TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(2);
}
