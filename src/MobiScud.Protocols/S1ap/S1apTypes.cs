using System.Net;
using System.Runtime.CompilerServices;

namespace MobiScud.Protocols.S1ap;

[InlineArray(20)]
internal struct Bytes20
{
    private byte _element0;
}

/// <summary>
/// TransportLayerAddress ::= BIT STRING (SIZE(1..160, ...)): 32 bits IPv4, 128 bits IPv6, 160 bits both.
/// A value type (no allocation on decode); the IPAddress views allocate only when asked for.
/// </summary>
public readonly struct TransportLayerAddress : IEquatable<TransportLayerAddress>
{
    private readonly Bytes20 _bytes;

    public TransportLayerAddress(ReadOnlySpan<byte> bits, int bitLength)
    {
        if (bitLength < 0 || bitLength > 160 || bits.Length < (bitLength + 7) / 8)
        {
            throw new ArgumentOutOfRangeException(nameof(bitLength), $"transport layer address of {bitLength} bits");
        }

        BitLength = bitLength;
        Span<byte> dst = _bytes;
        var n = (bitLength + 7) / 8;
        bits[..n].CopyTo(dst);
        if ((bitLength & 7) != 0)
        {
            dst[n - 1] &= (byte)(0xFF << (8 - (bitLength & 7)));
        }
    }

    public static TransportLayerAddress FromIp(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return new TransportLayerAddress(b, b.Length * 8);
    }

    public static TransportLayerAddress FromIps(IPAddress v4, IPAddress v6)
    {
        Span<byte> b = stackalloc byte[20];
        v4.GetAddressBytes().CopyTo(b);
        v6.GetAddressBytes().CopyTo(b[4..]);
        return new TransportLayerAddress(b, 160);
    }

    public int BitLength { get; }

    public bool IsEmpty => BitLength == 0;

    public bool HasIpv4 => BitLength == 32 || BitLength == 160;

    public IPAddress? Ipv4 => HasIpv4 ? new IPAddress(((ReadOnlySpan<byte>)_bytes)[..4]) : null;

    public IPAddress? Ipv6 => BitLength switch
    {
        128 => new IPAddress(((ReadOnlySpan<byte>)_bytes)[..16]),
        160 => new IPAddress(((ReadOnlySpan<byte>)_bytes).Slice(4, 16)),
        _ => null,
    };

    /// <summary>The IPv4 address if present, else the IPv6 one, else null (a length the spec does not define).</summary>
    public IPAddress? PreferredIp => Ipv4 ?? Ipv6;

    public byte[] ToArray() => ((ReadOnlySpan<byte>)_bytes)[..((BitLength + 7) / 8)].ToArray();

    public void CopyTo(Span<byte> destination) => ((ReadOnlySpan<byte>)_bytes)[..((BitLength + 7) / 8)].CopyTo(destination);

    public bool Equals(TransportLayerAddress other) =>
        BitLength == other.BitLength && ((ReadOnlySpan<byte>)_bytes).SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => obj is TransportLayerAddress o && Equals(o);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(BitLength);
        h.AddBytes(_bytes);
        return h.ToHashCode();
    }

    public static bool operator ==(TransportLayerAddress a, TransportLayerAddress b) => a.Equals(b);

    public static bool operator !=(TransportLayerAddress a, TransportLayerAddress b) => !a.Equals(b);

    public override string ToString() => BitLength switch
    {
        32 or 128 => PreferredIp!.ToString(),
        160 => $"{Ipv4};{Ipv6}",
        0 => "(none)",
        _ => $"bits:{BitLength}:{Convert.ToHexString(ToArray())}",
    };
}

/// <summary>PLMNidentity (TBCD, 3 octets) kept as raw octets.</summary>
public readonly record struct PlmnIdentity(byte Octet0, byte Octet1, byte Octet2)
{
    public static PlmnIdentity From(ReadOnlySpan<byte> b) => new(b[0], b[1], b[2]);

    /// <summary>Builds the TBCD octets from a 3-digit MCC and a 2- or 3-digit MNC.</summary>
    public static PlmnIdentity FromMccMnc(string mcc, string mnc)
    {
        int D(string s, int i) => s[i] - '0';
        var mnc3 = mnc.Length == 3 ? D(mnc, 2) : 0xF;
        return new PlmnIdentity(
            (byte)((D(mcc, 1) << 4) | D(mcc, 0)),
            (byte)((mnc3 << 4) | D(mcc, 2)),
            (byte)((D(mnc, 1) << 4) | D(mnc, 0)));
    }

    public string Mcc => $"{Octet0 & 0xF}{Octet0 >> 4}{Octet1 & 0xF}";

    public string Mnc => (Octet1 >> 4) == 0xF ? $"{Octet2 & 0xF}{Octet2 >> 4}" : $"{Octet2 & 0xF}{Octet2 >> 4}{Octet1 >> 4}";

    public override string ToString() => $"{Mcc}-{Mnc}";
}

