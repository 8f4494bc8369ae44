using System.Collections.Concurrent;
using MobiScud.Control;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Protocols.S1ap;
using MobiScud.Tracking;

namespace MobiScud.Hosting.Dashboard;

/// <summary>
/// The MC's decisions and the tap's S1AP messages turned into the dashboard's model: one implementation for every host
/// whose decisions pass through an <see cref="ICommandDispatcher"/> (serve's UE grains, the testbed's inline MC).
/// </summary>
public sealed class McDashboardFeed(DashboardState state)
{
    /// <summary>The dispatcher with the dashboard looking over its shoulder.</summary>
    public ICommandDispatcher Wrap(ICommandDispatcher inner) => new DashboardDispatcher(inner, this);

    /// <summary>One decision of the MC for one UE, before its commands go to the backends.</summary>
    public void Observe(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands)
    {
        var current = after ?? before;
        if (current is null)
        {
            return;
        }

        var ue = current.Ue.Value;
        if (after is null || (after.Connection == ConnectionState.Detached && after.PvmStatus == PvmStatus.None))
        {
            state.RemoveUe(ue);
        }
        else
        {
            var site = after.PvmStatus is PvmStatus.None ? null : after.PvmSite?.Value;
            state.UpdateUe(ue, after.ServingEnb is { } e ? EnbLabel(e) : null, site, after.Connection == ConnectionState.Connected);
        }

        foreach (var c in commands)
        {
            switch (c)
            {
                case StartMigration m:
                    state.MigrationStarted(m.Migration.ToString(), ue, m.From.Value, m.To.Value);
                    break;
                case CancelMigration m:
                    state.MigrationEnded(m.Migration.ToString(), "cancelled");
                    break;
                case Notify { Kind: NotificationKind.MigrationCompleted } when before?.Migration is { } m:
                    state.MigrationEnded(m.Id.ToString(), "completed");
                    break;
                case Notify { Kind: NotificationKind.MigrationFailed } when before?.Migration is { } m:
                    state.MigrationEnded(m.Id.ToString(), "failed");
                    break;
            }

            if (c is Notify n)
            {
                state.Event(ue, n.Kind.ToString(), n.Detail);
            }

            if (c is not ScheduleTimer)
            {
                state.Ladder(ue, "MC", Party(c), McText.Describe(c));
            }
        }
    }

    /// <summary>A signalling message between two parties on a UE's ladder.</summary>
    public void Signal(string ue, string from, string to, string message) => state.Ladder(ue, from, to, message);

    /// <summary>An S1AP message the tap placed on a UE (<see cref="TrackerFeed.S1apPlaced"/>): eNB on the left, MME on the right.</summary>
    public void S1ap(S1apSignal s, UeId ue)
    {
        var fromEnb = UeTracker.IsFromEnb(s.Procedure, s.PduType);
        Signal(ue.Value, fromEnb ? "eNB" : "MME", fromEnb ? "MME" : "eNB", s.MessageName);
    }

    /// <summary>How the map labels an eNB: its id in decimal.</summary>
    public static string EnbLabel(uint enb) => enb.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An eNB by its number, a gNB as gnb-N (a node apart from the eNB with the same number).</summary>
    public static string EnbLabel(EnbId node) => node.IsGnb ? node.ToString() : EnbLabel(node.Value);

    private static string Party(ControlCommand c) => c switch
    {
        InstallSteering or RemoveSteering => "switch",
        Notify => "subscribers",
        _ => "hypervisor",
    };
}

/// <summary>The command dispatcher with the dashboard looking over its shoulder.</summary>
internal sealed class DashboardDispatcher(ICommandDispatcher inner, McDashboardFeed feed) : ICommandDispatcher
{
    public bool ReportsAtOnce(IReadOnlyList<ControlCommand> commands) => inner.ReportsAtOnce(commands);

