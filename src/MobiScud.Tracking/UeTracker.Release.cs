using System.Collections.Immutable;
using MobiScud.Control.Model;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>Release to idle (UEContextReleaseCommand), S1 Reset, and detach.</summary>
    private sealed partial class Step
    {
        /// <summary>Twice the default periodic TAU timer T3412 (54 min, TS 24.301 10.2): a UE still there would have
        /// made a connection for its periodic tracking area update by then.</summary>
        private static readonly TimeSpan _idleExpiry = TimeSpan.FromHours(2);

        private void ReleaseCommand(S1apSignal s, SctpAssociationKey association)
        {
            ConnectionKey? conn = null;
            if (s.EnbUeS1apId is { } enbUe)
            {
                conn = new ConnectionKey(association, enbUe);
            }
            else if (s.MmeUeS1apId is { } mme)
            {
                // Only the MME's id: the connection on this association of a UE last given that id (its serving one first).
                foreach (var u in _index.ByMmeUeS1apId(mme).Reverse())
                {
                    conn = u.Serving is { } current && current.Association == association
                        ? current
                        : u.Connections.Where(c => c.Association == association).Select(c => (ConnectionKey?)c).FirstOrDefault();
                    if (conn is not null)
                    {
                        break;
                    }
                }
            }

            if (conn is not { } c || _index.ByConnection(c) is not { } ue)
            {
                Note(TrackerNoteKind.Unplaced, $"UEContextReleaseCommand on {association} (ENB-UE {s.EnbUeS1apId}, MME-UE {s.MmeUeS1apId}): no UE on that connection");
                return;
            }

            Release(ue, c, s.Cause);
        }

        /// <summary>
        /// UEContextReleaseComplete on a connection that still names a UE: its command was not seen (the tap missed a
        /// direction, or started between the two). The eNB released the context, so the tracker does too.
        /// </summary>
        private void ReleaseComplete(S1apSignal s, SctpAssociationKey association)
        {
            if (s.EnbUeS1apId is not { } enbUe || _index.ByConnection(new ConnectionKey(association, enbUe)) is not { } ue)
            {
                // The usual case: the command already released the connection.
                return;
            }

            var conn = new ConnectionKey(association, enbUe);
            Note(TrackerNoteKind.Inferred, $"{ue.Key}: UEContextReleaseComplete on {conn} without its command: the connection is released");
            Release(ue, conn, cause: null);
        }

        /// <summary>The UE's connection <paramref name="c"/> is gone: if it served the UE, the UE is idle, detached or handed over.</summary>
        private void Release(TrackedUe ue, ConnectionKey c, S1apCause? cause)
        {
            var serving = ue.Serving == c;
            Put(UeIndex.Forget(ue, c));
            if (!serving)
            {
                // The source after a handover, or the target after a cancel: the UE lives on elsewhere; or the UE
                // detached, and this was its last connection.
                ForgetIfDetached(ue.Key);
                return;
            }

            if (ue.Handover is { TargetConnection: { } target } h && _index.ByConnection(target)?.Key == ue.Key)
            {
                // The target admitted the UE and the MME now releases the source: the handover happened, although its
                // HandoverNotify was not seen (TS 36.413 8.4.2: the MME releases the source after the notify).
                Note(TrackerNoteKind.Inferred, $"{ue.Key}: source {c} released during the handover to {h.Target}: the handover is complete (HandoverNotify not seen)");
                CompleteHandover(Ue(ue.Key), h, target, cgi: null);
                return;
            }

            if (cause is { Group: CauseGroup.Nas, Value: 2 })
            {
                Detach(ue.Key);
                return;
            }

            ReleaseToIdle(ue.Key);
        }

        private void Reset(S1apSignal s, SctpAssociationKey association)
        {
            bool Named(ConnectionKey c, TrackedUe ue) => s.ResetAll || s.ResetConnections.Any(r =>
                (r.EnbUeS1apId is { } e && e == c.EnbUeS1apId) || (r.EnbUeS1apId is null && r.MmeUeS1apId is { } m && ue.MmeUeS1apId == m));
            // In the order the immutable index enumerated them (by hash code), so the events come in the same order.
            foreach (var conn in _index.Connections.Where(c => c.Association == association).OrderBy(c => c.GetHashCode()).ThenBy(c => c.EnbUeS1apId).ToList())
            {
                // An earlier connection's release may have forgotten this UE (and this connection) already.
                if (_index.ByConnection(conn) is not { } ue || !Named(conn, ue))
                {
                    continue;
                }

                var serving = ue.Serving == conn;
                Put(UeIndex.Forget(ue, conn));
                if (serving)
                {
                    ReleaseToIdle(ue.Key);
                }
                else
                {
                    ForgetIfDetached(ue.Key);
                }
            }
        }

        private void ReleaseToIdle(UeKey key)
        {
            var ue = Ue(key);
            if (!ue.Announced && ue.Imsi is null && ue.MTmsi is null && ue.Bearers.IsEmpty)
            {
                // Nothing ever came of this connection (rejected attach or service request): forget it.
                RemoveUe(key);
                return;
            }

            // E-RABs ordered released (the response not seen) do not come back at the next service request.
            var bearers = ue.Bearers.RemoveRange(ue.PendingReleases).ToImmutableSortedDictionary(b => b.Key, b => b.Value with { Downlink = null });
            var wasConnected = ue.Status == TrackedUeStatus.Connected;
            Put(ue with
            {
                Serving = null,
                Status = ue.Announced || ue.Status == TrackedUeStatus.Connected ? TrackedUeStatus.Idle : ue.Status,
                Bearers = bearers,
                PendingUplinks = ImmutableDictionary<byte, GtpEndpoint>.Empty,
                PendingModifications = ImmutableDictionary<byte, GtpEndpoint>.Empty,
                PendingReleases = ImmutableSortedSet<byte>.Empty,
                Handover = null,
                PathSwitch = null,
            });
            if (ue.Announced && wasConnected)
            {
                Emit(new UeReleasedToIdle(_at, ue.Id!.Value), ue.Cgi);
            }
        }

        private void Detach(UeKey key)
        {
            var ue = Ue(key);
            Put(ue with
            {
                Status = TrackedUeStatus.Detached,
                Bearers = ImmutableSortedDictionary<byte, TrackedBearer>.Empty,
                PendingModifications = ImmutableDictionary<byte, GtpEndpoint>.Empty,
                PendingReleases = ImmutableSortedSet<byte>.Empty,
                Serving = null,
                Handover = null,
                PathSwitch = null,
                AwaitingAddress = false,
            });
            if (ue.Announced && ue.Status != TrackedUeStatus.Detached)
            {
                Emit(new Detached(_at, ue.Id!.Value), ue.Cgi);
            }

            ForgetIfDetached(key);
        }

        /// <summary>
        /// UEs without a connection and unchanged for <see cref="_idleExpiry"/> left the network unseen (switched off, moved
        /// to another MME): forget them, so a long-running tap does not keep every UE it ever saw. Only those a return
        /// would give the same id: never announced, or known by IMSI (their id is IMSI-based). Runs when a UE is created,
        /// so its cost follows new UEs, not messages.
        /// </summary>
        private void ForgetLongGone()
        {
            // No UE that may be forgotten was last seen before the bound: none is old enough, and no scan is needed
            // (in ticks: the bound starts at TimeSpan.MaxValue).
            if (_index.ForgetBound.Ticks >= _at.Ticks - _idleExpiry.Ticks)
            {
                return;
            }

            List<UeKey>? gone = null;
            var bound = TimeSpan.MaxValue;
            foreach (var ue in _index.Ues)
            {
                if (!UeIndex.MayBeForgotten(ue))
                {
                    continue;
                }

                var seen = _index.LastSeen(ue);
                if (_at - seen > _idleExpiry)
                {
                    (gone ??= []).Add(ue.Key);
                }
                else if (seen < bound)
                {
                    bound = seen;
                }
            }

            // In the order the immutable index enumerated them (by hash code): the note names them in that order.
            gone?.Sort((a, b) => a.GetHashCode() != b.GetHashCode() ? a.GetHashCode().CompareTo(b.GetHashCode()) : a.CompareTo(b));
            foreach (var key in gone ?? [])
            {
                RemoveUe(key);
            }

            _index.ForgetBound = bound;

            if (gone is not null)
            {
                Note(TrackerNoteKind.Learnt, $"{string.Join(", ", gone)}: no connection for {_idleExpiry.TotalHours:0} h: forgotten");
            }
        }

        /// <summary>
        /// A detached UE with no connection left is gone: a new registration finds no record and starts afresh (with
        /// the same IMSI-based id), and a long-running tap does not keep every UE it ever saw.
        /// </summary>
        private void ForgetIfDetached(UeKey key)
        {
            if (_index.Get(key) is { Status: TrackedUeStatus.Detached, Connections.IsEmpty: true })
            {
                RemoveUe(key);
            }
        }
    }
}
