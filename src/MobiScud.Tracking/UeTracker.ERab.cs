using System.Collections.Immutable;
using MobiScud.Control.Model;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>E-RAB setup, release (command and indication) and modification.</summary>
    private sealed partial class Step
    {
        private void ERabSetup(S1apSignal s, ConnectionKey conn)
        {
            if (OnConnection(conn, s) is not { } ue)
            {
                return;
            }

            var key = ue.Key;
            if (s.PduType == S1apPduType.InitiatingMessage)
            {
                var pending = ue.PendingUplinks;
                foreach (var e in s.ERabs.Where(e => e.Tunnel is not null))
                {
                    pending = pending.SetItem(e.ERabId, e.Tunnel!);
                }

                Put(ue with { PendingUplinks = pending, Qcis = ue.WithQcis(s.ERabs) });
                return;
            }

            var bearers = ue.Bearers;
            var added = new List<Bearer>();
            foreach (var e in s.ERabs.Where(e => !e.Failed && e.Tunnel is not null))
            {
                if (ue.PendingUplinks.GetValueOrDefault(e.ERabId) is not { } uplink)
                {
                    Note(TrackerNoteKind.Unplaced, $"{key}: E-RAB {e.ERabId} set up without a known uplink tunnel: ignored");
                    continue;
                }

                bearers = bearers.SetItem(e.ERabId, new TrackedBearer(e.ERabId, uplink, e.Tunnel));
                added.Add(new Bearer(e.ERabId, uplink, e.Tunnel!) { Qci = ue.Qci(e.ERabId) });
            }

            Put(ue with { Bearers = bearers, PendingUplinks = ue.PendingUplinks.RemoveRange(added.Select(b => b.ERabId)) });
            if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
            {
                foreach (var b in added)
                {
                    Emit(new BearerAdded(_at, ue.Id!.Value, b), ue.Cgi);
                }
            }
        }

        private void ReleaseBearers(S1apSignal s, ConnectionKey conn)
        {
            if (OnConnection(conn, s) is not { } ue)
            {
                return;
            }

            ReleaseListed(ue, s.ERabs.Where(e => !e.Failed).Select(e => e.ERabId), clearPending: s.Procedure == S1apProcedureCode.ERabRelease);
        }

        /// <summary>E-RAB Release Command: the MME orders these released; the eNB's response says it did.</summary>
        private void ReleaseOrdered(S1apSignal s, ConnectionKey conn)
        {
            if (OnConnection(conn, s) is not { } ue || s.ERabs.Count == 0)
            {
                return;
            }

            Put(ue with { PendingReleases = ue.PendingReleases.Union(s.ERabs.Select(e => e.ERabId)) });
        }

        /// <summary>Releases these E-RABs (a bearer, or a setup never seen answered); the pending command is done.</summary>
        private void ReleaseListed(TrackedUe ue, IEnumerable<byte> ids, bool clearPending)
        {
            foreach (var id in ids)
            {
                if (ue.Bearers.ContainsKey(id))
                {
                    ue = ue with { Bearers = ue.Bearers.Remove(id) };
                    if (ue.Announced && ue.Status != TrackedUeStatus.Detached)
                    {
                        Emit(new BearerReleased(_at, ue.Id!.Value, id), ue.Cgi);
                    }
                }
                else if (ue.PendingUplinks.ContainsKey(id))
                {
                    ue = ue with { PendingUplinks = ue.PendingUplinks.Remove(id) };
                    Note(TrackerNoteKind.Inferred, $"{ue.Key}: E-RAB {id} released before its setup was seen answered: no bearer");
                }
            }

            Put(clearPending ? ue with { PendingReleases = ImmutableSortedSet<byte>.Empty } : ue);
        }

        private void ERabModification(S1apSignal s, ConnectionKey conn)
        {
            if (OnConnection(conn, s) is not { } ue)
            {
                return;
            }

            if (s.PduType == S1apPduType.InitiatingMessage)
            {
                ue = ue.PendingModifications.IsEmpty ? ue : ApplyModifications(ue, "a new indication came");
                Put(ue with { PendingModifications = s.ERabs.Where(e => e.Tunnel is not null).ToImmutableDictionary(e => e.ERabId, e => e.Tunnel!) });
                return;
            }

            // The confirm lists the E-RABs the MME modified; one that lists nothing (and no failure) confirms them all.
            var confirmed = s.ERabs.Count == 0 && s.Cause is null
                ? ue.PendingModifications.Keys.ToList()
                : s.ERabs.Where(e => !e.Failed).Select(e => e.ERabId).ToList();
            if (ue.PendingModifications.IsEmpty)
            {
                Note(TrackerNoteKind.Inferred, $"{ue.Key}: {s.MessageName} without its indication: E-RAB{(confirmed.Count == 1 ? "" : "s")} {string.Join(", ", confirmed)} moved to downlink ends that were not seen; the bearers keep the last known ones");
                return;
            }

            var bearers = ue.Bearers;
            foreach (var id in confirmed.Order())
            {
                if (ue.PendingModifications.TryGetValue(id, out var downlink) && bearers.TryGetValue(id, out var bearer))
                {
                    bearers = bearers.SetItem(id, bearer with { Downlink = downlink });
                    if (ue.Announced)
                    {
                        Emit(new BearerModified(_at, ue.Id!.Value, new BearerDownlink(id, downlink)), ue.Cgi);
                    }
                }
            }

            Put(ue with { Bearers = bearers, PendingModifications = ImmutableDictionary<byte, GtpEndpoint>.Empty });
        }
    }
}
