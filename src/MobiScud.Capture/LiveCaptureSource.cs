using MobiScud.Protocols.Link;
using SharpPcap;
using SharpPcap.LibPcap;

namespace MobiScud.Capture;

/// <summary>
/// Live frames from a network interface through libpcap (SharpPcap). Reads with a short timeout so that
/// <see cref="Stop"/> (or the cancellation token) ends the source promptly; the frames then go through the same pipeline
/// as files.
/// </summary>
public sealed class LiveCaptureSource : IFrameSource
{
    private readonly LibPcapLiveDevice _device;
    private readonly CancellationToken _cancellation;
    private long _number;
    private volatile bool _stopped;

    /// <param name="filter">A BPF filter (default: SCTP, UDP-encapsulated SCTP and GTP).</param>
    public LiveCaptureSource(string interfaceName, string? filter = "sctp or udp port 9899 or udp port 2123 or udp port 2152 or (ip[6:2] & 0x1fff != 0)", CancellationToken cancellation = default)
    {
        _cancellation = cancellation;
        // A fresh list, not the cached Instance: a device object that failed to open (its interface gone) stays broken,
        // and an interface added since would be missing.
        var devices = LibPcapLiveDeviceList.New();
        _device = devices.FirstOrDefault(d => d.Name == interfaceName)
            ?? throw new CaptureFormatException(interfaceName, 0, null, $"no such capture interface (have: {string.Join(", ", devices.Select(d => d.Name))})");
        try
        {
            _device.Open(new DeviceConfiguration { Mode = DeviceModes.Promiscuous, ReadTimeout = 100, Snaplen = 262144 });
            if (!string.IsNullOrEmpty(filter))
            {
                _device.Filter = filter;
            }
        }
        catch (PcapException e)
        {
            throw new CaptureFormatException(interfaceName, 0, null, $"cannot capture: {e.Message}");
        }

        LinkType = (LinkType)(ushort)_device.LinkType;
    }

    public LinkType LinkType { get; }

    public void Stop() => _stopped = true;

    public bool TryReadNext(out CaptureFrame frame)
    {
        while (!_stopped && !_cancellation.IsCancellationRequested)
        {
            var status = _device.GetNextPacket(out var capture);
            if (status == GetPacketStatus.PacketRead)
            {
                var header = capture.Header;
                var nanos = ((long)header.Timeval.Seconds * 1_000_000_000L) + ((long)header.Timeval.MicroSeconds * 1000L);
                _number++;
                // The packet's bytes belong to libpcap until the next read: copy them once.
                frame = new CaptureFrame(_number, LinkType, nanos, capture.Data.ToArray(), capture.Data.Length, 0);
                return true;
            }

            if (status is GetPacketStatus.Error or GetPacketStatus.NoRemainingPackets)
            {
                break;
            }
        }

        frame = default;
        return false;
    }

    public void Dispose() => _device.Close();
}
