using System.Collections.Concurrent;
using MobiScud.Control.Host;
using MobiScud.Protocols.OpenFlow;
using MobiScud.Sdn.Steering;

namespace MobiScud.Sdn.OpenFlow;

/// <summary>A flow-mod the switch refused, with the error it sent back for that flow-mod's xid.</summary>
public sealed record FlowModRejection(FlowMod FlowMod, ErrorMessage Error)
{
    public override string ToString() =>
        $"{FlowMod.Command} table={FlowMod.TableId} priority={FlowMod.Priority} {FlowMod.Match}: {OfpErrorNames.Describe(Error.ErrorType, Error.Code)}";
}

/// <summary>
/// Outcome of a flow batch: confirmed by the switch's BARRIER_REPLY, deferred until the switch (re)connects, or sent
/// but not confirmed (<see cref="TimedOut"/>: no BARRIER_REPLY within the request timeout).
/// </summary>
public sealed record FlowBatchResult(bool Confirmed, int FlowMods, IReadOnlyList<FlowModRejection> Rejections)
{
    public static readonly FlowBatchResult Deferred = new(false, 0, []);

    public bool Ok => Rejections.Count == 0;

    /// <summary>The batch went out but the switch did not answer its barrier in time: what it applied is unknown.</summary>
    public bool TimedOut { get; init; }

    public static FlowBatchResult NotConfirmed(int flowMods) => new(false, flowMods, []) { TimedOut = true };

    /// <summary>Where the batch's time went (<see cref="Stopwatch"/> timestamps); null when nothing was sent.</summary>
    public BatchTimes? Times { get; init; }

    public override string ToString() =>
        Confirmed ? $"confirmed {FlowMods} flow-mods{(Ok ? "" : $", rejected: {string.Join("; ", Rejections)}")}"
        : TimedOut ? $"{FlowMods} flow-mods sent, no barrier reply in time" : "deferred until the switch connects";
}

/// <summary>
/// <see cref="Stopwatch"/> timestamps of one flow batch: its write was issued, the reader read the BARRIER_REPLY, and
/// the code that awaited the batch resumed (after <see cref="BarrierRead"/> on the same thread unless the read loop
/// was busy).
/// </summary>
public readonly record struct BatchTimes(long Written, long BarrierRead, long Resumed);

/// <summary>What a reconciliation after (re)connect found and changed.</summary>
public sealed record ReconcileReport(ulong DatapathId, int Found, int Kept, int Added, int Modified, int Deleted, TimeSpan SinceConnect, IReadOnlyList<FlowModRejection> Rejections)
{
    public override string ToString() =>
        $"dpid 0x{DatapathId:x}: found {Found}, kept {Kept}, added {Added}, modified {Modified}, deleted {Deleted}, " +
        $"{SinceConnect.TotalMilliseconds:F1} ms from connect to barrier{(Rejections.Count > 0 ? $"; rejected: {string.Join("; ", Rejections)}" : "")}";
}

