using System.Net;
using System.Net.NetworkInformation;
using MobiScud.Control.Model;
using MobiScud.Protocols.OpenFlow;
using MobiScud.Sdn.OpenFlow;
using MobiScud.Sdn.Steering;

namespace MobiScud.Sdn.Tests;

/// <summary>An IPv4 packet as the model sees it; <see cref="Gtp"/> set when it is GTP-U (UDP 2152) carrying an inner packet.</summary>
internal sealed record SimPacket(IPAddress Src, IPAddress Dst, byte Protocol, ushort DstPort, GtpPayload? Gtp = null)
{
    public static SimPacket Udp(IPAddress src, IPAddress dst, ushort dstPort) => new(src, dst, 17, dstPort);

    public static SimPacket GtpU(IPAddress src, IPAddress dst, uint teid, SimPacket inner) =>
        new(src, dst, 17, SteeringCompiler.GtpUserPort, new GtpPayload(teid, inner));
}

internal sealed record GtpPayload(uint Teid, SimPacket Inner);

internal enum DeliveryKind
{
    Port,
    Normal,
    Local,
}

/// <summary>Where a packet left the modelled switches: a site's port (with what sits there) and the packet as it left.</summary>
internal sealed record Delivery(SiteId Site, uint Port, DeliveryKind Kind, string Role, SimPacket Packet);

/// <summary>
/// A flow programmer in memory, the tests' oracle for what the compiled flows do: holds each site's flows (installed at once) and evaluates packets through them
/// with the same semantics the OVS tables rely on (tables, priorities, set-field, goto, the gtpu port's decap at the
/// endpoint and encap on output, inter-site links). It answers "where does a packet from UE x to its PVM go".
/// </summary>
internal sealed class InMemorySwitchFabric : SteeringProgrammerBase
{
    private const int MaxHops = 16;
    private readonly Dictionary<SiteId, Dictionary<FlowKey, FlowEntry>> _tables = [];

    /// <summary>Per site and cookie, the intent the flows were compiled from (the fabric is its own desired state).</summary>
    private readonly Dictionary<(SiteId Site, ulong Cookie), SteeringIntent> _intents = [];

    public InMemorySwitchFabric(SdnTopology topology)
        : base(topology)
    {
        foreach (var site in topology.Sites)
        {
            _tables[site.Site] = SteeringCompiler.SiteBase(site).ToDictionary(f => f.Key);
        }
    }

    public IReadOnlyList<FlowEntry> Flows(SiteId site)
    {
        lock (_tables)
        {
            return _tables[site].Values.ToList();
        }
    }

    public override SteeringIntent? IntentAt(SiteId site, ulong cookie)
    {
        lock (_tables)
        {
            return _intents.GetValueOrDefault((site, cookie));
        }
    }

    protected override Task<FlowBatchResult> ReplaceAsync(SiteTopology site, ulong cookie, IReadOnlyList<FlowEntry> flows, SteeringIntent? intent, CancellationToken ct)
    {
        lock (_tables)
        {
            if (flows.Count == 0 || intent is null)
            {
                _intents.Remove((site.Site, cookie));
            }
            else
            {
                _intents[(site.Site, cookie)] = intent;
            }

            var t = _tables[site.Site];
            foreach (var k in t.Where(kv => kv.Value.Cookie == cookie).Select(kv => kv.Key).ToList())
            {
                t.Remove(k);
            }

            foreach (var f in flows)
            {
                t[f.Key] = f;
            }
        }

        return Task.FromResult(new FlowBatchResult(true, flows.Count, []));
    }

    /// <summary>A UE's uplink packet sent by its eNB in GTP-U toward the S-GW, entering the switch of <paramref name="site"/>.</summary>
    public IReadOnlyList<Delivery> TraceUplink(SiteId site, IPAddress enb, IPAddress sgw, uint teid, IPAddress innerSrc, IPAddress innerDst)
    {
        var topo = Topology[site];
        var port = topo.Enbs.FirstOrDefault(e => e.Address.Equals(enb))?.Port
            ?? throw new ArgumentException($"eNB {enb} is not attached to site '{site}'");
        return Run(site, port, SimPacket.GtpU(enb, sgw, teid, SimPacket.Udp(innerSrc, innerDst, 9)));
    }

