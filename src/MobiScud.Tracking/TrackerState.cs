using System.Collections.Immutable;
using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking;

/// <summary>A UE-associated logical S1 connection: the eNB's SCTP association (address AND port) and its ENB-UE-S1AP-ID.</summary>
/// <remarks>The eNB-UE id is what the eNB allocates and keeps for the connection's life; MME-UE ids change at every
/// handover/service request and some senders echo stale ones, so they are only used to link procedures.</remarks>
public readonly record struct ConnectionKey(SctpAssociationKey Association, uint EnbUeS1apId)
{
    public override string ToString() => $"{Association}#{EnbUeS1apId}";
}

public enum TrackedUeStatus
{
    /// <summary>Seen (InitialUEMessage) but no context set up yet.</summary>
    Registering,
    Connected,
    Idle,
    Detached,
}

public sealed record TrackedBearer(byte ERabId, GtpEndpoint Uplink, GtpEndpoint? Downlink);

/// <summary>An S1 handover between HandoverRequired and HandoverNotify/Cancel.</summary>
public sealed record TrackedHandover(EnbId Source, EnbId Target)
{
    /// <summary>The MME-UE-S1AP-ID the MME gave the UE at the target (HandoverRequest).</summary>
    public uint? TargetMmeUeS1apId { get; init; }

    public SctpAssociationKey? TargetAssociation { get; init; }

    public ConnectionKey? TargetConnection { get; init; }

    public ImmutableDictionary<byte, GtpEndpoint> Uplinks { get; init; } = ImmutableDictionary<byte, GtpEndpoint>.Empty;

    public ImmutableArray<BearerDownlink> Downlinks { get; init; } = [];

    /// <summary>HandoverCommand was seen: the handover is being executed.</summary>
    public bool Commanded { get; init; }

    /// <summary>The Target-ID's kind of eNB id (macro, Home ...): the target association's identity is bound from it.</summary>
    public EnbIdKind TargetKind { get; init; }

    /// <summary>The target cell HandoverRequired named, when read.</summary>
    public EutranCgi? TargetCell { get; init; }
}

/// <summary>An X2 handover's PathSwitchRequest waiting for its acknowledgement.</summary>
public sealed record PendingPathSwitch(EnbId Target, ConnectionKey Connection, ImmutableArray<BearerDownlink> Downlinks)
{
    /// <summary>The cell the UE was in before the path switch.</summary>
    public EutranCgi? SourceCell { get; init; }
}

/// <summary>Everything the tracker knows about one UE, under a tracker key that never changes.</summary>
/// <remarks>Change it only through the tracker's UeIndex, which keeps every lookup in line with the records.</remarks>
public sealed record TrackedUe(UeKey Key)
{
    /// <summary>The id used in events, fixed when the UE is first announced (IMSI-based when the IMSI was known then).</summary>
    public UeId? Id { get; init; }

    public string? Imsi { get; init; }

    public IPAddress? Address { get; init; }

    public uint? MTmsi { get; init; }

    /// <summary>The UE's NAS Security Mode Command selected EEA0: its "ciphered" NAS is readable.</summary>
    public bool NullCiphering { get; init; }

    public EnbId? Enb { get; init; }

    public ulong? CellId { get; init; }

    /// <summary>The serving cell with its PLMN (EUTRAN-CGI), kept with <see cref="CellId"/>.</summary>
    public EutranCgi? Cgi { get; init; }

    /// <summary>5G: the serving NR cell with its PLMN (NR-CGI), kept with <see cref="CellId"/>; the one before it; and the
    /// target cell of the N2 handover last prepared (events carry them as NCGIs).</summary>
    public Protocols.Ngap.NrCgi? Ncgi { get; init; }

    public Protocols.Ngap.NrCgi? PreviousNcgi { get; init; }

    public Protocols.Ngap.NrCgi? NrTargetCell { get; init; }

    /// <summary>QCI per E-RAB id from the setup requests (E-RAB level QoS parameters).</summary>
    public ImmutableDictionary<byte, byte> Qcis { get; init; } = ImmutableDictionary<byte, byte>.Empty;

    public ConnectionKey? Serving { get; init; }

    /// <summary>Every S1 connection that names this UE: the serving one, a handover's or path switch's new one, and an
    /// old one whose release is still to come.</summary>
    public ImmutableHashSet<ConnectionKey> Connections { get; init; } = ImmutableHashSet<ConnectionKey>.Empty;

    public uint? MmeUeS1apId { get; init; }

    public TrackedUeStatus Status { get; init; }

    /// <summary>UeAttached was emitted for the current registration.</summary>
    public bool Announced { get; init; }

    /// <summary>The context is set up but the UE's address is not known yet: UeAttached waits for it.</summary>
    public bool AwaitingAddress { get; init; }

    public ImmutableSortedDictionary<byte, TrackedBearer> Bearers { get; init; } = ImmutableSortedDictionary<byte, TrackedBearer>.Empty;

    /// <summary>UL tunnels from a setup request, waiting for the eNB's response with the DL ends.</summary>
    public ImmutableDictionary<byte, GtpEndpoint> PendingUplinks { get; init; } = ImmutableDictionary<byte, GtpEndpoint>.Empty;

    public ImmutableDictionary<byte, GtpEndpoint> PendingModifications { get; init; } = ImmutableDictionary<byte, GtpEndpoint>.Empty;

