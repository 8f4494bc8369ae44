using System.Net;
using System.Threading.Channels;
using MobiScud.Cloud;
using MobiScud.Control.Model;
using MobiScud.Sdn.Steering;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Emulation;

/// <summary>
/// A light stand-in for QEMU when a scenario has more UEs than TCG guests this machine can run: each PVM is a network
/// namespace whose kernel answers pings, plugged into its site's PVM host bridge with the PVM's address and MAC.
/// "Migration" re-plugs the link into the destination site's bridge: the network side of a migration (address,
/// MAC, steering switch-over) is real, the memory copy is not, so its downtime is only the re-plug.
/// </summary>
internal sealed class NetnsPvmHost : IHypervisor
{
    private readonly TestbedNetwork _net;
    private readonly Func<TimeSpan> _clock;
    private readonly Channel<ControlEvent> _events = Channel.CreateUnbounded<ControlEvent>();
    private readonly Dictionary<PvmId, (UeId Ue, int Index, SiteId Site, IPAddress Address, bool Running)> _pvms = [];
    private readonly Lock _gate = new();

    // Commands run one at a time, in the order the MC gave them (a migration after the create it follows).
    private readonly Channel<ControlCommand> _work = Channel.CreateUnbounded<ControlCommand>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _worker;
    private int _next;

    public NetnsPvmHost(TestbedNetwork net, Func<TimeSpan> clock)
    {
        _net = net;
        _clock = clock;
        _worker = Task.Run(WorkAsync);
    }

    public ChannelReader<ControlEvent> Events => _events.Reader;

    public static IPAddress AddressOf(int index) => IPAddress.Parse($"10.64.0.{10 + index}");

    private string NsOf(int index) => $"{_net.Plan.Prefix}v{index}";

    /// <summary>The PVM's veth end at its site's host (moved between site namespaces by a migration).</summary>
    private string LinkOf(int index) => $"{_net.Plan.Prefix}v{index}";

    public IReadOnlyList<PvmReport> Query()
    {
        lock (_gate)
        {
            return _pvms.Select(kv => new PvmReport(kv.Value.Ue, kv.Key, kv.Value.Site, kv.Value.Running ? PvmState.Running : PvmState.Suspended, Address: kv.Value.Address)).ToList();
        }
    }

    /// <summary>Accepts the command and does the work (iproute2 calls) in the background; outcomes come as events.</summary>
    public Task ExecuteAsync(ControlCommand command, CancellationToken ct = default)
    {
        if (command is not (CreatePvm or ResumePvm or SuspendPvm or DestroyPvm or StartMigration or CancelMigration))
        {
            throw new ArgumentException($"{command.GetType().Name} is not a PVM command");
        }

        _work.Writer.TryWrite(command);
        return Task.CompletedTask;
    }

    private async Task WorkAsync()
    {
        await foreach (var command in _work.Reader.ReadAllAsync())
        {
            try
            {
                Apply(command);
            }
            catch (Exception e) when (e is TestbedException or ArgumentException)
            {
                _events.Writer.TryWrite(new PvmFailed(_clock(), command.Ue, PvmId.For(command.Ue), new SiteId("?"), e.Message));
            }
        }
    }

    private void Apply(ControlCommand command)
    {
        switch (command)
        {
            case CreatePvm c:
                Create(c);
                break;
            case ResumePvm r:
                SetRunning(r.Pvm, true);
                _events.Writer.TryWrite(new PvmStarted(_clock(), r.Ue, r.Pvm, r.Site, Lookup(r.Pvm).Address));
                break;
            case SuspendPvm s:
                SetRunning(s.Pvm, false);
                break;
            case DestroyPvm d:
                Destroy(d.Pvm);
                break;
            case StartMigration m:
                Migrate(m);
                break;
            case CancelMigration:
                // A re-plug is atomic: there is never a migration in flight to cancel.
                break;
        }
    }

