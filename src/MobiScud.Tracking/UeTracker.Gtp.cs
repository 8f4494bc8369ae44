using MobiScud.Control.Model;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>S11 (Create Session: IMSI and PDN address per S-GW tunnel end) and GTP-U (a UE's address from its uplink).</summary>
    private sealed partial class Step
    {
        /// <summary>Bounds on what waits for a partner that may never be captured.</summary>
        private const int MaxPendingCreateSessions = 4096;
        private const int MaxSessions = 65536;

        public void Gtpc(GtpcSignal g)
        {
            switch (g.MessageType)
            {
                case GtpcSignal.CreateSessionRequest:
                    if (_maps.PendingCreateSessions.Count > MaxPendingCreateSessions)
                    {
                        // Requests whose responses were never captured must not pile up.
                        _maps = _maps with { PendingCreateSessions = _maps.PendingCreateSessions.Clear() };
                    }

                    if (!_maps.PendingCreateSessions.TryGetValue(g.SequenceNumber, out var waiting) || waiting != g.Imsi)
                    {
                        _maps = _maps with { PendingCreateSessions = _maps.PendingCreateSessions.SetItem(g.SequenceNumber, g.Imsi) };
                    }

                    break;
                case GtpcSignal.CreateSessionResponse:
                    if (!_maps.PendingCreateSessions.TryGetValue(g.SequenceNumber, out var imsi))
                    {
                        Note(TrackerNoteKind.Inferred, $"Create Session Response seq {g.SequenceNumber} without its request: its tunnels are kept without an IMSI");
                    }

                    _maps = _maps with { PendingCreateSessions = _maps.PendingCreateSessions.Remove(g.SequenceNumber) };
                    if (_maps.Sessions.Count > MaxSessions)
                    {
                        // Sessions of UEs long gone (a live tap runs for months): start over rather than grow.
                        _maps = _maps with { Sessions = _maps.Sessions.Clear() };
                    }

                    foreach (var tunnel in g.S1uSgwTunnels)
                    {
                        var hint = new SessionHint(imsi, g.PdnAddress);
                        if (!_maps.Sessions.TryGetValue(tunnel, out var known) || known != hint)
                        {
                            _maps = _maps with { Sessions = _maps.Sessions.SetItem(tunnel, hint) };
                        }

                        if (_index.ByUplink(tunnel) is { } ue)
                        {
                            LearnFromSession(ue.Key, hint);
                        }
                    }

                    break;
            }
        }

        public void Gtpu(GtpuSignal u)
        {
            if (u.InnerSource is null || _index.ByUplink(new GtpEndpoint(u.Destination.Address.ToIPAddress(), u.Teid)) is not { } ue)
            {
                return;
            }

            if (ue.Address is null)
            {
                Put(ue with { Address = u.InnerSource });
                Note(TrackerNoteKind.Learnt, $"{ue.Key}: address {u.InnerSource} learnt from the first uplink GTP-U packet");
                AnnounceIfReady(ue.Key);
            }
        }
    }
}
