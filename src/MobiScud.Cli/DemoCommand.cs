using System.CommandLine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Cli;

/// <summary>`mobiscud demo`: the default scenario (examples/default.yaml has the same values), with a few knobs.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var ues = new Option<int?>("--ues") { Description = "Number of UEs (default 100)" };
        var enbs = new Option<int?>("--enbs") { Description = "Number of eNBs on the hex grid (default 20)" };
        var sites = new Option<int?>("--sites") { Description = "Number of edge sites (default 4)" };
        var duration = new Option<string?>("--duration") { Description = "Simulated time, e.g. 10m or 1h (default 10m)" };
        var seed = new Option<ulong?>("--seed") { Description = "Random seed (default 42); the same seed gives the same results" };
        var output = new Option<string>("--out") { Description = "Directory for index.html and results.json", DefaultValueFactory = _ => "report" };
        var noReport = new Option<bool>("--no-report") { Description = "Skip the HTML report (plots); still writes results.json" };
        var command = new Command("demo", "Simulate a small city (4 sites, 20 eNBs, 100 UEs, 10 minutes) and compare core-anchored, static edge and MobiScud");
        foreach (var o in new Option[] { ues, enbs, sites, duration, seed, output, noReport })
        {
            command.Options.Add(o);
        }

        command.SetAction(parse =>
        {
            var scenario = new ScenarioConfig { Name = "demo" };
            scenario.Ues = parse.GetValue(ues) ?? scenario.Ues;
            scenario.Topology.Enbs = parse.GetValue(enbs) ?? scenario.Topology.Enbs;
            scenario.Topology.Sites = parse.GetValue(sites) ?? scenario.Topology.Sites;
            scenario.Seed = parse.GetValue(seed) ?? scenario.Seed;
            if (parse.GetValue(duration) is { } d)
            {
                if (ScenarioLoader.ParseDuration(d) is not { } parsed || parsed <= TimeSpan.Zero)
                {
                    Console.Error.WriteLine($"--duration: expected a duration such as 10m or 1h, got '{d}'");
                    return 2;
                }

                scenario.Duration = parsed;
            }

            return SimulationRunner.Run(scenario, parse.GetValue(output)!, !parse.GetValue(noReport));
        });
        return command;
    }
}
