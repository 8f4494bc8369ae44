using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MobiScud.Protocols;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Sctp;
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
    public Task SendAsync(ReadOnlySpan<byte> payload, ushort stream = 0, uint ppid = SctpWellKnown.S1apPpid)
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
            packet = SctpPacketWriter.Packet(LocalPort, PeerPort, PeerTag, SctpPacketWriter.Data(tsn, stream, ssn, ppid, payload));
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
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiver;
    private readonly Task _retransmitter;
    private readonly ILogger _log;

    private SctpUdpEndpoint(Socket socket, ushort sctpPort, ILogger? log)
    {
        _socket = socket;
        SctpPort = sctpPort;
        _log = log ?? NullLogger.Instance;
        _receiver = Task.Run(ReceiveLoopAsync);
        _retransmitter = Task.Run(RetransmitLoopAsync);
    }

    public ushort SctpPort { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public ChannelReader<SctpMessage> Messages => _messages.Reader;

    /// <summary>Problems met on receive (bad checksum, unknown tag): counted and logged as warnings, never fatal.</summary>
    public int Dropped { get; private set; }

    public static SctpUdpEndpoint Open(string netns, IPAddress local, ushort sctpPort, ushort udpPort = SctpWellKnown.UdpEncapsulationPort, ILogger? log = null)
    {
        var socket = Netns.Run(netns, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(local, udpPort));
            return s;
        });
        return new SctpUdpEndpoint(socket, sctpPort, log);
    }

    public async Task<SctpAssociation> ConnectAsync(IPAddress peer, ushort peerSctpPort, TimeSpan timeout, ushort udpPort = SctpWellKnown.UdpEncapsulationPort)
    {
        var tag = RandomNonZero();
        var tsn = RandomNonZero();
        var udpPeer = new IPEndPoint(peer, udpPort);
        var assoc = new SctpAssociation(this, udpPeer, peerSctpPort, tag, tsn);
        _associations[(udpPeer, peerSctpPort)] = assoc;
        var init = SctpPacketWriter.Packet(SctpPort, peerSctpPort, 0, SctpPacketWriter.Init(tag, 65535, 2, 2, tsn));
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
            catch (DecodeException e)
            {
                Drop(r.RemoteEndPoint, e.Message);
            }
        }

        _messages.Writer.TryComplete();
    }

    private void Drop(EndPoint from, string why)
    {
        Dropped++;
        _log.LogWarning("SCTP over UDP at {Local}: dropped a packet from {From}: {Why}", LocalEndPoint, from, why);
    }

    private async Task HandleAsync(byte[] raw, IPEndPoint from)
    {
        var (header, chunks) = ReadPacket(raw);
        _associations.TryGetValue((from, header.SourcePort), out var assoc);
        var sackNeeded = false;
        foreach (var chunk in chunks)
        {
            switch (chunk.Type)
            {
                case SctpChunkType.Init:
                    {
                        var init = ReadInit(chunk, raw);
                        var tag = RandomNonZero();
                        var tsn = RandomNonZero();
                        var pending = new SctpAssociation(this, from, header.SourcePort, tag, tsn)
                        {
                            PeerTag = init.InitiateTag,
                            PeerCumulativeTsn = init.InitialTsn - 1,
                        };
                        var cookie = new byte[8];
                        var cookieId = (ulong)Random.Shared.NextInt64();
                        BinaryPrimitives.WriteUInt64BigEndian(cookie, cookieId);
                        _pendingCookies[cookieId] = pending;
                        await SendRawAsync(
                            SctpPacketWriter.Packet(SctpPort, header.SourcePort, init.InitiateTag, SctpPacketWriter.InitAck(tag, 65535, 2, 2, tsn, cookie)),
                            from);
                        break;
                    }

                // Once up, an INIT ACK is the answer to a repeated INIT (the first answer was slow): discarded (RFC 9260
                // 5.2.3). Taking its tag made the peer replace the association and drop DATA already sent under the first.
                case SctpChunkType.InitAck when assoc is not null && assoc.IsEstablished:
                    break;

                case SctpChunkType.InitAck when assoc is not null && header.VerificationTag == assoc.LocalTag:
                    {
                        var ack = ReadInit(chunk, raw);
                        var cookie = ReadStateCookie(chunk, raw);
                        assoc.PeerTag = ack.InitiateTag;
                        assoc.PeerCumulativeTsn = ack.InitialTsn - 1;
                        await SendRawAsync(SctpPacketWriter.Packet(SctpPort, header.SourcePort, assoc.PeerTag, SctpPacketWriter.CookieEcho(cookie)), from);
                        break;
                    }

                case SctpChunkType.CookieEcho:
                    {
                        if (chunk.Value.Length != 8 || !_pendingCookies.TryRemove(BinaryPrimitives.ReadUInt64BigEndian(chunk.Value.Span), out var pending))
                        {
                            // A repeated COOKIE ECHO of an association already up: acknowledge again.
                            if (assoc is not null && header.VerificationTag == assoc.LocalTag)
                            {
                                await SendRawAsync(SctpPacketWriter.Packet(SctpPort, header.SourcePort, assoc.PeerTag, SctpPacketWriter.CookieAck()), from);
                            }
                            else
                            {
                                Drop(from, "a COOKIE ECHO with a cookie this endpoint did not give");
                            }

                            break;
                        }

                        assoc = pending;
                        _associations[(from, header.SourcePort)] = assoc;
                        assoc.Established.TrySetResult();
                        await SendRawAsync(SctpPacketWriter.Packet(SctpPort, header.SourcePort, assoc.PeerTag, SctpPacketWriter.CookieAck()), from);
                        break;
                    }

                case SctpChunkType.CookieAck when assoc is not null:
                    assoc.Established.TrySetResult();
                    break;

                case SctpChunkType.Data when assoc is not null && header.VerificationTag == assoc.LocalTag:
                    {
                        var (tsn, stream, ppid, payload) = ReadData(chunk, raw);
                        sackNeeded = true;
                        if (tsn == assoc.PeerCumulativeTsn + 1)
                        {
                            assoc.PeerCumulativeTsn = tsn;
                            _messages.Writer.TryWrite(new SctpMessage(assoc, stream, ppid, payload));
                        }

                        // A duplicate is only re-acknowledged; a gap waits for the sender's retransmission.
                        break;
                    }

                case SctpChunkType.Sack when assoc is not null:
                    assoc.Acknowledge(ReadSack(chunk, raw));
                    break;

                default:
                    Drop(from, $"a {chunk.Type} chunk with no association, a wrong tag, or of a type this endpoint does not take");
                    break;
            }
        }

        if (sackNeeded && assoc is not null)
        {
            await SendRawAsync(
                SctpPacketWriter.Packet(SctpPort, assoc.PeerPort, assoc.PeerTag, SctpPacketWriter.Sack(assoc.PeerCumulativeTsn, 65535)),
                from);
        }
    }

    /// <summary>
    /// Checks the common header and checksum and lists the chunks as slices of <paramref name="raw"/>, so the async
    /// handler can keep them across its sends. Bad input is a <see cref="TransportDecodeException"/> naming the offset.
    /// </summary>
    private static (SctpCommonHeader Header, List<ReceivedChunk> Chunks) ReadPacket(byte[] raw)
    {
        if (!SctpCommonHeader.TryDecode(raw, out var header, out var error))
        {
            throw new TransportDecodeException(error, 0, $"SCTP packet of {raw.Length} bytes is shorter than the 12-byte common header");
        }

        if (!SctpChecksum.IsValid(raw))
        {
            throw new TransportDecodeException(TransportError.BadSctpChecksum, 8, $"SCTP checksum 0x{header.Checksum:x8} does not match the packet's CRC32c");
        }

        var chunks = new List<ReceivedChunk>();
        var reader = new SctpChunkReader(raw);
        while (reader.TryReadNext(out var chunk, out error))
        {
            chunks.Add(new ReceivedChunk(chunk.Type, chunk.Flags, chunk.Offset, raw.AsMemory(chunk.Offset + 4, chunk.Value.Length)));
        }

        if (error != TransportError.None)
        {
            throw new TransportDecodeException(error, chunks.Count == 0 ? SctpCommonHeader.Length : chunks[^1].Offset, $"SCTP chunk after chunk {chunks.Count} of the packet");
        }

        return (header, chunks);
    }

    private static SctpInitChunk ReadInit(ReceivedChunk c, byte[] raw) =>
        SctpInitChunk.TryParse(c.View(raw), out var init, out var error) ? init : throw Bad(error, c);

    private static byte[] ReadStateCookie(ReceivedChunk c, byte[] raw) =>
        SctpInitChunk.TryFindStateCookie(c.View(raw), out var cookie, out var error) ? cookie.ToArray() : throw Bad(error, c, "INIT ACK without a State Cookie");

    private static (uint Tsn, ushort Stream, uint Ppid, byte[] Payload) ReadData(ReceivedChunk c, byte[] raw) =>
        SctpDataChunk.TryParse(c.View(raw), out var data, out var error)
            ? (data.Tsn, data.StreamId, data.PayloadProtocolId, data.UserData.ToArray())
            : throw Bad(error, c);

    private static uint ReadSack(ReceivedChunk c, byte[] raw) =>
        SctpSackChunk.TryParse(c.View(raw), out var sack, out var error) ? sack.CumulativeTsnAck : throw Bad(error, c);

    private static TransportDecodeException Bad(TransportError error, ReceivedChunk c, string? detail = null) =>
        new(error, c.Offset, detail ?? $"{c.Type} chunk of {c.Value.Length} value bytes");

    /// <summary>A received chunk kept as a slice of the packet (a <see cref="SctpChunk"/> cannot live across an await).</summary>
    private readonly record struct ReceivedChunk(SctpChunkType Type, byte Flags, int Offset, ReadOnlyMemory<byte> Value)
    {
        public SctpChunk View(byte[] raw) => new(Type, Flags, raw.AsSpan(Offset + 4, Value.Length), Offset);
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
