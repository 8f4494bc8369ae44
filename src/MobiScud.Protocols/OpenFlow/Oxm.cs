using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace MobiScud.Protocols.OpenFlow;

/// <summary>OXM classes OVS uses in OpenFlow 1.3: the standard basic class and Nicira's NXM_1 (tunnel fields).</summary>
public static class OxmClass
{
    public const ushort Nxm0 = 0x0000;
    public const ushort Nxm1 = 0x0001;
    public const ushort OpenFlowBasic = 0x8000;
    public const ushort Experimenter = 0xFFFF;
}

/// <summary>Field numbers of OFPXMC_OPENFLOW_BASIC (OpenFlow 1.3.5 section 7.2.3.7) and the NXM_1 ones we use.</summary>
public static class OxmFieldId
{
    public const byte InPort = 0;
    public const byte InPhyPort = 1;
    public const byte Metadata = 2;
    public const byte EthDst = 3;
    public const byte EthSrc = 4;
    public const byte EthType = 5;
    public const byte VlanVid = 6;
    public const byte VlanPcp = 7;
    public const byte IpDscp = 8;
    public const byte IpEcn = 9;
    public const byte IpProto = 10;
    public const byte Ipv4Src = 11;
    public const byte Ipv4Dst = 12;
    public const byte TcpSrc = 13;
    public const byte TcpDst = 14;
    public const byte UdpSrc = 15;
    public const byte UdpDst = 16;
    public const byte Icmpv4Type = 19;
    public const byte Icmpv4Code = 20;
    public const byte ArpOp = 21;
    public const byte ArpSpa = 22;
    public const byte ArpTpa = 23;
    public const byte TunnelId = 38;

    /// <summary>NXM_NX_TUN_IPV4_SRC (header 0x00013e04).</summary>
    public const byte NxTunIpv4Src = 31;

    /// <summary>NXM_NX_TUN_IPV4_DST (header 0x00014004).</summary>
    public const byte NxTunIpv4Dst = 32;

    /// <summary>NXM_NX_PKT_MARK (header 0x00014204): OVS's packet mark; its tunnel routing (ovs/route) can key on it.</summary>
    public const byte NxPktMark = 33;

    /// <summary>Payload size of the fields we know, so a wrong length is a typed error rather than a misread.</summary>
    public static int? SizeOf(ushort oxmClass, byte field) => oxmClass switch
    {
        OxmClass.OpenFlowBasic => field switch
        {
            InPort or InPhyPort => 4,
            Metadata or TunnelId => 8,
            EthDst or EthSrc => 6,
            EthType or VlanVid or TcpSrc or TcpDst or UdpSrc or UdpDst or ArpOp => 2,
            VlanPcp or IpDscp or IpEcn or IpProto or Icmpv4Type or Icmpv4Code => 1,
            Ipv4Src or Ipv4Dst or ArpSpa or ArpTpa => 4,
            _ => null,
        },
        OxmClass.Nxm1 => field switch
        {
            NxTunIpv4Src or NxTunIpv4Dst or NxPktMark => 4,
            _ => null,
        },
        _ => null,
    };
}

/// <summary>
/// One OXM TLV (class, field, value, optional mask). Value equality compares the bytes, so matches can be
/// compared with what a switch reports back.
/// </summary>
public sealed class OxmField : IEquatable<OxmField>
{
    public OxmField(ushort oxmClass, byte field, byte[] value, byte[]? mask = null)
    {
        if (mask is not null && mask.Length != value.Length)
        {
            throw new ArgumentException($"OXM mask length {mask.Length} differs from value length {value.Length}");
        }

        if (value.Length + (mask?.Length ?? 0) > 255)
        {
            throw new ArgumentException("OXM payload longer than 255 bytes");
        }

        Class = oxmClass;
        Field = field;
        Value = value;
        Mask = mask;
    }

    public ushort Class { get; }

    public byte Field { get; }

    public byte[] Value { get; }

    public byte[]? Mask { get; }

    public bool HasMask => Mask is not null;

    public int PayloadLength => Value.Length + (Mask?.Length ?? 0);

    /// <summary>The 32-bit OXM header as on the wire (e.g. 0x80004c08 for TUNNEL_ID).</summary>
    public uint Header => ((uint)Class << 16) | ((uint)Field << 9) | (HasMask ? 0x100u : 0u) | (uint)PayloadLength;

    public ulong ValueAsUInt64()
    {
        ulong v = 0;
        foreach (var b in Value)
        {
            v = (v << 8) | b;
        }

        return v;
    }

