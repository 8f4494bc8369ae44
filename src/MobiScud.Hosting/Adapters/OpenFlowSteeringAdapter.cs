using System.Collections.Concurrent;
using System.Threading.Channels;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using MobiScud.Protocols.OpenFlow;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// `Sdn:Kind: OpenFlow`: an OpenFlow 1.3 listener (TCP and/or unix socket) that each site's Open vSwitch bridge connects
/// to, identified by its datapath id. Steering goes through the SDN part's <see cref="OpenFlowSteeringProgrammer"/>: per
/// UE one cookie, flows replaced atomically per site, confirmed by a barrier (and a datapath flush where configured).
/// A switch that is not connected yet: its flows are kept as the controller's desired state and installed when it
/// connects (the controller reconciles every (re)connecting switch to that state); the install is logged as deferred.
/// The inventory reads each connected switch's flow table back and turns every per-UE cookie into the steering it holds.
/// Steering the switch refuses (OFPT_ERROR), does not confirm (no BARRIER_REPLY within <c>Sdn:SwitchTimeout</c>), or
/// cannot take because it has not connected within <c>Sdn:ConnectDeadline</c> is reported to the MC as SteeringFailed
/// for that intent (the MC retries it), counted on /metrics as <c>mobiscud_steering_failures_total{reason}</c>.
/// </summary>
internal sealed class OpenFlowSteeringAdapter : ISteeringBackend, IHostedService, IAsyncDisposable
{
    private readonly SdnServeOptions _options;
    private readonly OpenFlowController _controller;
    private readonly OpenFlowSteeringProgrammer _programmer;
    private readonly Dictionary<SiteId, OvsDatapathSync> _syncs = [];
    private readonly Func<CancellationToken, Task<IReadOnlyCollection<string>>>? _knownUes;
    private readonly ILogger _log;
    private readonly Func<Task>? _listenAfter;

    /// <summary>Cookie to UE, from installs and from the UE index (cookies are a hash of the UE id).</summary>
    private readonly ConcurrentDictionary<ulong, UeId> _owners = new();
    private readonly TimeProvider _clock;
    private readonly HostingMetrics? _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<UeEvent> _outcomes = OutcomeChannel.Create();

    /// <summary>The listener's start and the watches on switches not yet connected: awaited at disposal, failures logged.</summary>
    private readonly BackgroundTasks _background;
    private int _started;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    /// <param name="knownUes">Every UE the MC knows (resolves the cookies of flows a previous run installed).</param>
    /// <param name="listenAfter">The listener opens once this completes (the MC's restart reconciliation): see <see cref="StartAsync"/>.</param>
    /// <param name="clock">The time SteeringFailed events carry (default: the wall clock).</param>
    /// <param name="metrics">Where failures are counted (optional).</param>
    public OpenFlowSteeringAdapter(
        SdnServeOptions options, Func<CancellationToken, Task<IReadOnlyCollection<string>>>? knownUes, ILogger<OpenFlowSteeringAdapter> log, Func<Task>? listenAfter = null,
        TimeProvider? clock = null, HostingMetrics? metrics = null)
    {
        _options = options;
        _clock = clock ?? TimeProvider.System;
        _metrics = metrics;
        _knownUes = knownUes;
        _listenAfter = listenAfter;
        _log = log;
        _background = new BackgroundTasks(log);
        Topology = options.ToTopology();
        _controller = new OpenFlowController(new OpenFlowControllerOptions
        {
            TcpEndPoint = options.TcpEndPoint(),
            UnixSocketPath = string.IsNullOrWhiteSpace(options.UnixSocket) ? null : options.UnixSocket,
            RequestTimeout = options.SwitchTimeout,
        }, log);
        if (options.DatapathSync != DatapathSyncMode.None)
        {
            // One sync per ovs-vswitchd: sites sharing one run it once per command.
            var byDir = new Dictionary<string, OvsDatapathSync>();
            foreach (var sw in options.Switches.Where(s => !string.IsNullOrWhiteSpace(s.OvsRunDirectory)))
            {
                var dir = Path.GetFullPath(sw.OvsRunDirectory!);
                if (!byDir.TryGetValue(dir, out var sync))
                {
                    byDir[dir] = sync = new OvsDatapathSync(() => OvsUnixctl.SocketIn(dir), options.DatapathSync);
                }

                _syncs[new SiteId(sw.Site)] = sync;
            }
        }

        _programmer = new OpenFlowSteeringProgrammer(_controller, Topology, _syncs);
        _controller.Reconciled += r => _log.LogInformation("switch 0x{Dpid:x} ({Site}) connected and reconciled: {Report}", r.DatapathId, SiteOf(r.DatapathId), r);
        _controller.Reconciled += ReportRefusedAtConnect;
    }

