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
        state.Progress = pvms as IMigrationProgressSource;
        state.SetTopology(Layout(options));
    }

    /// <summary>Sites on a circle (the core in the middle), each site's eNBs on a small circle around it; units are metres.</summary>
    public static DashboardTopology Layout(MobiScudOptions options)
    {
        var sites = new List<DashboardSite> { new(options.CoreSite, 0, 0, 0, true) };
        var enbs = new List<DashboardEnb>();
        var n = Math.Max(1, options.Sites.Count);
        for (var i = 0; i < options.Sites.Count; i++)
        {
            var site = options.Sites[i];
            var a = (2 * Math.PI * i / n) + (Math.PI / 2);
            var (x, y) = (1000 * Math.Cos(a), 1000 * Math.Sin(a));
            sites.Add(new DashboardSite(site.Name, x, y, site.Capacity, false));
            for (var j = 0; j < site.Enbs.Count; j++)
            {
                var b = 2 * Math.PI * j / site.Enbs.Count;
                var r = site.Enbs.Count == 1 ? 250 : 300;
                enbs.Add(new DashboardEnb(EnbLabel(site.Enbs[j]), x + (r * Math.Cos(b + a)), y + (r * Math.Sin(b + a)), site.Name));
            }
        }

        return new DashboardTopology("mobiscud serve", false, enbs, sites, false);
    }

    public static string EnbLabel(uint enb) => enb.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One decision of the MC for one UE, before its commands go to the backends.</summary>
    public void Observe(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands)
    {
        var state = after ?? before;
        if (state is null)
        {
            return;
        }

        var ue = state.Ue.Value;
        if (after is null || (after.Connection == ConnectionState.Detached && after.PvmStatus == PvmStatus.None))
        {
            _state.RemoveUe(ue);
        }
        else
        {
            var site = after.PvmStatus is PvmStatus.None ? null : after.PvmSite?.Value;
            _state.UpdateUe(ue, after.ServingEnb is { } e ? EnbLabel(e.Value) : null, site, after.Connection == ConnectionState.Connected);
        }

        foreach (var c in commands)
        {
            switch (c)
            {
                case StartMigration m:
                    _state.MigrationStarted(m.Migration.ToString(), ue, m.From.Value, m.To.Value);
                    break;
                case CancelMigration m:
                    _state.MigrationEnded(m.Migration.ToString(), "cancelled");
                    break;
                case Notify { Kind: NotificationKind.MigrationCompleted } when before?.Migration is { } m:
                    _state.MigrationEnded(m.Id.ToString(), "completed");
                    break;
                case Notify { Kind: NotificationKind.MigrationFailed } when before?.Migration is { } m:
                    _state.MigrationEnded(m.Id.ToString(), "failed");
                    break;
            }

            if (c is Notify n)
            {
                _state.Event(ue, n.Kind.ToString(), n.Detail);
            }

            if (c is not ScheduleTimer)
            {
                _state.Ladder(ue, "MC", Party(c), McText.Describe(c));
            }
        }
    }

    /// <summary>An S1AP message the tap placed on a UE.</summary>
    public void Signal(string ue, string from, string to, string message) => _state.Ladder(ue, from, to, message);

    private static string Party(ControlCommand c) => c switch
    {
        InstallSteering or RemoveSteering => "switch",
        Notify => "subscribers",
        _ => "hypervisor",
    };

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        DashboardEndpoints.SampleAsync(_state, _time, TimeSpan.FromSeconds(1), stoppingToken);
}

/// <summary>The command dispatcher with the dashboard looking over its shoulder.</summary>
internal sealed class DashboardDispatcher(ICommandDispatcher inner, ServeDashboard dashboard) : ICommandDispatcher
{
    public bool ReportsAtOnce(IReadOnlyList<ControlCommand> commands) => inner.ReportsAtOnce(commands);

    public Task<IReadOnlyList<UeEvent>> DispatchAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default)
    {
        dashboard.Observe(before, after, commands);
        return inner.DispatchAsync(before, after, commands, ct);
    }
}
