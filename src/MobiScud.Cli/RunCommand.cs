using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Report;
using MobiScud.Simulation.Results;
using MobiScud.Simulation.Scenario;
using Spectre.Console;

namespace MobiScud.Cli;

/// <summary>`mobiscud run scenario.yaml`: a scenario file through the simulator, same outputs as the demo.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("scenario") { Description = "Scenario YAML file (fields in docs/scenario.md)" };
        var output = new Option<string>("--out") { Description = "Directory for index.html and results.json", DefaultValueFactory = _ => "report" };
        var noReport = new Option<bool>("--no-report") { Description = "Skip the HTML report (plots); still writes results.json" };
        var serial = new Option<bool>("--serial") { Description = "Run the lanes one after another instead of in parallel (same results; for timing comparisons)" };
        var live = new Option<bool>("--live") { Description = "Pace the simulation against the clock and serve the live dashboard (see docs/hosting.md, Dashboard)" };
        var speed = new Option<string>("--speed") { Description = "--live: simulated seconds per second, e.g. 60x", DefaultValueFactory = _ => "1x" };
        var port = new Option<int>("--port") { Description = "--live: the dashboard's port", DefaultValueFactory = _ => 8080 };
        var address = new Option<string>("--address") { Description = "--live: the address the dashboard listens on", DefaultValueFactory = _ => "127.0.0.1" };
        var token = new Option<string?>("--token") { Description = "--live: the bearer token the dashboard asks for (default: $MOBISCUD_TOKEN)" };
        var tiles = new Option<string?>("--tiles") { Description = "--live: a map tile URL template, e.g. https://tile.example/{z}/{x}/{y}.png, drawn under the map of a geographic scenario (default: none, offline)" };
        var command = new Command("run", "Run a simulation scenario file and compare the placement strategies");
        command.Arguments.Add(file);
        command.Options.Add(output);
        command.Options.Add(noReport);
        command.Options.Add(serial);
        command.Options.Add(live);
        command.Options.Add(speed);
        command.Options.Add(port);
        command.Options.Add(address);
        command.Options.Add(token);
        command.Options.Add(tiles);
        command.SetAction(async (parse, ct) =>
        {
            ScenarioConfig scenario;
            try
            {
                scenario = ScenarioLoader.LoadFile(parse.GetValue(file)!);
            }
            catch (ScenarioException ex)
            {
                Console.Error.WriteLine($"{parse.GetValue(file)}: {ex.Message}");
                return 2;
            }

            if (!parse.GetValue(live))
            {
                if (SimulationGcBudget.Wanted(scenario) && SimulationGcBudget.RunInChild(ct) is { } exit)
                {
                    return exit;
                }

                return SimulationRunner.Run(scenario, parse.GetValue(output)!, !parse.GetValue(noReport), parse.GetValue(serial));
            }

            double pace;
            try
            {
                pace = LiveRun.ParseSpeed(parse.GetValue(speed)!);
            }
            catch (FormatException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }

            if (!System.Net.IPAddress.TryParse(parse.GetValue(address), out var ip))
            {
                Console.Error.WriteLine($"--address '{parse.GetValue(address)}' is not an IP address");
                return 2;
            }

            var secret = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("MOBISCUD_TOKEN");
            if (string.IsNullOrWhiteSpace(secret))
            {
                Console.Error.WriteLine("--live needs a bearer token for the dashboard: --token TOKEN or MOBISCUD_TOKEN");
                return 2;
            }

            var template = parse.GetValue(tiles);
            if (template is not null && Hosting.Dashboard.DashboardTiles.Problem(template) is { } problem)
            {
                Console.Error.WriteLine($"--tiles: {problem}");
                return 2;
            }

            return await LiveRun.RunAsync(scenario, parse.GetValue(output)!, !parse.GetValue(noReport), pace, ip, parse.GetValue(port), secret, ct, template);
        });
        return command;
    }
}

