using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking;

/// <summary>What the UE tracker consumes: decoded signalling with its time and transport endpoints.</summary>
public abstract record TrackerInput(TimeSpan At, NetEndpoint Source, NetEndpoint Destination);

/// <summary>What a NAS message told us (only what was readable: ciphered NAS gives <see cref="NasKind.Ciphered"/>).</summary>
public enum NasKind
{
    None,
    AttachRequest,
    AttachAccept,
    AttachReject,
    IdentityResponse,
    ServiceRequest,
    DetachRequest,
    TrackingAreaUpdateRequest,
    TrackingAreaUpdateAccept,
    SecurityModeCommand,
    Ciphered,
    Other,
}

/// <summary>Facts from the NAS-PDU(s) of one S1AP message.</summary>
public sealed record NasFacts(NasKind Kind, string? Imsi = null, uint? MTmsi = null, IPAddress? PdnAddress = null, byte? SelectedCipheringAlgorithm = null)
{
    /// <summary>
    /// The facts of several NAS-PDUs of one message (the NAS-PDU IE, then those of its E-RAB or PDU session items), read
    /// by <paramref name="read"/>: the first specific kind, and each identity from the first PDU that has it.
    /// </summary>
    public static NasFacts? ReadAll(IReadOnlyList<byte[]> pdus, Func<byte[], NasFacts?> read)
    {
        NasFacts? merged = null;
        foreach (var pdu in pdus)
        {
            if (read(pdu) is not { } f)
            {
                continue;
            }

            merged = merged is null
                ? f
                : merged with
                {
                    Kind = merged.Kind is NasKind.Other or NasKind.None ? f.Kind : merged.Kind,
                    Imsi = merged.Imsi ?? f.Imsi,
                    MTmsi = merged.MTmsi ?? f.MTmsi,
                    PdnAddress = merged.PdnAddress ?? f.PdnAddress,
                    SelectedCipheringAlgorithm = merged.SelectedCipheringAlgorithm ?? f.SelectedCipheringAlgorithm,
                };
        }

        return merged;
    }
}

/// <summary>One E-RAB item of the message's relevant list: its id and the tunnel it names (UL or DL, by message), or failed.</summary>
public sealed record ERabSignal(byte ERabId, GtpEndpoint? Tunnel, bool Failed = false)
{
    /// <summary>The QCI of the item's E-RAB level QoS parameters (setup and handover requests carry them).</summary>
    public byte? Qci { get; init; }
}

/// <summary>One S1AP message reduced to what the tracker needs. Build it with <see cref="S1apSignalFactory"/> from a decoded PDU.</summary>
public sealed record S1apSignal(TimeSpan At, NetEndpoint Source, NetEndpoint Destination, S1apProcedureCode Procedure, S1apPduType PduType)
    : TrackerInput(At, Source, Destination)
{
    public uint? MmeUeS1apId { get; init; }

    public uint? EnbUeS1apId { get; init; }

    public uint? SourceMmeUeS1apId { get; init; }

    /// <summary>The message's E-RAB items that matter (setup/admitted/switched/modified/released), failed ones flagged.</summary>
    public IReadOnlyList<ERabSignal> ERabs { get; init; } = [];

    public GlobalEnbId? GlobalEnbId { get; init; }

    public GlobalEnbId? TargetEnbId { get; init; }

    /// <summary>Whether <see cref="TargetEnbId"/> names an eNB or (from NGAP's Target-ID) a gNB.</summary>
    public Rat TargetRat { get; init; }

    public EutranCgi? Cgi { get; init; }

    /// <summary>HandoverRequired's target cell (Source eNB to Target eNB Transparent Container's Target Cell ID).</summary>
    public EutranCgi? TargetCell { get; init; }

    public STmsi? STmsi { get; init; }

    public S1apCause? Cause { get; init; }

    /// <summary>The message's NAS-PDUs (the NAS-PDU IE, then those inside E-RAB items), decoded by the tracker, which knows
    /// whether the UE's NAS security uses null ciphering (EEA0).</summary>
    public IReadOnlyList<byte[]> NasPdus { get; init; } = [];

    /// <summary>Pre-read NAS facts (a feeder without NAS bytes, e.g. a simulator); used when <see cref="NasPdus"/> is empty.</summary>
    public NasFacts? Nas { get; init; }

    /// <summary>Reset: the whole S1 interface (else only <see cref="ResetConnections"/>).</summary>
    public bool ResetAll { get; init; }

    public IReadOnlyList<S1ConnectionId> ResetConnections { get; init; } = [];

    public string MessageName => S1apNames.MessageName(Procedure, PduType);
}

/// <summary>A GTPv2-C message on S11/S5/S8 (Create Session mainly): the IMSI, the PDN address and the S-GW S1-U F-TEIDs.</summary>
public sealed record GtpcSignal(TimeSpan At, NetEndpoint Source, NetEndpoint Destination, byte MessageType, uint SequenceNumber)
    : TrackerInput(At, Source, Destination)
{
    public const byte CreateSessionRequest = 32;
    public const byte CreateSessionResponse = 33;

    public string? Imsi { get; init; }

    public IPAddress? PdnAddress { get; init; }

    /// <summary>S1-U S-GW F-TEIDs (interface type 1) in the bearer contexts: the UL end the eNB will be given.</summary>
    public IReadOnlyList<GtpEndpoint> S1uSgwTunnels { get; init; } = [];
}

/// <summary>A GTP-U G-PDU: its TEID and the inner packet's source address (a UE's address on an uplink packet).</summary>
public sealed record GtpuSignal(TimeSpan At, NetEndpoint Source, NetEndpoint Destination, uint Teid, IPAddress? InnerSource)
    : TrackerInput(At, Source, Destination);
