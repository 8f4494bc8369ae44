using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Net;
using System.Reflection;
using System.Text;

namespace MobiScud.Protocols.Gtp;

internal enum GtpError
{
    Truncated,
    BadLength,
    BadVersion,
    TooDeep,
}

/// <summary>Typed GTPv2-C / GTP-U decode error: reason and the bit offset (octet offset * 8).</summary>
internal sealed class GtpDecodeException(string protocol, GtpError error, int byteOffset, string message)
    : DecodeException(protocol, error.ToString(), byteOffset * 8L, message)
{
    public GtpError Error { get; } = error;
}

/// <summary>GTPv2-C message types the MC follows (TS 29.274 6.1).</summary>
internal static class GtpV2MessageType
{
    public const byte EchoRequest = 1;
    public const byte EchoResponse = 2;
    public const byte CreateSessionRequest = 32;
    public const byte CreateSessionResponse = 33;
    public const byte ModifyBearerRequest = 34;
    public const byte ModifyBearerResponse = 35;
    public const byte DeleteSessionRequest = 36;
    public const byte DeleteSessionResponse = 37;
    public const byte CreateBearerRequest = 95;
    public const byte CreateBearerResponse = 96;
    public const byte DeleteBearerRequest = 99;
    public const byte DeleteBearerResponse = 100;
    public const byte CreateIndirectDataForwardingTunnelRequest = 166;
    public const byte CreateIndirectDataForwardingTunnelResponse = 167;
    public const byte DeleteIndirectDataForwardingTunnelRequest = 168;
    public const byte DeleteIndirectDataForwardingTunnelResponse = 169;
    public const byte ReleaseAccessBearersRequest = 170;
    public const byte ReleaseAccessBearersResponse = 171;

    // The names are the constants' own, read once.
    private static readonly FrozenDictionary<byte, string> _names = typeof(GtpV2MessageType)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .ToFrozenDictionary(f => (byte)f.GetRawConstantValue()!, f => f.Name);

    public static string Name(byte type) => _names.TryGetValue(type, out var name) ? name : $"gtpv2-{type}";
}

/// <summary>GTPv2-C IE types (TS 29.274 8.1).</summary>
internal static class GtpV2IeType
{
    public const byte Imsi = 1;
    public const byte Cause = 2;
    public const byte Apn = 71;
    public const byte Ebi = 73;
    public const byte Msisdn = 76;
    public const byte Paa = 79;
    public const byte FTeid = 87;
    public const byte BearerContext = 93;
    public const byte PdnConnection = 109;
}

/// <summary>Fully qualified TEID (TS 29.274 8.22): interface type, TEID/GRE key, IPv4 and/or IPv6.</summary>
public sealed record FTeid(byte Instance, byte InterfaceType, uint Teid, IPAddress? Ipv4, IPAddress? Ipv6)
{
    public IPAddress? Address => Ipv4 ?? Ipv6;

    public override string ToString() => $"if{InterfaceType}/{Address}/0x{Teid:x8}";
}

/// <summary>PDN Address Allocation (TS 29.274 8.14): the UE's IPv4 and/or IPv6 prefix.</summary>
public sealed record Paa(byte PdnType, IPAddress? Ipv4, IPAddress? Ipv6Prefix, byte Ipv6PrefixLength);

/// <summary>One GTPv2-C IE; grouped IEs (Bearer Context, PDN Connection) carry their decoded children.</summary>
public sealed record GtpV2Ie(byte Type, byte Instance, ReadOnlyMemory<byte> Value, IReadOnlyList<GtpV2Ie> Children);

/// <summary>A Bearer Context grouped IE as the MC needs it: EBI, F-TEIDs and cause.</summary>
public sealed record GtpV2BearerContext(byte Instance, byte? Ebi, IReadOnlyList<FTeid> FTeids, byte? Cause);

/// <summary>A decoded GTPv2-C message (header, IEs and typed views), with a piggybacked message when present.</summary>
public sealed class GtpV2Message
{
    public byte MessageType { get; init; }

    public string MessageName => GtpV2MessageType.Name(MessageType);

    public uint? Teid { get; init; }

    public uint SequenceNumber { get; init; }

    public IReadOnlyList<GtpV2Ie> Ies { get; init; } = [];

    public GtpV2Message? Piggybacked { get; init; }

    public string? Imsi { get; init; }

    public byte? Cause { get; init; }

    public Paa? Paa { get; init; }

