using MobiScud.Control.Model;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking;

/// <summary>
/// Turns decoded S1AP (plus S11 GTPv2-C and GTP-U) into the MC's UE events. A pure function
/// (state, input) -> (state, events): no I/O, no clock.
/// </summary>
/// <remarks>
/// A UE is followed through its S1 connections, each keyed by (eNB association, ENB-UE-S1AP-ID). New connections are
/// linked to a known UE by IMSI or M-TMSI (NAS, S-TMSI IE), by the S-GW uplink tunnel its new context reuses (service
/// request, S11 session), by SourceMME-UE-S1AP-ID (path switch), or by procedure order and uplink tunnels (S1 handover:
/// HandoverRequired -> HandoverRequest carrying the new MME-UE id -> HandoverRequestAcknowledge -> HandoverNotify).
/// The handlers live in one file per procedure family (UeTracker.*.cs); every lookup goes through <see cref="UeIndex"/>.
/// A message the tracker cannot place becomes a <see cref="TrackerNote"/>, never an exception.
/// </remarks>
public static partial class UeTracker
{
    /// <summary>This thread's reusable step (see <see cref="Step"/>); null while one is in use.</summary>
    [ThreadStatic]
    private static Step? _step;

    /// <summary>This thread's last "nothing changed" result: most inputs change nothing, and the result is a value.</summary>
    [ThreadStatic]
    private static TrackerStep? _unchanged;

    /// <summary>This thread's tracker for <see cref="Apply(TrackerState, TrackerInput)"/>: a caller that steps from
    /// the state the last call returned goes on in place; any other state is loaded first.</summary>
    [ThreadStatic]
    private static LiveTracker? _live;

    /// <summary>
    /// The pure step: the state after <paramref name="input"/>, its events and notes; <paramref name="state"/> is not
    /// changed. The same handlers as a feed's <see cref="LiveTracker"/> (differential tests check the two agree); a
    /// caller stepping from each result in turn pays only for what changed, one that branches from an older state pays
    /// for loading it.
    /// </summary>
    public static TrackerStep Apply(TrackerState state, TrackerInput input)
    {
        var live = _live is { } l && l.IsAt(state) ? l : LiveTracker.From(state);
        _live = null;
        var changes = Apply(live, input);
        var next = changes.Changed ? live.Snapshot() : state;
        _live = live;
        return !changes.Changed && changes.Events.Count == 0 && changes.Notes.Count == 0
            ? Unchanged(state)
            : new TrackerStep(next, changes.Events, changes.Notes);
    }

    /// <summary>One input into the feed thread's tracker, changed in place; events and notes as the pure step gives them.</summary>
    internal static TrackerChanges Apply(LiveTracker live, TrackerInput input)
    {
        // Most GTP-U packets teach nothing (the UE's address is known): answer before any step is started.
        if (input is GtpuSignal packet && (packet.InnerSource is null
            || live.Index.ByUplink(new GtpEndpoint(packet.Destination.Address.ToIPAddress(), packet.Teid)) is not { Address: null }))
        {
            return TrackerChanges.None;
        }

        var step = _step ?? new Step();
        _step = null;
        step.Start(live, input.At);
        try
        {
            switch (input)
            {
                case S1apSignal s:
                    step.S1ap(s);
                    break;
                case NgapSignal n:
                    step.Ngap(n);
                    break;
                case GtpcSignal g:
                    step.Gtpc(g);
                    break;
                case GtpuSignal u:
                    step.Gtpu(u);
                    break;
            }

            step.ForgetOrphans();
            return step.Finish();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not the input's fault: undo the step (the state stays as it was, consistent) and say what
            // happened, so one bad message cannot stop a tap. Tests fail on any Fault note.
            live.Index.Rollback();
            return new TrackerChanges([], [new TrackerNote(TrackerNoteKind.Fault, $"tracker fault on {Describe(input)}: {e.GetType().Name}: {e.Message}")], false);
        }
        finally
        {
            step.Clear();
            _step = step;
        }
    }

    private static TrackerStep Unchanged(TrackerState state)
    {
        if (_unchanged is { } last && ReferenceEquals(last.State, state))
        {
            return last;
        }

        return _unchanged = new TrackerStep(state, [], []);
    }

    /// <summary>Whether the eNB sent this message (else the MME did): TS 36.413 procedure directions.</summary>
    public static bool IsFromEnb(S1apProcedureCode procedure, S1apPduType type)
    {
        var enbInitiated = procedure switch
        {
            S1apProcedureCode.HandoverPreparation or S1apProcedureCode.HandoverNotification or S1apProcedureCode.PathSwitchRequest
                or S1apProcedureCode.HandoverCancel or S1apProcedureCode.ERabReleaseIndication or S1apProcedureCode.InitialUeMessage
                or S1apProcedureCode.UplinkNasTransport or S1apProcedureCode.S1Setup or S1apProcedureCode.UeContextReleaseRequest
                or S1apProcedureCode.UeCapabilityInfoIndication or S1apProcedureCode.EnbStatusTransfer
                or S1apProcedureCode.EnbConfigurationUpdate or S1apProcedureCode.ERabModificationIndication
                or S1apProcedureCode.NasNonDeliveryIndication => true,
            _ => false,
        };
        return type == S1apPduType.InitiatingMessage ? enbInitiated : !enbInitiated;
    }

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> naming every broken invariant: each lookup of the index matches
    /// the UE records (no key removed or merged away, no identity missing), a connection belongs to one UE, a UE's
    /// serving, handover-target and path-switch connections are its own, an announced UE has an id, keys are below
    /// <see cref="TrackerState.NextKey"/>.
    /// </summary>
    internal static void CheckInvariants(TrackerState state)
    {
        var problems = state.Index.Violations().ToList();
        problems.AddRange(state.Ues.Keys.Where(k => k.Value <= 0 || k.Value >= state.NextKey).Select(k => $"{k} is outside 1..{state.NextKey - 1}"));
        problems.AddRange(state.Ues.Where(p => p.Key != p.Value.Key).Select(p => $"record {p.Value.Key} is filed under {p.Key}"));
        if (state.NamedEnbs.Count(p => !p.Value) != state.NamedMacroEnbs || state.NamedEnbs.Count > MaxNamedEnbs)
        {
            problems.Add($"{state.NamedEnbs.Count} named eNBs, {state.NamedEnbs.Count(p => !p.Value)} of them macro, counted as {state.NamedMacroEnbs}");
        }

        problems.AddRange(state.Enbs.Where(p => p.Value.Cells.Count > EnbIdentity.MaxCells).Select(p => $"{p.Key} keeps {p.Value.Cells.Count} cells"));
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"tracker invariants broken: {string.Join("; ", problems)}");
        }
    }

    private static string Describe(TrackerInput input) => input switch
    {
        S1apSignal s => $"{s.MessageName} {s.Source} -> {s.Destination} (ENB-UE {s.EnbUeS1apId}, MME-UE {s.MmeUeS1apId})",
        NgapSignal n => $"{n.MessageName} {n.Source} -> {n.Destination} (RAN-UE {n.RanUeNgapId}, AMF-UE {n.AmfUeNgapId})",
        GtpcSignal g => $"GTPv2-C type {g.MessageType} seq {g.SequenceNumber}",
        GtpuSignal u => $"G-PDU TEID {u.Teid} to {u.Destination}",
        _ => input.GetType().Name,
    };
}
