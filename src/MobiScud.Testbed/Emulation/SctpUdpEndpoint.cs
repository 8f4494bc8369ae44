using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using MobiScud.Testbed.Infrastructure;

namespace MobiScud.Testbed.Emulation;

/// <summary>A user message received on an association (one complete DATA chunk).</summary>
internal sealed record SctpMessage(SctpAssociation Association, ushort Stream, uint Ppid, byte[] Payload);

/// <summary>
/// One SCTP association carried over UDP (RFC 6951): verification tags, TSNs, per-stream sequence numbers,
/// SACKs, and retransmission of unacknowledged DATA.
/// </summary>
internal sealed class SctpAssociation
{
    private readonly SctpUdpEndpoint _endpoint;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<uint, (byte[] Packet, DateTime SentAt, int Tries)> _outstanding = [];
    private readonly ushort[] _ssn = new ushort[16];
    private uint _nextTsn;

    internal SctpAssociation(SctpUdpEndpoint endpoint, IPEndPoint udpPeer, ushort peerPort, uint localTag, uint localInitialTsn)
    {
        _endpoint = endpoint;
        UdpPeer = udpPeer;
        PeerPort = peerPort;
        LocalTag = localTag;
        _nextTsn = localInitialTsn;
    }

    public IPEndPoint UdpPeer { get; }

    public ushort PeerPort { get; }

    public ushort LocalPort => _endpoint.SctpPort;

    public uint LocalTag { get; }

    public uint PeerTag { get; internal set; }

    /// <summary>Highest TSN received in sequence from the peer.</summary>
    internal uint PeerCumulativeTsn { get; set; }

    internal TaskCompletionSource Established { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsEstablished => Established.Task.IsCompletedSuccessfully;

    /// <summary>Sends one user message as a single unfragmented DATA chunk (B and E set).</summary>
    public Task SendAsync(ReadOnlySpan<byte> payload, ushort stream = 0, uint ppid = SctpCodec.S1apPpid)
    {
        if (payload.Length > 1200)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), payload.Length, "messages above 1200 bytes would need fragmentation, which the emulator does not do");
        }

        byte[] packet;
        lock (_gate)
        {
            var tsn = _nextTsn++;
            var ssn = _ssn[stream % _ssn.Length]++;
            packet = SctpCodec.Encode(LocalPort, PeerPort, PeerTag, (SctpChunkType.Data, 0x03, SctpCodec.DataValue(tsn, stream, ssn, ppid, payload)));
            _outstanding[tsn] = (packet, TimeProvider.System.GetUtcNow().UtcDateTime, 1);
        }

        return _endpoint.SendRawAsync(packet, UdpPeer);
    }

    internal void Acknowledge(uint cumulativeTsn)
    {
        lock (_gate)
        {
            foreach (var tsn in _outstanding.Keys.Where(t => (int)(t - cumulativeTsn) <= 0).ToList())
            {
                _outstanding.Remove(tsn);
            }
        }
    }

    /// <summary>DATA not acknowledged within the RTO is sent again (RFC 4960 T3-rtx, fixed 1 s RTO).</summary>
    internal IReadOnlyList<byte[]> DueForRetransmission(DateTime now)
    {
        var due = new List<byte[]>();
        lock (_gate)
        {
            foreach (var (tsn, o) in _outstanding.ToList())
            {
                if (now - o.SentAt > TimeSpan.FromSeconds(1) && o.Tries < 8)
                {
                    _outstanding[tsn] = (o.Packet, now, o.Tries + 1);
                    due.Add(o.Packet);
                }
            }
        }

        return due;
    }

    public int Outstanding
    {
        get
        {
            lock (_gate)
            {
                return _outstanding.Count;
            }
        }
    }
}

