using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using MobiScud.Protocols;
using MobiScud.Protocols.Gtp;
using MobiScud.Protocols.Link;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Emulation;

/// <summary>
/// A GTP-U speaker at one node (an eNB or the S-GW). It sends through a UDP socket bound to its S1-U address in its
/// namespace, so the kernel resolves MACs and fills checksums. It receives every frame of its backhaul interface
/// through AF_PACKET instead, because OVS 3.1 writes a wrong UDP checksum on the GTP-U it encapsulates and a UDP
/// socket would silently drop those packets.
/// </summary>
internal sealed class GtpuNode : IDisposable
{
    private const int GtpUserPort = 2152;
    private readonly Socket _send;
    private readonly RawPacketSocket _receive;
    private readonly uint _self;
    private readonly Action<uint, byte[]> _onGPdu;
    private readonly Thread _loop;
    private volatile bool _stop;
    private long _received;
    private long _malformed;
    private long _sent;
    private long _withoutContainer;

    private GtpuNode(string name, Socket send, RawPacketSocket receive, IPAddress self, Action<uint, byte[]> onGPdu)
    {
        _send = send;
        _receive = receive;
        _self = BinaryPrimitives.ReadUInt32BigEndian(self.GetAddressBytes());
        _onGPdu = onGPdu;
        _loop = new Thread(ReceiveLoop) { IsBackground = true, Name = $"gtpu:{name}" };
        _loop.Start();
    }

    public long Received => Interlocked.Read(ref _received);

    public long Malformed => Interlocked.Read(ref _malformed);

    public long Sent => Interlocked.Read(ref _sent);

