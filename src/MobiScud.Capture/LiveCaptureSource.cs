using System.Runtime.InteropServices;
using MobiScud.Protocols.Link;

namespace MobiScud.Capture;

/// <summary>How the kernel hands frames to the tap (see docs/capture.md for the measurements behind the default).</summary>
public enum LiveCaptureMode
{
    /// <summary>
    /// libpcap immediate mode (TPACKET_V2 ring): every frame wakes the reader at once. The ring has fixed slots as large
    /// as the snap length (on interfaces with offloads), so 64 MiB holds only 256 frames of 256 KiB: bursts overflow it.
    /// </summary>
    Immediate,

    /// <summary>
    /// TPACKET_V3 block ring (the default): frames are packed at their real length into blocks, handed over when a block
    /// is full or at the latest after <see cref="LiveCaptureOptions.BlockTimeoutMs"/>; 64 MiB holds ~10^5 signalling frames.
    /// </summary>
    Block,

    /// <summary>
    /// Our own TPACKET_V3 ring (<see cref="PacketRing"/>): like Block, but with small blocks
    /// (<see cref="LiveCaptureOptions.RingBlockBytes"/>), so that part-filled blocks handed over at the block timeout
    /// do not use up the ring (libpcap's blocks are 256 KiB each), and frames read in place. Ethernet interfaces only.
    /// </summary>
    Ring,
}

/// <summary>Settings of a live capture.</summary>
public sealed record LiveCaptureOptions
{
    public static LiveCaptureOptions Default { get; } = new();

    /// <summary>BPF filter compiled into the kernel; null: <see cref="CaptureFilter.For"/> the pipeline's ports.</summary>
    public string? Filter { get; init; }

    public LiveCaptureMode Mode { get; init; } = LiveCaptureMode.Block;

    /// <summary>The TPACKET_V3 block timeout (Block mode): the longest a frame waits in a part-filled block.</summary>
    public int BlockTimeoutMs { get; init; } = 1;

    /// <summary>Kernel ring size: what absorbs a burst while the reader is busy.</summary>
    public int BufferBytes { get; init; } = 64 << 20;

    public int SnapLength { get; init; } = 262144;

    public bool Promiscuous { get; init; } = true;

    /// <summary>Ring mode: the size of one block (a power of two; also the largest frame kept whole).</summary>
    public int RingBlockBytes { get; init; } = 64 << 10;

    /// <summary>Join this PACKET_FANOUT group (hash of the flow, both directions alike): one socket per worker, same id.</summary>
    public int? FanoutGroup { get; init; }
}

/// <summary>What the kernel and the interface report about a live capture, cumulative since it was opened.</summary>
public readonly record struct LiveCaptureStatistics(long Received, long KernelDropped, long InterfaceDropped);

/// <summary>
/// Live frames from a network interface through libpcap: a kernel BPF filter keeps everything but signalling in the
/// kernel, timestamps are the kernel's (nanoseconds where it gives them), and each frame is copied into one reused
/// buffer (no allocation per frame). <see cref="Stop"/> or the cancellation token wakes a blocked read at once
/// (pcap_breakloop), so that the caller can print its summary and exit.
/// </summary>
public sealed class LiveCaptureSource : IFrameSource
{
    private const int SolPacket = 263;
    private const int PacketFanout = 18;
    private const int PacketFanoutHash = 0;
    private const int PacketFanoutFlagDefrag = 0x8000;

    // Immediate mode: poll()'s timeout. Only a safety net; pcap_breakloop wakes the read when stopping.
    private const int PollTimeoutMs = 250;

    private readonly string _interface;
    private readonly byte[] _buffer;
    private readonly CancellationTokenRegistration _registration;
    private readonly Lock _gate = new();
    private readonly PacketRing? _ring;
    private IntPtr _handle;
    private long _number;
    private volatile bool _stopped;
    private LiveCaptureStatistics _final;

