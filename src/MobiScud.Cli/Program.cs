using System.CommandLine;
using MobiScud.Cli;

// Each subcommand lives in its own file and is listed here.
var root = new RootCommand("MobiScud: a mobile edge cloud whose personal VMs follow their users across LTE handovers.");
foreach (var command in CliCommands.All())
{
    root.Subcommands.Add(command);
}

var parse = root.Parse(args);
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = CliCommands.TerminationTimeout(parse.CommandResult.Command) });
