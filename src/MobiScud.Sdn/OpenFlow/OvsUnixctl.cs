using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;

namespace MobiScud.Sdn.OpenFlow;

/// <summary>
/// What `ovs-appctl` does, without starting a process: one JSON-RPC 1.0 request over ovs-vswitchd's unixctl socket
/// (OVS_RUNDIR/ovs-vswitchd.PID.ctl), e.g. `revalidator/wait`. A connection is kept and reused; calls are serialised.
/// </summary>
public sealed class OvsUnixctl : IAsyncDisposable
{
    private readonly Func<string> _socketPath;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly byte[] _buffer = new byte[64 * 1024];
    private Socket? _socket;
    private int _nextId;

    public OvsUnixctl(string socketPath)
        : this(() => socketPath)
    {
    }

    /// <summary>The path is resolved at every (re)connect: ovs-vswitchd names its socket after its pid, which a restart changes.</summary>
    public OvsUnixctl(Func<string> socketPath) => _socketPath = socketPath;

    public string SocketPath => _socketPath();

    /// <summary>The unixctl socket of the ovs-vswitchd whose pid file is in <paramref name="runDir"/>.</summary>
    public static string SocketIn(string runDir)
    {
        var pidFile = Path.Combine(runDir, "ovs-vswitchd.pid");
        var pid = File.Exists(pidFile) ? File.ReadAllText(pidFile).Trim() : throw new FileNotFoundException($"no ovs-vswitchd pid file in {runDir}", pidFile);
        return Path.Combine(runDir, $"ovs-vswitchd.{pid}.ctl");
    }

    /// <summary>Runs one command; returns its reply text, or throws naming the command and OVS's error.</summary>
    public async Task<string> CallAsync(string method, IReadOnlyList<string>? args = null, CancellationToken ct = default) =>
        await await SendAsync(method, args, ct);

    /// <summary>
    /// Sends one command and returns once the request is written; the inner task completes with the reply. Lets a
    /// caller order the request before something else it sends to ovs-vswitchd.
    /// </summary>
    public async Task<Task<string>> SendAsync(string method, IReadOnlyList<string>? args = null, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            try
            {
                await WriteRequestAsync(method, args ?? [], ct);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // ovs-vswitchd restarted or closed an idle connection: one fresh connection, then give up.
                Disconnect();
                await WriteRequestAsync(method, args ?? [], ct);
            }
        }
        catch
        {
            Disconnect();
            _gate.Release();
            throw;
        }

        return ReadReplyAndReleaseAsync(method, ct);
    }

    /// <summary>
    /// Runs one command with blocking socket calls on the calling thread, for a caller that wants the reply to wake
    /// it directly (an async receive completes on an epoll thread, which queues the continuation to a pool thread).
    /// Holds the thread for OVS's reply, so only for short commands; <paramref name="timeout"/> bounds each wait.
    /// </summary>
    /// <param name="sentAt">Stopwatch timestamp when the request was written.</param>
    /// <param name="repliedAt">Stopwatch timestamp when the complete reply was read.</param>
    public string Call(string method, IReadOnlyList<string>? args, TimeSpan timeout, out long sentAt, out long repliedAt)
    {
        if (!_gate.Wait(timeout))
        {
            throw new TimeoutException($"ovs-appctl {method}: {SocketPath} busy for {timeout.TotalSeconds:0.#} s");
        }

        try
        {
            try
            {
                WriteRequest(method, args ?? [], timeout);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // As in SendAsync: one fresh connection, then give up.
                Disconnect();
                WriteRequest(method, args ?? [], timeout);
            }

            sentAt = TimeProvider.System.GetTimestamp();
            var filled = 0;
            while (true)
            {
                int n;
                try
                {
                    n = _socket!.Receive(_buffer.AsSpan(filled), SocketFlags.None);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    throw new TimeoutException($"ovs-appctl {method}: no reply from {SocketPath} within {timeout.TotalSeconds:0.#} s", e);
                }

                if (Received(method, ref filled, n) is { } length)
                {
                    repliedAt = TimeProvider.System.GetTimestamp();
                    return ParseReply(method, length);
                }
            }
        }
        catch
        {
            // The stream position is unknown after a failure: the next call reconnects.
            Disconnect();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void WriteRequest(string method, IReadOnlyList<string> args, TimeSpan timeout)
    {
        if (_socket is null)
        {
            // A connect that fails leaves the socket to the caller's Disconnect.
            _socket = NewSocket();
            _socket.Connect(new UnixDomainSocketEndPoint(_socketPath()));
        }

        _socket.ReceiveTimeout = _socket.SendTimeout = (int)Math.Ceiling(timeout.TotalMilliseconds);
        _socket.Send(Request(method, args), SocketFlags.None);
    }

    private byte[] Request(string method, IReadOnlyList<string> args) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["id"] = _nextId++, ["method"] = method, ["params"] = args });

    private string ParseReply(string method, int length)
    {
        using var reply = JsonDocument.Parse(_buffer.AsMemory(0, length));
        var root = reply.RootElement;
        if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
        {
            throw new InvalidOperationException($"ovs-appctl {method}: {error}");
        }

        return root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.String ? result.GetString()! : "";
    }

    private async Task WriteRequestAsync(string method, IReadOnlyList<string> args, CancellationToken ct)
    {
        if (_socket is null)
        {
            _socket = NewSocket();
            await _socket.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath()), ct);
        }

        await _socket.SendAsync(Request(method, args), SocketFlags.None, ct);
    }

    private async Task<string> ReadReplyAndReleaseAsync(string method, CancellationToken ct)
    {
        try
        {
            // Replies are bare JSON objects on the stream: read until one complete object has arrived.
            var filled = 0;
            while (true)
            {
                var n = await _socket!.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None, ct);
                if (Received(method, ref filled, n) is { } length)
                {
                    return ParseReply(method, length);
                }
            }
        }
        catch
        {
            // The stream position is unknown after a failure: the next call reconnects.
            Disconnect();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Counts <paramref name="n"/> more bytes of a reply (replies are bare JSON objects on the stream): the length of
    /// the reply once it is complete, null while more bytes are needed; throws on end of stream or a reply too large.
    /// </summary>
    private int? Received(string method, ref int filled, int n)
    {
        if (n == 0)
        {
            throw new EndOfStreamException($"ovs-vswitchd closed {SocketPath} during '{method}'");
        }

        filled += n;
        if (CompleteObjectLength(_buffer.AsSpan(0, filled)) is { } length)
        {
            return length;
        }

        return filled < _buffer.Length ? null : throw new InvalidDataException($"reply to '{method}' from {SocketPath} exceeds {_buffer.Length} bytes");
    }

    private static Socket NewSocket() => new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    private void Disconnect()
    {
        _socket?.Dispose();
        _socket = null;
    }

    /// <summary>Length of the first complete top-level JSON value, or null if more bytes are needed.</summary>
    private static int? CompleteObjectLength(ReadOnlySpan<byte> data)
    {
        // Not the final block: TrySkip reports an incomplete object as false instead of throwing.
        var reader = new Utf8JsonReader(data, isFinalBlock: false, state: default);
        return reader.Read() && reader.TrySkip() ? (int)reader.BytesConsumed : null;
    }

    public ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }
}