    /// <summary>A packet the PVM at <paramref name="site"/> sends to <paramref name="dst"/>.</summary>
    public IReadOnlyList<Delivery> TraceFromPvm(SiteId site, IPAddress pvm, IPAddress dst) =>
        Run(site, Topology[site].PvmPort, SimPacket.Udp(pvm, dst, 9));

    private sealed class State
    {
        public uint InPort;
        public SimPacket Packet = null!;
        public PhysicalAddress? EthSrc;
        public PhysicalAddress? EthDst;
        public ulong? TunId;
        public IPAddress? TunSrc;
        public IPAddress? TunDst;
        public uint PktMark;

        public State Clone() => (State)MemberwiseClone();
    }

    public IReadOnlyList<Delivery> Run(SiteId site, uint inPort, SimPacket packet)
    {
        var output = new List<Delivery>();
        lock (_tables)
        {
            Process(site, new State { InPort = inPort, Packet = packet }, output, 0);
        }

        return output;
    }

    private void Process(SiteId site, State s, List<Delivery> output, int hops)
    {
        if (hops > MaxHops)
        {
            throw new InvalidOperationException($"packet looped through more than {MaxHops} pipelines at site '{site}'");
        }

        byte table = 0;
        while (true)
        {
            var flow = _tables[site].Values.Where(f => f.TableId == table && Matches(f.Match, s)).OrderByDescending(f => f.Priority).FirstOrDefault();
            if (flow is null)
            {
                return; // table miss: dropped (fail_mode secure, no controller packet-in)
            }

            byte? next = null;
            foreach (var instruction in flow.Instructions)
            {
                switch (instruction)
                {
                    case ApplyActionsInstruction a:
                        foreach (var action in a.Actions)
                        {
                            Act(site, s, action, output, hops);
                        }

                        break;
                    case GotoTableInstruction g:
                        next = g.TableId;
                        break;
                }
            }

            if (next is null)
            {
                return;
            }

            table = next.Value;
        }
    }

    private void Act(SiteId site, State s, OfpAction action, List<Delivery> output, int hops)
    {
        switch (action)
        {
            case SetFieldAction { Field: var f }:
                Set(s, f);
                break;
            case OutputAction o:
                Emit(site, s, o.Port == OfpPort.InPort ? s.InPort : o.Port, output, hops);
                break;
        }
    }

    private void Emit(SiteId site, State s, uint port, List<Delivery> output, int hops)
    {
        var topo = Topology[site];
        var p = s.Packet;
        if (port == OfpPort.Local)
        {
            if (p.Gtp is { } gtp && p.Dst.Equals(topo.EndpointAddress))
            {
                // The gtpu port terminates GTP-U addressed to the endpoint and hands the inner packet in with tunnel metadata.
                Process(site, new State { InPort = topo.TunnelPort, Packet = gtp.Inner, TunId = gtp.Teid, TunSrc = p.Src, TunDst = p.Dst }, output, hops + 1);
            }
            else
            {
                output.Add(new Delivery(site, port, DeliveryKind.Local, "local", p));
            }

            return;
        }

        if (port == topo.TunnelPort)
        {
            var dst = s.TunDst ?? throw new InvalidOperationException($"output to the gtpu port at '{site}' without tun_dst");
            var outer = SimPacket.GtpU(topo.EndpointAddress, dst, (uint)(s.TunId ?? 0), p);
            Process(site, new State { InPort = OfpPort.Local, Packet = outer }, output, hops + 1);
            return;
        }

        if (port == OfpPort.Normal)
        {
            output.Add(new Delivery(site, port, DeliveryKind.Normal, "normal", p));
            return;
        }

        var link = topo.InterSitePorts.FirstOrDefault(kv => kv.Value == port);
        if (link.Key.Value is not null && Topology.TryGet(link.Key, out var other) && other.InterSitePorts.TryGetValue(site, out var back))
        {
            var next = s.Clone();
            next.InPort = back;
            next.TunId = null;
            next.TunSrc = null;
            next.TunDst = null;
            next.PktMark = 0;
            Process(other.Site, next, output, hops + 1);
            return;
        }

        output.Add(new Delivery(site, port, DeliveryKind.Port, RoleOf(topo, port), p));
    }

