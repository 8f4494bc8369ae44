using System.Buffers.Binary;
using System.Net;
using MobiScud.Protocols.Gtp;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.OpenFlow;
using MobiScud.Sdn.Steering;
using MobiScud.Testbed.Infrastructure;

namespace MobiScud.Testbed.Control;

/// <summary>
/// The 5G uplink's way to the PVM through OVS 3.1 (docs/sdn.md, "5G"). OVS's gtpu port does not skip GTP-U extension
/// headers, and every gNB puts the PDU Session Container on every uplink G-PDU, so OVS alone never hands the UE's
/// IP packet to the PVM flows. Each edge site therefore sends its gNBs' uplink GTP-U through this small step on the
/// site host (one veth port of the bridge, <see cref="Flows"/>): a G-PDU whose inner packet is bound for the edge's
/// PVM subnet leaves it as the same G-PDU without the optional octets and extension headers (flags 0x30, same outer
/// addresses, same TEID), which OVS decapsulates and the UE's steering flows deliver; every other frame goes back
/// unchanged, so the UPF still receives the gNB's G-PDU with its QFI octet for octet. The step runs on its own thread
/// over AF_PACKET and keeps counters; it holds no state across frames.
/// </summary>
public sealed class N3UplinkStripper : IDisposable
{
    /// <summary>Cookie of the step's flows: not MobiScud's steering owner byte, so steering read-back ignores them.</summary>
    public const ulong Cookie = 0x4E33_0000_0000_0001;

    /// <summary>Above the site's fixed eNB->endpoint flows (priority 100), below the remote-site relays (300).</summary>
    public const ushort Priority = 150;

    private const ushort GtpUserPort = 2152;
    private readonly RawPacketSocket _socket;
    private readonly IPNetwork _pvmSubnet;
    private readonly Thread _loop;
    private volatile bool _stop;
    private long _stripped;
    private long _passed;
    private long _ignored;

    private N3UplinkStripper(RawPacketSocket socket, IPNetwork pvmSubnet, string name)
    {
        _socket = socket;
        _pvmSubnet = pvmSubnet;
        _loop = new Thread(Loop) { IsBackground = true, Name = $"n3-strip:{name}" };
        _loop.Start();
    }

    /// <summary>G-PDUs toward a PVM sent on without their extension headers.</summary>
    public long Stripped => Interlocked.Read(ref _stripped);

    /// <summary>Frames sent back unchanged (the rest of the uplink, with its PDU Session Container).</summary>
    public long Passed => Interlocked.Read(ref _passed);

    /// <summary>Frames that were not GTP-U (dropped).</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>Starts the step on <paramref name="device"/> (the host end of its veth) in namespace <paramref name="netns"/>.</summary>
    public static N3UplinkStripper Start(string netns, string device, IPNetwork pvmSubnet) =>
        new(Netns.Run(netns, () => RawPacketSocket.Open(device)), pvmSubnet, device);

    /// <summary>
    /// The site's flows for the step, in table 0: uplink GTP-U from each gNB port to the UPF goes to the step's port
    /// instead of the endpoint; what comes back from the step is handed to the endpoint (LOCAL, where OVS
    /// decapsulates) exactly as the fixed flows hand a gNB's GTP-U (<see cref="SteeringCompiler.SiteBase"/>).
    /// </summary>
    public static IReadOnlyList<FlowEntry> Flows(SiteTopology site, uint stripPort)
    {
        var flows = new List<FlowEntry>();
        foreach (var upf in site.Sgws)
        {
            OxmField[] toUpf = [OxmField.EthType(0x0800), OxmField.IpProto(17), OxmField.Ipv4Dst(upf.Address), OxmField.UdpDst(GtpUserPort)];
            foreach (var gnb in site.Enbs)
            {
                flows.Add(new(0, Priority, new OfpMatch([OxmField.InPort(gnb.Port), .. toUpf]),
                    [new ApplyActionsInstruction([new OutputAction(stripPort)])], Cookie));
            }

            flows.Add(new(0, Priority, new OfpMatch([OxmField.InPort(stripPort), .. toUpf]),
                [new ApplyActionsInstruction([new SetFieldAction(OxmField.EthDst(site.EndpointMac)), new SetFieldAction(OxmField.Ipv4Dst(site.EndpointAddress)), new OutputAction(OfpPort.Local)])],
                Cookie));
        }

        return flows;
    }

