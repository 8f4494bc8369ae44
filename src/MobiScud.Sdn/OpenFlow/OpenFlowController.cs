using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MobiScud.Control.Host;
using MobiScud.Protocols.OpenFlow;
using MobiScud.Sdn.Steering;
using Microsoft.Extensions.Logging;

namespace MobiScud.Sdn.OpenFlow;

public sealed record OpenFlowControllerOptions
{
    /// <summary>TCP listen address; null to listen only on a unix socket. Port 0 picks a free port.</summary>
    public IPEndPoint? TcpEndPoint { get; init; } = new(IPAddress.Any, 6653);

    /// <summary>Optional unix socket (OVS `unix:PATH` controller target), e.g. when OVS runs in another network namespace.</summary>
    public string? UnixSocketPath { get; init; }

    /// <summary>When set, TCP connections are TLS (OVS `ssl:` target).</summary>
    public X509Certificate2? TlsCertificate { get; init; }

    public TimeSpan EchoInterval { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// SCHED_RR priority (1-99) for each switch's reader thread, which also runs the code awaiting a barrier (the
    /// datapath flush): on a loaded host its wake-up then does not queue behind other threads. Null: normal priority.
    /// A failure to set it is reported in <see cref="OpenFlowController.ReaderPriorityProblem"/>.
    /// </summary>
    public int? ReaderRealtimePriority { get; init; }
}

/// <summary>
/// OpenFlow 1.3 controller for many switches. It owns the desired flows of every switch (by datapath id, grouped
/// by cookie owner) and makes each switch match them: on every (re)connect by reconciliation, afterwards by
/// barrier-confirmed diffs.
/// </summary>
public sealed class OpenFlowController : IAsyncDisposable
{
    private readonly OpenFlowControllerOptions _options;
    private readonly ConcurrentDictionary<ulong, DesiredState> _desired = new();
    private readonly ConcurrentDictionary<ulong, SwitchSession> _sessions = new();
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ReconcileReport>> _readyWaiters = new();
    private readonly List<Socket> _listeners = [];
    private readonly CancellationTokenSource _cts = new();

    /// <summary>Accept loops, connections being set up and every session's loops: awaited by <see cref="DisposeAsync"/>.</summary>
    private readonly BackgroundTasks _background;

    public OpenFlowController(OpenFlowControllerOptions? options = null, ILogger? log = null)
    {
        _options = options ?? new OpenFlowControllerOptions();
        _background = new BackgroundTasks(log);
    }

    /// <summary>The bound TCP endpoint (resolves port 0).</summary>
    public IPEndPoint? TcpEndPoint { get; private set; }

    public event Action<ReconcileReport>? Reconciled;

    /// <summary>Why a reader thread could not get <see cref="OpenFlowControllerOptions.ReaderRealtimePriority"/> (last one); null when all did.</summary>
    public string? ReaderPriorityProblem => SwitchSession.ReaderPriorityProblem;

    public event Action<ulong, OfpMessage>? MessageReceived;

    public IReadOnlyCollection<ulong> ConnectedSwitches => _sessions.Where(s => s.Value.Ready).Select(s => s.Key).ToList();

    public void Start()
    {
        if (_options.TcpEndPoint is { } ep)
        {
            var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            s.Bind(ep);
            s.Listen(64);
            TcpEndPoint = (IPEndPoint)s.LocalEndPoint!;
            _listeners.Add(s);
            _background.Track(AcceptLoopAsync(s, tls: _options.TlsCertificate is not null), $"accepting switches on {TcpEndPoint}");
        }

        if (_options.UnixSocketPath is { } path)
        {
            File.Delete(path);
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Bind(new UnixDomainSocketEndPoint(path));
            s.Listen(64);
            _listeners.Add(s);
            _background.Track(AcceptLoopAsync(s, tls: false), $"accepting switches on {path}");
        }
    }