/// <summary>One connected switch: framing, request/reply pairing by xid, echo keep-alive, barrier-confirmed batches.</summary>
internal sealed class SwitchSession : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly OpenFlowControllerOptions _options;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<OfpMessage>> _pending = new();
    private readonly ConcurrentDictionary<uint, List<FlowStats>> _flowStatsParts = new();
    private readonly ConcurrentDictionary<uint, BatchErrors> _flowModOwners = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly TaskCompletionSource<Hello> _hello = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _connectedAt = TimeProvider.System.GetTimestamp();
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextXid = 0x10000;
    private int _closed;

    /// <summary>When the read loop finished reading the frame it is dispatching (TimeProvider.System timestamp).</summary>
    private long _frameReadAt;

    /// <summary>The session's keep-alive and echo replies: the controller's tracker, awaited when it stops.</summary>
    private readonly BackgroundTasks _background;

    public SwitchSession(Stream stream, string remote, OpenFlowControllerOptions options, BackgroundTasks? background = null)
    {
        _background = background ?? new BackgroundTasks();
        _stream = stream;
        _options = options;
        Remote = remote;
    }

    public string Remote { get; }

    public ulong DatapathId { get; private set; }

    public bool Ready { get; set; }

    /// <summary>Held by reconciliation and by each batch so the switch sees them in a consistent order.</summary>
    public SemaphoreSlim ProgramLock { get; } = new(1, 1);

    public TimeSpan SinceConnect => TimeProvider.System.GetElapsedTime(_connectedAt);

    public long DecodeErrors;

    public Task Completion { get; private set; } = Task.CompletedTask;

    public event Action<SwitchSession, OfpMessage>? Unsolicited;

    /// <summary>The last failure to give a reader thread its real-time priority (process-wide: the cause is the host's).</summary>
    public static string? ReaderPriorityProblem { get; private set; }

    public uint NextXid() => (uint)Interlocked.Increment(ref _nextXid);

    /// <summary>HELLO both ways (we send ours first: OVS hangs up if it waits ~1 s), then FEATURES_REQUEST (OVS never sends it).</summary>
    public async Task<FeaturesReply> HandshakeAsync()
    {
        // One dedicated thread blocked in read(): a reply wakes it directly, not an epoll thread that then queues the
        // read loop's continuation to a pool thread (two wake-ups, each queued behind every runnable thread).
        Completion = _readerDone.Task;
        new Thread(ReadLoop) { IsBackground = true, Name = $"openflow reader {Remote}" }.Start();
        await SendAsync(new Hello(NextXid(), 1u << OfpCodec.Version13));
        var peer = await _hello.Task.WaitAsync(_options.RequestTimeout, _cts.Token);
        if (peer.VersionBitmap is not null && !peer.Supports(OfpCodec.Version13))
        {
            await SendAsync(new ErrorMessage(peer.Xid, 0, 0, "OpenFlow 1.3 required"u8.ToArray()));
            throw new InvalidOperationException($"switch {Remote} does not offer OpenFlow 1.3 (bitmap 0x{peer.VersionBitmap:x})");
        }

        var features = (FeaturesReply)await RequestAsync(new FeaturesRequest(NextXid()));
        DatapathId = features.DatapathId;
        await SendAsync(new SetConfig(NextXid(), 0, 0xffff));
        _background.Start(KeepAliveAsync, $"keeping switch {Remote} alive");
        return features;
    }

    public async Task SendAsync(OfpMessage message)
    {
        var w = new OfpWriter(256);
        OfpCodec.Encode(message, w);
        await WriteAsync(w.WrittenMemory);
    }

    /// <returns>When the write was issued (Stopwatch timestamp, after the write lock): a reply can be read before the write call returns.</returns>
    private async Task<long> WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writeLock.WaitAsync(_cts.Token);
        try
        {
            var issued = TimeProvider.System.GetTimestamp();
            await _stream.WriteAsync(bytes, _cts.Token);
            await _stream.FlushAsync(_cts.Token);
            return issued;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<OfpMessage> RequestAsync(OfpMessage request)
    {
        var tcs = new TaskCompletionSource<OfpMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[request.Xid] = tcs;
        try
        {
            await SendAsync(request);
            return await tcs.Task.WaitAsync(_options.RequestTimeout, _cts.Token);
        }
        finally
        {
            _pending.TryRemove(request.Xid, out _);
        }
    }

    public async Task<IReadOnlyList<FlowStats>> DumpFlowsAsync()
    {
        var xid = NextXid();
        _flowStatsParts[xid] = [];
        try
        {
            await RequestAsync(new FlowStatsRequest(xid, FlowStatsRequest.AllTables, OfpPort.Any, 0xffffffff, 0, 0, OfpMatch.Any));
            return _flowStatsParts[xid];
        }
        finally
        {
            _flowStatsParts.TryRemove(xid, out _);
        }
    }

    /// <summary>Sends the flow-mods and a barrier in one write; completes on the BARRIER_REPLY with any errors the switch sent for them.</summary>
    public async Task<FlowBatchResult> SendBatchAsync(IReadOnlyList<FlowMod> mods)
    {
        var errors = new BatchErrors();
        var w = new OfpWriter(256 * Math.Max(1, mods.Count));
        foreach (var m in mods)
        {
            _flowModOwners[m.Xid] = errors;
            errors.ByXid[m.Xid] = m;
            OfpCodec.Encode(m, w);
        }

        var barrierXid = NextXid();
        OfpCodec.Encode(new BarrierRequest(barrierXid), w);

        // Continuations run synchronously: whoever awaits the batch (the steering programmer, then the datapath flush)
        // goes on at once on the reader thread that read the BARRIER_REPLY, without a hop through the thread pool.
        // The awaiting code only ever awaits (never blocks on this session), so the reader cannot deadlock on itself.
        var barrier = new BarrierWaiter();
        _pending[barrierXid] = barrier;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
        deadline.CancelAfter(_options.RequestTimeout);
        var registration = deadline.Token.Register(() => barrier.TrySetException(_cts.IsCancellationRequested
            ? new OperationCanceledException(_cts.Token)
            : new TimeoutException($"switch {Remote} (dpid 0x{DatapathId:x}) sent no barrier reply to {mods.Count} flow-mod(s) within {_options.RequestTimeout.TotalSeconds:0.#} s")));
        try
        {
            var written = await WriteAsync(w.WrittenMemory);
            await barrier.Task;
            var times = new BatchTimes(written, barrier.ReadAt, TimeProvider.System.GetTimestamp());
            lock (errors)
            {
                return new FlowBatchResult(true, mods.Count, errors.Rejections.ToList()) { Times = times };
            }
        }
        finally
        {
            await registration.DisposeAsync();
            _pending.TryRemove(barrierXid, out _);
            foreach (var m in mods)
            {
                _flowModOwners.TryRemove(m.Xid, out _);
            }
        }
    }

    /// <summary>The session's reader thread: blocking reads (closing the stream unblocks them), dispatch inline.</summary>
    private void ReadLoop()
    {
        if (_options.ReaderRealtimePriority is { } priority && RealtimeThread.TrySetCurrent(priority) is { } problem)
        {
            ReaderPriorityProblem = problem;
        }

        var header = new byte[OfpCodec.HeaderLength];
        try
        {
            while (!_cts.IsCancellationRequested)
            {
                _stream.ReadExactly(header);
                var (version, type, length, _) = OfpCodec.ReadHeader(header);
                var frame = new byte[length];
                header.CopyTo(frame, 0);
                _stream.ReadExactly(frame.AsSpan(OfpCodec.HeaderLength));
                _frameReadAt = TimeProvider.System.GetTimestamp();
                OfpMessage message;
                try
                {
                    message = OfpCodec.Decode(frame);
                }
                catch (OfpDecodeException)
                {
                    // Framing is intact (the length was read); one undecodable message does not end the session.
                    Interlocked.Increment(ref DecodeErrors);
                    continue;
                }

                if (type == (byte)OfpType.Hello && version < OfpCodec.Version13 && message is Hello { VersionBitmap: null })
                {
                    _hello.TrySetException(new InvalidOperationException($"switch {Remote} speaks only OpenFlow wire version {version}"));
                    continue;
                }

                Dispatch(message);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or EndOfStreamException or ObjectDisposedException or OfpDecodeException)
        {
            // Connection gone (or a header with an impossible length): the session ends, the switch will reconnect.
        }
        catch (Exception e)
        {
            // Not expected from reading or dispatching; ending the session beats ending the process from this thread.
            _readerDone.TrySetException(e);
        }
        finally
        {
            // A dedicated thread, not a pool thread: waiting here blocks nobody else.
            CloseAsync().GetAwaiter().GetResult();
            _readerDone.TrySetResult();
        }
    }

    private void Dispatch(OfpMessage message)
    {
        switch (message)
        {
            case Hello h:
                _hello.TrySetResult(h);
                return;
            case EchoRequest e:
                _background.Track(SendSafeAsync(new EchoReply(e.Xid, e.Data)), $"answering an echo from switch {Remote}");
                return;
            case ErrorMessage err when _flowModOwners.TryGetValue(err.Xid, out var batch):
                lock (batch)
                {
                    batch.Rejections.Add(new FlowModRejection(batch.ByXid[err.Xid], err));
                }

                return;
            case ErrorMessage err when _pending.TryRemove(err.Xid, out var t):
                t.TrySetException(new InvalidOperationException($"switch {Remote} rejected request xid {err.Xid}: {err}"));
                return;
            case FlowStatsReply fs when _flowStatsParts.TryGetValue(fs.Xid, out var parts):
                parts.AddRange(fs.Entries);
                if (!fs.HasMore && _pending.TryGetValue(fs.Xid, out var done))
                {
                    done.TrySetResult(fs);
                }

                return;
            case MultipartReply mp when mp.HasMore:
                return;
            default:
                if (_pending.TryGetValue(message.Xid, out var tcs) && message is not PacketIn and not PortStatus and not FlowRemoved)
                {
                    if (tcs is BarrierWaiter barrier)
                    {
                        barrier.ReadAt = _frameReadAt;
                    }

                    tcs.TrySetResult(message);
                }
                else
                {
                    Unsolicited?.Invoke(this, message);
                }

                return;
        }
    }

    private async Task SendSafeAsync(OfpMessage m)
    {
        try
        {
            await SendAsync(m);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task KeepAliveAsync()
    {
        try
        {
            while (!_cts.IsCancellationRequested)
            {
                await Task.Delay(_options.EchoInterval, _cts.Token);
                await RequestAsync(new EchoRequest(NextXid(), []));
            }
        }
        catch (Exception e) when (e is TimeoutException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            await CloseAsync();
        }
    }

    public async Task CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        Ready = false;
        await _cts.CancelAsync();
        _hello.TrySetCanceled();
        foreach (var p in _pending.Values)
        {
            p.TrySetException(new IOException($"switch {Remote} (dpid 0x{DatapathId:x}) disconnected"));
        }

        await _stream.DisposeAsync();
        Closed?.Invoke(this);
    }

    public event Action<SwitchSession>? Closed;

    public async ValueTask DisposeAsync() => await CloseAsync();

    /// <summary>A batch's barrier: continuations inline on the reader thread; when its reply was read.</summary>
    private sealed class BarrierWaiter() : TaskCompletionSource<OfpMessage>(TaskCreationOptions.None)
    {
        public long ReadAt { get; set; }
    }

    private sealed class BatchErrors
    {
        public Dictionary<uint, FlowMod> ByXid { get; } = [];

        public List<FlowModRejection> Rejections { get; } = [];
    }
}
