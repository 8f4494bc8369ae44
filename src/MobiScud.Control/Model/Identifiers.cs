using System.Globalization;
using System.Net;

namespace MobiScud.Control.Model;

/// <summary>A user's stable identity across S1AP id changes (IMSI when known, else a tracker-assigned key).</summary>
public readonly record struct UeId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>The radio access technology of a RAN node: an LTE eNB (S1AP, and ng-eNBs on NGAP) or an NR gNB (NGAP).</summary>
public enum Rat : byte
{
    Eutra = 0,
    Nr = 1,
}

/// <summary>
/// A RAN node: a Global eNB id as carried in S1AP (macro 20-bit or home 28-bit), or with <see cref="Rat.Nr"/> a gNB id
/// from NGAP (22..32 bits); the PLMN is folded into the key. eNB and gNB ids are separate value spaces: an eNB and a
/// gNB with the same number are two nodes.
/// </summary>
public readonly record struct EnbId(uint Value, Rat Rat = Rat.Eutra) : ISpanFormattable
{
    public bool IsGnb => Rat == Rat.Nr;

    public override string ToString() => Rat == Rat.Nr ? $"gnb-{Value}" : $"enb-{Value}";

    /// <summary>The same text as <see cref="ToString()"/> (format and provider do not change it).</summary>
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <summary>
    /// Writes <see cref="ToString()"/>'s text in place: an id inside an interpolated string (a handover's notification,
    /// one per handover) then costs no string of its own.
    /// </summary>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        Rat == Rat.Nr
            ? destination.TryWrite(CultureInfo.InvariantCulture, $"gnb-{Value}", out charsWritten)
            : destination.TryWrite(CultureInfo.InvariantCulture, $"enb-{Value}", out charsWritten);
}

/// <summary>An edge cloud site (or the core data centre).</summary>
public readonly record struct SiteId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>A user's personal VM. One per user, for the user's lifetime.</summary>
public readonly record struct PvmId(string Value)
{
    public static PvmId For(UeId ue) => new($"pvm-{ue.Value}");

    public override string ToString() => Value;
}

/// <summary>A live migration in flight; unique per MC instance (the UE plus a per-UE sequence).</summary>
public readonly record struct MigrationId(UeId Ue, int Sequence)
{
    public override string ToString() => $"{Ue.Value}#{Sequence}";
}

/// <summary>One end of a GTP-U tunnel: a transport address and the TEID that end expects to receive.</summary>
public sealed record GtpEndpoint(IPAddress Address, uint Teid)
{
    public override string ToString() => $"{Address}/0x{Teid:x8}";
}

/// <summary>
/// An E-RAB as the MC needs it: uplink packets go to the S-GW endpoint, downlink packets to the eNB endpoint.
/// </summary>
public sealed record Bearer(byte ERabId, GtpEndpoint Uplink, GtpEndpoint Downlink)
{
    /// <summary>The E-RAB's QoS Class Identifier from its setup (TS 23.401), when the signalling carried it; the MC does not use it.</summary>
    public byte? Qci { get; init; }

    /// <summary>
    /// Equal by id and tunnels only: the QCI is information carried along (MEC 012), not part of what the MC steers, and
    /// a bearer read back from a switch's flows has none.
    /// </summary>
    public bool Equals(Bearer? other) =>
        other is not null && ERabId == other.ERabId && Uplink.Equals(other.Uplink) && Downlink.Equals(other.Downlink);

    public override int GetHashCode() => HashCode.Combine(ERabId, Uplink, Downlink);
}

/// <summary>A bearer's new downlink endpoint after a handover, path switch or modification.</summary>
public sealed record BearerDownlink(byte ERabId, GtpEndpoint Downlink);