    /// <summary>Top-level F-TEIDs (e.g. the sender's S11 F-TEID, PGW S5/S8 F-TEID).</summary>
    public IReadOnlyList<FTeid> FTeids { get; init; } = [];

    public IReadOnlyList<GtpV2BearerContext> BearerContexts { get; init; } = [];

    public override string ToString() =>
        $"{MessageName} seq {SequenceNumber}" + (Imsi is null ? string.Empty : $" imsi {Imsi}") +
        (Paa?.Ipv4 is { } ip ? $" ue {ip}" : string.Empty) + $" fteids [{string.Join(", ", FTeids.Concat(BearerContexts.SelectMany(b => b.FTeids)))}]";
}

/// <summary>TS 29.274 GTPv2-C decoder. Every length is checked against the bytes present; errors are <see cref="GtpDecodeException"/>.</summary>
public static class GtpV2Decoder
{
    private const string Protocol = "GTPv2-C";
    private const int MaxGroupDepth = 4;

    public static GtpV2Message Decode(ReadOnlySpan<byte> data) => Decode(data, 0, 0);

    private static GtpV2Message Decode(ReadOnlySpan<byte> data, int baseOffset, int piggybackDepth)
    {
        if (data.Length < 8)
        {
            throw new GtpDecodeException(Protocol, GtpError.Truncated, baseOffset, $"header needs 8 octets, {data.Length} present");
        }

        var flags = data[0];
        if ((flags >> 5) != 2)
        {
            throw new GtpDecodeException(Protocol, GtpError.BadVersion, baseOffset, $"version {flags >> 5}");
        }

        var piggy = (flags & 0x10) != 0;
        var hasTeid = (flags & 0x08) != 0;
        var type = data[1];
        var length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        var total = 4 + length;
        var headerLength = hasTeid ? 12 : 8;
        if (total > data.Length || total < headerLength)
        {
            throw new GtpDecodeException(Protocol, GtpError.BadLength, baseOffset + 2, $"message length {length} with {data.Length} octets present");
        }

        uint? teid = hasTeid ? BinaryPrimitives.ReadUInt32BigEndian(data[4..]) : null;
        var seqAt = hasTeid ? 8 : 4;
        var seq = (uint)((data[seqAt] << 16) | (data[seqAt + 1] << 8) | data[seqAt + 2]);
        var ies = ReadIes(data[headerLength..total], baseOffset + headerLength, 0);

        GtpV2Message? next = null;
        if (piggy && total < data.Length)
        {
            if (piggybackDepth > 0)
            {
                throw new GtpDecodeException(Protocol, GtpError.TooDeep, baseOffset + total, "piggybacked message inside a piggybacked message");
            }

            next = Decode(data[total..], baseOffset + total, piggybackDepth + 1);
        }

        string? imsi = null;
        byte? cause = null;
        Paa? paa = null;
        var fteids = new List<FTeid>();
        var bearers = new List<GtpV2BearerContext>();
        foreach (var ie in ies)
        {
            var v = ie.Value.Span;
            switch (ie.Type)
            {
                case GtpV2IeType.Imsi:
                    imsi = Tbcd(v);
                    break;
                case GtpV2IeType.Cause when v.Length >= 1:
                    cause = v[0];
                    break;
                case GtpV2IeType.Paa:
                    paa = ReadPaa(ie);
                    break;
                case GtpV2IeType.FTeid:
                    fteids.Add(ReadFTeid(ie));
                    break;
                case GtpV2IeType.BearerContext:
                    bearers.Add(ReadBearerContext(ie));
                    break;
            }
        }

        return new GtpV2Message
        {
            MessageType = type,
            Teid = teid,
            SequenceNumber = seq,
            Ies = ies,
            Piggybacked = next,
            Imsi = imsi,
            Cause = cause,
            Paa = paa,
            FTeids = fteids,
            BearerContexts = bearers,
        };
    }

