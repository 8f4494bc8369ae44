using System.Collections.Immutable;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>X2 handover (path switch) and S1 handover (preparation, resource allocation, notify, cancel).</summary>
    private sealed partial class Step
    {
        private void PathSwitch(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            switch (s.PduType)
            {
                case S1apPduType.InitiatingMessage:
                    {
                        // The UE last given this MME-UE id that is still connected is the one moving.
                        var ue = s.SourceMmeUeS1apId is { } source
                            ? _index.ByMmeUeS1apId(source).LastOrDefault(u => u.Status == TrackedUeStatus.Connected)
                            : null;
                        if (ue is null)
                        {
                            Note(TrackerNoteKind.Unplaced, $"PathSwitchRequest from {conn}: no connected UE with MME-UE-S1AP-ID {s.SourceMmeUeS1apId}");
                            return;
                        }

                        if (ue.PathSwitch is { } earlier && earlier.Connection != conn)
                        {
                            // The UE moves on from a path switch whose acknowledge was not seen: that one happened.
                            Note(TrackerNoteKind.Inferred, $"{ue.Key}: a new PathSwitchRequest on {conn} while the one on {earlier.Connection} is unacknowledged: that path switch happened");
                            CompletePathSwitch(ue, earlier, ack: null);
                            ue = Ue(ue.Key);
                        }

                        var downlinks = s.ERabs.Where(e => e.Tunnel is not null).Select(e => new BearerDownlink(e.ERabId, e.Tunnel!)).ToImmutableArray();
                        var target = EnbFor(association, enbEnd);
                        Put(ue with
                        {
                            PathSwitch = new PendingPathSwitch(target, conn, downlinks) { SourceCell = ue.Cgi },
                            Connections = ue.Connections.Add(conn),
                            CellId = s.Cgi?.CellId ?? ue.CellId,
                            Cgi = s.Cgi ?? ue.Cgi,
                        });
                        break;
                    }

                case S1apPduType.SuccessfulOutcome:
                    {
                        if (_index.ByConnection(conn) is { PathSwitch: { } ps } ue && ps.Connection == conn)
                        {
                            CompletePathSwitch(ue, ps, s);
                        }
                        else if (_index.ByConnection(conn) is { } served && served.Serving == conn)
                        {
                            // Already complete (a message on the new connection came first): only the MME's changes are news.
                            Put(served with { Bearers = WithUplinks(served.Bearers, s), MmeUeS1apId = s.MmeUeS1apId ?? served.MmeUeS1apId });
                        }
                        else
                        {
                            AcknowledgedUnseen(s, conn, association, enbEnd);
                        }

                        break;
                    }

                default:
                    if (_index.ByConnection(conn) is { PathSwitch: { } pending } failed && pending.Connection == conn)
                    {
                        Put(UeIndex.Forget(failed with { PathSwitch = null }, conn));
                        Note(TrackerNoteKind.Failed, $"{failed.Key}: path switch to {pending.Target} failed ({s.Cause})");
                    }

                    break;
            }
        }

        /// <summary>
        /// PathSwitchRequestAcknowledge whose request was not seen: the MME moved the UE with that MME-UE-S1AP-ID (still
        /// connected) to this connection. The new downlink ends were in the request: unknown until a later procedure.
        /// </summary>
        private void AcknowledgedUnseen(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            var ue = s.MmeUeS1apId is { } mme && _index.ByConnection(conn) is null
                ? _index.ByMmeUeS1apId(mme).LastOrDefault(u => u.Status == TrackedUeStatus.Connected)
                : null;
            if (ue is null)
            {
                Note(TrackerNoteKind.Unplaced, $"PathSwitchRequestAcknowledge on {conn}: no path switch pending there, no connected UE with MME-UE-S1AP-ID {s.MmeUeS1apId}");
                return;
            }

            var target = EnbFor(association, enbEnd);
            Note(TrackerNoteKind.Inferred, $"{ue.Key}: PathSwitchRequestAcknowledge on {conn} without its request: an X2 handover to {target}, downlink ends unknown");
            var pending = new PendingPathSwitch(target, conn, []);
            Put(ue with { PathSwitch = pending, Connections = ue.Connections.Add(conn) });
            CompletePathSwitch(Ue(ue.Key), pending, s);
        }

        /// <summary>The UE is at the path switch's eNB: bearers take the new downlink ends (and the acknowledge's uplinks).</summary>
        private void CompletePathSwitch(TrackedUe ue, PendingPathSwitch ps, S1apSignal? ack)
        {
            // An E-RAB set up at the old eNB without a response seen: the new eNB switches it, so the UE has it.
            var (bearers, pending, adopted) = SwitchDownlinks(
                ue, ps.Downlinks, ImmutableDictionary<byte, GtpEndpoint>.Empty, $"whose E-RAB setup response was not seen, is switched to {ps.Target}");
            if (ack is not null)
            {
                // The acknowledge may move the uplink too (S-GW relocation).
                bearers = WithUplinks(bearers, ack);
            }

            var old = ue.Serving;
            var connections = old is { } o && o != ps.Connection ? ue.Connections.Remove(o) : ue.Connections;
            Put(ue with
            {
                Bearers = bearers,
                PendingUplinks = pending,
                PathSwitch = null,
                Serving = ps.Connection,
                Connections = connections.Add(ps.Connection),
                Enb = ps.Target,
                MmeUeS1apId = ack?.MmeUeS1apId ?? ue.MmeUeS1apId,
            });
            if (ue.Announced)
            {
                foreach (var b in adopted)
                {
                    Emit(new BearerAdded(_at, ue.Id!.Value, b), ue.Cgi);
                }

                Emit(new PathSwitched(_at, ue.Id!.Value, ps.Target, ps.Downlinks) { SourceCell = ToEcgi(ps.SourceCell) }, ue.Cgi);
            }
        }

        /// <summary>
        /// The UE's bearers with the downlink ends a path switch or handover gives them (and the target's new uplink ends),
        /// and those an E-RAB setup seen only in part left pending that the target took: made bearers, noted as
        /// <paramref name="adoptedHow"/>.
        /// </summary>
        private (ImmutableSortedDictionary<byte, TrackedBearer> Bearers, ImmutableDictionary<byte, GtpEndpoint> Pending, List<Bearer> Adopted) SwitchDownlinks(
            TrackedUe ue, ImmutableArray<BearerDownlink> downlinks, ImmutableDictionary<byte, GtpEndpoint> uplinks, string adoptedHow)
        {
            var bearers = ue.Bearers;
            var pending = ue.PendingUplinks;
            var adopted = new List<Bearer>();
            foreach (var d in downlinks)
            {
                if (bearers.TryGetValue(d.ERabId, out var b))
                {
                    bearers = bearers.SetItem(d.ERabId, new TrackedBearer(d.ERabId, uplinks.GetValueOrDefault(d.ERabId) ?? b.Uplink, d.Downlink));
                }
                else if ((uplinks.GetValueOrDefault(d.ERabId) ?? pending.GetValueOrDefault(d.ERabId)) is { } uplink)
                {
                    bearers = bearers.SetItem(d.ERabId, new TrackedBearer(d.ERabId, uplink, d.Downlink));
                    pending = pending.Remove(d.ERabId);
                    adopted.Add(new Bearer(d.ERabId, uplink, d.Downlink));
                    Note(TrackerNoteKind.Inferred, $"{ue.Key}: E-RAB {d.ERabId}, {adoptedHow}: a bearer (UL {uplink})");
                }
            }

            return (bearers, pending, adopted);
        }

        /// <summary>Bearers with the uplink ends a PathSwitchRequestAcknowledge lists (E-RAB To Be Switched in Uplink).</summary>
        private static ImmutableSortedDictionary<byte, TrackedBearer> WithUplinks(ImmutableSortedDictionary<byte, TrackedBearer> bearers, S1apSignal ack)
        {
            foreach (var e in ack.ERabs.Where(e => e.Tunnel is not null))
            {
                if (bearers.TryGetValue(e.ERabId, out var b))
                {
                    bearers = bearers.SetItem(e.ERabId, b with { Uplink = e.Tunnel! });
                }
            }

            return bearers;
        }

        private void HandoverPreparation(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            if (OnConnection(conn, s) is not { } ue)
            {
                return;
            }

            switch (s.PduType)
            {
                case S1apPduType.InitiatingMessage when s.TargetEnbId is { } target:
                    {
                        // The Target-ID names an eNB (and says whether it is a Home eNB): cell readings may change first.
                        var targetEnb = new EnbId(target.EnbId, s.TargetRat);
                        NameEnb(targetEnb, target.Kind == EnbIdKind.Home, "a HandoverRequired's Target-ID");
                        ue = Ue(ue.Key);
                        var source = ue.Enb ?? EnbFor(association, enbEnd);
                        Put(ue with { Handover = new TrackedHandover(source, targetEnb) { TargetKind = target.Kind, TargetCell = s.TargetCell } });
                        if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
                        {
                            Emit(new HandoverPrepared(_at, ue.Id!.Value, source, targetEnb, HandoverKind.S1) { TargetCell = ToEcgi(s.TargetCell) }, ue.Cgi);
                        }

                        break;
                    }

                case S1apPduType.SuccessfulOutcome when ue.Handover is { Commanded: false } pending:
                    // HandoverCommand to the source eNB: the execution phase starts (TS 36.413 8.4.1.2); a retransmission says nothing new.
                    Put(ue with { Handover = pending with { Commanded = true } });
                    if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
                    {
                        Emit(new HandoverExecuting(_at, ue.Id!.Value, pending.Target) { TargetCell = ToEcgi(pending.TargetCell) }, ue.Cgi);
                    }

                    break;

                case S1apPduType.UnsuccessfulOutcome when ue.Handover is { } pending:
                    CancelHandover(ue.Key, pending, $"preparation failed ({s.Cause})", rejected: true);
                    break;
            }
        }

        private void HandoverResourceAllocation(S1apSignal s, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            switch (s.PduType)
            {
                case S1apPduType.InitiatingMessage:
                    {
                        // HandoverRequest has only the new MME-UE id: link it to the UE whose preparation is waiting for it,
                        // preferring the one whose uplink tunnels it repeats, then the one whose target is this eNB.
                        var uplinks = s.ERabs.Where(e => e.Tunnel is not null).ToImmutableDictionary(e => e.ERabId, e => e.Tunnel!);
                        var here = _maps.Enbs.GetValueOrDefault(association)?.Id;
                        var candidates = _index.Handovers.Select(Ue).Where(u => u.Handover is { TargetMmeUeS1apId: null }).ToList();
                        var chosen = candidates.FirstOrDefault(u => uplinks.Count > 0 && uplinks.Values.All(t => u.Bearers.Values.Any(b => b.Uplink == t)))
                            ?? candidates.FirstOrDefault(u => u.Handover!.Target == here)
                            ?? (candidates.Count == 1 ? candidates[0] : null);
                        if (chosen is null)
                        {
                            PreparedUnseen(s, association, enbEnd, uplinks);
                            return;
                        }

                        var h = chosen.Handover!;
                        Put(chosen with
                        {
                            Handover = h with { TargetMmeUeS1apId = s.MmeUeS1apId, TargetAssociation = association, Uplinks = uplinks },
                            Qcis = chosen.WithQcis(s.ERabs),
                        });

                        // The MME sent the request to the eNB the Target-ID names: that is this association's eNB.
                        BindGlobal(association, new GlobalEnbId(default, h.TargetKind, h.Target.Value), EnbIdentitySource.TargetId);
                        break;
                    }

                case S1apPduType.SuccessfulOutcome when s.EnbUeS1apId is { } enbUe:
                    {
                        if ((PreparedAt(association, s.MmeUeS1apId) ?? RequestedUnseen(s, association)) is not { } ue)
                        {
                            Note(TrackerNoteKind.Unplaced, $"HandoverRequestAcknowledge on {association} (MME-UE-S1AP-ID {s.MmeUeS1apId}): no handover request to it");
                            return;
                        }

                        var conn = new ConnectionKey(association, enbUe);
                        var downlinks = s.ERabs.Where(e => !e.Failed && e.Tunnel is not null).Select(e => new BearerDownlink(e.ERabId, e.Tunnel!)).ToImmutableArray();
                        Put(ue with
                        {
                            Connections = ue.Connections.Add(conn),
                            Handover = ue.Handover! with { TargetConnection = conn, Downlinks = downlinks },
                        });
                        break;
                    }

                case S1apPduType.UnsuccessfulOutcome:
                    // HandoverFailure from the target: the MME answers the source with a preparation failure, which cancels.
                    if (PreparedAt(association, s.MmeUeS1apId) is { } refused)
                    {
                        Note(TrackerNoteKind.Failed, $"{refused.Key}: target {refused.Handover!.Target} refused the handover ({s.Cause})");
                    }

                    break;
            }
        }

        private TrackedUe? PreparedAt(SctpAssociationKey association, uint? mmeUeS1apId) =>
            _index.Handovers.Select(Ue).FirstOrDefault(u => u.Handover is { } h && h.TargetAssociation == association && h.TargetMmeUeS1apId == mmeUeS1apId);

        private void HandoverNotify(S1apSignal s, ConnectionKey conn)
        {
            if (_index.ByConnection(conn) is { Handover: { } h } ue && h.TargetConnection == conn)
            {
                CompleteHandover(ue, h, conn, s.Cgi);
                return;
            }

            if (_index.ByConnection(conn) is null && PreparedAt(conn.Association, s.MmeUeS1apId) is { Handover: { } requested } target)
            {
                // The target's HandoverRequestAcknowledge was not seen: the notify on a new connection for the MME-UE id
                // the request gave is the UE arriving. Its new downlink ends were in the acknowledge: unknown.
                Note(TrackerNoteKind.Inferred, $"{target.Key}: HandoverNotify on {conn} for the handover to {requested.Target} whose HandoverRequestAcknowledge was not seen: complete, downlink ends unknown");
                Put(target with { Connections = target.Connections.Add(conn), Handover = requested with { TargetConnection = conn } });
                CompleteHandover(Ue(target.Key), requested with { TargetConnection = conn }, conn, s.Cgi, downlinksKnown: false);
                return;
            }

            Note(TrackerNoteKind.Unplaced, $"HandoverNotify on {conn}: no prepared handover");
        }

        /// <summary>
        /// A HandoverRequest no HandoverRequired announced (lost, or the tap started in between): it repeats the S-GW
        /// uplink tunnels of the UE's bearers (E-RABs To Be Setup), so the connected UE that has all of them is moving.
        /// </summary>
        private void PreparedUnseen(S1apSignal s, SctpAssociationKey association, NetEndpoint enbEnd, ImmutableDictionary<byte, GtpEndpoint> uplinks)
        {
            var ue = uplinks.IsEmpty ? null : _index.AllByUplink(uplinks.Values.First()).LastOrDefault(u =>
                u is { Status: TrackedUeStatus.Connected, Handover: null, Enb: not null } && uplinks.Values.All(t => u.Bearers.Values.Any(b => b.Uplink == t)));
            if (ue is null)
            {
                Note(TrackerNoteKind.Unplaced, $"HandoverRequest on {association} (MME-UE-S1AP-ID {s.MmeUeS1apId}): no pending handover to link it to");
                return;
            }

            var target = EnbFor(association, enbEnd);
            var source = ue.Enb!.Value;
            Put(ue with
            {
                Handover = new TrackedHandover(source, target) { TargetMmeUeS1apId = s.MmeUeS1apId, TargetAssociation = association, Uplinks = uplinks },
            });
            Note(TrackerNoteKind.Inferred, $"{ue.Key}: HandoverRequest on {association} repeats its uplink tunnels: an S1 handover {source} -> {target} whose HandoverRequired was not seen");
            if (ue.Announced)
            {
                Emit(new HandoverPrepared(_at, ue.Id!.Value, source, target, HandoverKind.S1), ue.Cgi);
            }
        }

        /// <summary>
        /// A HandoverRequestAcknowledge whose HandoverRequest was not seen: the handover in preparation toward this
        /// association's eNB (or the only one in preparation) is the one it answers.
        /// </summary>
        private TrackedUe? RequestedUnseen(S1apSignal s, SctpAssociationKey association)
        {
            var here = _maps.Enbs.GetValueOrDefault(association)?.Id;
            var candidates = _index.Handovers.Select(Ue).Where(u => u.Handover is { TargetMmeUeS1apId: null, TargetAssociation: null }).ToList();
            var ue = candidates.FirstOrDefault(u => u.Handover!.Target == here) ?? (candidates.Count == 1 ? candidates[0] : null);
            if (ue is null)
            {
                return null;
            }

            var h = ue.Handover!;
            ue = ue with { Handover = h with { TargetMmeUeS1apId = s.MmeUeS1apId, TargetAssociation = association } };
            Put(ue);
            Note(TrackerNoteKind.Inferred, $"{ue.Key}: HandoverRequestAcknowledge on {association} answers the handover to {h.Target}, whose HandoverRequest was not seen");
            BindGlobal(association, new GlobalEnbId(default, h.TargetKind, h.Target.Value), EnbIdentitySource.TargetId);
            return Ue(ue.Key);
        }

        /// <summary>The UE is at the target: bearers take the admitted DL ends (and new UL ends); the others are gone.</summary>
        private void CompleteHandover(TrackedUe ue, TrackedHandover h, ConnectionKey target, EutranCgi? cgi, bool downlinksKnown = true)
        {
            // A bearer whose E-RAB setup was only partly seen: the target admitted it, so the UE has it.
            var (bearers, pending, adopted) = SwitchDownlinks(ue, h.Downlinks, h.Uplinks, "whose setup was not seen whole, was admitted by the handover target");
            List<byte> dropped;
            if (downlinksKnown)
            {
                dropped = bearers.Keys.Where(id => h.Downlinks.All(d => d.ERabId != id)).ToList();
                bearers = bearers.RemoveRange(dropped);
            }
            else
            {
                // The admitted list was not seen: every bearer goes along, its new downlink end unknown.
                dropped = [];
                bearers = bearers.ToImmutableSortedDictionary(p => p.Key, p => p.Value with { Uplink = h.Uplinks.GetValueOrDefault(p.Key) ?? p.Value.Uplink, Downlink = null });
            }

            Put(ue with
            {
                PendingUplinks = pending,
                Bearers = bearers,
                Handover = null,
                Serving = target,
                Connections = ue.Connections.Add(target),
                Enb = h.Target,
                CellId = cgi?.CellId ?? ue.CellId,
                Cgi = cgi ?? ue.Cgi,
                MmeUeS1apId = h.TargetMmeUeS1apId ?? ue.MmeUeS1apId,
            });
            if (ue.Announced)
            {
                var cell = cgi ?? ue.Cgi;
                foreach (var b in adopted)
                {
                    Emit(new BearerAdded(_at, ue.Id!.Value, b), cell);
                }

                Emit(new HandoverCompleted(_at, ue.Id!.Value, h.Target, h.Downlinks) { SourceCell = ToEcgi(ue.Cgi) }, cell);
                foreach (var id in dropped)
                {
                    Emit(new BearerReleased(_at, ue.Id!.Value, id), cell);
                }
            }
        }

        private void HandoverCancel(ConnectionKey conn)
        {
            if (_index.ByConnection(conn) is { Handover: { } pending } ue)
            {
                CancelHandover(ue.Key, pending, "cancelled by the source eNB");
            }
        }

        private void CancelHandover(UeKey key, TrackedHandover pending, string why, bool rejected = false)
        {
            var ue = Ue(key);
            var next = ue with { Handover = null };
            Put(pending.TargetConnection is { } target ? UeIndex.Forget(next, target) : next);
            Note(TrackerNoteKind.Failed, $"{key}: handover to {pending.Target} {why}");
            if (ue.Announced)
            {
                Emit(new HandoverCancelled(_at, ue.Id!.Value) { TargetCell = ToEcgi(pending.TargetCell), Rejected = rejected }, ue.Cgi);
            }
        }
    }
}
