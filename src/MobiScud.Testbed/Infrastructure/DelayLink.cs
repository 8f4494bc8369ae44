using System.Runtime.InteropServices;

namespace MobiScud.Testbed.Infrastructure;

/// <summary>
/// A backhaul link with a one-way delay, emulated in user space: this kernel has no sch_netem, so frames are taken
/// off one interface with an AF_PACKET socket, held for the delay and put on the other interface, in both
/// directions. Constant delay keeps each direction a FIFO, so order is kept (as on a real fibre).
/// </summary>
internal sealed partial class DelayLink : IDisposable
{
    private readonly Direction _forward;
    private readonly Direction _backward;

    private DelayLink(string name, RawPacketSocket a, RawPacketSocket b, TimeSpan delay)
    {
        Name = name;
        _forward = new Direction($"{name}>", a, b, delay);
        _backward = new Direction($"{name}<", b, a, delay);
    }

    public string Name { get; }

    /// <summary>Joins interface <paramref name="devA"/> of namespace <paramref name="nsA"/> with <paramref name="devB"/> of <paramref name="nsB"/>.</summary>
    public static DelayLink Start(string name, string nsA, string devA, string nsB, string devB, TimeSpan delay)
    {
        var a = Netns.Run(nsA, () => RawPacketSocket.Open(devA));
        var b = Netns.Run(nsB, () => RawPacketSocket.Open(devB));
        return new DelayLink(name, a, b, delay);
    }

    public void Dispose()
    {
        _forward.Dispose();
        _backward.Dispose();
    }

    private sealed class Direction : IDisposable
    {
        private readonly RawPacketSocket _from;
        private readonly RawPacketSocket _to;
        private readonly TimeSpan _delay;
        private readonly Queue<(long Due, byte[] Frame)> _queue = new();
        private readonly Lock _gate = new();
        private readonly SemaphoreSlim _signal = new(0);
        private readonly Thread _reader;
        private readonly Thread _writer;
        private volatile bool _stop;

        public Direction(string name, RawPacketSocket from, RawPacketSocket to, TimeSpan delay)
        {
            _from = from;
            _to = to;
            _delay = delay;
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = name + "rx" };
            _writer = new Thread(WriteLoop) { IsBackground = true, Name = name + "tx", Priority = ThreadPriority.AboveNormal };
            _reader.Start();
            _writer.Start();
        }

        private void ReadLoop()
        {
            var buffer = new byte[65536];
            while (!_stop)
            {
                var n = _from.Receive(buffer);
                if (n <= 0)
                {
                    continue;
                }

                var due = TimeProvider.System.GetTimestamp() + (long)(_delay.TotalSeconds * TimeProvider.System.TimestampFrequency);
                lock (_gate)
                {
                    _queue.Enqueue((due, buffer.AsSpan(0, n).ToArray()));
                }

                _signal.Release();
            }
        }

        private void WriteLoop()
        {
            while (!_stop)
            {
                if (!_signal.Wait(100))
                {
                    continue;
                }

                (long Due, byte[] Frame) item;
                lock (_gate)
                {
                    item = _queue.Dequeue();
                }

                // Sleep most of the wait, spin the last half millisecond: Thread.Sleep alone overshoots by ~1 ms.
                while (true)
                {
                    var left = TimeProvider.System.GetElapsedTime(TimeProvider.System.GetTimestamp(), item.Due);
                    if (left <= TimeSpan.Zero)
                    {
                        break;
                    }

                    if (left > TimeSpan.FromMilliseconds(1.5))
                    {
                        Thread.Sleep(left - TimeSpan.FromMilliseconds(1));
                    }
                    else
                    {
                        Thread.SpinWait(200);
                    }
                }

                _to.Send(item.Frame);
            }
        }

        public void Dispose()
        {
            _stop = true;
            _reader.Join(TimeSpan.FromSeconds(2));
            _writer.Join(TimeSpan.FromSeconds(2));
            _from.Dispose();
        }
    }
}

/// <summary>An AF_PACKET socket bound to one interface, seeing only frames that arrive on it (not its own sends).</summary>
internal sealed partial class RawPacketSocket : IDisposable
{
    private const int AfPacket = 17;
    private const int SockRaw = 3;
    private const ushort EthPAll = 0x0003;
    private const int SolSocket = 1;
    private const int SoRcvTimeo = 20;
    private const int SolPacket = 263;
    private const int PacketIgnoreOutgoing = 23;
    private const int PacketAddMembership = 1;
    private const int PacketMrPromisc = 1;
    private readonly int _fd;
    private int _disposed;

    private RawPacketSocket(int fd)
    {
        _fd = fd;
    }

    public static RawPacketSocket Open(string device)
    {
        var ifindex = IfNameToIndex(device);
        if (ifindex == 0)
        {
            throw new TestbedException($"no interface {device}");
        }

        var proto = (ushort)((EthPAll << 8) | (EthPAll >> 8));
        var fd = Socket(AfPacket, SockRaw, proto);
        if (fd < 0)
        {
            throw new TestbedException($"AF_PACKET socket failed: errno {Marshal.GetLastPInvokeError()}");
        }

        Span<byte> sll = stackalloc byte[20];
        BitConverter.TryWriteBytes(sll, (ushort)AfPacket);
        BitConverter.TryWriteBytes(sll[2..], proto);
        BitConverter.TryWriteBytes(sll[4..], (int)ifindex);
        if (Bind(fd, sll, sll.Length) != 0)
        {
            var err = Marshal.GetLastPInvokeError();
            Close(fd);
            throw new TestbedException($"bind AF_PACKET to {device} failed: errno {err}");
        }

        Span<byte> one = stackalloc byte[4];
        BitConverter.TryWriteBytes(one, 1);
        SetSockOpt(fd, SolPacket, PacketIgnoreOutgoing, one, 4);

        // packet_mreq: ifindex, type PROMISC, alen, address.
        Span<byte> mreq = stackalloc byte[16];
        BitConverter.TryWriteBytes(mreq, (int)ifindex);
        BitConverter.TryWriteBytes(mreq[4..], (ushort)PacketMrPromisc);
        SetSockOpt(fd, SolPacket, PacketAddMembership, mreq, 16);

        // timeval 100 ms, so a reader notices Dispose.
        Span<byte> tv = stackalloc byte[16];
        BitConverter.TryWriteBytes(tv, 0L);
        BitConverter.TryWriteBytes(tv[8..], 100_000L);
        SetSockOpt(fd, SolSocket, SoRcvTimeo, tv, 16);
        return new RawPacketSocket(fd);
    }

    public int Receive(Span<byte> buffer) => Volatile.Read(ref _disposed) != 0 ? -1 : (int)Recv(_fd, buffer, buffer.Length, 0);

    public void Send(ReadOnlySpan<byte> frame)
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            SendFrame(_fd, frame, frame.Length, 0);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Close(_fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int Bind(int fd, ReadOnlySpan<byte> addr, int len);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, ReadOnlySpan<byte> value, int len);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(int fd, Span<byte> buffer, nint len, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint SendFrame(int fd, ReadOnlySpan<byte> buffer, nint len, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint IfNameToIndex(string name);
}
