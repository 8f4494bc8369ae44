using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>
    /// One input's changes to a <see cref="LiveTracker"/>: UE records change only through <see cref="Put"/> and
    /// <see cref="RemoveUe"/> (in place in its <see cref="UeStore"/>, which logs them so a failed step can be undone);
    /// the rarely changed maps are one immutable value (<see cref="_maps"/>), replaced here and written back when the
    /// step finishes (so a failed step leaves them as they were).
    /// </summary>
    /// <remarks>
    /// One Step per thread is reused (<see cref="Apply(LiveTracker, TrackerInput)"/> takes it with <see cref="Start"/>
    /// and gives it back cleared), so a step allocates nothing of its own.
    /// </remarks>
    private sealed partial class Step
    {
        /// <summary>What a cleared step points at, so it keeps no tracker alive.</summary>
        private static readonly LiveTracker _idle = new();

        private LiveTracker _live = _idle;
        private TimeSpan _at;
        private UeStore _index = _idle.Index;
        private TrackerState _maps = TrackerState.Empty;
        private List<UeEvent>? _events;
        private List<TrackerNote>? _notes;
        private Action<TrackedUe, ConnectionKey>? _lost;
        private UeKey _putting;
        private List<UeKey>? _orphans;

        public void Start(LiveTracker live, TimeSpan at)
        {
            _live = live;
            _at = at;
            _index = live.Index;
            _index.BeginStep();
            _maps = live.Maps;
            _events = null;
            _notes = null;
            _orphans?.Clear();
        }

        /// <summary>Drops what the step referred to, so a step kept for reuse holds no state alive.</summary>
        public void Clear()
        {
            _live = _idle;
            _index = _idle.Index;
            _maps = TrackerState.Empty;
            _events = null;
            _notes = null;
        }

        /// <summary>Keeps what the step changed in the tracker; says whether anything did.</summary>
        public TrackerChanges Finish()
        {
            // By value: the maps compare by reference (an unchanged map is the same instance), the counts by value.
            var changed = _index.ChangedInStep || _maps != _live.Maps;
            _index.EndStep();
            if (changed)
            {
                _live.Maps = _maps;
                _live.Changed();
            }

            return _events is null && _notes is null && !changed
                ? TrackerChanges.None
                : new TrackerChanges(_events is null ? [] : _events, _notes is null ? [] : _notes, changed);
        }

        public void S1ap(S1apSignal s)
        {
            var fromEnb = IsFromEnb(s.Procedure, s.PduType);
            var enbEnd = fromEnb ? s.Source : s.Destination;
            var association = SctpAssociationKey.From(s.Source, s.Destination, out _);
            ConnectionKey? conn = s.EnbUeS1apId is { } enbUe ? new ConnectionKey(association, enbUe) : null;
            var initiating = s.PduType == S1apPduType.InitiatingMessage;
            if (fromEnb && s.Cgi is { } cgi)
            {
                // A cell of the eNB that sent this: evidence of the association's eNB id (UeTracker.Enb.cs).
                ObserveCell(association, cgi);
            }

            if (conn is { } on)
            {
                // Something waiting on this connection for an answer that was not seen (UeTracker.Partial.cs).
                Settle(on, s, fromEnb);
            }

            switch (s.Procedure)
            {
                case S1apProcedureCode.S1Setup when initiating && s.GlobalEnbId is { } g:
                    BindGlobal(association, g, EnbIdentitySource.S1Setup);
                    break;
                case S1apProcedureCode.InitialUeMessage when conn is { } c:
                    InitialUeMessage(s, c);
                    break;
                case S1apProcedureCode.UplinkNasTransport or S1apProcedureCode.DownlinkNasTransport when conn is { } c:
                    NasTransport(s, c, fromEnb);
                    break;
                case S1apProcedureCode.InitialContextSetup when conn is { } c:
                    InitialContextSetup(s, c, association, enbEnd);
                    break;
                case S1apProcedureCode.ERabSetup when conn is { } c:
                    ERabSetup(s, c);
                    break;
                case S1apProcedureCode.ERabRelease when initiating && conn is { } c:
                    ReleaseOrdered(s, c);
                    break;
                case S1apProcedureCode.ERabRelease or S1apProcedureCode.ERabReleaseIndication when conn is { } c:
                    ReleaseBearers(s, c);
                    break;
                case S1apProcedureCode.ERabModificationIndication when conn is { } c:
                    ERabModification(s, c);
                    break;
                case S1apProcedureCode.PathSwitchRequest when conn is { } c:
                    PathSwitch(s, c, association, enbEnd);
                    break;
                case S1apProcedureCode.HandoverPreparation when conn is { } c:
                    HandoverPreparation(s, c, association, enbEnd);
                    break;
                case S1apProcedureCode.HandoverResourceAllocation:
                    HandoverResourceAllocation(s, association, enbEnd);
                    break;
                case S1apProcedureCode.HandoverNotification when conn is { } c:
                    HandoverNotify(s, c);
                    break;
                case S1apProcedureCode.HandoverCancel when initiating && conn is { } c:
                    HandoverCancel(c);
                    break;
                case S1apProcedureCode.UeContextRelease when initiating:
                    ReleaseCommand(s, association);
                    break;
                case S1apProcedureCode.UeContextRelease when s.PduType == S1apPduType.SuccessfulOutcome:
                    ReleaseComplete(s, association);
                    break;
                case S1apProcedureCode.Reset when initiating:
                    Reset(s, association);
                    break;
            }
        }

        /// <summary>Emits the event with the UE's serving cell as the signalling gave it (for MEC 012; the MC ignores it).</summary>
        private void Emit(UeEvent e, EutranCgi? cell) => (_events ??= []).Add(cell is null ? e : e with { Cell = ToEcgi(cell) });

        private static Ecgi? ToEcgi(EutranCgi? cgi) => cgi is { } c ? new Ecgi(c.Plmn.Mcc, c.Plmn.Mnc, c.CellId) : null;

        private void Note(TrackerNoteKind kind, string text) => (_notes ??= []).Add(new TrackerNote(kind, text));

        /// <summary>A UE the step holds the key of. Keys come from the index, so a missing one is a tracker bug.</summary>
        private TrackedUe Ue(UeKey key) => _index.Get(key) ?? throw new InvalidOperationException($"{key} is not in the index");

        private void Put(TrackedUe ue)
        {
            // The store stamps the time (no second copy of the record).
            _putting = ue.Key;
            _index.Put(ue, _at, _lost ??= Lost);
        }

        /// <summary>Another UE lost a connection to the one being put (<see cref="_putting"/>): one delegate per step, not a closure per put.</summary>
        private void Lost(TrackedUe loser, ConnectionKey c)
        {
            Note(TrackerNoteKind.Superseded, $"{c} now belongs to {_putting}, no longer to {loser.Key}");
            if (loser.Connections.IsEmpty)
            {
                (_orphans ??= []).Add(loser.Key);
            }
        }

        /// <summary>
        /// UEs that lost their last connection to another in this step and have nothing left to be found by: never
        /// announced, no IMSI, M-TMSI or address, no bearer, no handover (an eNB reused the ENB-UE id of a context whose
        /// release was not seen, or whose answer never came). Only their MME-UE id named them, and the newer context holds
        /// it now: they are forgotten when the step ends, not kept for the 2 h of <see cref="_idleExpiry"/> (issue 18: one
        /// such record per InitialUEMessage of a long live run made the state and the MME id lookup grow).
        /// </summary>
        public void ForgetOrphans()
        {
            if (_orphans is null)
            {
                return;
            }

            _orphans.Sort();
            foreach (var key in _orphans)
            {
                if (_index.Get(key) is { Announced: false, Imsi: null, MTmsi: null, Address: null, Handover: null, PathSwitch: null } ue
                    && ue.Connections.IsEmpty && ue.Bearers.IsEmpty && !_index.Handovers.Contains(key))
                {
                    RemoveUe(key);
                    Note(TrackerNoteKind.Learnt, $"{key}: no connection and nothing that names it left: forgotten");
                }
            }

            _orphans.Clear();
        }

        private void RemoveUe(UeKey key) => _index.Remove(key);

        private UeKey NewUe()
        {
            ForgetLongGone();
            var key = new UeKey(_maps.NextKey);
            _maps = _maps with { NextKey = key.Value + 1 };
            Put(new TrackedUe(key) { Status = TrackedUeStatus.Registering });
            return key;
        }

        /// <summary>The UE with this connection serving it (the connection joins its own if it was not).</summary>
        private static TrackedUe Serve(TrackedUe ue, ConnectionKey conn) =>
            ue.Serving == conn && ue.Connections.Contains(conn) ? ue : ue with { Serving = conn, Connections = ue.Connections.Add(conn) };

        private TrackedUe? OnConnection(ConnectionKey conn, S1apSignal s)
        {
            if (_index.ByConnection(conn) is { } ue)
            {
                return ue;
            }

            Note(TrackerNoteKind.Unplaced, $"{s.MessageName} on {conn}: no UE on this connection");
            return null;
        }
    }
}
