using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using MobiScud.Capture;
using MobiScud.Protocols.Link;

namespace MobiScud.Bench.Support;

/// <summary>What a <see cref="FrameBlaster"/> run did.</summary>
/// <param name="S1apMessages">S1AP messages in the frames the kernel took (<see cref="SctpBundler.S1apMessages"/>), the count a tap must see.</param>
public readonly record struct BlastResult(long Sent, long Loops, TimeSpan Elapsed, long SendErrors, string? LastError, long S1apMessages = 0)
{
    public double Rate => Elapsed.TotalSeconds > 0 ? Sent / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// A traffic source for rate measurements of the tap, faster than tcpreplay: a capture's frames, held in native memory
/// as Ethernet frames with their <c>sendmmsg</c> headers prepared once, written to an interface through an AF_PACKET
/// socket with PACKET_QDISC_BYPASS (no qdisc, no per-frame system call), paced to a target rate in batches. Each loop
/// over the capture moves every SCTP TSN on by the capture's TSN span, so that a repeated association looks like new
/// data rather than retransmissions. Frames longer than the interface's MTU are left out (counted), as the kernel
/// would refuse them.
/// </summary>
public sealed unsafe class FrameBlaster : IDisposable
{
    private const int AfPacket = 17;
    private const int SockRaw = 3;
    private const ushort EthPAll = 0x0003;
    private const int SolPacket = 263;
    private const int PacketQdiscBypass = 20;
    private const int MmsgSize = 64;
    private const int IovSize = 16;
    private const int Batch = 64;
    private static readonly byte[] _destination = [0x02, 0, 0, 0, 0, 0x02];
    private static readonly byte[] _sourceMac = [0x02, 0, 0, 0, 0, 0x01];

    private readonly string _interface;
    private readonly byte* _frames;
    private readonly byte* _iovecs;
    private readonly byte* _headers;
    private readonly int[] _tsnAt;
    private readonly uint[] _tsnBase;
    private readonly uint _tsnStride;
    private readonly int[] _s1apIn;
    private int _socket = -1;
    private bool _disposed;

    public FrameBlaster(string interfaceName, IReadOnlyList<string> captures)
    {
        _interface = interfaceName;
        var mtu = ReadMtu(interfaceName);
        var frames = new List<byte[]>();
        var tsnAt = new List<int>();
        var s1ap = new List<int>();
        var offset = 0L;
        Span<int> found = stackalloc int[64];
        foreach (var path in captures)
        {
            using var source = CaptureFile.Open(path);
            while (source.TryReadNext(out var frame))
            {
                var ethernet = ToEthernet(frame);
                if (ethernet is null)
                {
                    NotIp++;
                    continue;
                }

                if (ethernet.Length > mtu + 14 + 4)
                {
                    OverMtu++;
                    continue;
                }

                var ipAt = LinkDecoder.TryDecode(LinkType.Ethernet, ethernet, out _, out var at, out _) ? at : -1;
                s1ap.Add(ipAt >= 0 ? SctpBundler.S1apMessages(ethernet.AsSpan(ipAt)) : 0);
                if (ipAt >= 0)
                {
                    var n = BenchCaptureGenerator.TsnOffsets(ethernet.AsSpan(ipAt), found);
                    foreach (var tsn in found[..n])
                    {
                        tsnAt.Add((int)offset + ipAt + tsn);
                    }
                }

                frames.Add(ethernet);
                offset += ethernet.Length;
                if (offset > int.MaxValue)
                {
                    throw new InvalidOperationException($"captures too large to hold for sending ({offset} bytes): use fewer repetitions");
                }
            }
        }

        if (frames.Count == 0)
        {
            throw new InvalidOperationException($"no frames to send in {string.Join(", ", captures)} ({NotIp} not IP, {OverMtu} over the MTU of {mtu})");
        }

        Frames = frames.Count;
        Bytes = offset;
        _s1apIn = [.. s1ap];
        S1apPerLoop = s1ap.Sum();
        _frames = (byte*)NativeMemory.Alloc((nuint)offset);
        _iovecs = (byte*)NativeMemory.AllocZeroed((nuint)(frames.Count * IovSize));
        _headers = (byte*)NativeMemory.AllocZeroed((nuint)(frames.Count * MmsgSize));
        var position = 0L;
        for (var i = 0; i < frames.Count; i++)
        {
            frames[i].CopyTo(new Span<byte>(_frames + position, frames[i].Length));
            var iov = _iovecs + (i * IovSize);
            *(byte**)iov = _frames + position;
            *(long*)(iov + 8) = frames[i].Length;

            // struct mmsghdr { struct msghdr { name, namelen, iov, iovlen, control, controllen, flags }, msg_len }:
            // the socket is bound, so no name; one iovec per message.
            var header = _headers + (i * MmsgSize);
            *(byte**)(header + 16) = iov;
            *(long*)(header + 24) = 1;
            position += frames[i].Length;
        }

        _tsnAt = [.. tsnAt];
        _tsnBase = new uint[_tsnAt.Length];
        uint min = uint.MaxValue, max = 0;
        for (var i = 0; i < _tsnAt.Length; i++)
        {
            _tsnBase[i] = BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(_frames + _tsnAt[i], 4));
            min = Math.Min(min, _tsnBase[i]);
            max = Math.Max(max, _tsnBase[i]);
        }

        // A loop's shift clears every TSN the capture holds; it stays below 2^31 so that serial-number arithmetic
        // (RFC 1982) still reads each loop as newer than the one before, also across the wrap.
        _tsnStride = _tsnAt.Length == 0 ? 0 : (uint)Math.Min((long)max - min + 1_000, int.MaxValue);
        Open();
    }

    /// <summary>Frames held for sending (one loop).</summary>
    public int Frames { get; }

    public long Bytes { get; }

    /// <summary>Frames left out: not IP (unknown link type), or longer than the interface's MTU.</summary>
    public int NotIp { get; }

    public int OverMtu { get; }

    public int TsnFields => _tsnAt.Length;

    /// <summary>S1AP messages in one loop's frames (DATA chunks that end an S1AP message).</summary>
    public long S1apPerLoop { get; }

    /// <summary>
    /// Sends until <paramref name="duration"/> has passed or <paramref name="maxFrames"/> were sent, at
    /// <paramref name="rate"/> frames per second (0: as fast as the socket takes them). Frames the kernel refuses
    /// (no buffer space) are counted as errors and not sent again, like a mirror port that drops.
    /// </summary>
    public BlastResult Run(double rate, TimeSpan duration, long maxFrames = long.MaxValue, CancellationToken cancellation = default)
    {
        var frequency = (double)Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(duration.TotalSeconds * frequency);
        long sent = 0, loops = 0, errors = 0, offered = 0, s1ap = 0;
        string? lastError = null;
        var index = 0;
        while (offered < maxFrames && !cancellation.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= end)
            {
                break;
            }

            long due = Batch;
            if (rate > 0)
            {
                due = (long)((now - start) / frequency * rate) - offered;
                if (due <= 0)
                {
                    // Ahead of the schedule: let the time pass without burning the core the tap needs.
                    var wait = (-due + 1) / rate;
                    if (wait > 0.002)
                    {
                        Thread.Sleep(1);
                    }
                    else
                    {
                        Thread.Yield();
                    }

                    continue;
                }
            }

            var n = (int)Math.Min(Math.Min(due, Batch), Math.Min(Frames - index, maxFrames - offered));
            var result = SendMmsg(_socket, _headers + (index * MmsgSize), (uint)n, 0);
            if (result < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                lastError = Marshal.GetLastPInvokeErrorMessage();
                if (errno is not (105 or 11))
                {
                    // Not ENOBUFS/EAGAIN: the interface went away or refuses frames; say so.
                    throw new IOException($"{_interface}: sending failed after {sent} frames: {lastError} (errno {errno})");
                }

                // The frame at the head was refused: count it and move past it.
                result = 1;
                errors++;
            }
            else
            {
                sent += result;
                for (var i = index; i < index + result; i++)
                {
                    s1ap += _s1apIn[i];
                }
            }

            offered += result;
            index += result;
            if (index == Frames)
            {
                index = 0;
                loops++;
                ShiftTsns((uint)loops * _tsnStride);
            }
        }

        return new BlastResult(sent, loops, Stopwatch.GetElapsedTime(start), errors, lastError, s1ap);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_socket >= 0)
        {
            _ = Close(_socket);
            _socket = -1;
        }

        NativeMemory.Free(_frames);
        NativeMemory.Free(_iovecs);
        NativeMemory.Free(_headers);
    }

    private void ShiftTsns(uint shift)
    {
        for (var i = 0; i < _tsnAt.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(_frames + _tsnAt[i], 4), unchecked(_tsnBase[i] + shift));
        }
    }

    private void Open()
    {
        var index = IfNameToIndex(_interface);
        if (index == 0)
        {
            Dispose();
            throw new IOException($"{_interface}: no such interface");
        }

        _socket = Socket(AfPacket, SockRaw, BinaryPrimitives.ReverseEndianness(EthPAll));
        if (_socket < 0)
        {
            var message = Marshal.GetLastPInvokeErrorMessage();
            Dispose();
            throw new IOException($"{_interface}: cannot open an AF_PACKET socket (needs root or CAP_NET_RAW): {message}");
        }

        var one = 1;

        // Straight to the driver: no qdisc to queue in or drop from; the sender's rate is what the interface sees.
        _ = SetSocketOption(_socket, SolPacket, PacketQdiscBypass, ref one, sizeof(int));

        // struct sockaddr_ll { family, protocol, ifindex, hatype, pkttype, halen, addr[8] }: 20 bytes.
        var address = stackalloc byte[20];
        new Span<byte>(address, 20).Clear();
        *(ushort*)address = AfPacket;
        *(ushort*)(address + 2) = BinaryPrimitives.ReverseEndianness(EthPAll);
        *(int*)(address + 4) = (int)index;
        if (Bind(_socket, address, 20) != 0)
        {
            var message = Marshal.GetLastPInvokeErrorMessage();
            Dispose();
            throw new IOException($"{_interface}: cannot bind the AF_PACKET socket: {message}");
        }
    }

    private static int ReadMtu(string interfaceName)
    {
        var path = $"/sys/class/net/{interfaceName}/mtu";
        return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out var mtu) ? mtu : 1500;
    }

    /// <summary>The frame as Ethernet: kept if it is; otherwise its IP packet behind a made-up locally administered header.</summary>
    private static byte[]? ToEthernet(CaptureFrame frame)
    {
        var data = frame.Data.Span;
        if (frame.LinkType == LinkType.Ethernet)
        {
            return data.ToArray();
        }

        if (!LinkDecoder.TryDecode(frame.LinkType, data, out var protocol, out var offset, out _))
        {
            return null;
        }

        var ip = data[offset..];
        var ethernet = new byte[14 + ip.Length];
        _destination.CopyTo(ethernet, 0);
        _sourceMac.CopyTo(ethernet, 6);
        BinaryPrimitives.WriteUInt16BigEndian(ethernet.AsSpan(12), protocol == NetworkProtocol.Ipv6 ? (ushort)0x86DD : (ushort)0x0800);
        ip.CopyTo(ethernet.AsSpan(14));
        return ethernet;
    }

    [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static extern int Socket(int domain, int type, int protocol);

    [DllImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static extern int Bind(int fd, byte* address, int length);

    [DllImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static extern int SetSocketOption(int fd, int level, int name, ref int value, uint length);

    [DllImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static extern int SendMmsg(int fd, byte* messages, uint count, int flags);

    [DllImport("libc", EntryPoint = "if_nametoindex", SetLastError = true)]
    private static extern uint IfNameToIndex(string name);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
