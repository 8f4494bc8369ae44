using System.Runtime.InteropServices;

namespace MobiScud.Testbed.Infrastructure;

/// <summary>
/// A Linux TUN device (IFF_TUN | IFF_NO_PI: whole IP packets, no extra header) created inside a network namespace.
/// The emulated P-GW uses one to hand decapsulated uplink packets to the kernel, which routes them to the internet
/// server, and to take the downlink back. Reads poll with a timeout so a reader notices <see cref="Dispose"/>.
/// </summary>
internal sealed partial class TunDevice : IDisposable
{
    private const int ORdwr = 2;
    private const int ONonblock = 0x800;
    private const uint TunSetIff = 0x400454ca;
    private const short IffTun = 0x0001;
    private const short IffNoPi = 0x1000;
    private const short PollIn = 0x0001;
    private readonly int _fd;
    private int _disposed;

    private TunDevice(int fd, string name)
    {
        _fd = fd;
        Name = name;
    }

    public string Name { get; }

    /// <summary>Creates TUN device <paramref name="name"/> in namespace <paramref name="netns"/> (it is down and unaddressed).</summary>
    public static TunDevice Create(string netns, string name)
    {
        if (name.Length is 0 or > 15)
        {
            throw new TestbedException($"TUN device name '{name}' must be 1..15 characters");
        }

        return Netns.Run(netns, () =>
        {
            var fd = Open("/dev/net/tun", ORdwr | ONonblock);
            if (fd < 0)
            {
                throw new TestbedException($"open /dev/net/tun failed: errno {Marshal.GetLastPInvokeError()}");
            }

            // struct ifreq: 16-byte name, then the flags short (the rest of the 40-byte union is unused).
            Span<byte> ifr = stackalloc byte[40];
            System.Text.Encoding.ASCII.GetBytes(name, ifr);
            BitConverter.TryWriteBytes(ifr[16..], (short)(IffTun | IffNoPi));
            if (Ioctl(fd, TunSetIff, ifr) != 0)
            {
                var err = Marshal.GetLastPInvokeError();
                Close(fd);
                throw new TestbedException($"TUNSETIFF {name} in {netns} failed: errno {err}");
            }

            return new TunDevice(fd, name);
        });
    }

    /// <summary>Reads one IP packet; returns 0 when none arrived within <paramref name="timeoutMs"/>, -1 once disposed.</summary>
    public int Read(Span<byte> buffer, int timeoutMs = 100)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return -1;
        }

        Span<byte> pfd = stackalloc byte[8];
        BitConverter.TryWriteBytes(pfd, _fd);
        BitConverter.TryWriteBytes(pfd[4..], PollIn);
        if (Poll(pfd, 1, timeoutMs) <= 0)
        {
            return 0;
        }

        var n = (int)ReadFd(_fd, buffer, buffer.Length);
        return n < 0 ? 0 : n;
    }

    public void Write(ReadOnlySpan<byte> packet)
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            WriteFd(_fd, packet, packet.Length);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Close(_fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, uint request, Span<byte> arg);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(Span<byte> fds, ulong count, int timeout);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadFd(int fd, Span<byte> buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteFd(int fd, ReadOnlySpan<byte> buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