/// <summary>
/// An SCTP endpoint on a UDP socket bound inside a network namespace (the kernel here has no SCTP). It answers
/// INITs (server side), opens associations (client side) with the four-way handshake, acknowledges DATA with SACKs
/// and hands complete messages to <see cref="Messages"/>.
/// </summary>
internal sealed class SctpUdpEndpoint : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ConcurrentDictionary<(IPEndPoint, ushort), SctpAssociation> _associations = new();
    private readonly ConcurrentDictionary<ulong, SctpAssociation> _pendingCookies = new();
    private readonly Channel<SctpMessage> _messages = Channel.CreateUnbounded<SctpMessage>();
    private readonly Channel<SctpAssociation> _accepted = Channel.CreateUnbounded<SctpAssociation>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiver;
    private readonly Task _retransmitter;

    private SctpUdpEndpoint(Socket socket, ushort sctpPort)
    {
        _socket = socket;
        SctpPort = sctpPort;
        _receiver = Task.Run(ReceiveLoopAsync);
        _retransmitter = Task.Run(RetransmitLoopAsync);
    }

    public ushort SctpPort { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public ChannelReader<SctpMessage> Messages => _messages.Reader;

    public ChannelReader<SctpAssociation> Accepted => _accepted.Reader;

    /// <summary>Problems met on receive (bad checksum, unknown tag): counted, never fatal.</summary>
    public int Dropped { get; private set; }

    public static SctpUdpEndpoint Open(string netns, IPAddress local, ushort sctpPort, ushort udpPort = SctpCodec.UdpEncapsulationPort)
    {
        var socket = Netns.Run(netns, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(local, udpPort));
            return s;
        });
        return new SctpUdpEndpoint(socket, sctpPort);
    }

    public async Task<SctpAssociation> ConnectAsync(IPAddress peer, ushort peerSctpPort, TimeSpan timeout, ushort udpPort = SctpCodec.UdpEncapsulationPort)
    {
        var tag = RandomNonZero();
        var tsn = RandomNonZero();
        var udpPeer = new IPEndPoint(peer, udpPort);
        var assoc = new SctpAssociation(this, udpPeer, peerSctpPort, tag, tsn);
        _associations[(udpPeer, peerSctpPort)] = assoc;
        var init = SctpCodec.Encode(SctpPort, peerSctpPort, 0, (SctpChunkType.Init, 0, SctpCodec.InitValue(tag, 65535, 2, 2, tsn)));
        using var cts = new CancellationTokenSource(timeout);
        while (!assoc.IsEstablished)
        {
            await SendRawAsync(init, udpPeer);
            try
            {
                await assoc.Established.Task.WaitAsync(TimeSpan.FromSeconds(1), cts.Token);
            }
            catch (TimeoutException)
            {
                // INIT or COOKIE ECHO lost: T1-init, send INIT again.
            }
            catch (OperationCanceledException)
            {
                throw new TestbedException($"SCTP association to {peer}:{peerSctpPort} (UDP {udpPort}) not established within {timeout}");
            }
        }

        return assoc;
    }

    internal async Task SendRawAsync(byte[] packet, IPEndPoint to) => await _socket.SendToAsync(packet, SocketFlags.None, to);

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                break;
            }

            try
            {
                await HandleAsync(buffer.AsSpan(0, r.ReceivedBytes).ToArray(), (IPEndPoint)r.RemoteEndPoint);
            }
            catch (SctpDecodeException)
            {
                Dropped++;
            }
        }

        _messages.Writer.TryComplete();
        _accepted.Writer.TryComplete();
    }

    private async Task HandleAsync(byte[] raw, IPEndPoint from)
    {
        var packet = SctpCodec.Decode(raw);
        _associations.TryGetValue((from, packet.SourcePort), out var assoc);
        var sackNeeded = false;
        foreach (var chunk in packet.Chunks)
        {
            switch (chunk.Type)
            {
                case SctpChunkType.Init:
                    {
                        var init = SctpCodec.ReadInit(chunk.Value.Span);
                        var tag = RandomNonZero();
                        var tsn = RandomNonZero();
                        var pending = new SctpAssociation(this, from, packet.SourcePort, tag, tsn)
                        {
                            PeerTag = init.InitiateTag,
                            PeerCumulativeTsn = init.InitialTsn - 1,
                        };
                        var cookie = new byte[8];
                        var cookieId = (ulong)Random.Shared.NextInt64();
                        BinaryPrimitives.WriteUInt64BigEndian(cookie, cookieId);
                        _pendingCookies[cookieId] = pending;
                        await SendRawAsync(
                            SctpCodec.Encode(SctpPort, packet.SourcePort, init.InitiateTag, (SctpChunkType.InitAck, 0, SctpCodec.InitValue(tag, 65535, 2, 2, tsn, cookie))),
                            from);
                        break;
                    }

                case SctpChunkType.InitAck when assoc is not null && packet.VerificationTag == assoc.LocalTag:
                    {
                        var ack = SctpCodec.ReadInit(chunk.Value.Span);
                        assoc.PeerTag = ack.InitiateTag;
                        assoc.PeerCumulativeTsn = ack.InitialTsn - 1;
                        var cookie = ack.Cookie ?? throw new SctpDecodeException("INIT ACK without a State Cookie");
                        await SendRawAsync(SctpCodec.Encode(SctpPort, packet.SourcePort, assoc.PeerTag, (SctpChunkType.CookieEcho, 0, cookie)), from);
                        break;
                    }

                case SctpChunkType.CookieEcho:
                    {
                        if (chunk.Value.Length != 8 || !_pendingCookies.TryRemove(BinaryPrimitives.ReadUInt64BigEndian(chunk.Value.Span), out var pending))
                        {
                            // A repeated COOKIE ECHO of an association already up: acknowledge again.
                            if (assoc is not null && packet.VerificationTag == assoc.LocalTag)
                            {
                                await SendRawAsync(SctpCodec.Encode(SctpPort, packet.SourcePort, assoc.PeerTag, (SctpChunkType.CookieAck, 0, [])), from);
                            }
                            else
                            {
                                Dropped++;
                            }

                            break;
                        }

                        assoc = pending;
                        _associations[(from, packet.SourcePort)] = assoc;
                        assoc.Established.TrySetResult();
                        await SendRawAsync(SctpCodec.Encode(SctpPort, packet.SourcePort, assoc.PeerTag, (SctpChunkType.CookieAck, 0, [])), from);
                        _accepted.Writer.TryWrite(assoc);
                        break;
                    }

                case SctpChunkType.CookieAck when assoc is not null:
                    assoc.Established.TrySetResult();
                    break;

                case SctpChunkType.Data when assoc is not null && packet.VerificationTag == assoc.LocalTag:
                    {
                        var v = chunk.Value.Span;
                        if (v.Length < 12)
                        {
                            throw new SctpDecodeException($"DATA chunk value of {v.Length} bytes");
                        }

                        var tsn = BinaryPrimitives.ReadUInt32BigEndian(v);
                        sackNeeded = true;
                        if (tsn == assoc.PeerCumulativeTsn + 1)
                        {
                            assoc.PeerCumulativeTsn = tsn;
                            _messages.Writer.TryWrite(new SctpMessage(assoc, BinaryPrimitives.ReadUInt16BigEndian(v[4..]), BinaryPrimitives.ReadUInt32BigEndian(v[8..]), v[12..].ToArray()));
                        }

                        // A duplicate is only re-acknowledged; a gap waits for the sender's retransmission.
                        break;
                    }

                case SctpChunkType.Sack when assoc is not null && chunk.Value.Length >= 4:
                    assoc.Acknowledge(BinaryPrimitives.ReadUInt32BigEndian(chunk.Value.Span));
                    break;

                default:
                    Dropped++;
                    break;
            }
        }

        if (sackNeeded && assoc is not null)
        {
            await SendRawAsync(
                SctpCodec.Encode(SctpPort, assoc.PeerPort, assoc.PeerTag, (SctpChunkType.Sack, 0, SctpCodec.SackValue(assoc.PeerCumulativeTsn, 65535))),
                from);
        }
    }

    private async Task RetransmitLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                foreach (var assoc in _associations.Values)
                {
                    foreach (var packet in assoc.DueForRetransmission(TimeProvider.System.GetUtcNow().UtcDateTime))
                    {
                        await SendRawAsync(packet, assoc.UdpPeer);
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // stopping
        }
    }

    private static uint RandomNonZero() => (uint)Random.Shared.Next(1, int.MaxValue);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await Task.WhenAll(_receiver, _retransmitter).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stop.Dispose();
    }
}