/// <summary>Runs a scenario with a progress bar, prints the comparison table, writes the report and JSON.</summary>
internal static class SimulationRunner
{
    public static int Run(ScenarioConfig scenario, string outDir, bool writeReport, bool serial = false)
    {
        Simulator simulator;
        try
        {
            simulator = new Simulator(scenario) { Parallel = !serial };
        }
        catch (ScenarioException ex)
        {
            Console.Error.WriteLine($"scenario '{scenario.Name}': {ex.Message}");
            return 2;
        }

        if (Console.IsOutputRedirected)
        {
            // Piped or captured: no terminal width to fit, and the table needs ~150 columns.
            AnsiConsole.Profile.Width = 180;
        }

        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, $"[bold]{Markup.Escape(scenario.Name)}[/]: {simulator.UeIds.Length} UEs, {simulator.Topology.Enbs.Count} eNBs, {simulator.Topology.Sites.Count} edge sites + core, {scenario.Duration.TotalMinutes:0.#} simulated minutes{(scenario.Warmup > TimeSpan.Zero ? $" scored after {scenario.Warmup.TotalMinutes:0.#} min of warm-up" : string.Empty)}, {simulator.Topology.Transport.Kind.ToString().ToLowerInvariant()} backhaul, lanes {string.Join(", ", simulator.LaneSpecs.Select(l => l.Name))}");
        SimulationResult? result = null;
        var cost = SimulationCost.Start();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("simulating", maxValue: 1.0);
                result = simulator.Run(new Progress(task));
                task.Value = 1.0;
            });
        var spent = cost.Stop();
        return Finish(result!, outDir, writeReport, () =>
        {
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, $"{result!.EventsProcessed:N0} events, {spent.Describe(result.WallSeconds, result.EventsProcessed)}");
            AnsiConsole.MarkupLine($"phases (wall s): {simulator.Phases}");
            foreach (var lane in simulator.LaneAllocations)
            {
                AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, $"phases, lane {Markup.Escape(lane.Name)}: {lane.Allocated.Events:N0} deliveries, allocated per delivery {lane.Allocated.Mc / (double)Math.Max(1, lane.Allocated.Events):0} B deciding + {lane.Allocated.Backends / (double)Math.Max(1, lane.Allocated.Events):0} B carrying out, busy {lane.Allocated.Busy.TotalSeconds:0.0} s wall");
            }
        });
    }

    /// <summary>Prints the comparison, writes results.json and the report; 3 if an invariant was violated.</summary>
    /// <param name="costs">Prints what the run cost (CPU, GC, phases), where the caller measured it.</param>
    public static int Finish(SimulationResult r, string outDir, bool writeReport, Action? costs = null)
    {
        Print(r);
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "results.json"), r.ToJson());
        if (writeReport)
        {
            HtmlReport.Write(r, outDir);
            AnsiConsole.MarkupLine($"report: [link]{Markup.Escape(Path.GetFullPath(Path.Combine(outDir, "index.html")))}[/]");
        }

        AnsiConsole.MarkupLine($"results: {Markup.Escape(Path.GetFullPath(Path.Combine(outDir, "results.json")))}");
        using var self = Process.GetCurrentProcess();
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, $"wall {r.WallSeconds:0.00} s simulating, peak working set {self.PeakWorkingSet64 / 1048576.0:0} MiB");
        costs?.Invoke();
        var violations = r.Strategies.Sum(s => s.InvariantViolations);
        if (violations > 0)
        {
            AnsiConsole.MarkupLine($"[red]invariant violated {violations} times[/] (see results.json: strategies[].violations)");
            return 3;
        }

        return 0;
    }

    private static void Print(SimulationResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var h in new[] { "lane", "RTT p50", "p95", "p99 ms", "lost%", "migr.", "done", "cancel", "failed", "GB wire", "mig p50 s", "down p95", "link p95", "away%", "cost/UE-slot", "viol." })
        {
            table.AddColumn(new TableColumn(h).RightAligned());
        }

        static string F(double v, string f) => double.IsNaN(v) ? "-" : v.ToString(f, CultureInfo.InvariantCulture);
        foreach (var l in r.Lanes)
        {
            var s = r.Strategies.Single(x => x.Strategy == l.Name);
            var m = l.Migrations;
            table.AddRow(
                l.Name,
                F(l.Rtt.P50Ms, "0.00"),
                F(l.Rtt.P95Ms, "0.00"),
                F(l.Rtt.P99Ms, "0.00"),
                F(l.ProbesSent > 0 ? 100.0 * l.ProbesLost / l.ProbesSent : double.NaN, "0.00"),
                m.Started.ToString("N0", inv),
                m.Completed.ToString("N0", inv),
                m.Cancelled.ToString("N0", inv),
                m.Failed.ToString("N0", inv),
                (l.BytesOnWire / 1e9).ToString("0.00", inv),
                F(s.MigrationTimeP50S, "0.00"),
                F(s.DowntimeP95Ms, "0.0"),
                F(l.LinkUtilisation.Busiest.Count > 0 ? l.LinkUtilisation.Busiest[0].P95 : double.NaN, "0.00"),
                F(100 * l.PvmAway.Fraction, "0.0"),
                F(l.Cost.MeanPerUeSlot, "0.0000"),
                l.InvariantViolations.ToString(inv));
        }

        AnsiConsole.Write(table);
        var ran = r.Ran;
        AnsiConsole.MarkupLine(inv, $"handovers: {ran.HandoversX2:N0} X2 + {ran.HandoversS1:N0} S1 ({ran.InterSiteHandovers:N0} between sites, {ran.HandoversCancelled:N0} cancelled), {ran.HandoversPerUeHour:0.0} per connected UE-hour; {ran.Attaches:N0} attaches, {ran.ReleasesToIdle:N0} releases to idle, {ran.ServiceRequests:N0} service requests");
        AnsiConsole.MarkupLine("migr.: migrations started (= done + cancel + failed + in flight at the end); GB wire: every migration byte sent, whatever became of it; link p95: busiest backhaul link's utilisation; away%: probes whose PVM was not at the UE's serving site; cost: Wang et al. (ToN 2019) per UE per slot, mu 0.8, R = 1.5 max Q, distances in rings of cells.");
        foreach (var l in r.Lanes)
        {
            if (l.PvmAway.ByCause is { } a)
            {
                AnsiConsole.MarkupLine(inv, $"{Markup.Escape(l.Name)} away% by cause: move in flight {100 * a.MoveInFlight:0.0}, left behind {100 * a.LeftBehind:0.0}, moved where the UE is not {100 * a.MovedNotThere:0.0}, resumed away {100 * a.ResumedAway:0.0}, created away {100 * a.CreatedAway:0.0}; {(l.Bytes.Completed > 0 ? $"completed moves resent {100 * l.Bytes.CompletedResent / l.Bytes.Completed:0.0}% of their bytes" : "no completed moves")}, {l.Bytes.CompletedNeverMet:N0} moves left their target before a probe found the UE there (+ {l.Bytes.CompletedUnmetAtEnd:N0} unmet at the end); completed / never met by target: serving site {string.Join(" / ", Pair(l.Bytes, 0))}, handover target's site {string.Join(" / ", Pair(l.Bytes, 1))}, elsewhere {string.Join(" / ", Pair(l.Bytes, 2))}");
            }
        }

        if (r.Lanes.Count > 0 && double.IsFinite(r.Lanes[0].Cost.FloorPerUeSlot))
        {
            // The same for every lane: what no policy can beat on this topology (every PVM at the site nearest its user, moves free).
            AnsiConsole.MarkupLine(inv, $"cost floor: {r.Lanes[0].Cost.FloorPerUeSlot:0.0000} per UE-slot (every PVM at the site nearest its user's cell, moves free)");
        }
    }

    private static IEnumerable<string> Pair(BytesByOutcome b, int target) =>
        b.CompletedByTarget.Count > target ? [b.CompletedByTarget[target].ToString("N0", CultureInfo.InvariantCulture), b.NeverMetByTarget[target].ToString("N0", CultureInfo.InvariantCulture)] : ["-"];

    private sealed class Progress(ProgressTask task) : IProgress<double>
    {
        public void Report(double value) => task.Value = value;
    }
}