    private void Create(CreatePvm c)
    {
        int index;
        lock (_gate)
        {
            if (_pvms.ContainsKey(c.Pvm))
            {
                _events.Writer.TryWrite(new PvmStarted(_clock(), c.Ue, c.Pvm, _pvms[c.Pvm].Site, _pvms[c.Pvm].Address));
                return;
            }

            index = _next++;
        }

        var address = AddressOf(index);
        var ns = NsOf(index);
        var link = LinkOf(index);
        try
        {
            _net.RecordNamespace(ns);
            Shell.Run("ip", "netns", "add", ns);
            var site = SiteIndex(c.Site);
            var siteNs = _net.Plan.SiteNs(site);
            Shell.Run("ip", "-n", siteNs, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns);
            Shell.Run("ip", "-n", siteNs, "link", "set", link, "master", _net.Plan.PvmHostBridge(site), "up");
            Shell.Run("ip", "netns", "exec", siteNs, "ethtool", "-K", link, "tx", "off", "rx", "off");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "address", string.Join(':', SiteTopology.PvmMac(address).GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))));
            Shell.Run("ip", "-n", ns, "addr", "add", $"{address}/24", "dev", "eth0");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "up");
            Shell.Run("ip", "-n", ns, "link", "set", "lo", "up");
            Shell.Run("ip", "-n", ns, "neigh", "replace", TestbedPlan.PvmGateway.ToString(), "lladdr", TestbedPlan.PvmGatewayMac, "dev", "eth0", "nud", "permanent");
            Shell.Run("ip", "-n", ns, "route", "add", TestbedPlan.UePool, "via", TestbedPlan.PvmGateway.ToString());
            Shell.Run("ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off", "rx", "off");
        }
        catch (TestbedException e)
        {
            _events.Writer.TryWrite(new PvmFailed(_clock(), c.Ue, c.Pvm, c.Site, e.Message));
            return;
        }

        lock (_gate)
        {
            _pvms[c.Pvm] = (c.Ue, index, c.Site, address, true);
        }

        _events.Writer.TryWrite(new PvmStarted(_clock(), c.Ue, c.Pvm, c.Site, address));
    }

    private void Migrate(StartMigration m)
    {
        var pvm = Lookup(m.Pvm);
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            // Re-plug: out of the source site's host into the destination's, then into its PVM host bridge.
            var from = SiteIndex(pvm.Site);
            var to = SiteIndex(m.To);
            var link = LinkOf(pvm.Index);
            Shell.Run("ip", "-n", _net.Plan.SiteNs(from), "link", "set", link, "netns", _net.Plan.SiteNs(to));
            Shell.Run("ip", "-n", _net.Plan.SiteNs(to), "link", "set", link, "master", _net.Plan.PvmHostBridge(to), "up");
        }
        catch (TestbedException e)
        {
            _events.Writer.TryWrite(new MigrationFailed(_clock(), m.Migration, e.Message));
            return;
        }

        var took = TimeProvider.System.GetElapsedTime(started);
        lock (_gate)
        {
            _pvms[m.Pvm] = pvm with { Site = m.To };
        }

        _events.Writer.TryWrite(new MigrationCompleted(_clock(), m.Migration, new MigrationStats(took, took, 0, 0)));
    }

    private void SetRunning(PvmId pvm, bool running)
    {
        var p = Lookup(pvm);
        Shell.Run("ip", "-n", NsOf(p.Index), "link", "set", "eth0", running ? "up" : "down");
        lock (_gate)
        {
            _pvms[pvm] = p with { Running = running };
        }
    }

    private void Destroy(PvmId pvm)
    {
        (UeId Ue, int Index, SiteId Site, IPAddress Address, bool Running) p;
        lock (_gate)
        {
            if (!_pvms.Remove(pvm, out p))
            {
                return;
            }
        }

        // Deleting the namespace deletes the veth pair, whichever site's host holds the other end.
        Shell.TryRun("ip", "netns", "del", NsOf(p.Index));
    }

    private (UeId Ue, int Index, SiteId Site, IPAddress Address, bool Running) Lookup(PvmId pvm)
    {
        lock (_gate)
        {
            return _pvms.TryGetValue(pvm, out var p) ? p : throw new ArgumentException($"no PVM {pvm}");
        }
    }

    private int SiteIndex(SiteId site)
    {
        for (var s = 0; s < _net.Plan.Scenario.Sites; s++)
        {
            if (Scenario.SiteName(s) == site.Value)
            {
                return s;
            }
        }

        throw new TestbedException($"site '{site.Value}' is not in this testbed");
    }

    public async ValueTask DisposeAsync()
    {
        _work.Writer.TryComplete();
        await _worker.ConfigureAwait(false);
        List<PvmId> all;
        lock (_gate)
        {
            all = _pvms.Keys.ToList();
        }

        foreach (var p in all)
        {
            Destroy(p);
        }

        _events.Writer.TryComplete();
    }
}
