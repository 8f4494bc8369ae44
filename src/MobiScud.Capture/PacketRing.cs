using System.Buffers;
using System.Runtime.InteropServices;
using MobiScud.Protocols.Link;

namespace MobiScud.Capture;

/// <summary>
/// Our own AF_PACKET TPACKET_V3 receive ring (<see cref="LiveCaptureMode.Ring"/>), for what libpcap's cannot do: libpcap
/// makes every TPACKET_V3 block 256 KiB (its maximum snap length), and the kernel hands a block over part-filled
/// when the block timeout passes, so with a 1 ms timeout a 64 MiB ring of 256 blocks holds only ~256 ms of traffic
/// whatever the rate. Here blocks are small (64 KiB by default: 1,024 blocks, ~1 s at the same timeout), frames are
/// read in place from the mapped ring (no copy, no call per frame), the kernel BPF filter is compiled by libpcap and
/// attached before the socket is bound (nothing unfiltered gets in), timestamps are the kernel's in nanoseconds,
/// and a stop wakes the poll through an eventfd. Ethernet interfaces only (others: the libpcap modes).
/// </summary>
internal sealed unsafe class PacketRing : IDisposable
{
    private const int AfPacket = 17;
    private const int SockRaw = 3;
    private const ushort EthPAll = 0x0003;
    private const int SolSocket = 1;
    private const int SoAttachFilter = 26;
    private const int SolPacket = 263;
    private const int PacketAddMembership = 1;
    private const int PacketRxRing = 5;
    private const int PacketStatistics = 6;
    private const int PacketVersion = 10;
    private const int PacketFanout = 18;
    private const int TpacketV3 = 2;
    private const int PacketMrPromisc = 1;
    private const uint TpStatusUser = 1;
    private const uint TpStatusVlanValid = 0x10;
    private const short PollIn = 1;
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MapShared = 1;

    private readonly string _interface;
    private readonly int _socket;
    private readonly int _wake;
    private readonly byte* _ring;
    private readonly long _ringBytes;
    private readonly int _blockBytes;
    private readonly int _blocks;
    private readonly long _interfaceDropsAtOpen;
    private readonly RingMemory _memory = null!;
    private readonly byte[] _vlanFrame;
    private readonly int[] _pollFds = new int[4];
    private int _block;
    private int _left;
    private byte* _next;
    private bool _holding;
    private long _received;
    private long _dropped;
    private volatile bool _stopped;
    private bool _disposed;

    public PacketRing(string interfaceName, string filter, int bufferBytes, int blockBytes, int blockTimeoutMs, bool promiscuous, int? fanout)
    {
        _interface = interfaceName;
        var type = File.Exists($"/sys/class/net/{interfaceName}/type") ? File.ReadAllText($"/sys/class/net/{interfaceName}/type").Trim() : null;
        var index = IfNameToIndex(interfaceName);
        if (index == 0 || type is null)
        {
            throw new IOException("no such capture interface");
        }

        if (type != "1")
        {
            throw new IOException($"ring mode captures Ethernet interfaces only (ARPHRD {type}): use --capture-mode Block");
        }

        _blockBytes = Math.Max(Environment.SystemPageSize, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(4096, blockBytes)));
        _blocks = Math.Max(2, bufferBytes / _blockBytes);
        _ringBytes = (long)_blockBytes * _blocks;
        _vlanFrame = new byte[_blockBytes + 4];

        // Protocol 0: the socket receives nothing until bind, so the filter and the ring are in place first.
        _socket = Socket(AfPacket, SockRaw, 0);
        if (_socket < 0)
        {
            throw new IOException($"cannot open an AF_PACKET socket, needs root or CAP_NET_RAW ({Marshal.GetLastPInvokeErrorMessage()})");
        }