    public LiveCaptureSource(string interfaceName, LiveCaptureOptions? options = null, PipelineOptions? pipeline = null, CancellationToken cancellation = default)
    {
        options ??= LiveCaptureOptions.Default;
        _interface = interfaceName;
        Filter = options.Filter ?? CaptureFilter.For(pipeline ?? PipelineOptions.Default);
        // The ring reads Ethernet frames only; elsewhere (loopback, tun, "any") libpcap's block ring does the same job.
        Mode = options.Mode == LiveCaptureMode.Ring && !IsEthernet(interfaceName) && Directory.Exists($"/sys/class/net/{interfaceName}")
            ? LiveCaptureMode.Block
            : options.Mode;
        if (options.FanoutGroup is < 0 or > 0xFFFF)
        {
            throw Failure($"fan-out group {options.FanoutGroup} is not 0..65535");
        }

        if (Mode == LiveCaptureMode.Ring)
        {
            // An interface that does not exist falls through to here and is named by the ring's error.
            _buffer = [];
            try
            {
                _ring = new PacketRing(interfaceName, Filter, options.BufferBytes, options.RingBlockBytes, options.BlockTimeoutMs, options.Promiscuous, options.FanoutGroup);
            }
            catch (IOException e)
            {
                throw Failure(e.Message);
            }

            LinkType = LinkType.Ethernet;
            NanosecondTimestamps = true;
            _registration = cancellation.Register(Stop);
            return;
        }

        _buffer = new byte[options.SnapLength];
        var error = new byte[256];
        _handle = LibPcap.Create(interfaceName, error);
        if (_handle == IntPtr.Zero)
        {
            throw Failure($"cannot open: {System.Text.Encoding.ASCII.GetString(error).TrimEnd('\0')}");
        }

        try
        {
            LibPcap.SetSnaplen(_handle, options.SnapLength);
            LibPcap.SetPromisc(_handle, options.Promiscuous ? 1 : 0);
            LibPcap.SetBufferSize(_handle, options.BufferBytes);
            if (options.Mode == LiveCaptureMode.Immediate)
            {
                LibPcap.SetImmediateMode(_handle, 1);
                LibPcap.SetTimeout(_handle, PollTimeoutMs);
            }
            else
            {
                // Without immediate mode libpcap uses TPACKET_V3 and this is the block retire timeout.
                LibPcap.SetTimeout(_handle, Math.Max(1, options.BlockTimeoutMs));
            }

            // Nanosecond kernel timestamps where the kernel gives them; microseconds otherwise (not an error).
            NanosecondTimestamps = LibPcap.SetTimestampPrecision(_handle, LibPcap.TimestampPrecisionNano) == 0;
            var status = LibPcap.Activate(_handle);
            if (status < 0)
            {
                var detail = LibPcap.Error(_handle);
                detail = detail.Length > 0 ? detail : LibPcap.Status(status);
                throw Failure(status switch
                {
                    -5 => $"no such capture interface ({detail})",
                    -8 or -11 => $"not allowed to capture, needs root or CAP_NET_RAW ({detail})",
                    -9 => $"interface is down ({detail})",
                    _ => $"cannot capture: {detail}",
                });
            }

            NanosecondTimestamps = LibPcap.GetTimestampPrecision(_handle) == LibPcap.TimestampPrecisionNano;
            LinkType = (LinkType)(ushort)LibPcap.Datalink(_handle);
            ApplyFilter(Filter);
            if (options.FanoutGroup is { } group)
            {
                if (group is < 0 or > 0xFFFF)
                {
                    throw Failure($"fan-out group {group} is not 0..65535");
                }

                var value = group | ((PacketFanoutHash | PacketFanoutFlagDefrag) << 16);
                if (LibPcap.SetSocketOption(LibPcap.FileNumber(_handle), SolPacket, PacketFanout, ref value, sizeof(int)) != 0)
                {
                    throw Failure($"cannot join fan-out group {group}: {Marshal.GetLastPInvokeErrorMessage()}");
                }
            }
        }
        catch
        {
            LibPcap.Close(_handle);
            _handle = IntPtr.Zero;
            throw;
        }

        _registration = cancellation.Register(Stop);
    }

    public string Interface => _interface;

    public LinkType LinkType { get; }

    public LiveCaptureMode Mode { get; }

    /// <summary>The BPF filter in the kernel.</summary>
    public string Filter { get; }

    /// <summary>Whether frame timestamps have nanosecond resolution (else microseconds).</summary>
    public bool NanosecondTimestamps { get; private set; }

    /// <summary>Frames handed out so far.</summary>
    public long Frames => Interlocked.Read(ref _number);

    /// <summary>Wakes a blocked read and ends the source; safe from any thread (signal handlers, cancellation).</summary>
    public void Stop()
    {
        _stopped = true;
        _ring?.Stop();
        lock (_gate)
        {
            if (_handle != IntPtr.Zero)
            {
                LibPcap.BreakLoop(_handle);
            }
        }
    }

