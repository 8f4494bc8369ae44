using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Logging;

namespace MobiScud.Hosting.Mec;

/// <summary>A silo holding a subscriber's WebSocket: hears the notifications for it from whichever silo made them.</summary>
internal interface IMecSocketObserver : IGrainObserver
{
    Task Deliver(string json);
}

/// <summary>
/// One MEC 021 WebSocket subscription (key: subscription id): fans its notifications out to the silos where the
/// subscriber's WebSockets are open. In memory: a socket is a live connection, gone with its silo.
/// </summary>
internal interface IMecSocketGrain : IGrainWithStringKey
{
    Task Attach(IMecSocketObserver observer);

    Task Detach(IMecSocketObserver observer);

    /// <summary>Sends to every open socket; returns how many took it (0: nobody connected, the notification is not kept).</summary>
    Task<int> Push(string json);
}

internal sealed class MecSocketGrain(ILogger<MecSocketGrain> log) : Grain, IMecSocketGrain
{
    private readonly HashSet<IMecSocketObserver> _observers = [];

    public Task Attach(IMecSocketObserver observer)
    {
        _observers.Add(observer);
        return Task.CompletedTask;
    }

    public Task Detach(IMecSocketObserver observer)
    {
        _observers.Remove(observer);
        return Task.CompletedTask;
    }

    public async Task<int> Push(string json)
    {
        var delivered = 0;
        foreach (var o in _observers.ToList())
        {
            try
            {
                await o.Deliver(json);
                delivered++;
            }
            catch (Exception e)
            {
                // The socket's silo is gone or the socket closed: forget it (the subscriber reconnects).
                log.LogInformation("MEC WebSocket of subscription {Id} dropped: {Error}", this.GetPrimaryKeyString(), e.Message);
                _observers.Remove(o);
            }
        }

        return delivered;
    }
}

/// <summary>The WebSockets this silo holds for MEC 021 subscribers, each attached to its subscription's grain.</summary>
internal sealed class MecSockets(IGrainFactory grains, ILogger<MecSockets> log)
{
    private readonly ConcurrentDictionary<Observer, IMecSocketObserver> _open = new();

    /// <summary>Serves one accepted socket until the subscriber closes it or the service stops.</summary>
    public async Task ServeAsync(string subscriptionId, WebSocket socket, CancellationToken ct)
    {
        var observer = new Observer(socket);
        var reference = grains.CreateObjectReference<IMecSocketObserver>(observer);
        _open[observer] = reference;
        var grain = grains.GetGrain<IMecSocketGrain>(subscriptionId);
        await grain.Attach(reference);
        try
        {
            var buffer = new byte[1024];
            while (socket.State == WebSocketState.Open)
            {
                // Notifications flow one way; whatever the subscriber sends is read and dropped until it closes.
                var read = await socket.ReceiveAsync(buffer, ct);
                if (read.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "closed", ct);
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            log.LogInformation("MEC WebSocket of subscription {Id} ended: {Error}", subscriptionId, e.Message);
        }
        finally
        {
            _open.TryRemove(observer, out _);
            await grain.Detach(reference);
            grains.DeleteObjectReference<IMecSocketObserver>(reference);
        }
    }

    private sealed class Observer(WebSocket socket) : IMecSocketObserver
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public async Task Deliver(string json)
        {
            // One send at a time: a WebSocket takes no concurrent sends.
            await _send.WaitAsync();
            try
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
            finally
            {
                _send.Release();
            }
        }
    }
}