        _wake = EventFd(0, 0x80000 /* EFD_CLOEXEC */);
        try
        {
            if (_wake < 0)
            {
                throw new IOException($"cannot make an eventfd: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            Set(SolPacket, PacketVersion, TpacketV3, "TPACKET_V3");
            AttachFilter(filter);

            // struct tpacket_req3 { block_size, block_nr, frame_size, frame_nr, retire_blk_tov, sizeof_priv, feature_req_word }
            var request = stackalloc uint[7];
            request[0] = (uint)_blockBytes;
            request[1] = (uint)_blocks;
            request[2] = (uint)_blockBytes;
            request[3] = (uint)_blocks;
            request[4] = (uint)Math.Max(1, blockTimeoutMs);
            request[5] = 0;
            request[6] = 0;
            if (SetSocketOption(_socket, SolPacket, PacketRxRing, request, 28) != 0)
            {
                throw new IOException($"cannot set up a {_ringBytes >> 20} MiB ring of {_blocks} blocks of {_blockBytes} bytes: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            _ring = (byte*)Mmap(IntPtr.Zero, (nuint)_ringBytes, ProtRead | ProtWrite, MapShared, _socket, 0);
            if (_ring == (byte*)-1)
            {
                throw new IOException($"cannot map the ring: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            _memory = new RingMemory(_ring, (int)Math.Min(_ringBytes, int.MaxValue));
            var address = stackalloc byte[20];
            new Span<byte>(address, 20).Clear();
            *(ushort*)address = AfPacket;
            *(ushort*)(address + 2) = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(EthPAll);
            *(int*)(address + 4) = (int)index;
            if (Bind(_socket, address, 20) != 0)
            {
                throw new IOException($"cannot bind to the interface: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            if (promiscuous)
            {
                // struct packet_mreq { int ifindex; u16 type; u16 alen; u8 address[8]; }
                var mreq = stackalloc byte[16];
                new Span<byte>(mreq, 16).Clear();
                *(int*)mreq = (int)index;
                *(ushort*)(mreq + 4) = PacketMrPromisc;
                if (SetSocketOption(_socket, SolPacket, PacketAddMembership, mreq, 16) != 0)
                {
                    throw new IOException($"cannot set promiscuous mode: {Marshal.GetLastPInvokeErrorMessage()}");
                }
            }

            if (fanout is { } group)
            {
                // PACKET_FANOUT_HASH with PACKET_FANOUT_FLAG_DEFRAG, as the libpcap modes do.
                Set(SolPacket, PacketFanout, group | (0x8000 << 16), $"fan-out group {group}");
            }

            _interfaceDropsAtOpen = InterfaceDrops();
        }
        catch
        {
            Release();
            throw;
        }
    }

    public int Blocks => _blocks;

    public int BlockBytes => _blockBytes;

    public void Stop()
    {
        _stopped = true;
        long one = 1;
        _ = Write(_wake, &one, 8);
    }

    public bool TryReadNext(long number, out CaptureFrame frame)
    {
        while (!_stopped)
        {
            if (_left > 0)
            {
                var header = _next;
                _next += *(uint*)header;
                _left--;
                var seconds = *(uint*)(header + 4);
                var nanos = *(uint*)(header + 8);
                var captured = (int)*(uint*)(header + 12);
                var length = (int)*(uint*)(header + 16);
                var status = *(uint*)(header + 20);
                var mac = *(ushort*)(header + 24);
                var at = (int)(header + mac - _ring);
                var timestamp = (seconds * 1_000_000_000L) + nanos;
                ReadOnlyMemory<byte> data = _memory.Memory.Slice(at, captured);
                if ((status & TpStatusVlanValid) != 0 && captured >= 12)
                {
                    // The kernel took the VLAN tag out (offload): put it back, as libpcap does, so the frame is as sent.
                    var tci = (ushort)*(uint*)(header + 32);
                    var tpid = *(ushort*)(header + 36);
                    var source = new ReadOnlySpan<byte>(header + mac, captured);
                    source[..12].CopyTo(_vlanFrame);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_vlanFrame.AsSpan(12), tpid == 0 ? (ushort)0x8100 : tpid);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_vlanFrame.AsSpan(14), tci);
                    source[12..].CopyTo(_vlanFrame.AsSpan(16));
                    data = _vlanFrame.AsMemory(0, captured + 4);
                    length += 4;
                }

                frame = new CaptureFrame(number, LinkType.Ethernet, timestamp, data, length, 0);
                return true;
            }

            if (_holding)
            {
                // Every frame of the block was handed out and the caller has moved on: give the block back.
                Volatile.Write(ref *(uint*)(BlockAt(_block) + 8), 0u);
                _holding = false;
                _block = (_block + 1) % _blocks;
            }

            var block = BlockAt(_block);
            if ((Volatile.Read(ref *(uint*)(block + 8)) & TpStatusUser) != 0)
            {
                _left = (int)*(uint*)(block + 12);
                _next = block + *(uint*)(block + 16);
                _holding = true;
                continue;
            }

            // struct pollfd { int fd; short events; short revents; } x 2: the socket and the stop eventfd.
            _pollFds[0] = _socket;
            _pollFds[1] = PollIn;
            _pollFds[2] = _wake;
            _pollFds[3] = PollIn;
            fixed (int* fds = _pollFds)
            {
                if (Poll(fds, 2, 1000) < 0 && Marshal.GetLastPInvokeError() != 4)
                {
                    throw new IOException($"poll failed: {Marshal.GetLastPInvokeErrorMessage()}");
                }

                if ((((short*)fds)[3] & ~PollIn) != 0)
                {
                    // POLLERR/POLLHUP/POLLNVAL on the socket: the interface went away.
                    throw new IOException("the capture socket failed (interface gone?)");
                }
            }
        }

        frame = default;
        return false;
    }

    /// <summary>Frames past the filter (dropped ones included) and dropped because the ring was full, since open; the interface's own drops since open.</summary>
    public LiveCaptureStatistics Statistics()
    {
        if (!_disposed)
        {
            // struct tpacket_stats_v3 { packets, drops, freeze_q_cnt }; reading resets them, so they are summed here.
            var stats = stackalloc uint[3];
            var length = 12;
            if (GetSocketOption(_socket, SolPacket, PacketStatistics, stats, ref length) == 0)
            {
                _received += stats[0];
                _dropped += stats[1];
            }
        }

        return new LiveCaptureStatistics(_received, _dropped, Math.Max(0, InterfaceDrops() - _interfaceDropsAtOpen));
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _ = Statistics();
        _disposed = true;
        Release();
    }

    private byte* BlockAt(int index) => _ring + ((long)index * _blockBytes);

    private long InterfaceDrops()
    {
        var path = $"/sys/class/net/{_interface}/statistics/rx_dropped";
        return File.Exists(path) && long.TryParse(File.ReadAllText(path).Trim(), out var drops) ? drops : 0;
    }

    private void Release()
    {
        if (_ring != null && _ring != (byte*)-1)
        {
            _ = Munmap((IntPtr)_ring, (nuint)_ringBytes);
        }

        if (_wake >= 0)
        {
            _ = Close(_wake);
        }

        if (_socket >= 0)
        {
            _ = Close(_socket);
        }
    }

    private void Set(int level, int name, int value, string what)
    {
        if (SetSocketOption(_socket, level, name, &value, sizeof(int)) != 0)
        {
            throw new IOException($"cannot set {what}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    /// <summary>libpcap compiles the filter for Ethernet; the kernel runs it on the socket (struct sock_fprog { u16 len; sock_filter* }).</summary>
    private void AttachFilter(string filter)
    {
        if (string.IsNullOrWhiteSpace(filter))
        {
            return;
        }

        var dead = LibPcap.OpenDead(1, 65535);
        var program = Marshal.AllocHGlobal(16);
        try
        {
            if (LibPcap.Compile(dead, program, filter, 1, LibPcap.Netmask) != 0)
            {
                throw new IOException($"bad capture filter '{filter}': {LibPcap.Error(dead)}");
            }

            try
            {
                var fprog = stackalloc byte[16];
                *(ushort*)fprog = (ushort)Marshal.ReadInt32(program);
                *(IntPtr*)(fprog + 8) = Marshal.ReadIntPtr(program, 8);
                if (SetSocketOption(_socket, SolSocket, SoAttachFilter, fprog, 16) != 0)
                {
                    throw new IOException($"cannot attach the capture filter: {Marshal.GetLastPInvokeErrorMessage()}");
                }
            }
            finally
            {
                LibPcap.FreeCode(program);
            }
        }
        finally
        {
            Marshal.FreeHGlobal(program);
            LibPcap.Close(dead);
        }
    }

    [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static extern int Socket(int domain, int type, int protocol);

    [DllImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static extern int Bind(int fd, byte* address, int length);

    [DllImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static extern int SetSocketOption(int fd, int level, int name, void* value, uint length);

    [DllImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static extern int GetSocketOption(int fd, int level, int name, void* value, ref int length);

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern IntPtr Mmap(IntPtr address, nuint length, int protection, int flags, int fd, long offset);

    [DllImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static extern int Munmap(IntPtr address, nuint length);

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll(int* fds, uint count, int timeoutMs);

    [DllImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static extern int EventFd(uint initial, int flags);

    [DllImport("libc", EntryPoint = "write", SetLastError = true)]
    private static extern nint Write(int fd, void* buffer, nuint count);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "if_nametoindex", SetLastError = true)]
    private static extern uint IfNameToIndex(string name);

    /// <summary>The mapped ring as one <see cref="Memory{T}"/>, so frames are slices of it (no copy, no allocation).</summary>
    private sealed class RingMemory(byte* ring, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(ring, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(ring + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
