using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace MobiScud.Cloud.Net;

/// <summary>One echo request of an <see cref="IcmpProbe"/>: when it went out and, if answered, when and through which source.</summary>
/// <param name="Sequence">ICMP sequence number (the same on every source socket for one tick).</param>
/// <param name="SentAt">Since the probe started.</param>
/// <param name="RepliedAt">First reply's arrival, since the probe started; null if none came.</param>
/// <param name="Source">Index of the source socket whose reply came first (-1: none).</param>
/// <param name="Replies">Arrival of the reply at each source socket (null: that source got none).</param>
public sealed record EchoSample(int Sequence, TimeSpan SentAt, TimeSpan? RepliedAt, int Source, IReadOnlyList<TimeSpan?> Replies)
{
    public TimeSpan? Rtt => RepliedAt - SentAt;

    /// <summary>True if source <paramref name="index"/> got a reply to this tick.</summary>
    public bool AnsweredAt(int index) => Replies[index] is not null;
}

/// <summary>
/// Pings one IPv4 target at a fixed interval from one or more raw ICMP sockets at once (e.g. a client at the
/// source site and one at the destination site of a migrating PVM): a tick counts as answered if any source got its
/// reply, so losses are the ticks nobody answered. Raw sockets need root; no `ping` binary is involved.
/// </summary>
public sealed class IcmpProbe : IAsyncDisposable
{
    private const int HeaderBytes = 8;
    private const int PayloadBytes = 24;
    private static int _nextIdentifier = Environment.ProcessId;

