using System.Collections.Immutable;
using MobiScud.Control.Model;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>
    /// Procedures whose answer was not seen (a lost frame, a tap missing one direction). A procedure waits on its
    /// connection for the answer; any other message on that connection shows the answer went by unseen, and the tracker
    /// goes on as the answer would have made it (an <see cref="TrackerNoteKind.Inferred"/> note says what): a path
    /// switch happened, ordered E-RAB releases were done, an E-RAB modification the eNB indicated holds.
    /// </summary>
    private sealed partial class Step
    {
        private void Settle(ConnectionKey conn, S1apSignal s, bool fromEnb)
        {
            if (_index.ByConnection(conn) is not { } ue)
            {
                return;
            }

            var who = fromEnb ? "the eNB" : "the MME";
            if (ue.PathSwitch is { } ps && ps.Connection == conn && s.Procedure != S1apProcedureCode.PathSwitchRequest)
            {
                Note(TrackerNoteKind.Inferred, $"{ue.Key}: {s.MessageName} from {who} on {conn}, the path switch's new connection, before the acknowledge was seen: the path switch to {ps.Target} happened");
                CompletePathSwitch(ue, ps, ack: null);
                ue = Ue(ue.Key);
            }

            if (!ue.PendingReleases.IsEmpty && s.Procedure != S1apProcedureCode.ERabRelease && ue.Serving == conn)
            {
                Note(TrackerNoteKind.Inferred, $"{ue.Key}: {s.MessageName} from {who} on {conn} after an E-RAB Release Command whose response was not seen: E-RAB{(ue.PendingReleases.Count == 1 ? "" : "s")} {string.Join(", ", ue.PendingReleases)} released");
                ReleaseListed(ue, ue.PendingReleases, clearPending: true);
                ue = Ue(ue.Key);
            }

            if (!ue.PendingModifications.IsEmpty && s.Procedure != S1apProcedureCode.ERabModificationIndication && ue.Serving == conn)
            {
                ApplyModifications(ue, $"{s.MessageName} from {who} on {conn} came first");
            }
        }

        /// <summary>
        /// The eNB indicated new downlink ends (E-RAB Modification Indication: it already uses them) and the confirm
        /// was not seen: the modification holds.
        /// </summary>
        private TrackedUe ApplyModifications(TrackedUe ue, string why)
        {
            Note(TrackerNoteKind.Inferred, $"{ue.Key}: E-RAB modification indication without its confirm ({why}): E-RAB{(ue.PendingModifications.Count == 1 ? "" : "s")} {string.Join(", ", ue.PendingModifications.Keys.Order())} use the indicated downlink ends");
            var bearers = ue.Bearers;
            foreach (var (id, downlink) in ue.PendingModifications.OrderBy(p => p.Key))
            {
                if (bearers.TryGetValue(id, out var bearer) && bearer.Downlink != downlink)
                {
                    bearers = bearers.SetItem(id, bearer with { Downlink = downlink });
                    if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
                    {
                        Emit(new BearerModified(_at, ue.Id!.Value, new BearerDownlink(id, downlink)), ue.Cgi);
                    }
                }
            }

            var next = ue with { Bearers = bearers, PendingModifications = ImmutableDictionary<byte, GtpEndpoint>.Empty };
            Put(next);
            return Ue(ue.Key);
        }
    }
}