    /// <summary>Steering a switch refused, did not confirm or could not take (SteeringFailed).</summary>
    public ChannelReader<UeEvent> Outcomes => _outcomes.Reader;

    public SdnTopology Topology { get; }

    public OpenFlowController Controller => _controller;

    /// <summary>
    /// Opens the listener. With a <c>listenAfter</c> gate, only once the MC's restart reconciliation has re-sent every
    /// UE's steering into the controller's desired state: a switch that connects reconciles to that state, so it keeps
    /// the per-UE flows it held through the restart (fail_mode=secure) instead of losing them until the MC re-sends.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            ProbeTcpPort();
            Track(_listenAfter is null ? Task.Run(Listen, CancellationToken.None) : Task.Run(ListenAfterAsync, CancellationToken.None), "opening the OpenFlow listener");
        }

        return Task.CompletedTask;
    }

    /// <summary>A taken port fails the start at once, naming the key, rather than when the listener opens later.</summary>
    private void ProbeTcpPort()
    {
        if (_options.TcpEndPoint() is not { Port: > 0 } ep)
        {
            return;
        }

        try
        {
            using var probe = new System.Net.Sockets.Socket(ep.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            probe.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
            probe.Bind(ep);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new InvalidOperationException($"{MobiScudOptions.Section}:Sdn:Tcp {ep}: cannot listen there: {e.Message}", e);
        }
    }

    private async Task ListenAfterAsync()
    {
        try
        {
            await _listenAfter!();
        }
        catch (Exception e)
        {
            // Open anyway (unless stopping): switches then reconcile to whatever the MC has sent so far.
            _log.LogWarning("opening the OpenFlow listener although the restart reconciliation did not finish: {Error}", e.Message);
        }

        if (Volatile.Read(ref _disposed) == 0)
        {
            Listen();
        }
    }

    private void Listen()
    {
        try
        {
            _controller.Start();
            _log.LogInformation("OpenFlow listener on {Tcp} {Unix} for {Sites}", (object?)_controller.TcpEndPoint ?? "-", _options.UnixSocket ?? "-",
                string.Join(", ", Topology.Sites.Select(s => $"{s.Site}=0x{s.DatapathId:x}")));
            _listening.TrySetResult();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            _log.LogCritical("the OpenFlow listener cannot open ({Tcp} {Unix}): {Error}", _options.Tcp, _options.UnixSocket, e.Message);
            _listening.TrySetException(e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Waits until the site's switch has connected and been reconciled.</summary>
    public Task WaitForSwitchAsync(SiteId site, CancellationToken ct = default) => _controller.WaitForSwitchAsync(Topology[site].DatapathId, ct);

    public async Task InstallAsync(SteeringIntent intent, CancellationToken ct = default)
    {
        var cookie = SteeringCookies.ForUe(intent.Ue);
        _owners[cookie] = intent.Ue;
        SteeringResult result;
        try
        {
            result = await _programmer.ExecuteAsync(new InstallSteering(intent.Ue, intent), ct);
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            // The flows went out; the datapath did not confirm them. The switch is reconciled on its reconnect, and the MC retries.
            _log.LogError("steering install for {Ue} at {Site}: the switch did not confirm: {Error}", intent.Ue, intent.SwitchSite, e.Message);
            Fail(intent, intent.SwitchSite, $"{SteeringFailureKinds.Unconfirmed}: {e.Message}");
            return;
        }

        if (result.CompileError is { } error)
        {
            // A site outside the SDN topology, or no inter-site port between the two: a configuration fault, named.
            _log.LogError("steering for {Ue} at {Site} (PVM at {PvmSite}) cannot be compiled: {Error}", intent.Ue, intent.SwitchSite, intent.PvmSite, error);
            Fail(intent, intent.SwitchSite, $"{SteeringFailureKinds.Rejected}: cannot be compiled for this topology: {error}");
            return;
        }

        if (!result.Stale)
        {
            foreach (var (site, reason) in result.Failures)
            {
                Fail(intent, site, reason);
            }

            foreach (var site in result.Deferred)
            {
                Track(WatchConnectAsync(intent, site), $"watching {site}'s switch connect for {intent.Ue}");
            }
        }

        Report(intent.Ue, "install", result);
    }

    /// <summary>Whether <paramref name="intent"/> is still the last steering installed for its UE (a failure of an older one is not worth reporting).</summary>
    private bool Current(SteeringIntent intent) => _programmer.Installed(intent.Ue)?.Version == intent.Version;

    /// <summary>Tells the MC through <see cref="Outcomes"/> (never inside the caller's turn: that may be the UE grain the pipeline waits on).</summary>
    private void Fail(SteeringIntent intent, SiteId site, string reason)
    {
        var kind = SteeringFailureKinds.KindOf(reason);
        _metrics?.SteeringFailure(kind);
        _log.LogWarning("steering v{Version} for {Ue} failed at {Site} ({Kind}): reported to the MC", intent.Version, intent.Ue, site, kind);
        _outcomes.Writer.TryWrite(new SteeringFailed(_clock.ServiceNow(), intent.Ue, site, reason, intent.Version));
    }

    /// <summary>Keeps a background task until it ends; a failure is logged with what it was doing.</summary>
    private void Track(Task task, string what) => _background.Track(task, what);

    /// <summary>
    /// Steering for a switch that is not connected waits in the controller's desired state. If the switch has not
    /// connected within the deadline, the MC hears that it is not steered (and retries; the switch gets the flows
    /// whenever it connects).
    /// </summary>
    private async Task WatchConnectAsync(SteeringIntent intent, SiteId site)
    {
        var dpid = Topology[site].DatapathId;
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnReconciled(ReconcileReport r)
        {
            if (r.DatapathId == dpid)
            {
                connected.TrySetResult();
            }
        }

        _controller.Reconciled += OnReconciled;
        try
        {
            // The deadline runs from when switches can connect: after a restart the listener opens only once the MC has
            // re-sent every UE's steering, and all of that is deferred until then.
            await _listening.Task.WaitAsync(_stopping.Token);
            if (!_controller.ConnectedSwitches.Contains(dpid))
            {
                await connected.Task.WaitAsync(_options.ConnectDeadline, _stopping.Token);
            }
        }
        catch (Exception e) when (e is TimeoutException or System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            if (Current(intent) && !_controller.ConnectedSwitches.Contains(dpid))
            {
                Fail(intent, site, $"{SteeringFailureKinds.NotConnected}: the switch (dpid 0x{dpid:x}) did not connect within {_options.ConnectDeadline.TotalSeconds:0.###} s");
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _controller.Reconciled -= OnReconciled;
        }
    }

    /// <summary>A switch that connects and refuses a UE's flows during reconciliation: that UE's current steering failed.</summary>
    private void ReportRefusedAtConnect(ReconcileReport report)
    {
        var site = Topology.Sites.FirstOrDefault(s => s.DatapathId == report.DatapathId)?.Site;
        if (site is not { } at)
        {
            return;
        }

        foreach (var refused in report.Rejections.GroupBy(r => r.FlowMod.Cookie).Where(g => IsPerUe(g.Key)))
        {
            if (_programmer.IntentAt(at, refused.Key) is { } intent)
            {
                Fail(intent, at, $"{SteeringFailureKinds.Rejected}: on connect the switch refused {refused.Count()} flow-mod(s): {string.Join("; ", refused.Take(3))}");
            }
        }
    }

    public async Task RemoveAsync(UeId ue, SiteId switchSite, CancellationToken ct = default)
    {
        var cookie = SteeringCookies.ForUe(ue);
        if (_programmer.Installed(ue) is { } current && current.SwitchSite != switchSite)
        {
            // The UE is steered elsewhere now: only stale flows at that site go (its relay flows stay if it hosts the PVM).
            if (SteeringCompiler.TryCompile(current, Topology).Flows?.ContainsKey(switchSite) != true)
            {
                await ClearAsync(cookie, switchSite, ct);
            }

            return;
        }

        SteeringResult result;
        try
        {
            result = await _programmer.ExecuteAsync(new RemoveSteering(ue, switchSite), ct);
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            _log.LogError("steering removal for {Ue} at {Site}: the switch did not confirm: {Error}", ue, switchSite, e.Message);
            return;
        }

        Report(ue, "remove", result);
        if (result.Sites.Count == 0 && Topology.TryGet(switchSite, out _))
        {
            // Installed by an earlier run of the service: the programmer never knew it; clear what the switch holds.
            await ClearAsync(cookie, switchSite, ct);
        }
    }

    public async Task<IReadOnlyList<SteeringIntent>> InventoryAsync(CancellationToken ct = default)
    {
        var connected = _controller.ConnectedSwitches.ToHashSet();
        var held = new List<(SiteTopology Site, List<FlowEntry> Flows)>();
        foreach (var site in Topology.Sites.Where(s => connected.Contains(s.DatapathId)))
        {
            try
            {
                held.Add((site, [.. (await _controller.DumpFlowsAsync(site.DatapathId)).Select(FlowEntry.FromStats)]));
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or TimeoutException)
            {
                _log.LogWarning("cannot read the flows of {Site}'s switch: {Error}", site.Site, e.Message);
            }
        }

        var cookies = held.SelectMany(h => h.Flows).Select(f => f.Cookie).Where(IsPerUe).Distinct().ToList();
        if (cookies.Any(c => !_owners.ContainsKey(c)) && _knownUes is not null)
        {
            foreach (var id in await _knownUes(ct))
            {
                _owners.TryAdd(SteeringCookies.ForUe(new UeId(id)), new UeId(id));
            }
        }

        return [.. held.SelectMany(h => SteeringDecompiler.DecompileSite(Topology, h.Site, h.Flows, _owners, cookie => _programmer.IntentAt(h.Site.Site, cookie)))];
    }

    private static bool IsPerUe(ulong cookie) => SteeringCookies.IsPerUe(cookie);

    /// <summary>Removes whatever the switch holds under a UE's cookie at one site (flows the controller's desired state may not know).</summary>
    private async Task ClearAsync(ulong cookie, SiteId site, CancellationToken ct)
    {
        if (!Topology.TryGet(site, out var topology))
        {
            return;
        }

        await _controller.ReplaceFlowsAsync(topology.DatapathId, cookie, [], ct);
        if (_controller.ConnectedSwitches.Contains(topology.DatapathId)
            && (await _controller.DumpFlowsAsync(topology.DatapathId)).Any(f => f.Cookie == cookie))
        {
            // Not in the desired state: a resync deletes every flow the controller does not want.
            var report = await _controller.ResyncAsync(topology.DatapathId);
            _log.LogInformation("cleared stale flows of cookie 0x{Cookie:x} at {Site}: {Report}", cookie, site, report);
        }
    }

    private void Report(UeId ue, string what, SteeringResult result)
    {
        foreach (var (site, r) in result.Sites)
        {
            if (r.Rejections.Count > 0)
            {
                _log.LogError("steering {What} for {Ue}: switch at {Site} rejected {Count} flow-mod(s): {Rejections}", what, ue, site, r.Rejections.Count, string.Join("; ", r.Rejections));
            }
            else if (r.TimedOut)
            {
                _log.LogError("steering {What} for {Ue}: switch at {Site} did not answer the barrier in time", what, ue, site);
            }
            else if (!r.Confirmed)
            {
                _log.LogWarning("steering {What} for {Ue}: switch at {Site} is not connected; its flows are installed when it connects", what, ue, site);
            }
        }
    }

    private string SiteOf(ulong dpid) => Topology.Sites.FirstOrDefault(s => s.DatapathId == dpid)?.Site.Value ?? "unknown site";

    public async ValueTask DisposeAsync()
    {
        // Registered under two service types, so the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _background.DrainAsync();
        await _controller.DisposeAsync();
        foreach (var sync in _syncs.Values.Distinct())
        {
            await sync.DisposeAsync();
        }
    }
}