    public static GtpuNode Open(string name, string netns, string device, IPAddress address, Action<uint, byte[]> onGPdu)
    {
        var send = Netns.Run(netns, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(address, GtpUserPort));

            // Received copies are never read (AF_PACKET sees them): keep the kernel's queue small.
            s.ReceiveBufferSize = 4096;
            return s;
        });
        try
        {
            var receive = Netns.Run(netns, () => RawPacketSocket.Open(device));
            return new GtpuNode(name, send, receive, address, onGPdu);
        }
        catch
        {
            send.Dispose();
            throw;
        }
    }

    /// <summary>Without the PDU Session Container for LTE (S1-U, TS 29.281); with it on N3 (<paramref name="container"/>: TS 38.415 PDU type and QFI).</summary>
    public void Send(IPAddress peer, uint teid, ReadOnlySpan<byte> inner, (byte PduType, byte Qfi)? container = null)
    {
        byte[] buffer;
        if (container is { } c)
        {
            buffer = new byte[16 + inner.Length];
            UserPlane.WriteGPduWithContainer(buffer, teid, c.PduType, c.Qfi, inner);
        }
        else
        {
            buffer = new byte[8 + inner.Length];
            GtpU.WriteGPdu(buffer, teid, inner);
        }

        try
        {
            _send.SendTo(buffer, new IPEndPoint(peer, GtpUserPort));
            Interlocked.Increment(ref _sent);
        }
        catch (SocketException)
        {
            // No route or neighbour yet: the packet is lost, as on a real link; the generator counts it as unanswered.
        }
    }

    /// <summary>G-PDUs received without a PDU Session Container (on N3: the downlink OVS encapsulated, which has none).</summary>
    public long ReceivedWithoutContainer => Interlocked.Read(ref _withoutContainer);

    private void ReceiveLoop()
    {
        var frame = new byte[65536];
        while (!_stop)
        {
            var n = _receive.Receive(frame);
            if (n <= 0)
            {
                continue;
            }

            var span = frame.AsSpan(0, n);
            if (n < 14 || BinaryPrimitives.ReadUInt16BigEndian(span[12..]) != 0x0800)
            {
                continue;
            }

            var ip = span[14..];
            if (!IpDecoder.TryDecodeIpv4(ip, out var info, out _) || info.Protocol != PacketBuilder.UdpProtocol || info.IsFragment
                || info.Destination.IsIpv6 || (uint)info.Destination.Low != _self)
            {
                continue;
            }

            var segment = ip.Slice(info.PayloadOffset, info.PayloadLength);
            if (!UdpDecoder.TryDecode(segment, out var udp, out _) || udp.DestinationPort != GtpUserPort)
            {
                continue;
            }

            try
            {
                var gtp = segment.Slice(udp.PayloadOffset, udp.PayloadLength);
                var header = GtpU.Decode(gtp);
                if (header.IsGPdu)
                {
                    Interlocked.Increment(ref _received);
                    if (header.Qfi is null)
                    {
                        Interlocked.Increment(ref _withoutContainer);
                    }

                    _onGPdu(header.Teid, header.Payload(gtp).ToArray());
                }
            }
            catch (DecodeException)
            {
                Interlocked.Increment(ref _malformed);
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        _loop.Join(TimeSpan.FromSeconds(2));
        _receive.Dispose();
        _send.Dispose();
    }
}

/// <summary>One echo request the UE sent and what became of it.</summary>
public sealed record PingSample(int Ue, string Target, ushort Sequence, double SentAtSeconds, int ServingEnb, double? RttMs);

/// <summary>
/// A destination the UEs ping. The address may be learned later (a PVM's once it has started), and may differ per UE
/// (each UE pings its own PVM).
/// </summary>
public sealed class PingTarget(string name, IPAddress? address = null)
{
    private readonly ConcurrentDictionary<int, IPAddress> _perUe = new();
    private IPAddress? _address = address;

    public string Name { get; } = name;

    /// <summary>The address every UE pings unless it has its own.</summary>
    public IPAddress? Address
    {
        get => Volatile.Read(ref _address);
        set => Volatile.Write(ref _address, value);
    }

    public void SetFor(int ue, IPAddress address) => _perUe[ue] = address;

    public IPAddress? For(int ue) => _perUe.TryGetValue(ue, out var a) ? a : Address;
}

/// <summary>
/// The S1-U user plane of the emulated network: eNBs tunnel their UEs' packets to the S-GW/P-GW in GTP-U, the P-GW
/// hands them to the kernel through a TUN device (so they are routed to the internet server and the core data
/// centre), and tunnels the downlink back to the serving eNB with its downlink TEID. UEs are traffic generators at
/// their serving eNB: each sends an ICMP echo request to every target per interval and times the reply.
/// Nothing here knows about MobiScud: the edge switch on the backhaul is what diverts PVM traffic.
/// </summary>
internal sealed class UserPlane : IDisposable
{
    private const string TunName = "pgw0";
    private readonly TestbedPlan _plan;
    private readonly IReadOnlyList<EmulatedUe> _ues;
    private readonly IReadOnlyList<PingTarget> _targets;
    private readonly Dictionary<int, GtpuNode> _enbs = [];
    private readonly ConcurrentDictionary<(int Ue, int Target, ushort Seq), (long SentTicks, double SentAt, int Enb)> _pending = new();
    private readonly ConcurrentQueue<PingSample> _samples = new();
    private readonly long _epochTicks;
    private GtpuNode? _sgw;
    private TunDevice? _tun;
    private Thread? _tunLoop;
    private Thread? _generator;
    private volatile bool _stop;
    private volatile bool _stopPinging;
    private long _unknownUplinkTeid;
    private long _spoofedUplink;
    private long _downlinkToIdleUe;
    private long _downlinkUnknownTeid;
    private long _uplinkWhileIdle;

    private const byte DlPduSessionInformation = 0;
    private const byte UlPduSessionInformation = 1;

    /// <summary>5G: N3 G-PDUs carry the PDU Session Container (the gNB's UL, the UPF's DL, QFI 1).</summary>
    private readonly bool _nr;

    private UserPlane(TestbedPlan plan, IReadOnlyList<EmulatedUe> ues, IReadOnlyList<PingTarget> targets, long epochTicks)
    {
        _plan = plan;
        _nr = plan.Scenario.Rat == TestbedRat.Nr;
        _ues = ues;
        _targets = targets;
        _epochTicks = epochTicks;
    }

    /// <summary>
    /// A G-PDU with the PDU Session Container (TS 29.281 5.2, TS 38.415 5.5.2): flags 0x34 (version 1, PT, E), the
    /// sequence number and N-PDU octets zero, next extension type 0x85, then the container of one 4-octet unit:
    /// PDU type (0 = DL PDU SESSION INFORMATION, 1 = UL), the QFI, and no further extension.
    /// </summary>
    public static void WriteGPduWithContainer(Span<byte> destination, uint teid, byte pduType, byte qfi, ReadOnlySpan<byte> inner)
    {
        destination[0] = 0x34;
        destination[1] = GtpUMessageType.GPdu;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(8 + inner.Length));
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], teid);
        destination[8] = 0;
        destination[9] = 0;
        destination[10] = 0;
        destination[11] = GtpU.PduSessionContainer;
        destination[12] = 1;
        destination[13] = (byte)(pduType << 4);
        destination[14] = (byte)(qfi & 0x3F);
        destination[15] = 0;
        inner.CopyTo(destination[16..]);
    }

    /// <summary>Each answered ping as it comes (the dashboard's RTT chart); on the user plane's receive thread.</summary>
    public Action<PingSample>? Answered { get; set; }

    /// <summary>Starts the S-GW/P-GW and eNB user planes (not yet the generators: see <see cref="StartPinging"/>).</summary>
    public static UserPlane Start(TestbedPlan plan, IReadOnlyList<EmulatedUe> ues, IReadOnlyList<PingTarget> targets, long epochTicks)
    {
        var up = new UserPlane(plan, ues, targets, epochTicks);
        try
        {
            up._tun = TunDevice.Create(plan.SgwNs, TunName);
            Shell.Run("ip", "-n", plan.SgwNs, "addr", "add", "172.16.0.1/16", "dev", TunName);
            Shell.Run("ip", "-n", plan.SgwNs, "link", "set", TunName, "up");
            up._sgw = GtpuNode.Open("sgw", plan.SgwNs, "bh0", TestbedPlan.SgwAddress, up.OnUplink);
            for (var enb = 1; enb <= plan.Scenario.Enbs; enb++)
            {
                var n = enb;
                up._enbs[enb] = GtpuNode.Open($"enb{enb}", plan.EnbNs(enb), "bh0", TestbedPlan.EnbAddress(enb), (teid, inner) => up.OnDownlink(n, teid, inner));
            }

            up._tunLoop = new Thread(up.TunLoop) { IsBackground = true, Name = "pgw:tun" };
            up._tunLoop.Start();
            return up;
        }
        catch
        {
            up.Dispose();
            throw;
        }
    }

    /// <summary>Every UE pings every target once per <paramref name="interval"/> until disposed.</summary>
    public void StartPinging(TimeSpan interval)
    {
        _generator = new Thread(() => GenerateLoop(interval)) { IsBackground = true, Name = "ue:ping", Priority = ThreadPriority.AboveNormal };
        _generator.Start();
    }

    /// <summary>Stops the generators; replies still in flight are recorded as they come.</summary>
    public void StopPinging()
    {
        _stopPinging = true;
        _generator?.Join(TimeSpan.FromSeconds(2));
    }

    public string Counters =>
        $"uplink to P-GW {_sgw?.Received ?? 0} (unknown TEID {Interlocked.Read(ref _unknownUplinkTeid)}, spoofed {Interlocked.Read(ref _spoofedUplink)}), " +
        $"downlink sent {_sgw?.Sent ?? 0} (to idle UEs {Interlocked.Read(ref _downlinkToIdleUe)}), " +
        $"at eNBs {_enbs.Values.Sum(e => e.Received)} (unknown TEID {Interlocked.Read(ref _downlinkUnknownTeid)}), malformed {(_sgw?.Malformed ?? 0) + _enbs.Values.Sum(e => e.Malformed)}, " +
        $"UE uplink while idle {Interlocked.Read(ref _uplinkWhileIdle)}" +
        (_nr ? $", at gNBs without PDU Session Container {_enbs.Values.Sum(e => e.ReceivedWithoutContainer)} (accepted as QFI {NgapMessages.Qfi})" : "");

    /// <summary>Every ping sent so far; those still unanswered after <paramref name="lostAfter"/> count as lost (RttMs null).</summary>
    public IReadOnlyList<PingSample> Samples(TimeSpan lostAfter)
    {
        var now = TimeProvider.System.GetTimestamp();
        var list = _samples.ToList();
        foreach (var (key, sent) in _pending)
        {
            if (TimeProvider.System.GetElapsedTime(sent.SentTicks, now) >= lostAfter)
            {
                list.Add(new PingSample(key.Ue, _targets[key.Target].Name, key.Seq, sent.SentAt, sent.Enb, null));
            }
        }

        return list.OrderBy(s => s.SentAtSeconds).ToList();
    }

    private void GenerateLoop(TimeSpan interval)
    {
        var seq = new ushort[_ues.Count * _targets.Count];
        var next = TimeProvider.System.GetTimestamp();
        var step = (long)(interval.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (!_stop && !_stopPinging)
        {
            next += step;
            foreach (var ue in _ues)
            {
                for (var t = 0; t < _targets.Count; t++)
                {
                    if (_targets[t].For(ue.Index) is { } dst)
                    {
                        SendEcho(ue, t, dst, ++seq[((ue.Index - 1) * _targets.Count) + t]);
                    }
                }
            }

            var wait = TimeProvider.System.GetElapsedTime(TimeProvider.System.GetTimestamp(), next);
            if (wait > TimeSpan.Zero)
            {
                Thread.Sleep(wait);
            }
            else
            {
                next = TimeProvider.System.GetTimestamp(); // fell behind (busy CPU): do not burst to catch up
            }
        }
    }

    private void SendEcho(EmulatedUe ue, int target, IPAddress dst, ushort seq)
    {
        var enb = ue.Enb;
        var now = TimeProvider.System.GetTimestamp();
        Span<byte> stamp = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(stamp, now);
        var echo = PacketBuilder.IcmpEcho(PacketBuilder.IcmpEchoRequest, EchoId(ue.Index, target), seq, stamp);
        var packet = PacketBuilder.Ipv4(ue.Address, dst, PacketBuilder.IcmpProtocol, echo, seq);
        _pending[(ue.Index, target, seq)] = (now, TimeProvider.System.GetElapsedTime(_epochTicks, now).TotalSeconds, enb);
        if (!ue.Connected || ue.DownlinkTeid is null || !_enbs.TryGetValue(enb, out var node))
        {
            Interlocked.Increment(ref _uplinkWhileIdle);
            return;
        }

        node.Send(TestbedPlan.SgwAddress, ue.UplinkTeid, packet, _nr ? (UlPduSessionInformation, NgapMessages.Qfi) : null);
    }

    private static ushort EchoId(int ue, int target) => (ushort)((ue << 4) | target);

    /// <summary>S-GW/P-GW: a G-PDU from an eNB. Known uplink TEID and the UE's own source address go to the TUN.</summary>
    private void OnUplink(uint teid, byte[] inner)
    {
        var ue = _ues.FirstOrDefault(u => u.UplinkTeid == teid);
        if (ue is null)
        {
            Interlocked.Increment(ref _unknownUplinkTeid);
            return;
        }

        if (inner.Length < 20 || !inner.AsSpan(12, 4).SequenceEqual(ue.Address.GetAddressBytes()))
        {
            Interlocked.Increment(ref _spoofedUplink);
            return;
        }

        _tun!.Write(inner);
    }

    /// <summary>P-GW: packets the kernel routed to the UE pool come out of the TUN; tunnel them to the serving eNB.</summary>
    private void TunLoop()
    {
        var buffer = new byte[65536];
        while (!_stop)
        {
            var n = _tun!.Read(buffer);
            if (n < 20 || buffer[0] >> 4 != 4)
            {
                continue;
            }

            var dst = new IPAddress(buffer.AsSpan(16, 4));
            var ue = _ues.FirstOrDefault(u => u.Address.Equals(dst));
            if (ue is null)
            {
                continue;
            }

            if (!ue.Connected || ue.DownlinkTeid is not { } dl)
            {
                Interlocked.Increment(ref _downlinkToIdleUe);
                continue;
            }

            _sgw!.Send(TestbedPlan.EnbAddress(ue.Enb), dl, buffer.AsSpan(0, n), _nr ? (DlPduSessionInformation, NgapMessages.Qfi) : null);
        }
    }

    /// <summary>
    /// eNB or gNB: a downlink G-PDU. Delivered over the radio if the TEID is the bearer of a UE this node serves. A gNB
    /// takes it with or without the PDU Session Container (OVS encapsulates the PVM's replies without one) and maps it
    /// to the session's one QoS flow.
    /// </summary>
    private void OnDownlink(int enb, uint teid, byte[] inner)
    {
        var now = TimeProvider.System.GetTimestamp();
        var ue = _ues.FirstOrDefault(u => u.Enb == enb && u.DownlinkTeid == teid);
        if (ue is null)
        {
            Interlocked.Increment(ref _downlinkUnknownTeid);
            return;
        }

        if (!IpDecoder.TryDecodeIpv4(inner, out var info, out _) || info.Protocol != PacketBuilder.IcmpProtocol
            || !PacketBuilder.TryReadIcmpEcho(inner.AsSpan(info.PayloadOffset, info.PayloadLength), out var type, out var id, out var seq)
            || type != PacketBuilder.IcmpEchoReply)
        {
            return;
        }

        var target = id & 0xF;
        if (id >> 4 != ue.Index || target >= _targets.Count || !_pending.TryRemove((ue.Index, target, seq), out var sent))
        {
            return;
        }

        var rtt = TimeProvider.System.GetElapsedTime(sent.SentTicks, now).TotalMilliseconds;
        var sample = new PingSample(ue.Index, _targets[target].Name, seq, sent.SentAt, sent.Enb, rtt);
        _samples.Enqueue(sample);
        Answered?.Invoke(sample);
    }

    public void Dispose()
    {
        _stop = true;
        _generator?.Join(TimeSpan.FromSeconds(2));
        _tunLoop?.Join(TimeSpan.FromSeconds(2));
        foreach (var n in _enbs.Values)
        {
            n.Dispose();
        }

        _sgw?.Dispose();
        _tun?.Dispose();
    }
}
