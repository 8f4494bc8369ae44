using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Hosting;

namespace MobiScud.Hosting.Dashboard;

/// <summary>
/// Feeds the dashboard from `mobiscud serve`: every decision the UE grains carry out (state after it, and its
/// commands) passes here on its way to the backends; the taps add the S1AP messages. Serve has no coordinates for
/// its eNBs, so the map lays the configured sites on a circle with their eNBs around them.
/// </summary>
public sealed class ServeDashboard : BackgroundService
{
    private readonly DashboardState _state;
    private readonly TimeProvider _time;

    public ServeDashboard(DashboardState state, MobiScudOptions options, TimeProvider time, IPvmBackend pvms)
    {
        _state = state;
        _time = time;
        Feed = new McDashboardFeed(state);
        state.Progress = pvms as IMigrationProgressSource;
        state.SetTopology(Layout(options));
    }

    /// <summary>The decisions and S1AP messages into the dashboard's model (the same code as the testbed's).</summary>
    public McDashboardFeed Feed { get; }

    /// <summary>Sites on a circle (the core in the middle), each site's eNBs on a small circle around it; units are metres.</summary>
    public static DashboardTopology Layout(MobiScudOptions options) =>
        DashboardLayout.Ring("mobiscud serve", options.CoreSite, [.. options.Sites.Select(s => (s.Name, s.Capacity, (IReadOnlyList<string>)[.. s.Enbs.Select(EnbLabel)]))]);

    public static string EnbLabel(uint enb) => McDashboardFeed.EnbLabel(enb);

    /// <summary>One decision of the MC for one UE, before its commands go to the backends.</summary>
    public void Observe(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands) => Feed.Observe(before, after, commands);

    /// <summary>An S1AP message the tap placed on a UE.</summary>
    public void Signal(string ue, string from, string to, string message) => Feed.Signal(ue, from, to, message);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        DashboardEndpoints.SampleAsync(_state, _time, TimeSpan.FromSeconds(1), stoppingToken);
}
