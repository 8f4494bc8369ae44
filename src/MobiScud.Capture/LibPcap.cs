using System.Reflection;
using System.Runtime.InteropServices;

namespace MobiScud.Capture;

/// <summary>
/// The few libpcap calls the live tap needs, bound directly (not through SharpPcap) so that the read loop allocates
/// nothing per frame and can ask for what SharpPcap does not expose: nanosecond kernel timestamps, immediate mode or
/// the TPACKET_V3 block timeout, the socket for PACKET_FANOUT, and the kernel's drop counters.
/// </summary>
internal static class LibPcap
{
    public const int ErrorBreak = -2;
    public const int TimestampPrecisionMicro = 0;
    public const int TimestampPrecisionNano = 1;
    public const int Netmask = unchecked((int)0xFFFFFFFF);

    private const string Library = "pcap";

    static LibPcap()
    {
        // Debian ships libpcap.so.0.8 / .so.1 without the unversioned name unless the -dev package is installed.
        NativeLibrary.SetDllImportResolver(typeof(LibPcap).Assembly, Resolve);
    }

    [DllImport(Library, EntryPoint = "pcap_create")]
    public static extern IntPtr Create(string device, byte[] errorBuffer);

    /// <summary>A handle for compiling filters only (the ring mode attaches the program to its own socket).</summary>
    [DllImport(Library, EntryPoint = "pcap_open_dead")]
    public static extern IntPtr OpenDead(int linkType, int snaplen);

    [DllImport(Library, EntryPoint = "pcap_set_snaplen")]
    public static extern int SetSnaplen(IntPtr p, int snaplen);

    [DllImport(Library, EntryPoint = "pcap_set_promisc")]
    public static extern int SetPromisc(IntPtr p, int promisc);

    [DllImport(Library, EntryPoint = "pcap_set_timeout")]
    public static extern int SetTimeout(IntPtr p, int milliseconds);

    [DllImport(Library, EntryPoint = "pcap_set_immediate_mode")]
    public static extern int SetImmediateMode(IntPtr p, int immediate);

    [DllImport(Library, EntryPoint = "pcap_set_buffer_size")]
    public static extern int SetBufferSize(IntPtr p, int bytes);

    [DllImport(Library, EntryPoint = "pcap_set_tstamp_precision")]
    public static extern int SetTimestampPrecision(IntPtr p, int precision);

    [DllImport(Library, EntryPoint = "pcap_get_tstamp_precision")]
    public static extern int GetTimestampPrecision(IntPtr p);

    [DllImport(Library, EntryPoint = "pcap_activate")]
    public static extern int Activate(IntPtr p);

    [DllImport(Library, EntryPoint = "pcap_geterr")]
    public static extern IntPtr GetError(IntPtr p);

    [DllImport(Library, EntryPoint = "pcap_statustostr")]
    public static extern IntPtr StatusToString(int status);

    [DllImport(Library, EntryPoint = "pcap_datalink")]
    public static extern int Datalink(IntPtr p);

    [DllImport(Library, EntryPoint = "pcap_fileno")]
    public static extern int FileNumber(IntPtr p);

    [DllImport(Library, EntryPoint = "pcap_compile")]
    public static extern int Compile(IntPtr p, IntPtr program, string filter, int optimize, int netmask);

    [DllImport(Library, EntryPoint = "pcap_setfilter")]
    public static extern int SetFilter(IntPtr p, IntPtr program);

    [DllImport(Library, EntryPoint = "pcap_freecode")]
    public static extern void FreeCode(IntPtr program);

    /// <summary>1: a packet; 0: the read timeout passed; -1: error; -2: <see cref="BreakLoop"/> was called.</summary>
    [DllImport(Library, EntryPoint = "pcap_next_ex")]
    public static extern int NextEx(IntPtr p, out IntPtr header, out IntPtr data);

    [DllImport(Library, EntryPoint = "pcap_stats")]
    public static extern int Stats(IntPtr p, out PcapStat stats);

    /// <summary>Safe from another thread: libpcap 1.10 wakes a blocked read through an eventfd.</summary>
    [DllImport(Library, EntryPoint = "pcap_breakloop")]
    public static extern void BreakLoop(IntPtr p);

    [DllImport(Library, EntryPoint = "pcap_close")]
    public static extern void Close(IntPtr p);

    [DllImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static extern int SetSocketOption(int fd, int level, int name, ref int value, uint length);

    public static string Error(IntPtr p) => Marshal.PtrToStringAnsi(GetError(p)) ?? "unknown libpcap error";

    public static string Status(int status) => Marshal.PtrToStringAnsi(StatusToString(status)) ?? $"status {status}";

    /// <summary>struct pcap_stat (Linux): packets received (past the filter), dropped by the kernel (ring full), dropped by the interface.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PcapStat
    {
        public uint Received;
        public uint Dropped;
        public uint InterfaceDropped;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library)
        {
            return IntPtr.Zero;
        }

        foreach (var candidate in new[] { "libpcap.so.1", "libpcap.so.0.8", "libpcap.so", "libpcap.dylib", "wpcap" })
        {
            if (NativeLibrary.TryLoad(candidate, assembly, path, out var handle))
            {
                return handle;
            }
        }

        throw new DllNotFoundException("libpcap not found (tried libpcap.so.1, libpcap.so.0.8, libpcap.so): install libpcap (Debian: libpcap0.8)");
    }
}
