using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Dashboard;
using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;
using MobiScud.Simulation.Topology;
using Spectre.Console;

namespace MobiScud.Cli;

/// <summary>
/// `mobiscud run FILE --live`: the simulator paced against the clock (<see cref="TimeProvider"/>), <paramref name="speed"/>
/// simulated seconds per second, feeding the same dashboard as serve on a small Kestrel host.
/// </summary>
internal static class LiveRun
{
    /// <summary>"60x", "60" or "1x": simulated seconds per wall-clock second.</summary>
    public static double ParseSpeed(string text)
    {
        var t = text.Trim().TrimEnd('x', 'X');
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0) || double.IsInfinity(v))
        {
            throw new FormatException($"--speed '{text}': give a positive factor such as 60x");
        }

        return v;
    }

    /// <param name="tiles">A tile URL template drawn under the map when the scenario's coordinates are geographic; null: none.</param>
    public static async Task<int> RunAsync(ScenarioConfig scenario, string outDir, bool writeReport, double speed, IPAddress address, int port, string token, CancellationToken ct, string? tiles = null)
    {
        var time = TimeProvider.System;
        var observer = new LiveObserver(time, speed, ct);
        var state = new DashboardState(() => observer.VirtualSeconds) { Tiles = tiles };
        observer.State = state;
        Simulator simulator;
        try
        {
            simulator = new Simulator(scenario) { Observer = observer };
        }
        catch (ScenarioException ex)
        {
            Console.Error.WriteLine($"scenario '{scenario.Name}': {ex.Message}");
            return 2;
        }

        observer.Attach(simulator);
        await using var app = DashboardHost.Build(state, token, address, port, time);
        await app.StartAsync(ct);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, $"[bold]{Markup.Escape(scenario.Name)}[/] live at x{speed:0.##}: dashboard on [link]{DashboardHost.Address(app)}[/] (bearer token from --token); Ctrl+C stops");
        try
        {
            // The simulator blocks in Pace between events: its own thread, awaited here.
            var result = await Task.Factory.StartNew(() => simulator.Run(cancel: ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            observer.Sampled(simulator);
            var code = SimulationRunner.Finish(result, outDir, writeReport);
            AnsiConsole.MarkupLine("simulation finished; the dashboard stays up until Ctrl+C");
            await Task.Delay(Timeout.InfiniteTimeSpan, time, ct);
            return code;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Paces the run and turns what it sees into the dashboard's model (the first mobiscud lane is the one shown).</summary>
    internal sealed class LiveObserver(TimeProvider time, double speed, CancellationToken ct) : ISimulationObserver
    {
        private readonly long _start = time.GetTimestamp();
        private readonly ConcurrentDictionary<string, string> _migrating = new();
        private long _virtualTicks;
        private int _lane;
        private int[] _sites = [];
        private string[] _siteNames = [];
        private string[] _enbNames = [];
        private UeId[] _ues = [];
        private readonly HashSet<int> _shown = [];

        public DashboardState State { get; set; } = null!;

        public double VirtualSeconds => TimeSpan.FromTicks(Interlocked.Read(ref _virtualTicks)).TotalSeconds;

        public void Attach(Simulator sim)
        {
            var t = sim.Topology;
            _lane = Math.Max(0, sim.LaneSpecs.ToList().FindIndex(l => l.Kind == StrategyKind.MobiScud));
            _sites = new int[sim.UeIds.Length];
            _ues = sim.UeIds;
            _siteNames = [.. t.Sites.Select(s => s.Id.Value), NetworkTopology.CoreSite.Value];
            _enbNames = [.. t.Enbs.Select(e => e.Id.Value.ToString(CultureInfo.InvariantCulture))];
            var capacity = sim.Scenario.Control.SiteCapacity;
            var cx = t.Enbs.Average(e => e.X);
            var cy = t.Enbs.Average(e => e.Y);
            // Geographic scenarios (cells, or towers by lat/lon) were projected to metres: the map gets degrees back, so tiles can go under it.
            var geo = Geographic(sim.Scenario);
            (double X, double Y) At(double x, double y) => geo ? Degrees(x, y) : (x, y);
            var core = At(cx, cy);
            var sites = t.Sites.Select(s => (s, p: At(s.X, s.Y))).Select(v => new DashboardSite(v.s.Id.Value, v.p.X, v.p.Y, capacity, false))
                .Append(new DashboardSite(NetworkTopology.CoreSite.Value, core.X, core.Y, 0, true));
            var enbs = t.Enbs.Select(e => (e, p: At(e.X, e.Y))).Select(v => new DashboardEnb(_enbNames[v.e.Index], v.p.X, v.p.Y, t.Sites[v.e.Site].Id.Value));
            State.SetTopology(new DashboardTopology($"{sim.Scenario.Name} ({sim.LaneSpecs[_lane].Name} shown)", geo, [.. enbs], [.. sites], true));
        }

        /// <summary>Whether the scenario's eNBs were given by latitude and longitude (a cells CSV, or a towers CSV with a lat column).</summary>
        internal static bool Geographic(ScenarioConfig scenario)
        {
            var t = scenario.Topology;
            if (t.CellsCsv is not null)
            {
                return true;
            }

            if (t.TowersCsv is null)
            {
                return false;
            }

            using var reader = new StreamReader(scenario.Resolve(t.TowersCsv));
            return (reader.ReadLine() ?? "").Split(',').Any(c => c.Trim() == "lat");
        }

        /// <summary>(longitude, latitude) of a point the topology placed in metres (its loaders project around San Francisco).</summary>
        internal static (double Lon, double Lat) Degrees(double x, double y)
        {
            var (lat, lon) = GeoProjection.SanFrancisco.Unproject(x, y);
            return (lon, lat);
        }

        public void Pace(TimeSpan at)
        {
            Interlocked.Exchange(ref _virtualTicks, at.Ticks);
            var wait = TimeSpan.FromTicks((long)(at.Ticks / speed)) - time.GetElapsedTime(_start);
            if (wait > TimeSpan.FromMilliseconds(5))
            {
                Task.Delay(wait, time, ct).GetAwaiter().GetResult();
            }
        }

        public void Signal(UeEvent e) => State.Ladder(e.Ue.Value, "RAN", "MC", McText.Describe(e));

        public void Event(int lane, UeEvent e)
        {
            // The hypervisor model's figures for the bar's last state (between two samples the bar has none).
            if (lane == _lane && e is MigrationCompleted done)
            {
                State.MigrationEnded(done.Migration.ToString(), "completed", done.Stats.BytesSent);
            }
        }

        public void Command(int lane, TimeSpan at, ControlCommand command)
        {
            if (lane != _lane)
            {
                return;
            }

            var ue = command.Ue.Value;
            switch (command)
            {
                case StartMigration m:
                    _migrating[ue] = m.Migration.ToString();
                    State.MigrationStarted(m.Migration.ToString(), ue, m.From.Value, m.To.Value);
                    break;
                case CancelMigration m:
                    _migrating.TryRemove(ue, out _);
                    State.MigrationEnded(m.Migration.ToString(), "cancelled");
                    break;
                case Notify { Kind: NotificationKind.MigrationCompleted or NotificationKind.MigrationFailed } n when _migrating.TryRemove(ue, out var id):
                    State.MigrationEnded(id, n.Kind == NotificationKind.MigrationCompleted ? "completed" : "failed");
                    break;
            }

            if (command is Notify notify)
            {
                State.Event(ue, notify.Kind.ToString(), notify.Detail);
            }

            if (command is not ScheduleTimer)
            {
                State.Ladder(ue, "MC", command is InstallSteering or RemoveSteering ? "switch" : command is Notify ? "subscribers" : "hypervisor", McText.Describe(command));
            }
        }

        public void Sampled(Simulator sim)
        {
            var live = sim.Live;
            live.PvmSites(_lane, _sites);
            for (var i = 0; i < _ues.Length; i++)
            {
                var u = live.Ue(i);
                if (u.Attached)
                {
                    _shown.Add(i);
                    State.UpdateUe(_ues[i].Value, _enbNames[u.Enb], _sites[i] >= 0 ? _siteNames[_sites[i]] : null, u.Connected);
                }
                else if (_shown.Remove(i))
                {
                    State.RemoveUe(_ues[i].Value);
                }
            }

            foreach (var m in live.Migrations(_lane))
            {
                State.MigrationProgress(m.Id.ToString(), (long)m.BytesSent, (long)m.BytesRemaining, m.Rate > 0 ? m.BytesRemaining / m.Rate * 1000 : double.NaN);
            }

            var lanes = live.Lanes;
            var shown = lanes[_lane];
            State.SetCounters(
                sim.Ran.X2 + sim.Ran.S1, shown.MigrationsStarted, shown.MigrationsCompletedCount, shown.MigrationsCancelled,
                shown.Notifications[(int)NotificationKind.SteeringFailed]);
            State.SetRtt(Ms(shown.Rtt, 0.5), Ms(shown.Rtt, 0.95));
            State.SetLinkUtilisation(shown.LinkSamples.Length == 0 ? double.NaN : shown.LinkSamples.Max(s => s.Count > 0 ? s[^1] : 0));
            State.SetLanes([.. lanes.Select(l => new LaneRow(
                l.Name, Ms(l.Rtt, 0.5), Ms(l.Rtt, 0.95), l.ProbesSent, l.ProbesSent > 0 ? 100.0 * l.ProbesLost / l.ProbesSent : double.NaN,
                l.MigrationsStarted, l.MigrationsCompletedCount, l.MigrationsCancelled, l.MigrationsFailed, l.BytesOnWire / 1e9,
                l.PvmProbeSamples > 0 ? 100.0 * l.PvmAwaySamples / l.PvmProbeSamples : double.NaN))]);
            State.Sample();
        }

        private static double Ms(Simulation.Results.RttHistogram h, double q) => h.Count > 0 ? h.Quantile(q) * 1000 : double.NaN;
    }
}