/// <summary>TAI: PLMN + tracking area code.</summary>
public readonly record struct Tai(PlmnIdentity Plmn, ushort Tac)
{
    public override string ToString() => $"{Plmn}/tac{Tac}";
}

/// <summary>EUTRAN-CGI: PLMN + 28-bit cell identity (eNB id in the top 20 bits for a macro eNB).</summary>
public readonly record struct EutranCgi(PlmnIdentity Plmn, uint CellId)
{
    public override string ToString() => $"{Plmn}/cell{CellId:x7}";
}

public enum EnbIdKind : byte
{
    Macro = 0,
    Home = 1,
    ShortMacro = 2,
    LongMacro = 3,
}

/// <summary>Global-ENB-ID: PLMN + eNB id (macro 20 bits, home 28, short macro 18, long macro 21).</summary>
public readonly record struct GlobalEnbId(PlmnIdentity Plmn, EnbIdKind Kind, uint EnbId)
{
    public override string ToString() => $"{Plmn}/{Kind}:{EnbId}";
}

/// <summary>TargeteNB-ID inside Target-ID: the target eNB and its selected TAI.</summary>
public readonly record struct TargetEnbId(GlobalEnbId GlobalEnbId, Tai SelectedTai);

/// <summary>S-TMSI: MME code + M-TMSI.</summary>
public readonly record struct STmsi(byte MmeCode, uint MTmsi)
{
    public override string ToString() => $"{MmeCode:x2}-{MTmsi:x8}";
}

public enum CauseGroup : byte
{
    RadioNetwork = 0,
    Transport = 1,
    Nas = 2,
    Protocol = 3,
    Misc = 4,
}

/// <summary>Cause: group and value (extension values continue after the root count).</summary>
public readonly record struct S1apCause(CauseGroup Group, int Value)
{
    public override string ToString() => $"{Group}:{Value}";
}

/// <summary>HandoverType ::= ENUMERATED { intralte, ltetoutran, ltetogeran, utrantolte, gerantolte, ..., eps-to-5gs, fivegs-to-eps }.</summary>
public enum HandoverType : byte
{
    IntraLte = 0,
    LteToUtran = 1,
    LteToGeran = 2,
    UtranToLte = 3,
    GeranToLte = 4,
    EpsTo5gs = 5,
    FivegsToEps = 6,
}

/// <summary>UE-S1AP-IDs (UEContextReleaseCommand): the pair, or the MME id only.</summary>
public readonly record struct UeS1apIds(uint MmeUeS1apId, uint? EnbUeS1apId);

/// <summary>E-RAB level QoS as far as the MC cares (QCI and ARP; GBR values are skipped).</summary>
public readonly record struct ERabQos(byte Qci, byte PriorityLevel, bool PreemptionCapability, bool PreemptionVulnerability);

/// <summary>A GTP-U tunnel end point: transport address + TEID.</summary>
public readonly record struct GtpTunnel(TransportLayerAddress TransportLayerAddress, uint Teid)
{
    public override string ToString() => $"{TransportLayerAddress}/0x{Teid:x8}";
}

/// <summary>
/// One item of any E-RAB list (setup, switched, admitted, data forwarding, modified, released, failed ...).
/// <see cref="ItemIeId"/> tells which item type (S1apIeId.ERab*Item*) and thus which fields are meaningful.
/// </summary>
public struct ERabItem
{
    /// <summary>The list IE that carried this item (e.g. S1apIeId.ERabToBeSwitchedDlList).</summary>
    public ushort ListIeId;

    /// <summary>The item IE id (e.g. S1apIeId.ERabToBeSwitchedDlItem).</summary>
    public ushort ItemIeId;

    public byte ERabId;

    /// <summary>The item's main tunnel (transportLayerAddress + gTP-TEID), when the item type has one.</summary>
    public GtpTunnel? Tunnel;

    /// <summary>dL-transportLayerAddress/dL-gTP-TEID (data forwarding, admitted items), when present.</summary>
    public GtpTunnel? DlForwarding;

    /// <summary>uL-TransportLayerAddress/uL-GTP-TEID (data forwarding, admitted items), when present.</summary>
    public GtpTunnel? UlForwarding;

    public ERabQos? Qos;

    public S1apCause? Cause;

    /// <summary>nAS-PDU inside the item as (offset, length) into the decoded buffer; length -1 when absent.</summary>
    public int NasPduOffset;

    public int NasPduLength;

    public readonly bool HasNasPdu => NasPduLength >= 0;

    public override readonly string ToString() =>
        $"e-RAB {ERabId} (item {ItemIeId})" + (Tunnel is { } t ? $" {t}" : string.Empty) +
        (DlForwarding is { } d ? $" dlfwd {d}" : string.Empty) + (UlForwarding is { } u ? $" ulfwd {u}" : string.Empty) +
        (Cause is { } c ? $" cause {c}" : string.Empty);
}

/// <summary>One UE-associated logical S1 connection named by Reset / ResetAcknowledge (partOfS1-Interface).</summary>
public readonly record struct S1ConnectionId(uint? MmeUeS1apId, uint? EnbUeS1apId);
