using System.Collections.Immutable;
using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

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
/// </remarks>
public static class UeTracker
{
    public static TrackerStep Apply(TrackerState state, TrackerInput input)
    {
        // Most GTP-U packets teach nothing (the UE's address is known): answer without copying the state.
        if (input is GtpuSignal packet && (packet.InnerSource is null
            || !state.Uplinks.TryGetValue(new GtpEndpoint(packet.Destination.Address.ToIPAddress(), packet.Teid), out var owner)
            || state.Ues[owner].Address is not null))
        {
            return new TrackerStep(state, [], []);
        }

        var step = new Step(state, input.At);
        switch (input)
        {
            case S1apSignal s:
                step.S1ap(s);
                break;
            case GtpcSignal g:
                step.Gtpc(g);
                break;
            case GtpuSignal u:
                step.Gtpu(u);
                break;
        }

        return step.Finish();
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

    private sealed class Step(TrackerState state, TimeSpan at)
    {
        private readonly ImmutableDictionary<SctpAssociationKey, EnbId>.Builder _enbs = state.Enbs.ToBuilder();
        private readonly ImmutableDictionary<ConnectionKey, string>.Builder _connections = state.Connections.ToBuilder();
        private readonly ImmutableDictionary<string, TrackedUe>.Builder _ues = state.Ues.ToBuilder();
        private readonly ImmutableDictionary<GtpEndpoint, string>.Builder _uplinks = state.Uplinks.ToBuilder();
        private readonly ImmutableDictionary<GtpEndpoint, SessionHint>.Builder _sessions = state.Sessions.ToBuilder();
        private readonly ImmutableDictionary<uint, string?>.Builder _pendingCs = state.PendingCreateSessions.ToBuilder();
        private readonly List<UeEvent> _events = [];
        private readonly List<string> _notes = [];
        private long _nextKey = state.NextKey;

        public TrackerStep Finish() => new(
            new TrackerState
            {
                Enbs = _enbs.ToImmutable(),
                Connections = _connections.ToImmutable(),
                Ues = _ues.ToImmutable(),
                Uplinks = _uplinks.ToImmutable(),
                Sessions = _sessions.ToImmutable(),
                PendingCreateSessions = _pendingCs.ToImmutable(),
                NextKey = _nextKey,
            },
            _events,
            _notes);

        public void S1ap(S1apSignal s)
        {
            var fromEnb = IsFromEnb(s.Procedure, s.PduType);
            var enbEnd = fromEnb ? s.Source : s.Destination;
            var association = SctpAssociationKey.From(s.Source, s.Destination, out _);
            ConnectionKey? conn = s.EnbUeS1apId is { } enbUe ? new ConnectionKey(association, enbUe) : null;
            var initiating = s.PduType == S1apPduType.InitiatingMessage;
            switch (s.Procedure)
            {
                case S1apProcedureCode.S1Setup when initiating && s.GlobalEnbId is { } g:
                    _enbs[association] = new EnbId(g.EnbId);
                    break;
                case S1apProcedureCode.InitialUeMessage when conn is { } c:
                    InitialUeMessage(s, c, association, enbEnd);
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
                case S1apProcedureCode.ERabRelease when !initiating && conn is { } c:
                    ReleaseBearers(s, c);
                    break;
                case S1apProcedureCode.ERabReleaseIndication when conn is { } c:
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
                    HandoverNotify(s, c, association, enbEnd);
                    break;
                case S1apProcedureCode.HandoverCancel when initiating && conn is { } c:
                    HandoverCancel(c);
                    break;
                case S1apProcedureCode.UeContextRelease when initiating:
                    ReleaseCommand(s, association);
                    break;
                case S1apProcedureCode.Reset when initiating:
                    Reset(s, association);
                    break;
            }
        }

        public void Gtpc(GtpcSignal g)
        {
            switch (g.MessageType)
            {
                case GtpcSignal.CreateSessionRequest:
                    if (_pendingCs.Count > 4096)
                    {
                        // Requests whose responses were never captured must not pile up.
                        _pendingCs.Clear();
                    }

                    _pendingCs[g.SequenceNumber] = g.Imsi;
                    break;
                case GtpcSignal.CreateSessionResponse:
                    var key = g.SequenceNumber;
                    _pendingCs.TryGetValue(key, out var imsi);
                    _pendingCs.Remove(key);
                    foreach (var tunnel in g.S1uSgwTunnels)
                    {
                        _sessions[tunnel] = new SessionHint(imsi, g.PdnAddress);
                        if (_uplinks.TryGetValue(tunnel, out var ueKey))
                        {
                            LearnFromSession(ueKey, _sessions[tunnel]);
                        }
                    }

                    break;
            }
        }

        public void Gtpu(GtpuSignal u)
        {
            if (u.InnerSource is null || !_uplinks.TryGetValue(new GtpEndpoint(u.Destination.Address.ToIPAddress(), u.Teid), out var key))
            {
                return;
            }

            var ue = _ues[key];
            if (ue.Address is null)
            {
                Put(ue with { Address = u.InnerSource });
                _notes.Add($"{key}: address {u.InnerSource} learnt from the first uplink GTP-U packet");
                AnnounceIfReady(key);
            }
        }

        private void InitialUeMessage(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            // Initial NAS messages are plain or integrity-protected only (TS 24.301 4.4.4.3), so no cipher state is needed.
            var nas = ReadNas(s, nullCiphering: false);
            string? key = null;
            if (nas?.Imsi is { } imsi)
            {
                key = FindUe(u => u.Imsi == imsi);
            }

            var mtmsi = nas?.MTmsi ?? s.STmsi?.MTmsi;
            if (key is null && mtmsi is { } m)
            {
                key = FindUe(u => u.MTmsi == m);
            }

            key ??= NewUe();
            var ue = _ues[key];
            _connections[conn] = key;
            Put(ue with
            {
                Imsi = ue.Imsi ?? nas?.Imsi,
                Serving = conn,
                CellId = s.Cgi?.CellId ?? ue.CellId,
                Status = ue.Status == TrackedUeStatus.Detached ? TrackedUeStatus.Registering : ue.Status,
            });
            if (ue.Status == TrackedUeStatus.Detached)
            {
                // A new registration of a UE we saw detach: announce it again once its context is up.
                Put(_ues[key] with { Announced = false, Bearers = ImmutableSortedDictionary<byte, TrackedBearer>.Empty });
            }

            if (nas?.Kind == NasKind.DetachRequest)
            {
                Detach(key);
            }
            else if (nas?.Kind == NasKind.AttachRequest && ue.Announced && ue.Status != TrackedUeStatus.Detached)
            {
                // A UE that attaches again drops its old registration (TS 24.301 5.5.1.2.7): say so before the new one.
                Detach(key);
                Put(_ues[key] with { Announced = false, Status = TrackedUeStatus.Registering, Serving = conn });
            }
        }

        private void NasTransport(S1apSignal s, ConnectionKey conn, bool fromEnb)
        {
            if (!_connections.TryGetValue(conn, out var key))
            {
                return;
            }

            var ue = _ues[key];
            if (!fromEnb && s.MmeUeS1apId is { } mme)
            {
                ue = ue with { MmeUeS1apId = mme };
            }

            Put(ue);
            ApplyNas(key, ReadNas(s, ue.NullCiphering));
        }

        private static NasFacts? ReadNas(S1apSignal s, bool nullCiphering)
        {
            if (s.NasPdus.Count == 0)
            {
                return s.Nas;
            }

            NasFacts? merged = null;
            foreach (var pdu in s.NasPdus)
            {
                if (NasFactsReader.Read(pdu, nullCiphering) is not { } f)
                {
                    continue;
                }

                merged = merged is null
                    ? f
                    : merged with
                    {
                        Kind = merged.Kind is NasKind.Other or NasKind.None ? f.Kind : merged.Kind,
                        Imsi = merged.Imsi ?? f.Imsi,
                        MTmsi = merged.MTmsi ?? f.MTmsi,
                        PdnAddress = merged.PdnAddress ?? f.PdnAddress,
                        SelectedCipheringAlgorithm = merged.SelectedCipheringAlgorithm ?? f.SelectedCipheringAlgorithm,
                    };
            }

            return merged;
        }

        private string ApplyNas(string key, NasFacts? nas)
        {
            if (nas is null)
            {
                return key;
            }

            var ue = _ues[key];
            (key, ue) = AdoptImsi(key, ue, nas.Imsi);

            ue = ue with
            {
                MTmsi = nas.MTmsi ?? ue.MTmsi,
                Address = ue.Address ?? nas.PdnAddress,
                NullCiphering = nas.SelectedCipheringAlgorithm is { } alg ? alg == 0 : ue.NullCiphering,
            };
            Put(ue);
            if (nas.Kind == NasKind.DetachRequest)
            {
                Detach(key);
            }
            else
            {
                AnnounceIfReady(key);
            }

            return key;
        }

        private void InitialContextSetup(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            if (!_connections.TryGetValue(conn, out var key))
            {
                // Context setup for a connection whose InitialUEMessage we did not see (capture started later).
                key = NewUe();
                _connections[conn] = key;
                Put(_ues[key] with { Serving = conn });
            }

            switch (s.PduType)
            {
                case S1apPduType.InitiatingMessage:
                    {
                        var uplinks = s.ERabs.Where(e => e.Tunnel is not null).ToImmutableDictionary(e => e.ERabId, e => e.Tunnel!);
                        key = LinkByUplinks(key, uplinks.Values);
                        var ue = _ues[key];
                        Put(ue with { PendingUplinks = uplinks, MmeUeS1apId = s.MmeUeS1apId ?? ue.MmeUeS1apId, Serving = conn });
                        foreach (var tunnel in uplinks.Values)
                        {
                            if (_sessions.TryGetValue(tunnel, out var hint))
                            {
                                key = LearnFromSession(key, hint, announce: false);
                            }
                        }

                        ApplyNas(key, ReadNas(s, _ues[key].NullCiphering));
                        break;
                    }

                case S1apPduType.SuccessfulOutcome:
                    {
                        var ue = _ues[key];
                        var enb = EnbFor(association, enbEnd, s.Cgi ?? null, ue.CellId);
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
                                _notes.Add($"{key}: E-RAB {e.ERabId} set up without a known uplink tunnel: ignored");
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
                            _uplinks[b.Uplink] = key;
                        }

                        Put(ue with
                        {
                            Bearers = bearers,
                            PendingUplinks = ImmutableDictionary<byte, GtpEndpoint>.Empty,
                            Enb = enb,
                            Serving = conn,
                            Status = TrackedUeStatus.Connected,
                        });
                        if (wasIdle || (wasConnected && previousEnb != enb))
                        {
                            _events.Add(new ServiceRequested(at, _ues[key].Id!.Value, enb, _ues[key].ActiveBearers()));
                        }
                        else if (wasConnected)
                        {
                            foreach (var b in changed)
                            {
                                _events.Add(new BearerModified(at, _ues[key].Id!.Value, new BearerDownlink(b.ERabId, b.Downlink!)));
                            }
                        }
                        else
                        {
                            Put(_ues[key] with { AwaitingAddress = true });
                            AnnounceIfReady(key);
                        }

                        break;
                    }

                default:
                    // InitialContextSetupFailure: the context (and any bearer in it) never came up.
                    Put(_ues[key] with { PendingUplinks = ImmutableDictionary<byte, GtpEndpoint>.Empty });
                    _notes.Add($"{key}: initial context setup failed ({s.Cause}): no bearer");
                    break;
            }
        }

        private void ERabSetup(S1apSignal s, ConnectionKey conn)
        {
            if (!_connections.TryGetValue(conn, out var key))
            {
                return;
            }

            var ue = _ues[key];
            if (s.PduType == S1apPduType.InitiatingMessage)
            {
                var pending = ue.PendingUplinks;
                foreach (var e in s.ERabs.Where(e => e.Tunnel is not null))
                {
                    pending = pending.SetItem(e.ERabId, e.Tunnel!);
                }

                Put(ue with { PendingUplinks = pending });
                return;
            }

            var bearers = ue.Bearers;
            var added = new List<Bearer>();
            foreach (var e in s.ERabs.Where(e => !e.Failed && e.Tunnel is not null))
            {
                if (ue.PendingUplinks.GetValueOrDefault(e.ERabId) is not { } uplink)
                {
                    _notes.Add($"{key}: E-RAB {e.ERabId} set up without a known uplink tunnel: ignored");
                    continue;
                }

                bearers = bearers.SetItem(e.ERabId, new TrackedBearer(e.ERabId, uplink, e.Tunnel));
                _uplinks[uplink] = key;
                added.Add(new Bearer(e.ERabId, uplink, e.Tunnel!));
            }

            Put(ue with { Bearers = bearers, PendingUplinks = ue.PendingUplinks.RemoveRange(added.Select(b => b.ERabId)) });
            if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
            {
                _events.AddRange(added.Select(b => new BearerAdded(at, ue.Id!.Value, b)));
            }
        }

        private void ReleaseBearers(S1apSignal s, ConnectionKey conn)
        {
            if (!_connections.TryGetValue(conn, out var key))
            {
                return;
            }

            var ue = _ues[key];
            foreach (var e in s.ERabs.Where(e => !e.Failed))
            {
                if (ue.Bearers.TryGetValue(e.ERabId, out var bearer))
                {
                    ue = ue with { Bearers = ue.Bearers.Remove(e.ERabId) };
                    _uplinks.Remove(bearer.Uplink);
                    if (ue.Announced && ue.Status != TrackedUeStatus.Detached)
                    {
                        _events.Add(new BearerReleased(at, ue.Id!.Value, e.ERabId));
                    }
                }
            }

            Put(ue);
        }

        private void ERabModification(S1apSignal s, ConnectionKey conn)
        {
            if (!_connections.TryGetValue(conn, out var key))
            {
                return;
            }

            var ue = _ues[key];
            if (s.PduType == S1apPduType.InitiatingMessage)
            {
                Put(ue with { PendingModifications = s.ERabs.Where(e => e.Tunnel is not null).ToImmutableDictionary(e => e.ERabId, e => e.Tunnel!) });
                return;
            }

            // The confirm lists the E-RABs the MME modified; one that lists nothing (and no failure) confirms them all.
            var confirmed = s.ERabs.Count == 0 && s.Cause is null
                ? ue.PendingModifications.Keys.ToList()
                : s.ERabs.Where(e => !e.Failed).Select(e => e.ERabId).ToList();
            var bearers = ue.Bearers;
            foreach (var id in confirmed.Order())
            {
                if (ue.PendingModifications.TryGetValue(id, out var downlink) && bearers.TryGetValue(id, out var bearer))
                {
                    bearers = bearers.SetItem(id, bearer with { Downlink = downlink });
                    if (ue.Announced)
                    {
                        _events.Add(new BearerModified(at, ue.Id!.Value, new BearerDownlink(id, downlink)));
                    }
                }
            }

            Put(ue with { Bearers = bearers, PendingModifications = ImmutableDictionary<byte, GtpEndpoint>.Empty });
        }

        private void PathSwitch(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            switch (s.PduType)
            {
                case S1apPduType.InitiatingMessage:
                    {
                        var key = s.SourceMmeUeS1apId is { } source
                            ? FindUe(u => u.MmeUeS1apId == source && u.Status == TrackedUeStatus.Connected)
                            : null;
                        if (key is null)
                        {
                            _notes.Add($"PathSwitchRequest from {conn}: no connected UE with MME-UE-S1AP-ID {s.SourceMmeUeS1apId}");
                            return;
                        }

                        _connections[conn] = key;
                        var downlinks = s.ERabs.Where(e => e.Tunnel is not null).Select(e => new BearerDownlink(e.ERabId, e.Tunnel!)).ToImmutableArray();
                        var target = EnbFor(association, enbEnd, s.Cgi, null);
                        Put(_ues[key] with { PathSwitch = new PendingPathSwitch(target, conn, downlinks), CellId = s.Cgi?.CellId ?? _ues[key].CellId });
                        break;
                    }

                case S1apPduType.SuccessfulOutcome:
                    {
                        if (!_connections.TryGetValue(conn, out var key) || _ues[key].PathSwitch is not { } ps || ps.Connection != conn)
                        {
                            return;
                        }

                        var ue = _ues[key];
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
                                _uplinks.Remove(b.Uplink);
                                bearers = bearers.SetItem(e.ERabId, b with { Uplink = e.Tunnel! });
                                _uplinks[e.Tunnel!] = key;
                            }
                        }

                        if (ue.Serving is { } old && old != conn)
                        {
                            _connections.Remove(old);
                        }

                        Put(ue with { Bearers = bearers, PathSwitch = null, Serving = conn, Enb = ps.Target, MmeUeS1apId = s.MmeUeS1apId ?? ue.MmeUeS1apId });
                        if (ue.Announced)
                        {
                            _events.Add(new PathSwitched(at, ue.Id!.Value, ps.Target, ps.Downlinks));
                        }

                        break;
                    }

                default:
                    if (_connections.TryGetValue(conn, out var failedKey) && _ues[failedKey].PathSwitch is { } pending && pending.Connection == conn)
                    {
                        Put(_ues[failedKey] with { PathSwitch = null });
                        _connections.Remove(conn);
                        _notes.Add($"{failedKey}: path switch to {pending.Target} failed ({s.Cause})");
                    }

                    break;
            }
        }

        private void HandoverPreparation(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            if (!_connections.TryGetValue(conn, out var key))
            {
                return;
            }

            var ue = _ues[key];
            switch (s.PduType)
            {
                case S1apPduType.InitiatingMessage when s.TargetEnbId is { } target:
                    {
                        var source = ue.Enb ?? EnbFor(association, enbEnd, null, ue.CellId);
                        var targetEnb = new EnbId(target.EnbId);
                        Put(ue with { Handover = new PendingHandover(source, targetEnb) });
                        if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
                        {
                            _events.Add(new HandoverPrepared(at, ue.Id!.Value, source, targetEnb, HandoverKind.S1));
                        }

                        break;
                    }

                case S1apPduType.SuccessfulOutcome when ue.Handover is { Commanded: false } pending:
                    // HandoverCommand to the source eNB: the execution phase starts (TS 36.413 8.4.1.2); a retransmission says nothing new.
                    Put(ue with { Handover = pending with { Commanded = true } });
                    if (ue.Announced && ue.Status == TrackedUeStatus.Connected)
                    {
                        _events.Add(new HandoverExecuting(at, ue.Id!.Value, pending.Target));
                    }

                    break;

                case S1apPduType.UnsuccessfulOutcome when ue.Handover is { } pending:
                    CancelHandover(key, pending, $"preparation failed ({s.Cause})");
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
                        var candidates = _ues.Values.Where(u => u.Handover is { TargetMmeUeS1apId: null }).ToList();
                        var chosen = candidates.FirstOrDefault(u => uplinks.Count > 0 && uplinks.Values.All(t => u.Bearers.Values.Any(b => b.Uplink == t)))
                            ?? candidates.FirstOrDefault(u => u.Handover!.Target == targetEnb)
                            ?? (candidates.Count == 1 ? candidates[0] : null);
                        if (chosen is null)
                        {
                            _notes.Add($"HandoverRequest to {targetEnb} (MME-UE-S1AP-ID {s.MmeUeS1apId}): no pending handover to link it to");
                            return;
                        }

                        Put(chosen with
                        {
                            Handover = chosen.Handover! with { TargetMmeUeS1apId = s.MmeUeS1apId, TargetAssociation = association, Uplinks = uplinks },
                        });
                        break;
                    }

                case S1apPduType.SuccessfulOutcome when s.EnbUeS1apId is { } enbUe:
                    {
                        var ue = _ues.Values.FirstOrDefault(u => u.Handover is { } h && h.TargetAssociation == association && h.TargetMmeUeS1apId == s.MmeUeS1apId);
                        if (ue is null)
                        {
                            return;
                        }

                        var conn = new ConnectionKey(association, enbUe);
                        _connections[conn] = ue.Key;
                        var downlinks = s.ERabs.Where(e => !e.Failed && e.Tunnel is not null).Select(e => new BearerDownlink(e.ERabId, e.Tunnel!)).ToImmutableArray();
                        Put(ue with { Handover = ue.Handover! with { TargetConnection = conn, Downlinks = downlinks } });
                        break;
                    }

                case S1apPduType.UnsuccessfulOutcome:
                    {
                        // HandoverFailure from the target: the MME answers the source with a preparation failure, which cancels.
                        var ue = _ues.Values.FirstOrDefault(u => u.Handover is { } h && h.TargetAssociation == association && h.TargetMmeUeS1apId == s.MmeUeS1apId);
                        if (ue is not null)
                        {
                            _notes.Add($"{ue.Key}: target {ue.Handover!.Target} refused the handover ({s.Cause})");
                        }

                        break;
                    }
            }
        }

        private void HandoverNotify(S1apSignal s, ConnectionKey conn, SctpAssociationKey association, NetEndpoint enbEnd)
        {
            if (!_connections.TryGetValue(conn, out var key) || _ues[key].Handover is not { } h || h.TargetConnection != conn)
            {
                _notes.Add($"HandoverNotify on {conn}: no prepared handover");
                return;
            }

            var ue = _ues[key];
            var bearers = ue.Bearers;
            foreach (var d in h.Downlinks)
            {
                if (bearers.TryGetValue(d.ERabId, out var b))
                {
                    var uplink = h.Uplinks.GetValueOrDefault(d.ERabId) ?? b.Uplink;
                    if (uplink != b.Uplink)
                    {
                        _uplinks.Remove(b.Uplink);
                        _uplinks[uplink] = key;
                    }

                    bearers = bearers.SetItem(d.ERabId, new TrackedBearer(d.ERabId, uplink, d.Downlink));
                }
            }

            // Bearers the target did not admit are gone.
            var dropped = bearers.Keys.Where(id => h.Downlinks.All(d => d.ERabId != id)).ToList();
            foreach (var id in dropped)
            {
                _uplinks.Remove(bearers[id].Uplink);
                bearers = bearers.Remove(id);
            }

            Put(ue with
            {
                Bearers = bearers,
                Handover = null,
                Serving = conn,
                Enb = h.Target,
                CellId = s.Cgi?.CellId ?? ue.CellId,
                MmeUeS1apId = h.TargetMmeUeS1apId ?? ue.MmeUeS1apId,
            });
            if (ue.Announced)
            {
                _events.Add(new HandoverCompleted(at, ue.Id!.Value, h.Target, h.Downlinks));
                _events.AddRange(dropped.Select(id => new BearerReleased(at, ue.Id!.Value, id)));
            }
        }

        private void HandoverCancel(ConnectionKey conn)
        {
            if (_connections.TryGetValue(conn, out var key) && _ues[key].Handover is { } pending)
            {
                CancelHandover(key, pending, "cancelled by the source eNB");
            }
        }

        private void CancelHandover(string key, PendingHandover pending, string why)
        {
            var ue = _ues[key];
            if (pending.TargetConnection is { } target)
            {
                _connections.Remove(target);
            }

            Put(ue with { Handover = null });
            _notes.Add($"{key}: handover to {pending.Target} {why}");
            if (ue.Announced)
            {
                _events.Add(new HandoverCancelled(at, ue.Id!.Value));
            }
        }

        private void ReleaseCommand(S1apSignal s, SctpAssociationKey association)
        {
            ConnectionKey? conn = null;
            if (s.EnbUeS1apId is { } enbUe)
            {
                conn = new ConnectionKey(association, enbUe);
            }
            else if (s.MmeUeS1apId is { } mme)
            {
                conn = _connections.Where(c => c.Key.Association == association && _ues[c.Value].MmeUeS1apId == mme).Select(c => (ConnectionKey?)c.Key).FirstOrDefault();
            }

            if (conn is not { } c || !_connections.TryGetValue(c, out var key))
            {
                return;
            }

            _connections.Remove(c);
            var ue = _ues[key];
            if (ue.Serving != c)
            {
                // The source after a handover, or the target after a cancel: the UE lives on elsewhere.
                return;
            }

            if (s.Cause is { Group: CauseGroup.Nas, Value: 2 })
            {
                Detach(key);
                return;
            }

            ReleaseToIdle(key);
        }

        private void Reset(S1apSignal s, SctpAssociationKey association)
        {
            bool Named(ConnectionKey c, string key) => s.ResetAll || s.ResetConnections.Any(r =>
                (r.EnbUeS1apId is { } e && e == c.EnbUeS1apId) || (r.EnbUeS1apId is null && r.MmeUeS1apId is { } m && _ues[key].MmeUeS1apId == m));
            foreach (var (conn, key) in _connections.Where(c => c.Key.Association == association && Named(c.Key, c.Value)).ToList())
            {
                _connections.Remove(conn);
                if (_ues.TryGetValue(key, out var ue) && ue.Serving == conn)
                {
                    ReleaseToIdle(key);
                }
            }
        }

        private void ReleaseToIdle(string key)
        {
            var ue = _ues[key];
            if (!ue.Announced && ue.Imsi is null && ue.MTmsi is null && ue.Bearers.IsEmpty)
            {
                // Nothing ever came of this connection (rejected attach or service request): forget it.
                _ues.Remove(key);
                return;
            }

            var bearers = ue.Bearers.ToImmutableSortedDictionary(b => b.Key, b => b.Value with { Downlink = null });
            var wasConnected = ue.Status == TrackedUeStatus.Connected;
            Put(ue with
            {
                Serving = null,
                Status = ue.Announced || ue.Status == TrackedUeStatus.Connected ? TrackedUeStatus.Idle : ue.Status,
                Bearers = bearers,
                PendingUplinks = ImmutableDictionary<byte, GtpEndpoint>.Empty,
                Handover = null,
                PathSwitch = null,
            });
            if (ue.Announced && wasConnected)
            {
                _events.Add(new UeReleasedToIdle(at, ue.Id!.Value));
            }
        }

        private void Detach(string key)
        {
            var ue = _ues[key];
            foreach (var b in ue.Bearers.Values)
            {
                _uplinks.Remove(b.Uplink);
            }

            Put(ue with
            {
                Status = TrackedUeStatus.Detached,
                Bearers = ImmutableSortedDictionary<byte, TrackedBearer>.Empty,
                Serving = null,
                Handover = null,
                PathSwitch = null,
                AwaitingAddress = false,
            });
            if (ue.Announced && ue.Status != TrackedUeStatus.Detached)
            {
                _events.Add(new Detached(at, ue.Id!.Value));
            }
        }

        private void AnnounceIfReady(string key)
        {
            var ue = _ues[key];
            if (ue.Announced || !ue.AwaitingAddress || ue.Status != TrackedUeStatus.Connected || ue.Enb is not { } enb)
            {
                return;
            }

            if (ue.Address is null)
            {
                return;
            }

            var id = ue.Id ?? new UeId(ue.Imsi is { } imsi ? $"imsi-{imsi}" : ue.Key);
            ue = ue with { Id = id, Announced = true, AwaitingAddress = false };
            Put(ue);
            _events.Add(new UeAttached(at, id, ue.Imsi, ue.Address, enb, ue.CellId, ue.ActiveBearers()));
        }

        /// <summary>A first IMSI for this UE either names it, or shows it is a UE we already know under another key.</summary>
        private (string Key, TrackedUe Ue) AdoptImsi(string key, TrackedUe ue, string? imsi)
        {
            if (imsi is null || ue.Imsi is not null)
            {
                return (key, ue);
            }

            var other = FindUe(u => u.Imsi == imsi && u.Key != key);
            if (other is null)
            {
                return (key, ue with { Imsi = imsi });
            }

            key = Merge(key, other);
            return (key, _ues[key]);
        }

        private string LearnFromSession(string key, SessionHint hint, bool announce = true)
        {
            var ue = _ues[key];
            (key, ue) = AdoptImsi(key, ue, hint.Imsi);

            Put(ue with { Address = ue.Address ?? hint.PdnAddress });
            if (announce)
            {
                AnnounceIfReady(key);
            }

            return key;
        }

        /// <summary>A new context reuses a known UE's S-GW uplink tunnel: it is that UE (service request after idle).</summary>
        private string LinkByUplinks(string key, IEnumerable<GtpEndpoint> uplinks)
        {
            foreach (var tunnel in uplinks)
            {
                if (_uplinks.TryGetValue(tunnel, out var other) && other != key)
                {
                    return Merge(key, other);
                }
            }

            return key;
        }

        /// <summary>Folds the fresh record <paramref name="from"/> into the known UE <paramref name="into"/>.</summary>
        private string Merge(string from, string into)
        {
            var a = _ues[from];
            var b = _ues[into];
            if ((b.Announced && a.Announced) || (a.Imsi is not null && b.Imsi is not null && a.Imsi != b.Imsi))
            {
                // Two announced UEs (their ids already went to the MC) or two different IMSIs never merge.
                return from;
            }

            foreach (var (conn, k) in _connections.Where(c => c.Value == from).ToList())
            {
                _connections[conn] = into;
            }

            _ues.Remove(from);
            Put(b with
            {
                Imsi = b.Imsi ?? a.Imsi,
                MTmsi = a.MTmsi ?? b.MTmsi,
                Address = b.Address ?? a.Address,
                Serving = a.Serving ?? b.Serving,
                CellId = a.CellId ?? b.CellId,
                MmeUeS1apId = a.MmeUeS1apId ?? b.MmeUeS1apId,
            });
            _notes.Add($"{from} is {into}");
            return into;
        }

        private EnbId EnbFor(SctpAssociationKey association, NetEndpoint enbEnd, EutranCgi? cgi, ulong? cellId)
        {
            if (_enbs.TryGetValue(association, out var known))
            {
                return known;
            }

            // No S1Setup in the capture: a macro eNB's id is the top 20 bits of its 28-bit cell identity; else a
            // stable id from the eNB's SCTP endpoint (top bit set, so it cannot clash with a real 28-bit id).
            var id = cgi is { } c ? new EnbId(c.CellId >> 8)
                : cellId is { } cell ? new EnbId((uint)(cell >> 8))
                : new EnbId(0x8000_0000u | (Fnv(enbEnd) & 0x7FFF_FFFFu));
            _enbs[association] = id;
            return id;
        }

        private static uint Fnv(NetEndpoint endpoint)
        {
            var h = 2166136261u;
            foreach (var v in new[] { endpoint.Address.High, endpoint.Address.Low, endpoint.Port })
            {
                for (var i = 0; i < 8; i++)
                {
                    h = (h ^ (byte)(v >> (i * 8))) * 16777619u;
                }
            }

            return h;
        }

        private string? FindUe(Func<TrackedUe, bool> predicate)
        {
            // Latest key wins when several match (a re-used identity belongs to the most recent registration).
            string? best = null;
            long bestN = -1;
            foreach (var ue in _ues.Values)
            {
                if (predicate(ue))
                {
                    var n = long.Parse(ue.Key.AsSpan(3));
                    if (n > bestN)
                    {
                        best = ue.Key;
                        bestN = n;
                    }
                }
            }

            return best;
        }

        private string NewUe()
        {
            var key = $"ue-{_nextKey++}";
            _ues[key] = new TrackedUe(key) { Status = TrackedUeStatus.Registering };
            return key;
        }

        private void Put(TrackedUe ue) => _ues[ue.Key] = ue;
    }
}