    private readonly IPAddress _target;
    private readonly IReadOnlyList<Socket> _sources;
    private readonly TimeSpan _interval;
    private readonly ushort _identifier;
    private long _startedAt;
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan Sent, TimeSpan?[] Replies)> _samples = [];
    private readonly CancellationTokenSource _stopSending = new();
    private readonly CancellationTokenSource _stopReceiving = new();
    private readonly List<Task> _receivers = [];
    private Task _sender = Task.CompletedTask;

    /// <param name="sources">Raw ICMP sockets (<see cref="OpenSource"/>); disposed with the probe.</param>
    public IcmpProbe(IPAddress target, IReadOnlyList<Socket> sources, TimeSpan interval)
    {
        if (target.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"probe target {target} is not IPv4", nameof(target));
        }

        if (sources.Count == 0)
        {
            throw new ArgumentException("a probe needs at least one source socket", nameof(sources));
        }

        _target = target;
        _sources = sources;
        _interval = interval;
        _identifier = (ushort)Interlocked.Increment(ref _nextIdentifier);
    }

    /// <summary>A raw ICMP socket in namespace <paramref name="ns"/>, sending from <paramref name="from"/> if given.</summary>
    public static Socket OpenSource(string? ns, IPAddress? from = null)
    {
        var s = NetNamespace.OpenSocket(ns, AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
        if (from is not null)
        {
            s.Bind(new IPEndPoint(from, 0));
        }

        return s;
    }

    /// <summary>Ping once from <paramref name="source"/> until a reply comes or <paramref name="timeout"/> passes (resending every 200 ms).</summary>
    public static async Task<TimeSpan?> PingOnceAsync(Socket source, IPAddress target, TimeSpan timeout)
    {
        await using var probe = new IcmpProbe(target, [source], TimeSpan.FromMilliseconds(200)) { OwnsSources = false };
        probe.Start();
        var started = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(started) < timeout)
        {
            if (probe.Samples().FirstOrDefault(s => s.RepliedAt is not null) is { } hit)
            {
                return hit.Rtt;
            }

            await Task.Delay(20);
        }

        return null;
    }

    /// <summary>Dispose the source sockets with the probe (default true).</summary>
    public bool OwnsSources { get; init; } = true;

    /// <summary>Time since <see cref="Start"/> (the clock of every sample).</summary>
    public TimeSpan Elapsed => _startedAt == 0 ? TimeSpan.Zero : TimeProvider.System.GetElapsedTime(_startedAt);

    public void Start()
    {
        _startedAt = TimeProvider.System.GetTimestamp();
        for (var i = 0; i < _sources.Count; i++)
        {
            var index = i;
            _receivers.Add(Task.Run(() => ReceiveAsync(index)));
        }

        _sender = Task.Run(SendAsync);
    }

    /// <summary>Stops sending, then waits <paramref name="grace"/> for replies still in flight.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        await _stopSending.CancelAsync();
        await _sender.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.Delay(grace);
        await _stopReceiving.CancelAsync();
        await Task.WhenAll(_receivers).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Every tick so far, in order.</summary>
    public IReadOnlyList<EchoSample> Samples()
    {
        lock (_gate)
        {
            return [.. _samples.Select((s, i) =>
            {
                var first = -1;
                for (var k = 0; k < s.Replies.Length; k++)
                {
                    if (s.Replies[k] is { } r && (first < 0 || r < s.Replies[first]!.Value))
                    {
                        first = k;
                    }
                }

                return new EchoSample(i, s.Sent, first < 0 ? null : s.Replies[first], first, [.. s.Replies]);
            })];
        }
    }

    private async Task SendAsync()
    {
        var packet = new byte[HeaderBytes + PayloadBytes];
        var to = new IPEndPoint(_target, 0);
        var next = Elapsed;
        try
        {
            for (var seq = 0; !_stopSending.IsCancellationRequested; seq++)
            {
                BuildRequest(packet, _identifier, (ushort)seq);
                lock (_gate)
                {
                    _samples.Add((Elapsed, new TimeSpan?[_sources.Count]));
                }

                foreach (var s in _sources)
                {
                    try
                    {
                        await s.SendToAsync(packet, SocketFlags.None, to, _stopSending.Token);
                    }
                    catch (SocketException)
                    {
                        // unreachable for now (no neighbour, link down): the tick simply goes unanswered from here
                    }
                }

                next += _interval;
                var wait = next - Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _stopSending.Token);
                }
                else
                {
                    next = Elapsed; // fell behind (busy machine): do not burst to catch up
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReceiveAsync(int index)
    {
        var buffer = new byte[2048];
        var socket = _sources[index];
        try
        {
            while (!_stopReceiving.IsCancellationRequested)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stopReceiving.Token);
                var at = Elapsed;
                if (!TryParseReply(buffer.AsSpan(0, n), _target, _identifier, out var seq))
                {
                    continue;
                }

                lock (_gate)
                {
                    // Sequence numbers wrap at 65536 ticks (11 minutes at 10 ms): match the latest tick with that number.
                    for (var i = _samples.Count - 1; i >= 0; i--)
                    {
                        if ((ushort)i == seq)
                        {
                            _samples[i].Replies[index] ??= at;

                            break;
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    /// <summary>ICMP echo request (type 8) with the RFC 1071 checksum.</summary>
    public static void BuildRequest(Span<byte> packet, ushort identifier, ushort sequence)
    {
        packet.Clear();
        packet[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(packet[6..], sequence);
        for (var i = HeaderBytes; i < packet.Length; i++)
        {
            packet[i] = (byte)i;
        }

        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], MobiScud.Protocols.Link.PacketBuilder.InternetChecksum(packet));
    }

    /// <summary>
    /// True for an echo reply (type 0) from <paramref name="from"/> carrying <paramref name="identifier"/>. A raw IPv4
    /// socket hands over the IP header too; every length is checked before use.
    /// </summary>
    public static bool TryParseReply(ReadOnlySpan<byte> datagram, IPAddress from, ushort identifier, out ushort sequence)
    {
        sequence = 0;
        if (datagram.Length < 20 || datagram[0] >> 4 != 4)
        {
            return false;
        }

        var ihl = (datagram[0] & 0x0f) * 4;
        if (ihl < 20 || datagram.Length < ihl + HeaderBytes || datagram[9] != 1)
        {
            return false;
        }

        if (!datagram.Slice(12, 4).SequenceEqual(from.GetAddressBytes()))
        {
            return false;
        }

        var icmp = datagram[ihl..];
        if (icmp[0] != 0 || icmp[1] != 0 || BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]) != identifier)
        {
            return false;
        }

        sequence = BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopSending.IsCancellationRequested)
        {
            await StopAsync(TimeSpan.Zero);
        }

        if (OwnsSources)
        {
            foreach (var s in _sources)
            {
                s.Dispose();
            }
        }

        _stopSending.Dispose();
        _stopReceiving.Dispose();
    }
}
