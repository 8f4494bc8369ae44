using System.CommandLine;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Cli;

/// <summary>`mobiscud testbed up|run|down`: the paper's LTE experiment in network namespaces on this machine.</summary>
internal static class TestbedCommand
{
    public static Command Create()
    {
        var command = new Command("testbed", "Emulated eNBs/MME/S-GW in namespaces with real S1AP and GTP-U, the MC on a tap, OVS edge sites.");
        var runDir = new Option<string>("--run-dir")
        {
            Description = "Directory for the state file, OVS daemons, pcap, CSV and plot",
            DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "mobiscud-testbed"),
        };
        var scenarioFile = new Option<string?>("--scenario") { Description = "Scenario YAML (enbs, sites, ues, delays, handovers, migration)" };

        var up = new Command("up", "Build the namespaces, bridges, links and delays, and leave them up");
        up.Options.Add(runDir);
        up.Options.Add(scenarioFile);
        up.SetAction(parse => Guard(() =>
        {
            var scenario = LoadScenario(parse.GetValue(scenarioFile));
            var net = TestbedNetwork.Up(scenario, parse.GetValue(runDir)!);
            Console.WriteLine($"testbed {net.Plan.Prefix} up: {string.Join(", ", net.Plan.Namespaces)}");
            Console.WriteLine($"state: {net.State.FilePath}");
        }));

        var down = new Command("down", "Remove everything `up` or `run` created (reads the state file)");
        down.Options.Add(runDir);
        down.SetAction(parse => Guard(() =>
        {
            var problems = TestbedNetwork.Down(parse.GetValue(runDir)!);
            foreach (var p in problems)
            {
                Console.Error.WriteLine(p);
            }

            Console.WriteLine(problems.Count == 0 ? "testbed down" : "testbed down with problems");
            return problems.Count == 0 ? 0 : 1;
        }));

        command.Subcommands.Add(up);
        command.Subcommands.Add(down);
        return command;
    }

    private static Scenario LoadScenario(string? path) => path is null ? new Scenario().Validated() : Scenario.Load(path);

    private static int Guard(Action action) => Guard(() =>
    {
        action();
        return 0;
    });

    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is TestbedException or ScenarioException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
