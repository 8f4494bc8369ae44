using System.Threading.Channels;
using MobiScud.Testbed.Infrastructure;
using SharpPcap;
using SharpPcap.LibPcap;

namespace MobiScud.Testbed.Emulation;

/// <summary>A frame as the tap saw it: link-layer bytes (Ethernet) and the capture time.</summary>
public sealed record TappedFrame(DateTime Timestamp, byte[] Data);

/// <summary>
/// The MC's only view of the EPC: an AF_PACKET capture (libpcap via SharpPcap) on the core's mirror port, which
/// carries a copy of both directions of every site uplink. Frames are written to a pcap file as they come and
/// handed to <see cref="Frames"/>; the capture filter keeps S1-MME (SCTP over UDP 9899) and S1-U (GTP-U 2152).
/// </summary>
public sealed class BackhaulTap : IDisposable
{
    private readonly LibPcapLiveDevice _device;
    private readonly CaptureFileWriterDevice _writer;
    private readonly Channel<TappedFrame> _frames = Channel.CreateUnbounded<TappedFrame>();
    private readonly Lock _gate = new();
    private bool _disposed;

    private BackhaulTap(LibPcapLiveDevice device, CaptureFileWriterDevice writer)
    {
        _device = device;
        _writer = writer;
    }

    public ChannelReader<TappedFrame> Frames => _frames.Reader;

    public long Captured { get; private set; }

    public const string Filter = "udp port 9899 or udp port 2152";

    public static BackhaulTap Open(string netns, string device, string pcapPath)
    {
        var live = Netns.Run(netns, () =>
        {
            // The device list must be read inside the namespace: pcap_findalldevs sees the caller's interfaces.
            var list = LibPcapLiveDeviceList.New();
            var d = list.FirstOrDefault(x => x.Name == device)
                ?? throw new TestbedException($"capture device {device} not found in namespace {netns} (have: {string.Join(", ", list.Select(x => x.Name))})");
            d.Open(new DeviceConfiguration { Mode = DeviceModes.Promiscuous, ReadTimeout = 50, Snaplen = 65535, Immediate = true });
            d.Filter = Filter;
            return d;
        });
        var writer = new CaptureFileWriterDevice(pcapPath, FileMode.Create);
        writer.Open(new DeviceConfiguration { LinkLayerType = PacketDotNet.LinkLayers.Ethernet });
        var tap = new BackhaulTap(live, writer);
        live.OnPacketArrival += tap.OnPacket;
        live.StartCapture();
        return tap;
    }

    private void OnPacket(object sender, PacketCapture e)
    {
        var raw = e.GetPacket();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _writer.Write(raw);
            Captured++;
        }

        _frames.Writer.TryWrite(new TappedFrame(raw.Timeval.Date, raw.Data));
    }

    public void Dispose()
    {
        try
        {
            _device.StopCapture();
        }
        catch (PcapException)
        {
            // already stopped
        }

        _device.Close();
        lock (_gate)
        {
            _disposed = true;
            _writer.Close();
        }

        _frames.Writer.TryComplete();
    }
}