    public void Write(OfpWriter w)
    {
        w.U32(Header);
        w.Bytes(Value);
        if (Mask is not null)
        {
            w.Bytes(Mask);
        }
    }

    internal static OxmField Read(ref OfpReader r)
    {
        var at = r.AbsolutePosition;
        var header = r.U32("OXM header");
        var cls = (ushort)(header >> 16);
        var field = (byte)((header >> 9) & 0x7F);
        var hasMask = (header & 0x100) != 0;
        var len = (int)(header & 0xFF);
        if (hasMask && len % 2 != 0)
        {
            throw new OfpDecodeException(OfpDecodeError.BadOxm, at, $"masked OXM 0x{header:x8} has odd length {len}");
        }

        var expected = OxmFieldId.SizeOf(cls, field);
        var valueLen = hasMask ? len / 2 : len;
        if (expected is { } size && size != valueLen)
        {
            throw new OfpDecodeException(OfpDecodeError.BadOxm, at, $"OXM 0x{header:x8} (class 0x{cls:x4} field {field}) has {valueLen}-byte value, expected {size}");
        }

        var payload = r.Take(len, $"OXM 0x{header:x8} payload");
        return new OxmField(cls, field, payload[..valueLen].ToArray(), hasMask ? payload[valueLen..].ToArray() : null);
    }

    public bool Equals(OxmField? other) =>
        other is not null && Class == other.Class && Field == other.Field && Value.AsSpan().SequenceEqual(other.Value) &&
        (Mask is null ? other.Mask is null : other.Mask is not null && Mask.AsSpan().SequenceEqual(other.Mask));

    public override bool Equals(object? obj) => Equals(obj as OxmField);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Class);
        h.Add(Field);
        h.AddBytes(Value);
        if (Mask is not null)
        {
            h.AddBytes(Mask);
        }

        return h.ToHashCode();
    }

    public override string ToString()
    {
        var name = (Class, Field) switch
        {
            (OxmClass.OpenFlowBasic, OxmFieldId.InPort) => "in_port",
            (OxmClass.OpenFlowBasic, OxmFieldId.Metadata) => "metadata",
            (OxmClass.OpenFlowBasic, OxmFieldId.EthDst) => "eth_dst",
            (OxmClass.OpenFlowBasic, OxmFieldId.EthSrc) => "eth_src",
            (OxmClass.OpenFlowBasic, OxmFieldId.EthType) => "eth_type",
            (OxmClass.OpenFlowBasic, OxmFieldId.VlanVid) => "vlan_vid",
            (OxmClass.OpenFlowBasic, OxmFieldId.IpProto) => "ip_proto",
            (OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Src) => "ipv4_src",
            (OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Dst) => "ipv4_dst",
            (OxmClass.OpenFlowBasic, OxmFieldId.UdpSrc) => "udp_src",
            (OxmClass.OpenFlowBasic, OxmFieldId.UdpDst) => "udp_dst",
            (OxmClass.OpenFlowBasic, OxmFieldId.TcpSrc) => "tcp_src",
            (OxmClass.OpenFlowBasic, OxmFieldId.TcpDst) => "tcp_dst",
            (OxmClass.OpenFlowBasic, OxmFieldId.TunnelId) => "tunnel_id",
            (OxmClass.Nxm1, OxmFieldId.NxTunIpv4Src) => "tun_src",
            (OxmClass.Nxm1, OxmFieldId.NxTunIpv4Dst) => "tun_dst",
            (OxmClass.Nxm1, OxmFieldId.NxPktMark) => "pkt_mark",
            _ => $"oxm(0x{Class:x4},{Field})",
        };
        var value = Value.Length == 4 && name.Contains("ip", StringComparison.Ordinal) || name.StartsWith("tun_", StringComparison.Ordinal)
            ? new IPAddress(Value).ToString()
            : Value.Length == 6 ? string.Join(':', Value.Select(b => b.ToString("x2"))) : $"0x{ValueAsUInt64():x}";
        return Mask is null ? $"{name}={value}" : $"{name}={value}/{Convert.ToHexString(Mask).ToLowerInvariant()}";
    }

    // Factories for the fields the steering compiler uses.
    private static byte[] Be16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    private static byte[] Be32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    private static byte[] Be64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, v);
        return b;
    }

    private static byte[] V4(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork
        ? a.GetAddressBytes()
        : throw new ArgumentException($"{a} is not an IPv4 address");

    public static OxmField InPort(uint port) => new(OxmClass.OpenFlowBasic, OxmFieldId.InPort, Be32(port));

    public static OxmField Metadata(ulong value, ulong? mask = null) =>
        new(OxmClass.OpenFlowBasic, OxmFieldId.Metadata, Be64(value), mask is { } m ? Be64(m) : null);

    public static OxmField EthDst(PhysicalAddress mac) => new(OxmClass.OpenFlowBasic, OxmFieldId.EthDst, Mac(mac));

    public static OxmField EthSrc(PhysicalAddress mac) => new(OxmClass.OpenFlowBasic, OxmFieldId.EthSrc, Mac(mac));

    public static OxmField EthType(ushort type) => new(OxmClass.OpenFlowBasic, OxmFieldId.EthType, Be16(type));

    public static OxmField VlanVid(ushort vid) => new(OxmClass.OpenFlowBasic, OxmFieldId.VlanVid, Be16(vid));

    public static OxmField IpProto(byte proto) => new(OxmClass.OpenFlowBasic, OxmFieldId.IpProto, [proto]);

    public static OxmField Ipv4Src(IPAddress a) => new(OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Src, V4(a));

    public static OxmField Ipv4Dst(IPAddress a) => new(OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Dst, V4(a));

    public static OxmField UdpDst(ushort port) => new(OxmClass.OpenFlowBasic, OxmFieldId.UdpDst, Be16(port));

    public static OxmField TunnelId(ulong id) => new(OxmClass.OpenFlowBasic, OxmFieldId.TunnelId, Be64(id));

    public static OxmField TunIpv4Src(IPAddress a) => new(OxmClass.Nxm1, OxmFieldId.NxTunIpv4Src, V4(a));

    public static OxmField TunIpv4Dst(IPAddress a) => new(OxmClass.Nxm1, OxmFieldId.NxTunIpv4Dst, V4(a));

    public static OxmField PktMark(uint mark) => new(OxmClass.Nxm1, OxmFieldId.NxPktMark, Be32(mark));

    private static byte[] Mac(PhysicalAddress mac)
    {
        var b = mac.GetAddressBytes();
        return b.Length == 6 ? b : throw new ArgumentException($"{mac} is not a 48-bit MAC");
    }
}

