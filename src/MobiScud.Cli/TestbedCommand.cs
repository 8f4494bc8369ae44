using System.CommandLine;
using MobiScud.Testbed.Experiment;
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
            var dir = Path.GetFullPath(parse.GetValue(runDir)!);
            var net = TestbedNetwork.Up(scenario, dir, startLinks: false);
            try
            {
                // The delay relays must outlive this command: a detached `testbed links` process runs them until `down`.
                var self = Environment.ProcessPath!;
                var prefixArgs = self.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.GetCommandLineArgs().Take(1).ToArray() : [];
                var command = string.Join(' ', new[] { self }.Concat(prefixArgs).Concat(["testbed", "links", "--run-dir", dir]).Select(Quote));

                // exec keeps the pid; setsid detaches it from this terminal; its output goes to a log, not our pipes.
                var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add($"exec setsid {command} >> {Quote(Path.Combine(dir, "links.log"))} 2>&1 < /dev/null");
                using var daemon = System.Diagnostics.Process.Start(psi) ?? throw new TestbedException("cannot start the link daemon");
                net.RecordProcess(daemon.Id, Path.GetFileName(self));
            }
            catch
            {
                net.Down();
                throw;
            }

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

        var run = new Command("run", "Build the testbed, play the scenario (attach, pings, handovers), write results, tear down");
        run.Options.Add(runDir);
        run.Options.Add(scenarioFile);
        var keep = new Option<bool>("--keep") { Description = "Leave the testbed up after the run" };
        run.Options.Add(keep);
        var rat = new Option<string?>("--rat") { Description = "lte or nr (5G standalone: gNBs, AMF, UPF, NGAP on N2); overrides the scenario's rat" };
        rat.AcceptOnlyFromAmong("lte", "nr");
        run.Options.Add(rat);
        run.Options.Add(CliLogging.Level);
        var dashboard = new Option<bool>("--dashboard") { Description = "Serve the live dashboard while the testbed runs (see docs/hosting.md, Dashboard); it stays up until Ctrl+C" };
        var dashboardPort = new Option<int>("--dashboard-port") { Description = "--dashboard: the page's port", DefaultValueFactory = _ => 8080 };
        var dashboardAddress = new Option<string>("--dashboard-address") { Description = "--dashboard: the address the page listens on", DefaultValueFactory = _ => "127.0.0.1" };
        var token = new Option<string?>("--token") { Description = "--dashboard: the bearer token the page asks for (default: $MOBISCUD_TOKEN)" };
        foreach (var o in new Option[] { dashboard, dashboardPort, dashboardAddress, token })
        {
            run.Options.Add(o);
        }

        run.SetAction(async (parse, ct) =>
        {
            try
            {
                var scenario = LoadScenario(parse.GetValue(scenarioFile));
                if (parse.GetValue(rat) is { } r)
                {
                    scenario.Rat = r == "nr" ? TestbedRat.Nr : TestbedRat.Lte;
                    scenario.Validated();
                }

                async Task<int> Run(Func<TestbedPlan, MobiScud.Testbed.Control.TestbedMcHooks>? observe)
                {
                    using var loggers = CliLogging.Create(parse);
                    var result = await TestbedExperiment.RunAsync(scenario, parse.GetValue(runDir)!, Console.Out, parse.GetValue(keep), ct, observe, loggers);
                    Console.WriteLine(result.Summary());
                    return 0;
                }

                if (!parse.GetValue(dashboard))
                {
                    return await Run(null);
                }

                if (!System.Net.IPAddress.TryParse(parse.GetValue(dashboardAddress), out var ip))
                {
                    Console.Error.WriteLine($"--dashboard-address '{parse.GetValue(dashboardAddress)}' is not an IP address");
                    return 2;
                }

                var secret = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("MOBISCUD_TOKEN");
                if (string.IsNullOrWhiteSpace(secret))
                {
                    Console.Error.WriteLine("--dashboard needs a bearer token: --token TOKEN or MOBISCUD_TOKEN");
                    return 2;
                }

                return await TestbedDashboard.RunAsync(ip, parse.GetValue(dashboardPort), secret, observe => Run(observe), scenario.PvmMemoryMiB * 1024L * 1024, ct);
            }
            catch (Exception e) when (e is TestbedException or TestbedScenarioException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });

        var links = new Command("links", "Run the backhaul delay relays of a testbed built by `up` (started by `up`)") { Hidden = true };
        links.Options.Add(runDir);
        links.SetAction(async (parse, ct) =>
        {
            var net = TestbedNetwork.Attach(Path.GetFullPath(parse.GetValue(runDir)!));
            net.StartLinks();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM from `down`
            }

            net.StopLinks();
            return 0;
        });

        command.Subcommands.Add(up);
        command.Subcommands.Add(links);
        command.Subcommands.Add(run);
        command.Subcommands.Add(down);
        return command;
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

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
        catch (Exception e) when (e is TestbedException or TestbedScenarioException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
