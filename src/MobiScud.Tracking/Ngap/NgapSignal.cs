using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Ngap;

namespace MobiScud.Tracking;

/// <summary>One PDU session item of an NGAP message's relevant list: its id and the tunnel that list names (the UPF's
/// UL NG-U end in requests, the gNB's DL QoS-flow-per-TNL end in responses), or failed.</summary>
public sealed record PduSessionSignal(byte PduSessionId, GtpEndpoint? Tunnel, bool Failed = false)
{
    /// <summary>The other end, when the list names both (PDUSessionResourceModifyResponse: the new UL end).</summary>
    public GtpEndpoint? Uplink { get; init; }

    /// <summary>The 5QI of the session's first QoS flow, from a setup request's transfer (TS 23.501 5.7.2.1), when read.</summary>
    public byte? FiveQi { get; init; }
}

/// <summary>One NGAP message reduced to what the tracker needs. Build it with <see cref="NgapSignalFactory"/>.</summary>
public sealed record NgapSignal(TimeSpan At, NetEndpoint Source, NetEndpoint Destination, NgapProcedureCode Procedure, NgapPduType PduType)
    : TrackerInput(At, Source, Destination)
{
    /// <summary>AMF-UE-NGAP-ID (40 bits).</summary>
    public ulong? AmfUeNgapId { get; init; }

    public uint? RanUeNgapId { get; init; }

    /// <summary>SourceAMF-UE-NGAP-ID of a PathSwitchRequest.</summary>
    public ulong? SourceAmfUeNgapId { get; init; }

    /// <summary>The message's PDU session items that matter (setup/admitted/switched/modified/released), failed ones flagged.</summary>
    public IReadOnlyList<PduSessionSignal> Sessions { get; init; } = [];

    /// <summary>GlobalRANNodeID of an NGSetupRequest.</summary>
    public GlobalRanNodeId? RanNode { get; init; }

    /// <summary>Target-ID of a HandoverRequired (an NG-RAN node).</summary>
    public GlobalRanNodeId? TargetRanNode { get; init; }

    /// <summary>The NR cell identity (36 bits) of the user location information.</summary>
    public ulong? NrCellId { get; init; }

    /// <summary>The user location's NR-CGI (PLMN and cell), as <see cref="NrCellId"/>.</summary>
    public NrCgi? NrCgi { get; init; }

    /// <summary>A HandoverRequired's target NR cell (from its source-to-target transparent container).</summary>
    public NrCgi? NrTargetCell { get; init; }

    public FiveGSTmsi? FiveGSTmsi { get; init; }

    public NgapCause? Cause { get; init; }

    /// <summary>The message's NAS-PDUs (the NAS-PDU IE, then those inside PDU session items), decoded by the tracker,
    /// which knows whether the UE's 5G NAS security uses null ciphering (5G-EA0).</summary>
    public IReadOnlyList<byte[]> NasPdus { get; init; } = [];

    /// <summary>NGReset: the whole NG interface (else only <see cref="ResetConnections"/>).</summary>
    public bool ResetAll { get; init; }

    public IReadOnlyList<NgConnectionId> ResetConnections { get; init; } = [];

    public string MessageName => NgapNames.MessageName(Procedure, PduType);
}