/// <summary>ofp_match of type OXM: an unordered set of fields (OVS reports them in its own order).</summary>
public sealed class OfpMatch : IEquatable<OfpMatch>
{
    public static readonly OfpMatch Any = new([]);

    public OfpMatch(IReadOnlyList<OxmField> fields) => Fields = fields;

    public IReadOnlyList<OxmField> Fields { get; }

    public OxmField? Get(ushort cls, byte field) => Fields.FirstOrDefault(f => f.Class == cls && f.Field == field);

    public void Write(OfpWriter w)
    {
        var start = w.Position;
        w.U16(1); // OFPMT_OXM
        w.U16(0);
        foreach (var f in Fields)
        {
            f.Write(w);
        }

        w.PatchU16(start + 2, (ushort)(w.Position - start));
        w.PadTo8(start);
    }

    internal static OfpMatch Read(ref OfpReader r)
    {
        var at = r.AbsolutePosition;
        var type = r.U16("match type");
        var length = r.U16("match length");
        if (type != 1)
        {
            throw new OfpDecodeException(OfpDecodeError.BadMatch, at, $"match type {type} is not OFPMT_OXM (1)");
        }

        if (length < 4)
        {
            throw new OfpDecodeException(OfpDecodeError.BadMatch, at, $"match length {length} < 4");
        }

        var body = r.Sub(length - 4, "match fields");
        var fields = new List<OxmField>();
        while (body.Remaining > 0)
        {
            fields.Add(OxmField.Read(ref body));
        }

        var pad = ((length + 7) / 8 * 8) - length;
        r.Skip(pad, "match padding");
        return new OfpMatch(fields);
    }

    /// <summary>Order-independent equality: a match is a set of field constraints.</summary>
    public bool Equals(OfpMatch? other) =>
        other is not null && Fields.Count == other.Fields.Count && Fields.All(f => other.Fields.Contains(f));

    public override bool Equals(object? obj) => Equals(obj as OfpMatch);

    public override int GetHashCode()
    {
        var h = 0;
        foreach (var f in Fields)
        {
            h ^= f.GetHashCode();
        }

        return h;
    }

    public override string ToString() => Fields.Count == 0 ? "any" : string.Join(',', Fields);
}