    /// <summary>
    /// The step on one Ethernet frame: the frame without the G-PDU's optional octets and extension headers when it is
    /// an IPv4/UDP 2152 G-PDU with extension headers whose inner IPv4 packet is bound for <paramref name="pvmSubnet"/>;
    /// otherwise null (send the frame on unchanged).
    /// </summary>
    public static byte[]? Strip(ReadOnlySpan<byte> frame, IPNetwork pvmSubnet)
    {
        if (frame.Length < 14 + 20 + 8 + 12 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800)
        {
            return null;
        }

        var ip = frame[14..];
        var ihl = (ip[0] & 0x0F) * 4;
        if (ip[0] >> 4 != 4 || ihl < 20 || ip[9] != 17 || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0)
        {
            return null;
        }

        var totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (totalLength > ip.Length || totalLength < ihl + 8)
        {
            return null;
        }

        var udp = ip[ihl..totalLength];
        if (BinaryPrimitives.ReadUInt16BigEndian(udp[2..]) != GtpUserPort)
        {
            return null;
        }

        var gtp = udp[8..];
        GtpUHeader header;
        try
        {
            header = GtpU.Decode(gtp);
        }
        catch (MobiScud.Protocols.DecodeException)
        {
            return null; // not ours to judge: OVS and the UPF see it as it came
        }

        if (!header.IsGPdu || header.ExtensionHeaderCount == 0)
        {
            return null;
        }

        var inner = header.Payload(gtp);
        if (inner.Length < 20 || inner[0] >> 4 != 4 || !pvmSubnet.Contains(new IPAddress(inner.Slice(16, 4))))
        {
            return null;
        }

        // Ethernet + IPv4 header + UDP header + 8-octet GTP-U header + the inner packet.
        var outLength = 14 + ihl + 8 + 8 + inner.Length;
        var result = new byte[outLength];
        frame[..(14 + ihl + 8)].CopyTo(result);
        var rip = result.AsSpan(14);
        BinaryPrimitives.WriteUInt16BigEndian(rip[2..], (ushort)(ihl + 8 + 8 + inner.Length));
        rip[10] = 0;
        rip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(rip[10..], PacketBuilder.InternetChecksum(rip[..ihl]));
        var rudp = rip[ihl..];
        BinaryPrimitives.WriteUInt16BigEndian(rudp[4..], (ushort)(8 + 8 + inner.Length));
        rudp[6] = 0; // UDP checksum: none (allowed over IPv4; OVS's tunnel pop does not require one)
        rudp[7] = 0;
        GtpU.WriteGPdu(rudp[8..], header.Teid, inner);
        return result;
    }

    private static bool IsGtpU(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14 + 20 + 8 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800 || frame[14] >> 4 != 4 || frame[14 + 9] != 17)
        {
            return false;
        }

        var ihl = (frame[14] & 0x0F) * 4;
        return frame.Length >= 14 + ihl + 8 && BinaryPrimitives.ReadUInt16BigEndian(frame[(14 + ihl + 2)..]) == GtpUserPort;
    }

    private void Loop()
    {
        var buffer = new byte[65536];
        while (!_stop)
        {
            var n = _socket.Receive(buffer);
            if (n <= 0)
            {
                continue;
            }

            // What arrives came from OVS (the socket ignores its own transmissions). Only GTP-U goes back: anything
            // else on this port (a stray broadcast) would otherwise loop through the bridge.
            var frame = buffer.AsSpan(0, n);
            if (!IsGtpU(frame))
            {
                Interlocked.Increment(ref _ignored);
                continue;
            }

            if (Strip(frame, _pvmSubnet) is { } stripped)
            {
                _socket.Send(stripped);
                Interlocked.Increment(ref _stripped);
            }
            else
            {
                _socket.Send(frame);
                Interlocked.Increment(ref _passed);
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        _socket.Dispose();
        _loop.Join(TimeSpan.FromSeconds(2));
    }
}
