using System.Net;
using MobiScud.Control.Model;
using MobiScud.Hosting.Dashboard;
using MobiScud.Testbed.Control;
using MobiScud.Testbed.Experiment;
using MobiScud.Testbed.Topology;

namespace MobiScud.Cli;

/// <summary>
/// `mobiscud testbed run --dashboard`: the testbed's MC feeds the same page as serve, through the same
/// <see cref="McDashboardFeed"/> (its decisions and the tap's S1AP messages) on the small <see cref="DashboardHost"/>.
/// </summary>
internal static class TestbedDashboard
{
    /// <summary>The testbed's sites on a ring around the core, each with its eNBs (labelled by their S1AP eNB id, as the MC sees them).</summary>
    public static DashboardTopology Layout(TestbedPlan plan)
    {
        var scenario = plan.Scenario;
        var sites = Enumerable.Range(0, scenario.Sites)
            .Select(site => (Scenario.SiteName(site), 0, (IReadOnlyList<string>)[.. Enumerable.Range(1, scenario.Enbs).Where(e => scenario.SiteOf(e) == site).Select(e => McDashboardFeed.EnbLabel(new EnbId(TestbedPlan.EnbIdOf(e), scenario.Rat == TestbedRat.Nr ? Rat.Nr : Rat.Eutra)))]))
            .ToList();
        return DashboardLayout.Ring($"testbed {plan.Prefix}", plan.McConfig().CoreSite.Value, sites);
    }

    /// <summary>Lays out the map and returns the hooks that feed <paramref name="state"/> from the testbed's MC.</summary>
    /// <param name="guestRamBytes">A PVM's RAM: what is left of a migration is estimated from it.</param>
    public static TestbedMcHooks Hooks(DashboardState state, TestbedPlan plan, long guestRamBytes)
    {
        state.SetTopology(Layout(plan));
        var feed = new McDashboardFeed(state);
        var progress = new MigrationProgressTracker(guestRamBytes);
        state.Progress = progress;
        // The RTT chart: the UEs' pings to their edge PVM (what MobiScud keeps short), as they are answered.
        return new TestbedMcHooks
        {
            Dispatcher = feed.Wrap,
            S1apPlaced = feed.S1ap,
            Event = progress.Track,
            Ping = p =>
            {
                if (p.Target == TestbedExperiment.EdgePvm && p.RttMs is { } ms)
                {
                    state.ObserveRtt(ms);
                }
            },
        };
    }

    /// <summary>Starts the page, runs <paramref name="run"/> with the hooks, then keeps the page up until Ctrl+C.</summary>
    public static async Task<int> RunAsync(IPAddress address, int port, string token, Func<Func<TestbedPlan, TestbedMcHooks>, Task<int>> run, long guestRamBytes, CancellationToken ct)
    {
        var time = TimeProvider.System;
        var state = new DashboardState(() => time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0); // wall clock, as serve's
        await using var app = DashboardHost.Build(state, token, address, port, time);
        await app.StartAsync(ct);
        Console.WriteLine($"dashboard on {DashboardHost.Address(app)} (bearer token from --token); Ctrl+C stops");
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampler = DashboardEndpoints.SampleAsync(state, time, TimeSpan.FromSeconds(1), stopSampling.Token);
        try
        {
            var code = await run(plan => Hooks(state, plan, guestRamBytes));
            Console.WriteLine("testbed run finished; the dashboard stays up until Ctrl+C");
            await Task.Delay(Timeout.InfiniteTimeSpan, time, ct);
            return code;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            await stopSampling.CancelAsync();
            await sampler;
            await app.StopAsync(CancellationToken.None);
        }
    }
}