    private async Task AcceptLoopAsync(Socket listener, bool tls)
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_cts.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _background.Start(() => ServeAsync(client, tls), "setting up a switch connection");
        }
    }

    private async Task ServeAsync(Socket client, bool tls)
    {
        if (client.ProtocolType == ProtocolType.Tcp)
        {
            client.NoDelay = true;
        }

        Stream stream = new NetworkStream(client, ownsSocket: true);
        var remote = client.RemoteEndPoint?.ToString() ?? "unix";
        SwitchSession? session = null;
        try
        {
            if (tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(_options.TlsCertificate!, clientCertificateRequired: false, checkCertificateRevocation: false);
                stream = ssl;
            }

            session = new SwitchSession(stream, remote, _options, _background);
            session.Unsolicited += (s, m) => MessageReceived?.Invoke(s.DatapathId, m);
            var features = await session.HandshakeAsync();
            var dpid = features.DatapathId;
            if (_sessions.TryGetValue(dpid, out var old))
            {
                await old.CloseAsync();
            }

            _sessions[dpid] = session;
            session.Closed += s => _sessions.TryRemove(new KeyValuePair<ulong, SwitchSession>(s.DatapathId, s));
            var report = await ReconcileAsync(session);
            Reconciled?.Invoke(report);
            var waiter = _readyWaiters.GetOrAdd(dpid, _ => new TaskCompletionSource<ReconcileReport>(TaskCreationOptions.RunContinuationsAsynchronously));
            if (!waiter.TrySetResult(report))
            {
                _readyWaiters[dpid] = Completed(report);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or TimeoutException or InvalidOperationException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
            if (session is not null)
            {
                await session.CloseAsync();
            }
            else
            {
                await stream.DisposeAsync();
            }
        }
    }

    private static TaskCompletionSource<ReconcileReport> Completed(ReconcileReport r)
    {
        var t = new TaskCompletionSource<ReconcileReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.SetResult(r);
        return t;
    }

    /// <summary>Completes once the switch is connected and reconciled (immediately if it already is).</summary>
    public Task<ReconcileReport> WaitForSwitchAsync(ulong dpid, CancellationToken ct = default)
    {
        var t = _readyWaiters.GetOrAdd(dpid, _ => new TaskCompletionSource<ReconcileReport>(TaskCreationOptions.RunContinuationsAsynchronously));
        return t.Task.WaitAsync(ct);
    }

    /// <summary>Forgets the last reconcile so <see cref="WaitForSwitchAsync"/> waits for the next one (after a restart).</summary>
    public void ExpectReconnect(ulong dpid) =>
        _readyWaiters[dpid] = new TaskCompletionSource<ReconcileReport>(TaskCreationOptions.RunContinuationsAsynchronously);

    private DesiredState State(ulong dpid) => _desired.GetOrAdd(dpid, _ => new DesiredState());

    public IReadOnlyList<FlowEntry> DesiredFlows(ulong dpid) => State(dpid).Snapshot();

    /// <summary>
    /// What the owner's desired flows on the switch were made from (the tag of its last <see cref="ReplaceFlowsAsync"/>),
    /// or null when it owns none there. The steering programmer keeps each UE's intent here and nowhere else.
    /// </summary>
    public object? DesiredTag(ulong dpid, ulong cookie) => _desired.TryGetValue(dpid, out var state) ? state.Tag(cookie) : null;

    /// <summary>
    /// Replaces every flow owned by <paramref name="cookie"/> on the switch with <paramref name="flows"/>: new and
    /// changed flows are added first (ADD overwrites the same key in place), then the owner's flows that are gone are
    /// deleted, then a barrier. Deferred (applied at the next reconcile) when the switch is not connected.
    /// </summary>
    /// <param name="tag">What the flows were made from, kept with them (see <see cref="DesiredTag"/>).</param>
    public async Task<FlowBatchResult> ReplaceFlowsAsync(ulong dpid, ulong cookie, IReadOnlyList<FlowEntry> flows, CancellationToken ct = default, object? tag = null)
    {
        if (flows.Any(f => f.Cookie != cookie))
        {
            throw new ArgumentException($"every flow must carry the owner cookie 0x{cookie:x}");
        }

        var state = State(dpid);
        if (!_sessions.TryGetValue(dpid, out var session))
        {
            state.Replace(cookie, flows, tag);
            return FlowBatchResult.Deferred;
        }

        await session.ProgramLock.WaitAsync(ct);
        try
        {
            var (adds, deletes) = state.Replace(cookie, flows, tag);
            if (!session.Ready)
            {
                // The session died or is not reconciled yet: the next reconcile installs the new desired state.
                return FlowBatchResult.Deferred;
            }

            var mods = new List<FlowMod>(adds.Count + deletes.Count);
            var added = new Dictionary<uint, FlowEntry>(adds.Count);
            foreach (var f in adds)
            {
                var mod = f.ToFlowMod(session.NextXid());
                added[mod.Xid] = f;
                mods.Add(mod);
            }

            mods.AddRange(deletes.Select(f => f.ToFlowMod(session.NextXid(), FlowModCommand.DeleteStrict)));
            if (mods.Count == 0)
            {
                return new FlowBatchResult(true, 0, []);
            }

            FlowBatchResult result;
            try
            {
                result = await session.SendBatchAsync(mods);
            }
            catch (TimeoutException)
            {
                // Unknown what the switch applied: the next replacement for this owner sends every add again.
                state.MarkUnapplied(cookie, adds.Select(f => f.Key));
                return FlowBatchResult.NotConfirmed(mods.Count);
            }

            // A flow the switch refused is still wanted, but not there: the next replacement sends it again rather than
            // finding it unchanged.
            state.MarkUnapplied(cookie, result.Rejections.Where(r => added.ContainsKey(r.FlowMod.Xid)).Select(r => added[r.FlowMod.Xid].Key));
            return result;
        }
        catch (IOException)
        {
            return FlowBatchResult.Deferred;
        }
        finally
        {
            session.ProgramLock.Release();
        }
    }

    /// <summary>
    /// Sets the owner's desired flows on a switch that is not connected yet (no I/O: they are installed by the switch's
    /// reconcile when it connects). A connected switch is programmed with <see cref="ReplaceFlowsAsync"/> instead.
    /// </summary>
    public void SetDesired(ulong dpid, ulong cookie, IReadOnlyList<FlowEntry> flows)
    {
        if (flows.Any(f => f.Cookie != cookie))
        {
            throw new ArgumentException($"every flow must carry the owner cookie 0x{cookie:x}");
        }

        var state = State(dpid);
        if (_sessions.ContainsKey(dpid))
        {
            // A connected switch holds what it was reconciled to: only the same flows may be declared again.
            if (!state.Holds(cookie, flows))
            {
                throw new InvalidOperationException($"switch 0x{dpid:x} is connected: program it with ReplaceFlowsAsync");
            }

            return;
        }

        state.Replace(cookie, flows, null);
    }

    /// <summary>Raw flow-mods in one barrier-confirmed batch (benchmarks, tests); does not touch desired state.</summary>
    public async Task<FlowBatchResult> SendRawBatchAsync(ulong dpid, Func<Func<uint>, IReadOnlyList<FlowMod>> build)
    {
        var session = Connected(dpid);
        await session.ProgramLock.WaitAsync();
        try
        {
            return await session.SendBatchAsync(build(session.NextXid));
        }
        finally
        {
            session.ProgramLock.Release();
        }
    }

    public async Task<IReadOnlyList<FlowStats>> DumpFlowsAsync(ulong dpid)
    {
        var session = Connected(dpid);
        return await session.DumpFlowsAsync();
    }

    private SwitchSession Connected(ulong dpid) =>
        _sessions.TryGetValue(dpid, out var s) ? s : throw new InvalidOperationException($"switch 0x{dpid:x} is not connected");

    /// <summary>Reconciles a connected switch now (as on reconnect): reads its flows, fixes what differs from the desired state.</summary>
    public async Task<ReconcileReport> ResyncAsync(ulong dpid)
    {
        var session = Connected(dpid);
        var report = await ReconcileAsync(session);
        Reconciled?.Invoke(report);
        return report;
    }

    private async Task<ReconcileReport> ReconcileAsync(SwitchSession session)
    {
        await session.ProgramLock.WaitAsync();
        try
        {
            var actual = await session.DumpFlowsAsync();
            var want = State(session.DatapathId).Snapshot().ToDictionary(f => f.Key);
            var mods = new List<FlowMod>();
            var sent = new Dictionary<uint, FlowEntry>();
            int kept = 0, modified = 0, deleted = 0;
            var seen = new HashSet<FlowKey>();
            foreach (var stats in actual)
            {
                var have = FlowEntry.FromStats(stats);
                seen.Add(have.Key);
                if (want.TryGetValue(have.Key, out var w))
                {
                    if (w.SameAs(have))
                    {
                        kept++;
                    }
                    else
                    {
                        modified++;
                        mods.Add(w.ToFlowMod(session.NextXid()));
                        sent[mods[^1].Xid] = w;
                    }
                }
                else
                {
                    // Not in the desired state: whoever put it there, it does not belong on a MobiScud edge switch.
                    deleted++;
                    mods.Add(have.ToFlowMod(session.NextXid(), FlowModCommand.DeleteStrict) with { CookieMask = 0 });
                }
            }

            var added = 0;
            foreach (var w in want.Values.Where(w => !seen.Contains(w.Key)))
            {
                added++;
                mods.Add(w.ToFlowMod(session.NextXid()));
                sent[mods[^1].Xid] = w;
            }

            var result = await session.SendBatchAsync(mods);
            var state = State(session.DatapathId);
            foreach (var r in result.Rejections.Where(r => sent.ContainsKey(r.FlowMod.Xid)))
            {
                var refused = sent[r.FlowMod.Xid];
                state.MarkUnapplied(refused.Cookie, [refused.Key]);
            }

            session.Ready = true;
            return new ReconcileReport(session.DatapathId, actual.Count, kept, added, modified, deleted, session.SinceConnect, result.Rejections);
        }
        finally
        {
            session.ProgramLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        foreach (var l in _listeners)
        {
            l.Dispose();
        }

        foreach (var s in _sessions.Values)
        {
            await s.CloseAsync();
        }

        await _background.DrainAsync();

        if (_options.UnixSocketPath is { } p)
        {
            File.Delete(p);
        }
    }

    /// <summary>Desired flows of one switch, grouped by owner cookie; a key belongs to one owner at a time.</summary>
    private sealed class DesiredState
    {
        private readonly Dictionary<ulong, Dictionary<FlowKey, FlowEntry>> _byOwner = [];

        /// <summary>Per owner, what its flows were made from.</summary>
        private readonly Dictionary<ulong, object> _tags = [];

        /// <summary>Per owner, desired flows the switch refused or did not confirm: re-sent by the owner's next replacement.</summary>
        private readonly Dictionary<ulong, HashSet<FlowKey>> _unapplied = [];

        public void MarkUnapplied(ulong cookie, IEnumerable<FlowKey> keys)
        {
            lock (_byOwner)
            {
                if (!_byOwner.TryGetValue(cookie, out var owned))
                {
                    return;
                }

                foreach (var k in keys.Where(owned.ContainsKey))
                {
                    (_unapplied.TryGetValue(cookie, out var set) ? set : _unapplied[cookie] = []).Add(k);
                }
            }
        }

        public List<FlowEntry> Snapshot()
        {
            lock (_byOwner)
            {
                var all = new Dictionary<FlowKey, FlowEntry>();
                foreach (var owner in _byOwner.Values)
                {
                    foreach (var f in owner.Values)
                    {
                        all[f.Key] = f;
                    }
                }

                return all.Values.ToList();
            }
        }

        /// <summary>Whether the owner's desired flows are exactly these.</summary>
        public bool Holds(ulong cookie, IReadOnlyList<FlowEntry> flows)
        {
            lock (_byOwner)
            {
                var owned = _byOwner.TryGetValue(cookie, out var o) ? o : [];
                return owned.Count == flows.Count && flows.All(f => owned.TryGetValue(f.Key, out var have) && have.SameAs(f));
            }
        }

        public object? Tag(ulong cookie)
        {
            lock (_byOwner)
            {
                return _tags.GetValueOrDefault(cookie);
            }
        }

        public (List<FlowEntry> Adds, List<FlowEntry> Deletes) Replace(ulong cookie, IReadOnlyList<FlowEntry> flows, object? tag)
        {
            lock (_byOwner)
            {
                if (flows.Count == 0 || tag is null)
                {
                    _tags.Remove(cookie);
                }
                else
                {
                    _tags[cookie] = tag;
                }

                var old = _byOwner.TryGetValue(cookie, out var o) ? o : [];
                var next = new Dictionary<FlowKey, FlowEntry>();
                foreach (var f in flows)
                {
                    next[f.Key] = f;
                }

                _unapplied.Remove(cookie, out var resend);
                var adds = next.Values.Where(f => !old.TryGetValue(f.Key, out var was) || !was.SameAs(f) || resend?.Contains(f.Key) == true).ToList();
                var deletes = old.Values.Where(f => !next.ContainsKey(f.Key)).ToList();

                // A key taken over from another owner leaves that owner's set.
                foreach (var (otherCookie, other) in _byOwner)
                {
                    if (otherCookie != cookie)
                    {
                        foreach (var k in next.Keys)
                        {
                            other.Remove(k);
                        }
                    }
                }

                if (next.Count == 0)
                {
                    _byOwner.Remove(cookie);
                }
                else
                {
                    _byOwner[cookie] = next;
                }

                return (adds, deletes);
            }
        }
    }
}
