using System.Globalization;
using MobiScud.Protocols.Link;

namespace MobiScud.Capture.Decode;

/// <summary>Which outcome of a procedure a message is (the PDU's CHOICE).</summary>
public enum MessageKind : byte
{
    Initiating,
    Successful,
    Unsuccessful,
}

/// <summary>
/// One signalling message as `mobiscud decode` prints it: where it was seen and the fields the MC reads from it,
/// the per-message view a network engineer checks against `tshark -T fields`.
/// </summary>
public sealed record MessageRow
{
    public required long Frame { get; init; }

    /// <summary>Capture time, nanoseconds since the Unix epoch.</summary>
    public required long TimestampNanos { get; init; }

    /// <summary>`s1ap` (NGAP rows use `ngap`).</summary>
    public required string Protocol { get; init; }

    public required NetEndpoint Source { get; init; }

    public required NetEndpoint Destination { get; init; }

    public required int ProcedureCode { get; init; }

    public required MessageKind MessageType { get; init; }

    /// <summary>The message's name (e.g. HandoverRequired, PathSwitchRequestAcknowledge).</summary>
    public required string Message { get; init; }

    public uint? MmeUeS1apId { get; init; }

    public uint? EnbUeS1apId { get; init; }

    /// <summary>Other MME-UE-S1AP-IDs the message names: SourceMME-UE-S1AP-ID, MME-UE-S1AP-ID-2, Reset's list.</summary>
    public IReadOnlyList<uint> OtherMmeUeS1apIds { get; init; } = [];

    /// <summary>Other eNB-UE-S1AP-IDs the message names (Reset's list).</summary>
    public IReadOnlyList<uint> OtherEnbUeS1apIds { get; init; } = [];

    public IReadOnlyList<int> ERabIds { get; init; } = [];

    /// <summary>Every GTP TEID in the message, in IE order (tunnels, then data-forwarding tunnels of each item).</summary>
    public IReadOnlyList<uint> Teids { get; init; } = [];

    /// <summary>The transport addresses beside <see cref="Teids"/>, as IP strings.</summary>
    public IReadOnlyList<string> TransportAddresses { get; init; } = [];

    /// <summary>Global eNB id (S1Setup, ENBConfigurationUpdate): `PLMN/Kind:id`.</summary>
    public string? GlobalEnbId { get; init; }

    /// <summary>E-UTRAN CGI: `PLMN/cell` with the 28-bit cell identity in hex.</summary>
    public string? Ecgi { get; init; }

    /// <summary>The target eNB of a handover (Target-ID): `PLMN/Kind:id`.</summary>
    public string? TargetId { get; init; }

    public string? Cause { get; init; }

    /// <summary>NAS messages carried (top-level NAS-PDU, then those inside E-RAB items), by name; `ciphered` when unreadable.</summary>
    public IReadOnlyList<string> Nas { get; init; } = [];

    /// <summary>The NAS message type octets of <see cref="Nas"/> (EMM and ESM, hex), as tshark's nas_msg_emm/esm_type.</summary>
    public IReadOnlyList<string> NasTypes { get; init; } = [];

    public string? Imsi { get; init; }

    public string? Guti { get; init; }

    /// <summary>S-TMSI (S1AP IE, or the M-TMSI of a NAS identity), MME code and M-TMSI in hex.</summary>
    public string? STmsi { get; init; }

    /// <summary>The UE's IP from a NAS PDN address (Activate Default EPS Bearer Context Request).</summary>
    public string? UeIp { get; init; }

    // NGAP rows (TS 38.413): the UE NGAP ids, PDU sessions, RAN node and NR cell take the place of their S1AP
    // counterparts; TEIDs, transport addresses, Target-ID, cause and the NAS fields are shared (5G NAS by name and
    // 5GMM/5GSM type octet, 5G-GUTI, 5G-S-TMSI).

    /// <summary>AMF-UE-NGAP-ID (40 bits), or the AMF id of UEContextReleaseCommand's UE-NGAP-IDs.</summary>
    public ulong? AmfUeNgapId { get; init; }

    public uint? RanUeNgapId { get; init; }

    /// <summary>Other AMF-UE-NGAP-IDs the message names: SourceAMF-UE-NGAP-ID, NGReset's list.</summary>
    public IReadOnlyList<ulong> OtherAmfUeNgapIds { get; init; } = [];

    /// <summary>Other RAN-UE-NGAP-IDs the message names (NGReset's list).</summary>
    public IReadOnlyList<uint> OtherRanUeNgapIds { get; init; } = [];

    /// <summary>PDU session ids of every PDU session list item, in IE order.</summary>
    public IReadOnlyList<int> PduSessionIds { get; init; } = [];

    /// <summary>GlobalRANNodeID (NGSetup): `PLMN/Kind:id(bits)`, a gNB id having 22..32 bits.</summary>
    public string? GlobalRanNodeId { get; init; }

    /// <summary>NR CGI of the user location: `PLMN/nrcell` with the 36-bit NR cell identity in hex.</summary>
    public string? NrCgi { get; init; }

    public string Time => FormatTime(TimestampNanos);

    public static string FormatTime(long nanos)
    {
        var seconds = Math.DivRem(nanos, 1_000_000_000L, out var rest);
        if (rest < 0)
        {
            seconds--;
            rest += 1_000_000_000L;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{seconds}.{rest:D9}");
    }
}