    /// <summary>E-RABs an E-RAB Release Command named, waiting for the eNB's response.</summary>
    public ImmutableSortedSet<byte> PendingReleases { get; init; } = ImmutableSortedSet<byte>.Empty;

    public TrackedHandover? Handover { get; init; }

    public PendingPathSwitch? PathSwitch { get; init; }

    /// <summary>The latest input time at which the tracker changed this record.</summary>
    public TimeSpan LastSeen { get; init; }

    public IReadOnlyList<Bearer> ActiveBearers()
    {
        var active = new List<Bearer>(Bearers.Count);
        foreach (var (_, b) in Bearers)
        {
            if (b.Downlink is { } downlink)
            {
                active.Add(new Bearer(b.ERabId, b.Uplink, downlink) { Qci = Qci(b.ERabId) });
            }
        }

        return active;
    }

    public byte? Qci(byte erabId) => Qcis.TryGetValue(erabId, out var q) ? q : null;

    /// <summary>The QCIs a setup request's items carry, added to what is known.</summary>
    public ImmutableDictionary<byte, byte> WithQcis(IReadOnlyList<ERabSignal> items)
    {
        var qcis = Qcis;
        foreach (var e in items)
        {
            if (e.Qci is { } q)
            {
                qcis = qcis.SetItem(e.ERabId, q);
            }
        }

        return qcis;
    }
}

/// <summary>What S11 told us about a session, keyed by the S-GW's S1-U tunnel end.</summary>
public sealed record SessionHint(string? Imsi, IPAddress? PdnAddress);

/// <summary>The tracker's whole state: immutable, so every step can be kept, compared and replayed.</summary>
public sealed record TrackerState
{
    public static TrackerState Empty { get; } = new();

    /// <summary>eNB identity per SCTP association: S1 Setup's Global-eNB-ID, else a HandoverRequest's Target-ID, else
    /// its cells, else derived from the association (UeTracker.Enb.cs).</summary>
    public ImmutableDictionary<SctpAssociationKey, EnbIdentity> Enbs { get; init; } = ImmutableDictionary<SctpAssociationKey, EnbIdentity>.Empty;

    /// <summary>eNB ids the network named (S1 Setup, Target-IDs), true for a Home eNB id; bounded (see UeTracker.Enb.cs).</summary>
    public ImmutableDictionary<EnbId, bool> NamedEnbs { get; init; } = ImmutableDictionary<EnbId, bool>.Empty;

    /// <summary>How many of <see cref="NamedEnbs"/> are not Home eNB ids (kept so a cell reading need not count them).</summary>
    public int NamedMacroEnbs { get; init; }

    /// <summary>eNB ids the operator configured (the sites map): of a cell's two readings, one named here is chosen.</summary>
    public ImmutableHashSet<EnbId> ConfiguredEnbs { get; init; } = ImmutableHashSet<EnbId>.Empty;

    /// <summary>The UEs and every way to find one (IMSI, M-TMSI, address, connections, uplink tunnels ...).</summary>
    public UeIndex Index { get; init; } = UeIndex.Empty;

    public ImmutableDictionary<UeKey, TrackedUe> Ues => Index.Ues;

    public ImmutableDictionary<ConnectionKey, UeKey> Connections => Index.Connections;

    /// <summary>What S11 told us, by S-GW S1-U tunnel end (bounded: see <see cref="UeTracker"/>).</summary>
    public ImmutableDictionary<GtpEndpoint, SessionHint> Sessions { get; init; } = ImmutableDictionary<GtpEndpoint, SessionHint>.Empty;

    /// <summary>Create Session Requests waiting for their response: sequence number -> IMSI. Keyed by the sequence only,
    /// since captures on one host show S11 with odd address pairs (open5gs_testepc_2019 answers from another address).</summary>
    public ImmutableDictionary<uint, string?> PendingCreateSessions { get; init; } = ImmutableDictionary<uint, string?>.Empty;

    public long NextKey { get; init; } = 1;
}

/// <summary>What a tracker note is about.</summary>
public enum TrackerNoteKind
{
    /// <summary>A message the tracker could not place (no UE, connection or procedure it belongs to): ignored.</summary>
    Unplaced,

    /// <summary>Something learnt on the way: an address from GTP-U, two records found to be one UE.</summary>
    Learnt,

    /// <summary>A procedure failed or was refused (setup failure, handover cancelled or refused).</summary>
    Failed,

    /// <summary>State inferred from part of a procedure whose other part was not seen (a late tap, a lost frame).</summary>
    Inferred,

    /// <summary>A connection claimed by another UE (an eNB reused its id before its release was seen).</summary>
    Superseded,

    /// <summary>The tracker failed on this message (a bug): the message is ignored and the state is as before it.</summary>
    Fault,

    /// <summary>An eNB's identity was learnt or changed (cells read as macro or home, a Target-ID or Global-eNB-ID).</summary>
    EnbIdentity,
}

/// <summary>A typed note on one tracker step, for the replay view and the logs.</summary>
public sealed record TrackerNote(TrackerNoteKind Kind, string Text)
{
    public override string ToString() => Text;
}

/// <summary>One tracker step's result: the new state, the MC events, and notes on what could not be used (for the replay view).</summary>
public sealed record TrackerStep(TrackerState State, IReadOnlyList<UeEvent> Events, IReadOnlyList<TrackerNote> Notes);
