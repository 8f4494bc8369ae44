using MobiScud.Cli;
using MobiScud.Hosting;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>How long each command may stop after SIGINT/SIGTERM before System.CommandLine ends the process (130/143).</summary>
public sealed class TerminationTimeoutTests
{
    private static System.CommandLine.Command Command(string name) => CliCommands.All().Single(c => c.Name == name);

    [Fact]
    public void Serve_may_stop_as_long_as_its_host_allows_and_the_other_commands_keep_two_seconds()
    {
        // A graceful stop of serve (silo, pipeline, grain state) that outlasts the 2 s default exited 143 half-way.
        Assert.True(CliCommands.TerminationTimeout(Command("serve")) > ServeHost.ShutdownTimeout);

        // replay --live sizes its drain (1 s) so that its summary comes out within these 2 s (docs/capture.md).
        Assert.Equal(TimeSpan.FromSeconds(2), CliCommands.TerminationTimeout(Command("replay")));
        Assert.Equal(TimeSpan.FromSeconds(2), CliCommands.TerminationTimeout(Command("testbed")));
    }
}
