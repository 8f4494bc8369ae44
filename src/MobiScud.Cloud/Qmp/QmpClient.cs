using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobiScud.Cloud.Qmp;

/// <summary>
/// A QMP client: JSON lines over a stream (normally QEMU's unix socket). Commands carry ids so replies are
/// matched even when events interleave; events go to <see cref="EventReceived"/> and to
/// <see cref="WaitForEventAsync"/> waiters registered before the command that causes them.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    /// <summary>Longest line accepted from QEMU; query-qmp-schema is ~200 KiB, so this is generous.</summary>
    public const int MaxLineBytes = 4 * 1024 * 1024;

    private readonly Stream _stream;
    private readonly Socket? _socket;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<string, PendingReply> _pending = new();
    private readonly List<EventWaiter> _waiters = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _readLoop;
    private long _nextId;
    private string _closeReason = "not connected";

    private QmpClient(Stream stream, Socket? socket, TimeProvider time)
    {
        _stream = stream;
        _socket = socket;
        _time = time;
    }

    /// <summary>Raised on the reader thread for every event; handlers must not block.</summary>
    public event Action<QmpEvent>? EventReceived;

    /// <summary>QEMU's version from the greeting, e.g. "7.2.22".</summary>
    public string QemuVersion { get; private set; } = "";

    /// <summary>Capabilities QEMU offered in the greeting (e.g. "oob").</summary>
    public IReadOnlyList<string> OfferedCapabilities { get; private set; } = [];

    /// <summary>Completes when the connection ends, for whatever reason.</summary>
    public Task Closed => _closed.Task;

    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Connects to a QMP unix socket, retrying while QEMU has not created it yet, then negotiates. <paramref name="time"/>
    /// is the clock of every timeout of the client (and of events QEMU sends without a time stamp); default the system's.
    /// </summary>
    public static async Task<QmpClient> ConnectUnixAsync(string path, TimeSpan timeout, CancellationToken ct = default, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var started = time.GetTimestamp();
        while (true)
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                return await new QmpClient(new NetworkStream(s, ownsSocket: true), s, time).NegotiateAsync(timeout - time.GetElapsedTime(started), ct);
            }
            catch (SocketException) when (time.GetElapsedTime(started) < timeout)
            {
                // QEMU creates and listens on the socket a few ms after it starts.
                s.Dispose();
                await Task.Delay(TimeSpan.FromMilliseconds(20), time, ct);
            }
            catch (SocketException e)
            {
                s.Dispose();
                throw new QmpConnectionClosedException($"cannot connect to QMP socket {path}: {e.Message}", e);
            }
        }
    }

    /// <summary>Runs QMP over any stream (tests drive it with recorded transcripts); reads the greeting and negotiates.</summary>
    public static Task<QmpClient> ConnectAsync(Stream stream, TimeSpan timeout, CancellationToken ct = default, TimeProvider? time = null) =>
        new QmpClient(stream, null, time ?? TimeProvider.System).NegotiateAsync(timeout, ct);

    /// <summary>Reads the greeting and leaves capabilities negotiation; returns this client, or disposes it and throws.</summary>
    private async Task<QmpClient> NegotiateAsync(TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await GreetAsync(timeout, ct);
            return this;
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task GreetAsync(TimeSpan timeout, CancellationToken ct)
    {
        var reader = new LineReader(_stream);
        using var expiry = new CancellationTokenSource(timeout <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : timeout, _time);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, expiry.Token);
        byte[]? line;
        try
        {
            line = await reader.ReadLineAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new QmpTimeoutException($"no QMP greeting within {timeout}");
        }

        if (line is null)
        {
            throw new QmpConnectionClosedException("QMP connection closed before the greeting");
        }

        ParseGreeting(line);
        _readLoop = Task.Run(() => ReadLoopAsync(reader));
        _closeReason = "connection closed by QEMU";
        await ExecuteAsync("qmp_capabilities", null, timeout, ct);
    }

    private void ParseGreeting(byte[] line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (!doc.RootElement.TryGetProperty("QMP", out var qmp) || qmp.ValueKind != JsonValueKind.Object)
            {
                throw new QmpProtocolException($"expected a QMP greeting, got: {Truncate(line)}");
            }

            if (qmp.TryGetProperty("version", out var v) && v.TryGetProperty("qemu", out var q) &&
                q.TryGetProperty("major", out var major) && q.TryGetProperty("minor", out var minor) && q.TryGetProperty("micro", out var micro))
            {
                QemuVersion = $"{major.GetInt32()}.{minor.GetInt32()}.{micro.GetInt32()}";
            }

            if (qmp.TryGetProperty("capabilities", out var caps) && caps.ValueKind == JsonValueKind.Array)
            {
                OfferedCapabilities = [.. caps.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String).Select(c => c.GetString()!)];
            }
        }
        catch (JsonException e)
        {
            throw new QmpProtocolException($"QMP greeting is not JSON: {Truncate(line)}", e);
        }
    }

    /// <summary>Runs a command and returns its "return" value (detached). QEMU errors throw <see cref="QmpException"/>.</summary>
    public async Task<JsonElement> ExecuteAsync(string command, object? arguments = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var id = "c" + Interlocked.Increment(ref _nextId);
        var p = new PendingReply(command);
        _pending[id] = p;
        try
        {
            if (_closed.Task.IsCompleted)
            {
                throw new QmpConnectionClosedException($"QMP '{command}': {_closeReason}");
            }

            byte[] line = [.. JsonSerializer.SerializeToUtf8Bytes(new Request(command, arguments, id)), (byte)'\n'];
            await _writeLock.WaitAsync(ct);
            try
            {
                await _stream.WriteAsync(line, ct);
                await _stream.FlushAsync(ct);
            }
            catch (IOException e)
            {
                throw new QmpConnectionClosedException($"QMP '{command}': write failed: {e.Message}", e);
            }
            finally
            {
                _writeLock.Release();
            }

            var limit = timeout ?? DefaultTimeout;
            var done = await Task.WhenAny(p.Result.Task, Task.Delay(limit, _time, ct));
            if (done != p.Result.Task)
            {
                ct.ThrowIfCancellationRequested();
                throw new QmpTimeoutException($"QMP '{command}' got no reply within {limit}");
            }

            return await p.Result.Task;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Registers now (call it before the command that triggers the event) and completes with the first event
    /// named <paramref name="name"/> that satisfies <paramref name="predicate"/>.
    /// </summary>
    public Task<QmpEvent> WaitForEventAsync(string name, Func<QmpEvent, bool>? predicate, TimeSpan timeout, CancellationToken ct = default)
    {
        var waiter = new EventWaiter(name, predicate ?? (_ => true));
        lock (_waiters)
        {
            _waiters.Add(waiter);
        }

        return Await();

        async Task<QmpEvent> Await()
        {
            try
            {
                var done = await Task.WhenAny(waiter.Result.Task, Task.Delay(timeout, _time, ct), _closed.Task);

                // An event read just before the connection closed (SHUTDOWN, then QEMU exits) still counts.
                if (waiter.Result.Task.IsCompleted)
                {
                    return await waiter.Result.Task;
                }

                ct.ThrowIfCancellationRequested();
                if (done == _closed.Task)
                {
                    throw new QmpConnectionClosedException($"waiting for event {name}: {_closeReason}");
                }

                throw new QmpTimeoutException($"event {name} did not come within {timeout}");
            }
            finally
            {
                lock (_waiters)
                {
                    _waiters.Remove(waiter);
                }
            }
        }
    }

    private async Task ReadLoopAsync(LineReader reader)
    {
        Exception? failure = null;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var line = await reader.ReadLineAsync(_stop.Token);
                if (line is null)
                {
                    break;
                }

                if (line.Length > 0)
                {
                    Dispatch(line);
                }
            }
        }
        catch (OperationCanceledException)
        {
            _closeReason = "client disposed";
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or QmpProtocolException)
        {
            failure = e;
            _closeReason = e is QmpProtocolException ? e.Message : $"connection lost: {e.Message}";
        }
        finally
        {
            foreach (var (_, p) in _pending)
            {
                p.Result.TrySetException(new QmpConnectionClosedException($"QMP '{p.Command}': {_closeReason}", failure));
            }

            _closed.TrySetResult();
        }
    }

    private void Dispatch(byte[] line)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new QmpProtocolException($"QEMU sent a line that is not JSON: {Truncate(line)}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new QmpProtocolException($"QEMU sent a JSON value that is not an object: {Truncate(line)}");
            }

            if (root.TryGetProperty("event", out var ev) && ev.ValueKind == JsonValueKind.String)
            {
                var data = root.TryGetProperty("data", out var d) ? d.Clone() : default;
                var at = _time.GetUtcNow();
                if (root.TryGetProperty("timestamp", out var ts) && ts.TryGetProperty("seconds", out var sec) &&
                    ts.TryGetProperty("microseconds", out var usec) && sec.TryGetInt64(out var s) && usec.TryGetInt64(out var us))
                {
                    at = DateTimeOffset.FromUnixTimeSeconds(s).AddTicks(us * 10);
                }

                Publish(new QmpEvent(ev.GetString()!, data, at));
                return;
            }

            // A reply without an id answers a command we did not send with one: that is not us.
            if (!root.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String)
            {
                throw new QmpProtocolException($"QEMU sent a reply without our id: {Truncate(line)}");
            }

            if (!_pending.TryGetValue(idElement.GetString()!, out var p))
            {
                return; // the command timed out and its waiter is gone
            }

            if (root.TryGetProperty("return", out var ret))
            {
                p.Result.TrySetResult(ret.Clone());
            }
            else if (root.TryGetProperty("error", out var err))
            {
                var cls = err.TryGetProperty("class", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "?";
                var desc = err.TryGetProperty("desc", out var ds) && ds.ValueKind == JsonValueKind.String ? ds.GetString()! : "";
                p.Result.TrySetException(new QmpException(p.Command, cls, desc));
            }
            else
            {
                p.Result.TrySetException(new QmpProtocolException($"reply to '{p.Command}' has neither return nor error: {Truncate(line)}"));
            }
        }
    }

    private void Publish(QmpEvent e)
    {
        try
        {
            EventReceived?.Invoke(e);
        }
        catch (Exception)
        {
            // A misbehaving handler must not kill the connection.
        }

        lock (_waiters)
        {
            foreach (var w in _waiters)
            {
                if (w.Name == e.Name && !w.Result.Task.IsCompleted && w.Predicate(e))
                {
                    w.Result.TrySetResult(e);
                }
            }
        }
    }

    private static string Truncate(byte[] line)
    {
        var s = Encoding.UTF8.GetString(line, 0, Math.Min(line.Length, 200));
        return line.Length > 200 ? s + "..." : s;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            try
            {
                _socket?.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }

            await _stream.DisposeAsync();
            if (_readLoop is not null)
            {
                await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            _closed.TrySetResult();
        }
    }

    /// <summary>One command as QEMU reads it; the arguments (serialized as their runtime type) are left out when null.</summary>
    private sealed record Request(
        [property: JsonPropertyName("execute")] string Execute,
        [property: JsonPropertyName("arguments"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? Arguments,
        [property: JsonPropertyName("id")] string Id);

    private sealed record PendingReply(string Command)
    {
        public TaskCompletionSource<JsonElement> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record EventWaiter(string Name, Func<QmpEvent, bool> Predicate)
    {
        public TaskCompletionSource<QmpEvent> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Splits a byte stream into lines, refusing lines longer than <see cref="MaxLineBytes"/>.</summary>
    private sealed class LineReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly MemoryStream _line = new();
        private int _start;
        private int _end;

        public async Task<byte[]?> ReadLineAsync(CancellationToken ct)
        {
            while (true)
            {
                var nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (nl >= 0)
                {
                    _line.Write(_buffer, _start, nl - _start);
                    _start = nl + 1;
                    var result = _line.ToArray();
                    _line.SetLength(0);
                    return result.Length > 0 && result[^1] == '\r' ? result[..^1] : result;
                }

                _line.Write(_buffer, _start, _end - _start);
                _start = _end = 0;
                if (_line.Length > MaxLineBytes)
                {
                    throw new QmpProtocolException($"QMP line longer than {MaxLineBytes} bytes");
                }

                var n = await stream.ReadAsync(_buffer, ct);
                if (n == 0)
                {
                    return _line.Length > 0 ? throw new QmpProtocolException("QMP connection closed in the middle of a line") : null;
                }

                _end = n;
            }
        }
    }
}
