using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>The MC's node id for an NG-RAN node: a gNB's id (22..32 bits) in the NR value space, an ng-eNB's eNB id
    /// in the E-UTRA one (the same space as S1AP's eNBs); see docs/tracking.md.</summary>
    public static EnbId NodeId(GlobalRanNodeId node) => new(node.Id, RatOf(node.Kind));

    /// <summary>ng-eNBs are E-UTRA nodes; gNBs (and the other NG-RAN node kinds) are not.</summary>
    internal static Rat RatOf(RanNodeKind kind) => kind is RanNodeKind.NgEnbMacro or RanNodeKind.NgEnbShortMacro or RanNodeKind.NgEnbLongMacro ? Rat.Eutra : Rat.Nr;

    /// <summary>
    /// AMF-UE-NGAP-ID has 40 bits, the tracker's core-side UE id 32: ids below 2^32 (every AMF we know) keep their value,
    /// larger ones fold their top 8 bits in. The id only links procedures (path switch, release by AMF id), as in S1.
    /// </summary>
    internal static uint? FoldAmfUeNgapId(ulong? id) => id is { } v ? (uint)(v ^ (v >> 32)) : null;

    /// <summary>The S1AP procedure an NGAP procedure plays in the tracker (TS 38.413 and TS 36.413 share their shape);
    /// null for those it does not follow.</summary>
    private static S1apProcedureCode? S1Equivalent(NgapProcedureCode procedure) => procedure switch
    {
        NgapProcedureCode.InitialUeMessage => S1apProcedureCode.InitialUeMessage,
        NgapProcedureCode.UplinkNasTransport => S1apProcedureCode.UplinkNasTransport,
        NgapProcedureCode.DownlinkNasTransport => S1apProcedureCode.DownlinkNasTransport,
        NgapProcedureCode.InitialContextSetup => S1apProcedureCode.InitialContextSetup,
        NgapProcedureCode.PduSessionResourceSetup => S1apProcedureCode.ERabSetup,
        NgapProcedureCode.PduSessionResourceRelease => S1apProcedureCode.ERabRelease,
        NgapProcedureCode.PathSwitchRequest => S1apProcedureCode.PathSwitchRequest,
        NgapProcedureCode.HandoverPreparation => S1apProcedureCode.HandoverPreparation,
        NgapProcedureCode.HandoverResourceAllocation => S1apProcedureCode.HandoverResourceAllocation,
        NgapProcedureCode.HandoverNotification => S1apProcedureCode.HandoverNotification,
        NgapProcedureCode.HandoverCancel => S1apProcedureCode.HandoverCancel,
        NgapProcedureCode.UeContextRelease => S1apProcedureCode.UeContextRelease,
        NgapProcedureCode.NgReset => S1apProcedureCode.Reset,
        _ => null,
    };

    /// <summary>
    /// N2 (NGAP): the procedures are those of S1 with other names (PDU sessions for E-RABs, AMF for MME, gNB for eNB),
    /// so an NGAP message runs through the same handlers, index and invariants as its S1AP counterpart. What differs
    /// is done here: gNB identities, the 36-bit NR cell id, 5G NAS (read with the UE's 5G-EA0 state), the PDU session
    /// establishment's NAS inside PDUSessionResourceSetupRequest, and announcing a UE once it has a PDU session
    /// (a 5G registration needs none, an EPS attach always has its default bearer).
    /// </summary>
    private sealed partial class Step
    {
        public void Ngap(NgapSignal n)
        {
            var association = SctpAssociationKey.From(n.Source, n.Destination, out _);
            var initiating = n.PduType == NgapPduType.InitiatingMessage;
            if (n.Procedure == NgapProcedureCode.NgSetup)
            {
                if (initiating && n.RanNode is { } node && (!_maps.Enbs.TryGetValue(association, out var known) || known.Id != NodeId(node) || known.Source < EnbIdentitySource.S1Setup))
                {
                    // The Global RAN Node ID is the gNB's own name: UEs already on a derived id are re-keyed.
                    SetIdentity(association, new EnbIdentity(NodeId(node), EnbIdentitySource.S1Setup), "its NG Setup");
                }

                return;
            }

            if (n.Procedure == NgapProcedureCode.PduSessionResourceModify)
            {
                PduSessionModify(n, association);
                return;
            }

            if (S1Equivalent(n.Procedure) is not { } procedure)
            {
                return;
            }

            var pduType = (S1apPduType)(byte)n.PduType;
            var fromRan = IsFromEnb(procedure, pduType);
            BindRanNode(n, association, fromRan ? n.Source : n.Destination, initiating);
            ConnectionKey? conn = n.RanUeNgapId is { } ran ? new ConnectionKey(association, ran) : null;

            // Initial NAS messages are plain or integrity-protected only (TS 24.501 4.4.6); later ones are readable when
            // the UE's Security Mode Command selected 5G-EA0.
            var nullCiphering = n.Procedure != NgapProcedureCode.InitialUeMessage && conn is { } c0 && _index.ByConnection(c0) is { NullCiphering: true };
            var nas = Nas5gFactsReader.ReadAll(n.NasPdus, nullCiphering);
            var s = new S1apSignal(n.At, n.Source, n.Destination, procedure, pduType)
            {
                MmeUeS1apId = FoldAmfUeNgapId(n.AmfUeNgapId),
                EnbUeS1apId = n.RanUeNgapId,
                SourceMmeUeS1apId = FoldAmfUeNgapId(n.SourceAmfUeNgapId),
                // A PDU session's 5QI stands where an E-RAB's QCI does (MEC 012 reports it as qci): the standardized values
                // 1-9 mean what the QCIs of the same number do (TS 23.501 Table 5.7.4-1).
                ERabs = n.Sessions.Select(p => new ERabSignal(p.PduSessionId, p.Tunnel, p.Failed) { Qci = p.FiveQi }).ToList(),
                TargetEnbId = n.TargetRanNode is { } t ? new GlobalEnbId(t.Plmn, EnbIdKind.Macro, NodeId(t).Value) : null,
                TargetRat = n.TargetRanNode is { } tr ? RatOf(tr.Kind) : Rat.Eutra,
                STmsi = n.FiveGSTmsi is { } tmsi ? new STmsi(tmsi.AmfPointer, tmsi.Tmsi) : null,

                // The groups are the same CHOICE in both; of the values the tracker reads only nas 2 (S1 detach, NG deregister).
                Cause = n.Cause is { Group: <= NgapCauseGroup.Misc } cause ? new S1apCause((CauseGroup)(byte)cause.Group, cause.Value) : null,
                Nas = nas,
                ResetAll = n.ResetAll,
                ResetConnections = n.ResetConnections.Select(r => new S1ConnectionId(FoldAmfUeNgapId(r.AmfUeNgapId), r.RanUeNgapId)).ToList(),
            };
            var emittedBefore = _events?.Count ?? 0;
            S1ap(s);

            if (conn is not { } c || _index.ByConnection(c) is not { } ue)
            {
                return;
            }

            if (n.NrCellId is { } cell && ue.CellId != cell)
            {
                ue = ue with { CellId = cell };
                Put(ue);
            }

            if (n.NrCgi is { } cgi && ue.Ncgi != cgi)
            {
                ue = ue with { Ncgi = cgi, PreviousNcgi = ue.Ncgi };
                Put(ue);
            }

            if (n.Procedure == NgapProcedureCode.HandoverPreparation && initiating && n.NrTargetCell != ue.NrTargetCell)
            {
                ue = ue with { NrTargetCell = n.NrTargetCell };
                Put(ue);
            }

            switch (n.Procedure)
            {
                case NgapProcedureCode.InitialUeMessage when nas?.Kind == NasKind.AttachRequest && !ue.Announced && ue.Address is not null:
                    // A new registration: the UE's address comes with its next PDU session, not from the one before.
                    Put(ue with { Address = null });
                    break;
                case NgapProcedureCode.PduSessionResourceSetup when initiating:
                    // PDU Session Establishment Accept rides here (its PDU address is the UE's IP).
                    if (nas?.PdnAddress is { } address && ue.Announced && ue.Address is { } old && !old.Equals(address)
                        && ue.ActiveBearers().All(b => n.Sessions.Any(p => p.PduSessionId == b.ERabId)))
                    {
                        // Every session the UE had is replaced by one with a new address (the MC has no address-change
                        // event, and steers by address): to the MC the UE left and registers again at its new address.
                        Put(ue with { Announced = false, AwaitingAddress = false, Address = address, Bearers = ue.Bearers.RemoveRange(n.Sessions.Select(p => p.PduSessionId)) });
                        Emit(new Detached(_at, ue.Id!.Value), ue.Cgi);
                        Note(TrackerNoteKind.Learnt, $"{ue.Key}: new PDU session address {address} replaces {old}: announced again once the session is up");
                    }

                    ApplyNas(ue.Key, nas);
                    break;
                case NgapProcedureCode.PduSessionResourceSetup when n.PduType == NgapPduType.SuccessfulOutcome:
                    if (!ue.Announced && !ue.AwaitingAddress && ue.Status == TrackedUeStatus.Connected && ue.Enb is not null && ue.ActiveBearers().Count > 0)
                    {
                        // The registration's context came up without a PDU session; this is the first: announce now.
                        Put(ue with { AwaitingAddress = true });
                        AnnounceIfReady(ue.Key);
                    }

                    break;
                case NgapProcedureCode.InitialContextSetup when n.PduType == NgapPduType.SuccessfulOutcome:
                    if (!ue.Announced && ue.AwaitingAddress && ue.ActiveBearers().Count == 0)
                    {
                        // Registered, no PDU session yet: nothing for the MC until one is set up.
                        Put(ue with { AwaitingAddress = false });
                    }

                    break;
            }

            if (_index.ByConnection(c) is { } now)
            {
                WithNrCells(emittedBefore, now);
            }
        }

        /// <summary>
        /// The UE's NR cells on the events this NGAP message made for it (the S1 handlers know E-UTRA cells only): the
        /// serving cell, a handover's target cell from the preparation, and the cell left on completion or path switch.
        /// </summary>
        private void WithNrCells(int from, TrackedUe ue)
        {
            if (_events is null || ue.Id is not { } id)
            {
                return;
            }

            for (var i = from; i < _events.Count; i++)
            {
                if (_events[i].Ue != id)
                {
                    continue;
                }

                var e = _events[i] with { NrCell = ToNcgi(ue.Ncgi) };
                _events[i] = e switch
                {
                    HandoverPrepared p => p with { NrTargetCell = ToNcgi(ue.NrTargetCell) },
                    HandoverExecuting x => x with { NrTargetCell = ToNcgi(ue.NrTargetCell) },
                    HandoverCancelled h => h with { NrTargetCell = ToNcgi(ue.NrTargetCell) },
                    HandoverCompleted d => d with { NrSourceCell = ToNcgi(ue.PreviousNcgi) },
                    PathSwitched p => p with { NrSourceCell = ToNcgi(ue.PreviousNcgi) },
                    _ => e,
                };
            }
        }

        private static Ncgi? ToNcgi(NrCgi? cgi) => cgi is { } c ? new Ncgi(c.Plmn.Mcc, c.Plmn.Mnc, c.CellId) : null;

        /// <summary>Makes sure the RAN node's association has an identity before the S1 handlers ask for it.</summary>
        private void BindRanNode(NgapSignal n, SctpAssociationKey association, NetEndpoint ranEnd, bool initiating)
        {
            if (_maps.Enbs.ContainsKey(association))
            {
                return;
            }

            if (n.Procedure == NgapProcedureCode.HandoverResourceAllocation && initiating)
            {
                // No NGSetup seen on this association: a HandoverRequest goes to the target its UE's HandoverRequired named.
                var targets = _index.Handovers.Select(Ue).Where(u => u.Handover is { TargetMmeUeS1apId: null }).Select(u => u.Handover!.Target).Distinct().ToList();
                if (targets.Count == 1)
                {
                    _maps = _maps with { Enbs = _maps.Enbs.SetItem(association, new EnbIdentity(targets[0], EnbIdentitySource.TargetId)) };
                    Note(TrackerNoteKind.Inferred, $"{association}: no NGSetup seen; HandoverRequest for a UE prepared toward {targets[0]}: that gNB");
                    return;
                }
            }

            // No NGSetup seen: a gNB id cannot be read from an NR cell id (its length, 22..32 bits, is the gNB's own
            // choice), so a stable id from the gNB's SCTP endpoint, top bit set, as for an eNB without S1Setup.
            _maps = _maps with { Enbs = _maps.Enbs.SetItem(association, new EnbIdentity(new EnbId(0x8000_0000u | (Fnv(ranEnd) & 0x7FFF_FFFFu), Rat.Nr), EnbIdentitySource.Endpoint)) };
        }

        /// <summary>PDUSessionResourceModify: the response's new DL end (QoS flow per TNL) and, if named, new UL end.</summary>
        private void PduSessionModify(NgapSignal n, SctpAssociationKey association)
        {
            if (n.PduType != NgapPduType.SuccessfulOutcome || n.RanUeNgapId is not { } ran)
            {
                return;
            }

            var conn = new ConnectionKey(association, ran);
            if (_index.ByConnection(conn) is not { } ue)
            {
                Note(TrackerNoteKind.Unplaced, $"{n.MessageName} on {conn}: no UE on this connection");
                return;
            }

            var bearers = ue.Bearers;
            var changed = new List<BearerDownlink>();
            foreach (var p in n.Sessions.Where(p => !p.Failed))
            {
                if (!bearers.TryGetValue(p.PduSessionId, out var b))
                {
                    continue;
                }

                var next = b with { Downlink = p.Tunnel ?? b.Downlink, Uplink = p.Uplink ?? b.Uplink };
                if (next != b)
                {
                    bearers = bearers.SetItem(p.PduSessionId, next);
                    if (next.Downlink is { } dl && dl != b.Downlink)
                    {
                        changed.Add(new BearerDownlink(p.PduSessionId, dl));
                    }
                }
            }

            if (bearers == ue.Bearers)
            {
                return;
            }

            Put(ue with { Bearers = bearers });
            if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
            {
                foreach (var d in changed)
                {
                    Emit(new BearerModified(_at, ue.Id!.Value, d), ue.Cgi);
                }
            }
        }
    }
}
