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
internal sealed class ServeDashboard : BackgroundService
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
        state.Tiles = string.IsNullOrWhiteSpace(options.Dashboard.Tiles) ? null : options.Dashboard.Tiles;
    }

    /// <summary>The decisions and S1AP messages into the dashboard's model (the same code as the testbed's).</summary>
    public McDashboardFeed Feed { get; }

    /// <summary>Sites on a circle (the core in the middle), each site's eNBs on a small circle around it; units are metres.</summary>
    /// <remarks>With coordinates for every site: geographic (X = longitude, Y = latitude), each site's eNBs on a ~300 m circle
    /// around it (serve knows no eNB positions) and the core at the sites' centre.</remarks>
    public static DashboardTopology Layout(MobiScudOptions options)
    {
        var sites = options.Sites;
        if (sites.Count == 0 || sites.Any(s => s.Latitude is null || s.Longitude is null))
        {
            return DashboardLayout.Ring("mobiscud serve", options.CoreSite, [.. sites.Select(s => (s.Name, s.Capacity, (IReadOnlyList<string>)[.. s.Enbs.Select(EnbLabel).Concat(s.Gnbs.Select(GnbLabel))]))]);
        }

        var placed = new List<DashboardSite> { new(options.CoreSite, sites.Average(s => s.Longitude!.Value), sites.Average(s => s.Latitude!.Value), 0, true) };
        var enbs = new List<DashboardEnb>();
        foreach (var s in sites)
        {
            var (lon, lat) = (s.Longitude!.Value, s.Latitude!.Value);
            placed.Add(new DashboardSite(s.Name, lon, lat, s.Capacity, false));
            var dLat = 300 / 111_320.0;
            var dLon = dLat / Math.Max(0.01, Math.Cos(lat * Math.PI / 180));
            var nodes = s.Enbs.Select(EnbLabel).Concat(s.Gnbs.Select(GnbLabel)).ToList(); // gNBs are nodes of the map as eNBs are
            for (var j = 0; j < nodes.Count; j++)
            {
                var b = 2 * Math.PI * j / nodes.Count;
                enbs.Add(new DashboardEnb(nodes[j], lon + (dLon * Math.Cos(b)), lat + (dLat * Math.Sin(b)), s.Name));
            }
        }

        return new DashboardTopology("mobiscud serve", true, enbs, placed, false);
    }

    public static string EnbLabel(uint enb) => McDashboardFeed.EnbLabel(enb);

    public static string GnbLabel(uint gnb) => McDashboardFeed.EnbLabel(new EnbId(gnb, Rat.Nr));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        DashboardEndpoints.SampleAsync(_state, _time, TimeSpan.FromSeconds(1), stoppingToken);
}