    private static string RoleOf(SiteTopology t, uint port) =>
        port == t.PvmPort ? "pvm"
        : t.Enbs.FirstOrDefault(e => e.Port == port) is { } e ? $"enb {e.Address}"
        : t.Sgws.FirstOrDefault(g => g.Port == port) is { } g ? $"sgw {g.Address}"
        : $"port {port}";

    private static bool Matches(OfpMatch match, State s)
    {
        foreach (var f in match.Fields)
        {
            byte[]? actual = (f.Class, f.Field) switch
            {
                (OxmClass.OpenFlowBasic, OxmFieldId.InPort) => OxmField.InPort(s.InPort).Value,
                (OxmClass.OpenFlowBasic, OxmFieldId.EthType) => OxmField.EthType(0x0800).Value,
                (OxmClass.OpenFlowBasic, OxmFieldId.EthSrc) => s.EthSrc?.GetAddressBytes(),
                (OxmClass.OpenFlowBasic, OxmFieldId.EthDst) => s.EthDst?.GetAddressBytes(),
                (OxmClass.OpenFlowBasic, OxmFieldId.IpProto) => [s.Packet.Protocol],
                (OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Src) => s.Packet.Src.GetAddressBytes(),
                (OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Dst) => s.Packet.Dst.GetAddressBytes(),
                (OxmClass.OpenFlowBasic, OxmFieldId.UdpDst) => s.Packet.Protocol == 17 ? OxmField.UdpDst(s.Packet.DstPort).Value : null,
                (OxmClass.OpenFlowBasic, OxmFieldId.TunnelId) => s.TunId is { } t ? OxmField.TunnelId(t).Value : null,
                (OxmClass.Nxm1, OxmFieldId.NxTunIpv4Src) => s.TunSrc?.GetAddressBytes(),
                (OxmClass.Nxm1, OxmFieldId.NxTunIpv4Dst) => s.TunDst?.GetAddressBytes(),
                (OxmClass.Nxm1, OxmFieldId.NxPktMark) => OxmField.PktMark(s.PktMark).Value,
                _ => null,
            };
            if (actual is null || actual.Length != f.Value.Length)
            {
                return false;
            }

            for (var i = 0; i < actual.Length; i++)
            {
                var m = f.Mask?[i] ?? 0xff;
                if ((actual[i] & m) != (f.Value[i] & m))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static void Set(State s, OxmField f)
    {
        switch ((f.Class, f.Field))
        {
            case (OxmClass.OpenFlowBasic, OxmFieldId.EthSrc): s.EthSrc = new PhysicalAddress(f.Value); break;
            case (OxmClass.OpenFlowBasic, OxmFieldId.EthDst): s.EthDst = new PhysicalAddress(f.Value); break;
            case (OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Src): s.Packet = s.Packet with { Src = new IPAddress(f.Value) }; break;
            case (OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Dst): s.Packet = s.Packet with { Dst = new IPAddress(f.Value) }; break;
            case (OxmClass.OpenFlowBasic, OxmFieldId.TunnelId): s.TunId = f.ValueAsUInt64(); break;
            case (OxmClass.Nxm1, OxmFieldId.NxTunIpv4Src): s.TunSrc = new IPAddress(f.Value); break;
            case (OxmClass.Nxm1, OxmFieldId.NxTunIpv4Dst): s.TunDst = new IPAddress(f.Value); break;

            // Only OVS's tunnel route lookup reads the mark; one topology site is one bridge here.
            case (OxmClass.Nxm1, OxmFieldId.NxPktMark): s.PktMark = (uint)f.ValueAsUInt64(); break;
            default: throw new NotSupportedException($"the in-memory switch does not model set_field {f}");
        }
    }
}