    /// <summary>The kernel's counters: frames that passed the filter, dropped because the ring was full, dropped by the interface.</summary>
    public LiveCaptureStatistics Statistics()
    {
        lock (_gate)
        {
            if (_ring is not null)
            {
                return _ring.Statistics();
            }

            if (_handle == IntPtr.Zero)
            {
                return _final;
            }

            // pcap_stats on Linux accumulates the kernel's PACKET_STATISTICS (which reset on each read) since open.
            return LibPcap.Stats(_handle, out var s) == 0 ? new LiveCaptureStatistics(s.Received, s.Dropped, s.InterfaceDropped) : _final;
        }
    }

    public bool TryReadNext(out CaptureFrame frame)
    {
        if (_ring is not null)
        {
            try
            {
                if (!_stopped && _ring.TryReadNext(_number + 1, out frame))
                {
                    _number++;
                    return true;
                }
            }
            catch (IOException e)
            {
                throw Failure($"capture failed after {Frames} frames: {e.Message}");
            }

            frame = default;
            return false;
        }

        while (!_stopped && _handle != IntPtr.Zero)
        {
            var status = LibPcap.NextEx(_handle, out var header, out var data);
            if (status == 1)
            {
                // struct pcap_pkthdr on LP64: timeval (tv_sec, tv_usec: 8 bytes each; usec holds nanoseconds at nano precision), caplen, len.
                var seconds = Marshal.ReadInt64(header, 0);
                var fraction = Marshal.ReadInt64(header, 8);
                var captured = Math.Min(Marshal.ReadInt32(header, 16), _buffer.Length);
                var original = Marshal.ReadInt32(header, 20);
                Marshal.Copy(data, _buffer, 0, captured);
                var nanos = (seconds * 1_000_000_000L) + (NanosecondTimestamps ? fraction : fraction * 1000L);
                frame = new CaptureFrame(Interlocked.Increment(ref _number), LinkType, nanos, _buffer.AsMemory(0, captured), original, 0);
                return true;
            }

            if (status == 0)
            {
                continue;
            }

            if (status == LibPcap.ErrorBreak)
            {
                break;
            }

            // The interface went away or the socket failed: say so rather than end as if the capture were over.
            throw Failure($"capture failed after {Frames} frames: {LibPcap.Error(_handle)}");
        }

        frame = default;
        return false;
    }

    public void Dispose()
    {
        _registration.Dispose();
        _stopped = true;
        lock (_gate)
        {
            if (_ring is not null)
            {
                _ring.Dispose();
                return;
            }

            if (_handle == IntPtr.Zero)
            {
                return;
            }

            _final = LibPcap.Stats(_handle, out var s) == 0 ? new LiveCaptureStatistics(s.Received, s.Dropped, s.InterfaceDropped) : _final;
            LibPcap.Close(_handle);
            _handle = IntPtr.Zero;
        }
    }

    private void ApplyFilter(string filter)
    {
        if (string.IsNullOrWhiteSpace(filter))
        {
            return;
        }

        // struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; }: 16 bytes on LP64.
        var program = Marshal.AllocHGlobal(16);
        try
        {
            if (LibPcap.Compile(_handle, program, filter, 1, LibPcap.Netmask) != 0)
            {
                throw Failure($"bad capture filter '{filter}': {LibPcap.Error(_handle)}");
            }

            try
            {
                if (LibPcap.SetFilter(_handle, program) != 0)
                {
                    throw Failure($"cannot set capture filter: {LibPcap.Error(_handle)}");
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
        }
    }

    private static bool IsEthernet(string interfaceName)
    {
        var path = $"/sys/class/net/{interfaceName}/type";
        return File.Exists(path) && File.ReadAllText(path).Trim() == "1";
    }

    private CaptureFormatException Failure(string problem) => new(_interface, 0, null, problem);
}

/// <summary>The kernel BPF filter for signalling: everything else stays in the kernel and never costs a copy or a wakeup.</summary>
internal static class CaptureFilter
{
    /// <summary>
    /// S1AP and NGAP (SCTP, any port: PPID and port are checked later), SCTP over UDP (RFC 6951, the configured port),
    /// GTPv2-C and GTP-U, and IP fragments (a fragmented SCTP or UDP datagram carries its ports only in the first piece);
    /// the same again inside one VLAN tag, as mirror ports often deliver.
    /// </summary>
    public static string For(PipelineOptions options)
    {
        var inner = $"sctp or udp port {options.SctpOverUdpPort} or udp port {options.GtpcPort} or udp port {options.GtpuPort} or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)";
        return $"({inner}) or (vlan and ({inner}))";
    }
}
