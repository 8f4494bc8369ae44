using System.Collections.Immutable;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>Attach and service request: InitialUEMessage, NAS transport, InitialContextSetup.</summary>
    private sealed partial class Step
    {
        private void InitialUeMessage(S1apSignal s, ConnectionKey conn)
        {
            // Initial NAS messages are plain or integrity-protected only (TS 24.301 4.4.4.3), so no cipher state is needed.
            var nas = ReadNas(s, nullCiphering: false);
            var known = nas?.Imsi is { } imsi ? _index.ByImsi(imsi) : null;
            var mtmsi = nas?.MTmsi ?? s.STmsi?.MTmsi;
            if (known is null && mtmsi is { } m)
            {
                known = _index.ByMTmsi(m);
            }

            if (known is { Status: TrackedUeStatus.Connected, Serving: { } old } && old != conn)
            {
                // A UE in ECM-CONNECTED sends no InitialUEMessage: its old connection was released unseen (both the
                // UEContextReleaseCommand and Complete lost), and it comes back from idle.
                Note(TrackerNoteKind.Inferred, $"{known.Key}: InitialUEMessage ({nas?.Kind ?? NasKind.None}) on {conn} while connected on {old}: that connection was released unseen, the UE went idle");
                Release(known, old, cause: null);
                known = _index.Get(known.Key);
            }

            var key = known?.Key ?? NewUe();
            var ue = Ue(key);
            Put(Serve(ue, conn) with
            {
                Imsi = ue.Imsi ?? nas?.Imsi,
                CellId = s.Cgi?.CellId ?? ue.CellId,
                Cgi = s.Cgi ?? ue.Cgi,
                Status = ue.Status == TrackedUeStatus.Detached ? TrackedUeStatus.Registering : ue.Status,
            });
            if (ue.Status == TrackedUeStatus.Detached)
            {
                // A new registration of a UE we saw detach: announce it again once its context is up.
                Put(Ue(key) with { Announced = false, Bearers = ImmutableSortedDictionary<byte, TrackedBearer>.Empty });
            }

            if (nas?.Kind == NasKind.DetachRequest)
            {
                Detach(key);
            }
            else if (nas?.Kind == NasKind.AttachRequest && ue.Announced && ue.Status != TrackedUeStatus.Detached)
            {
                // A UE that attaches again drops its old registration (TS 24.301 5.5.1.2.7): say so before the new one.
                Detach(key);
                Put(Serve(Ue(key), conn) with { Announced = false, Status = TrackedUeStatus.Registering });
            }
        }

        private void NasTransport(S1apSignal s, ConnectionKey conn, bool fromEnb)
        {
            if (OnConnection(conn, s) is not { } ue)
            {
                return;
            }

            if (!fromEnb && s.MmeUeS1apId is { } mme && ue.MmeUeS1apId != mme)
            {
                ue = ue with { MmeUeS1apId = mme };
                Put(ue);
            }

            ApplyNas(ue.Key, ReadNas(s, ue.NullCiphering));
        }

        private void InitialContextSetup(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            UeKey key;
            if (_index.ByConnection(conn) is { } owner)
            {
                key = owner.Key;
            }
            else
            {
                // Context setup for a connection whose InitialUEMessage we did not see (capture started later).
                key = NewUe();
                Put(Serve(Ue(key), conn));
                Note(TrackerNoteKind.Inferred, $"{key}: {s.MessageName} on {conn}, whose InitialUEMessage was not seen: a UE is there");
            }

            switch (s.PduType)
            {
                case S1apPduType.InitiatingMessage:
                    {
                        var uplinks = s.ERabs.Where(e => e.Tunnel is not null).ToImmutableDictionary(e => e.ERabId, e => e.Tunnel!);
                        key = LinkByUplinks(key, uplinks.Values);
                        var ue = Ue(key);
                        Put(Serve(ue, conn) with { PendingUplinks = uplinks, MmeUeS1apId = s.MmeUeS1apId ?? ue.MmeUeS1apId, Qcis = ue.WithQcis(s.ERabs) });
                        foreach (var tunnel in uplinks.Values)
                        {
                            if (_maps.Sessions.TryGetValue(tunnel, out var hint))
                            {
                                key = LearnFromSession(key, hint, announce: false);
                            }
                        }

                        ApplyNas(key, ReadNas(s, Ue(key).NullCiphering));
                        break;
                    }

                case S1apPduType.SuccessfulOutcome:
                    ContextUp(s, key, conn, EnbFor(association, enbEnd));
                    break;

                default:
                    // InitialContextSetupFailure: the context (and any bearer in it) never came up.
                    Put(Ue(key) with { PendingUplinks = ImmutableDictionary<byte, GtpEndpoint>.Empty });
                    Note(TrackerNoteKind.Failed, $"{key}: initial context setup failed ({s.Cause}): no bearer");
                    break;
            }
        }

        /// <summary>InitialContextSetupResponse: the bearers are up at <paramref name="enb"/> (attach, or service request).</summary>
        private void ContextUp(S1apSignal s, UeKey key, ConnectionKey conn, EnbId enb)
        {
            var ue = Ue(key);
            var bearers = ue.Bearers;
            var fresh = new List<TrackedBearer>();
            foreach (var e in s.ERabs)
            {
                if (e.Failed || e.Tunnel is null)
                {
                    continue;
                }

                var uplink = ue.PendingUplinks.GetValueOrDefault(e.ERabId) ?? bearers.GetValueOrDefault(e.ERabId)?.Uplink;
                if (uplink is null)
                {
                    Note(TrackerNoteKind.Unplaced, $"{key}: E-RAB {e.ERabId} set up without a known uplink tunnel: ignored");
                    continue;
                }

                fresh.Add(new TrackedBearer(e.ERabId, uplink, e.Tunnel));
            }

            var wasIdle = ue.Announced && ue.Status == TrackedUeStatus.Idle;
            var wasConnected = ue.Announced && ue.Status == TrackedUeStatus.Connected;
            var previousEnb = ue.Enb;
            var changed = fresh.Where(b => bearers.GetValueOrDefault(b.ERabId) is not { } old || old.Downlink != b.Downlink).ToList();
            foreach (var b in fresh)
            {
                bearers = bearers.SetItem(b.ERabId, b);
            }

            Put(Serve(ue, conn) with
            {
                Bearers = bearers,
                PendingUplinks = ImmutableDictionary<byte, GtpEndpoint>.Empty,
                Enb = enb,
                Status = TrackedUeStatus.Connected,
            });
            if (wasIdle || (wasConnected && previousEnb != enb))
            {
                Emit(new ServiceRequested(_at, Ue(key).Id!.Value, enb, Ue(key).ActiveBearers()), Ue(key).Cgi);
            }
            else if (wasConnected)
            {
                foreach (var b in changed)
                {
                    Emit(new BearerModified(_at, Ue(key).Id!.Value, new BearerDownlink(b.ERabId, b.Downlink!)), Ue(key).Cgi);
                }
            }
            else
            {
                Put(Ue(key) with { AwaitingAddress = true });
                AnnounceIfReady(key);
            }
        }
    }
}
