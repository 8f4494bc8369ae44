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

                        var downlinks = s.ERabs.Where(e => e.Tunnel is not null).Select(e => new BearerDownlink(e.ERabId, e.Tunnel!)).ToImmutableArray();
                        var target = EnbFor(association, enbEnd, s.Cgi, null);
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
                        if (_index.ByConnection(conn) is not { PathSwitch: { } ps } ue || ps.Connection != conn)
                        {
                            Note(TrackerNoteKind.Unplaced, $"PathSwitchRequestAcknowledge on {conn}: no path switch pending there");
                            return;
                        }

                        var bearers = ue.Bearers;
                        foreach (var d in ps.Downlinks)
                        {
                            if (bearers.TryGetValue(d.ERabId, out var b))
                            {
                                bearers = bearers.SetItem(d.ERabId, b with { Downlink = d.Downlink });
                            }
                        }

                        // The acknowledge may move the uplink too (S-GW relocation).
                        foreach (var e in s.ERabs.Where(e => e.Tunnel is not null))
                        {
                            if (bearers.TryGetValue(e.ERabId, out var b))
                            {
                                bearers = bearers.SetItem(e.ERabId, b with { Uplink = e.Tunnel! });
                            }
                        }

                        var connections = ue.Serving is { } old && old != conn ? ue.Connections.Remove(old) : ue.Connections;
                        Put(ue with
                        {
                            Bearers = bearers,
                            PathSwitch = null,
                            Serving = conn,
                            Connections = connections.Add(conn),
                            Enb = ps.Target,
                            MmeUeS1apId = s.MmeUeS1apId ?? ue.MmeUeS1apId,
                        });
                        if (ue.Announced)
                        {
                            Emit(new PathSwitched(at, ue.Id!.Value, ps.Target, ps.Downlinks) { SourceCell = ToEcgi(ps.SourceCell) }, ue.Cgi);
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
                        var source = ue.Enb ?? EnbFor(association, enbEnd, null, ue.CellId);
                        var targetEnb = new EnbId(target.EnbId);
                        Put(ue with { Handover = new PendingHandover(source, targetEnb) { TargetCell = s.TargetCell } });
                        if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
                        {
                            Emit(new HandoverPrepared(at, ue.Id!.Value, source, targetEnb, HandoverKind.S1) { TargetCell = ToEcgi(s.TargetCell) }, ue.Cgi);
                        }

                        break;
                    }

                case S1apPduType.SuccessfulOutcome when ue.Handover is { Commanded: false } pending:
                    // HandoverCommand to the source eNB: the execution phase starts (TS 36.413 8.4.1.2); a retransmission says nothing new.
                    Put(ue with { Handover = pending with { Commanded = true } });
                    if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
                    {
                        Emit(new HandoverExecuting(at, ue.Id!.Value, pending.Target) { TargetCell = ToEcgi(pending.TargetCell) }, ue.Cgi);
                    }

                    break;

                case S1apPduType.UnsuccessfulOutcome when ue.Handover is { } pending:
                    CancelHandover(ue.Key, pending, $"preparation failed ({s.Cause})");
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
                        var targetEnb = EnbFor(association, enbEnd, null, null);
                        var candidates = _index.Handovers.Select(Ue).Where(u => u.Handover is { TargetMmeUeS1apId: null }).ToList();
                        var chosen = candidates.FirstOrDefault(u => uplinks.Count > 0 && uplinks.Values.All(t => u.Bearers.Values.Any(b => b.Uplink == t)))
                            ?? candidates.FirstOrDefault(u => u.Handover!.Target == targetEnb)
                            ?? (candidates.Count == 1 ? candidates[0] : null);
                        if (chosen is null)
                        {
                            Note(TrackerNoteKind.Unplaced, $"HandoverRequest to {targetEnb} (MME-UE-S1AP-ID {s.MmeUeS1apId}): no pending handover to link it to");
                            return;
                        }

                        Put(chosen with
                        {
                            Handover = chosen.Handover! with { TargetMmeUeS1apId = s.MmeUeS1apId, TargetAssociation = association, Uplinks = uplinks },
                            Qcis = chosen.WithQcis(s.ERabs),
                        });
                        break;
                    }

                case S1apPduType.SuccessfulOutcome when s.EnbUeS1apId is { } enbUe:
                    {
                        if (PreparedAt(association, s.MmeUeS1apId) is not { } ue)
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
            if (_index.ByConnection(conn) is not { Handover: { } h } ue || h.TargetConnection != conn)
            {
                Note(TrackerNoteKind.Unplaced, $"HandoverNotify on {conn}: no prepared handover");
                return;
            }

            CompleteHandover(ue, h, conn, s.Cgi);
        }

        /// <summary>The UE is at the target: bearers take the admitted DL ends (and new UL ends); the others are gone.</summary>
        private void CompleteHandover(TrackedUe ue, PendingHandover h, ConnectionKey target, EutranCgi? cgi)
        {
            var bearers = ue.Bearers;
            foreach (var d in h.Downlinks)
            {
                if (bearers.TryGetValue(d.ERabId, out var b))
                {
                    bearers = bearers.SetItem(d.ERabId, new TrackedBearer(d.ERabId, h.Uplinks.GetValueOrDefault(d.ERabId) ?? b.Uplink, d.Downlink));
                }
            }

            var dropped = bearers.Keys.Where(id => h.Downlinks.All(d => d.ERabId != id)).ToList();
            bearers = bearers.RemoveRange(dropped);
            Put(ue with
            {
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
                Emit(new HandoverCompleted(at, ue.Id!.Value, h.Target, h.Downlinks) { SourceCell = ToEcgi(ue.Cgi) }, cell);
                foreach (var id in dropped)
                {
                    Emit(new BearerReleased(at, ue.Id!.Value, id), cell);
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

        private void CancelHandover(UeKey key, PendingHandover pending, string why)
        {
            var ue = Ue(key);
            var next = ue with { Handover = null };
            Put(pending.TargetConnection is { } target ? UeIndex.Forget(next, target) : next);
            Note(TrackerNoteKind.Failed, $"{key}: handover to {pending.Target} {why}");
            if (ue.Announced)
            {
                Emit(new HandoverCancelled(at, ue.Id!.Value) { TargetCell = ToEcgi(pending.TargetCell) }, ue.Cgi);
            }
        }
    }
}