    public Task<IReadOnlyList<UeEvent>> DispatchAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default)
    {
        feed.Observe(before, after, commands);
        return inner.DispatchAsync(before, after, commands, ct);
    }
}

/// <summary>
/// A migration's bar from the hypervisor's outcomes as the MC receives them: RAM transferred as QEMU's query-migrate
/// reported it at each pre-copy round, and what is left estimated as the guest's RAM minus that (a dirtied page is sent
/// again, so it is a floor). No expected downtime: QEMU reports it only at the end.
/// </summary>
public sealed class MigrationProgressTracker(long guestRamBytes) : IMigrationProgressSource
{
    private readonly ConcurrentDictionary<string, (long Sent, long Remaining, double ExpectedDowntimeMs)> _progress = new();

    public IReadOnlyDictionary<string, (long Sent, long Remaining, double ExpectedDowntimeMs)> Progress() => _progress.ToDictionary();

    /// <summary>Each outcome of the hypervisor (others are ignored).</summary>
    public void Track(UeEvent e)
    {
        switch (e)
        {
            case MigrationProgressed p:
                _progress[p.Migration.ToString()] = (p.BytesSent, Math.Max(0, guestRamBytes - p.BytesSent), double.NaN);
                break;
            case MigrationCompleted c:
                _progress.TryRemove(c.Migration.ToString(), out _);
                break;
            case MigrationFailed f:
                _progress.TryRemove(f.Migration.ToString(), out _);
                break;
        }
    }
}

/// <summary>A map for hosts without coordinates (serve, the testbed): sites on a circle around the core, each site's eNBs around it.</summary>
public static class DashboardLayout
{
    /// <param name="sites">Each edge site with its capacity (0: unbounded) and the labels of the eNBs it serves.</param>
    public static DashboardTopology Ring(string title, string coreSite, IReadOnlyList<(string Name, int Capacity, IReadOnlyList<string> Enbs)> sites)
    {
        var placed = new List<DashboardSite> { new(coreSite, 0, 0, 0, true) };
        var enbs = new List<DashboardEnb>();
        var n = Math.Max(1, sites.Count);
        for (var i = 0; i < sites.Count; i++)
        {
            var site = sites[i];
            var a = (2 * Math.PI * i / n) + (Math.PI / 2);
            var (x, y) = (1000 * Math.Cos(a), 1000 * Math.Sin(a));
            placed.Add(new DashboardSite(site.Name, x, y, site.Capacity, false));
            for (var j = 0; j < site.Enbs.Count; j++)
            {
                var b = 2 * Math.PI * j / site.Enbs.Count;
                var r = site.Enbs.Count == 1 ? 250 : 300;
                enbs.Add(new DashboardEnb(site.Enbs[j], x + (r * Math.Cos(b + a)), y + (r * Math.Sin(b + a)), site.Name));
            }
        }

        return new DashboardTopology(title, false, enbs, placed, false);
    }
}

/// <summary>Map tiles under the dashboard's map: an option (none are reachable offline), checked where it is given.</summary>
public static class DashboardTiles
{
    /// <summary>What is wrong with a tile URL template, or null: an absolute http(s) URL with {z}, {x} and {y}.</summary>
    public static string? Problem(string template)
    {
        if (!Uri.TryCreate(template.Replace("{z}", "0", StringComparison.Ordinal).Replace("{x}", "0", StringComparison.Ordinal).Replace("{y}", "0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https"))
        {
            return $"tile URL template '{Api.ApiEndpoints.Clip(template)}' is not an absolute http(s) URL";
        }

        var missing = new[] { "{z}", "{x}", "{y}" }.Where(p => !template.Contains(p, StringComparison.Ordinal)).ToList();
        return missing.Count > 0 ? $"tile URL template '{Api.ApiEndpoints.Clip(template)}' lacks {string.Join(", ", missing)} (e.g. https://tile.example/{{z}}/{{x}}/{{y}}.png)" : null;
    }
}