    private static List<GtpV2Ie> ReadIes(ReadOnlySpan<byte> data, int baseOffset, int depth)
    {
        // The IE list is bounded by the (checked) message length, so at most data.Length / 4 IEs exist.
        var list = new List<GtpV2Ie>(Math.Min(16, data.Length / 4));
        var pos = 0;
        var owner = data.ToArray();
        while (pos < data.Length)
        {
            if (data.Length - pos < 4)
            {
                throw new GtpDecodeException(Protocol, GtpError.Truncated, baseOffset + pos, "IE header needs 4 octets");
            }

            var type = data[pos];
            var len = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 1)..]);
            var instance = (byte)(data[pos + 3] & 0x0F);
            if (len > data.Length - pos - 4)
            {
                throw new GtpDecodeException(Protocol, GtpError.BadLength, baseOffset + pos + 1, $"IE {type} length {len} with {data.Length - pos - 4} octets left");
            }

            var value = owner.AsMemory(pos + 4, len);
            IReadOnlyList<GtpV2Ie> children = [];
            if (type is GtpV2IeType.BearerContext or GtpV2IeType.PdnConnection)
            {
                if (depth >= MaxGroupDepth)
                {
                    throw new GtpDecodeException(Protocol, GtpError.TooDeep, baseOffset + pos, "grouped IEs nested too deep");
                }

                children = ReadIes(value.Span, baseOffset + pos + 4, depth + 1);
            }

            list.Add(new GtpV2Ie(type, instance, value, children));
            pos += 4 + len;
        }

        return list;
    }

    private static GtpV2BearerContext ReadBearerContext(GtpV2Ie ie)
    {
        byte? ebi = null, cause = null;
        var fteids = new List<FTeid>();
        foreach (var c in ie.Children)
        {
            var v = c.Value.Span;
            switch (c.Type)
            {
                case GtpV2IeType.Ebi when v.Length >= 1:
                    ebi = (byte)(v[0] & 0x0F);
                    break;
                case GtpV2IeType.Cause when v.Length >= 1:
                    cause = v[0];
                    break;
                case GtpV2IeType.FTeid:
                    fteids.Add(ReadFTeid(c));
                    break;
            }
        }

        return new GtpV2BearerContext(ie.Instance, ebi, fteids, cause);
    }

    public static FTeid ReadFTeid(GtpV2Ie ie)
    {
        var v = ie.Value.Span;
        if (v.Length < 5)
        {
            throw new GtpDecodeException(Protocol, GtpError.BadLength, 0, $"F-TEID of {v.Length} octets");
        }

        var flags = v[0];
        var teid = BinaryPrimitives.ReadUInt32BigEndian(v[1..]);
        var pos = 5;
        IPAddress? v4 = null, v6 = null;
        if ((flags & 0x80) != 0)
        {
            if (v.Length < pos + 4)
            {
                throw new GtpDecodeException(Protocol, GtpError.BadLength, 0, "F-TEID IPv4 flag without an address");
            }

            v4 = new IPAddress(v.Slice(pos, 4));
            pos += 4;
        }

        if ((flags & 0x40) != 0)
        {
            if (v.Length < pos + 16)
            {
                throw new GtpDecodeException(Protocol, GtpError.BadLength, 0, "F-TEID IPv6 flag without an address");
            }

            v6 = new IPAddress(v.Slice(pos, 16));
        }

        return new FTeid(ie.Instance, (byte)(flags & 0x3F), teid, v4, v6);
    }

    private static Paa ReadPaa(GtpV2Ie ie)
    {
        var v = ie.Value.Span;
        if (v.Length < 1)
        {
            throw new GtpDecodeException(Protocol, GtpError.BadLength, 0, "empty PAA");
        }

        var type = (byte)(v[0] & 0x07);
        IPAddress? v4 = null, v6 = null;
        byte plen = 0;
        switch (type)
        {
            case 1 when v.Length >= 5:
                v4 = new IPAddress(v.Slice(1, 4));
                break;
            case 2 when v.Length >= 18:
                plen = v[1];
                v6 = new IPAddress(v.Slice(2, 16));
                break;
            case 3 when v.Length >= 22:
                plen = v[1];
                v6 = new IPAddress(v.Slice(2, 16));
                v4 = new IPAddress(v.Slice(18, 4));
                break;
            case 1 or 2 or 3:
                throw new GtpDecodeException(Protocol, GtpError.BadLength, 0, $"PAA of {v.Length} octets for PDN type {type}");
        }

        return new Paa(type, v4, v6, plen);
    }

    private static string Tbcd(ReadOnlySpan<byte> v)
    {
        var sb = new StringBuilder(v.Length * 2);
        foreach (var b in v)
        {
            if ((b & 0xF) != 0xF)
            {
                sb.Append((char)((b & 0xF) <= 9 ? '0' + (b & 0xF) : 'a' + (b & 0xF) - 10));
            }

            if ((b >> 4) != 0xF)
            {
                sb.Append((char)((b >> 4) <= 9 ? '0' + (b >> 4) : 'a' + (b >> 4) - 10));
            }
        }

        return sb.ToString();
    }
}
