using System.Collections.Concurrent;
using MobiScud.Protocols;
using MobiScud.Protocols.Ngap;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Emulation;

/// <summary>
/// Emulated AMF and gNBs speaking NGAP (TS 38.413) over SCTP over UDP (RFC 6951; SCTP port 38412, PPID 60) between
/// their namespaces: the gNBs live in the eNB namespaces, the AMF in the MME's, the UPF (user plane) in the S-GW's.
/// The AMF answers like a real one (NG Setup; registration with Security Mode Command selecting 5G-EA0, Registration
/// Accept and the PDU session with its NAS Establishment Accept; Xn path switch; N2 handover resource allocation and
/// cancel; context release; service request); the UE-side procedures are started by the methods below.
/// </summary>
public sealed class NgcEmulator : IRanEmulator
{
    public const ushort NgapPort = 38412;
    public const uint NgapPpid = 60;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly SctpUdpEndpoint _amf;
    private readonly Dictionary<int, SctpUdpEndpoint> _gnbEndpoints = [];
    private readonly Dictionary<int, SctpAssociation> _gnbToAmf = [];
    private readonly ConcurrentDictionary<SctpAssociation, int> _amfSideGnb = new();
    private readonly ConcurrentDictionary<(string Node, NgapProcedureCode Code, NgapPduType Type), TaskCompletionSource<NgapSummary>> _expected = new();
    private readonly ConcurrentDictionary<int, uint> _tmsiOf = new();
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private uint _nextAmfUeId = 100;
    private uint _nextRanUeId = 1;
    private uint _nextDlTeid = 0x2000;
    private uint _nextTmsi = 0xC0000001;
    private byte _nasSequence;

    private NgcEmulator(TestbedPlan plan, SctpUdpEndpoint amf)
    {
        _amf = amf;
        Ues = Enumerable.Range(1, plan.Scenario.Ues).Select(i => new EmulatedUe
        {
            Index = i,
            Imsi = TestbedPlan.ImsiOf(i),
            Address = TestbedPlan.UeAddress(i),
            UplinkTeid = 0x1000u + (uint)i,
        }).ToList();
    }

    public IReadOnlyList<EmulatedUe> Ues { get; }

    public ConcurrentQueue<S1apLogEntry> Log { get; } = new();

    public event Action<EmulatedUe>? DownlinkChanged;

    /// <summary>The gNB id (22 bits) of gNB <paramref name="gnb"/>: the same numbers as the LTE testbed's eNB ids.</summary>
    public static uint GnbIdOf(int gnb) => TestbedPlan.EnbIdOf(gnb);

    public static async Task<NgcEmulator> StartAsync(TestbedPlan plan)
    {
        var amf = SctpUdpEndpoint.Open(plan.MmeNs, TestbedPlan.MmeAddress, NgapPort);
        var ngc = new NgcEmulator(plan, amf);
        try
        {
            ngc._loops.Add(Task.Run(ngc.AmfLoopAsync));
            for (var gnb = 1; gnb <= plan.Scenario.Enbs; gnb++)
            {
                var ep = SctpUdpEndpoint.Open(plan.EnbNs(gnb), TestbedPlan.EnbAddress(gnb), NgapPort);
                ngc._gnbEndpoints[gnb] = ep;
                ngc._gnbToAmf[gnb] = await ep.ConnectAsync(TestbedPlan.MmeAddress, NgapPort, Timeout);
                var n = gnb;
                ngc._loops.Add(Task.Run(() => ngc.GnbLoopAsync(n, ep)));
                var setup = ngc.Expect($"enb{gnb}", NgapProcedureCode.NgSetup, NgapPduType.SuccessfulOutcome);
                await ngc.SendFromGnbAsync(gnb, NgapMessages.NgSetupRequest(GnbIdOf(gnb)));
                await setup.WaitAsync(Timeout);
            }

            return ngc;
        }
        catch
        {
            await ngc.DisposeAsync();
            throw;
        }
    }

    // ---- procedures started by the UE / radio ----

    /// <summary>Registration at <paramref name="gnb"/> and the UE's PDU session (the MC hears of the UE once it has one).</summary>
    public async Task AttachAsync(EmulatedUe ue, int gnb)
    {
        ue.Enb = gnb;
        ue.EnbUeS1apId = NextRanUeId();
        var done = Expect("mme", NgapProcedureCode.PduSessionResourceSetup, NgapPduType.SuccessfulOutcome);
        await SendFromGnbAsync(gnb, NgapMessages.InitialUeMessage(ue.EnbUeS1apId, GnbIdOf(gnb), Nas5gMessages.RegistrationRequest(ue.Imsi), null, moData: false));
        await done.WaitAsync(Timeout);
    }

    /// <summary>Xn handover: the UE has moved; the target gNB asks the AMF to switch the downlink path.</summary>
    public async Task X2HandoverAsync(EmulatedUe ue, int target)
    {
        var ranUeId = NextRanUeId();
        var dl = NextDlTeid();
        var ack = Expect($"enb{target}", NgapProcedureCode.PathSwitchRequest, NgapPduType.SuccessfulOutcome);
        await SendFromGnbAsync(target, NgapMessages.PathSwitchRequest(ranUeId, ue.MmeUeS1apId, GnbIdOf(target), TestbedPlan.EnbAddress(target), dl));
        await ack.WaitAsync(Timeout);

        // The source gNB learns of the success over Xn (UE Context Release), which is not on N2.
        ue.Enb = target;
        ue.EnbUeS1apId = ranUeId;
        ue.DownlinkTeid = dl;
        DownlinkChanged?.Invoke(ue);
    }

    /// <summary>N2 handover through the AMF; with <paramref name="cancel"/> the source cancels after preparation.</summary>
    public async Task S1HandoverAsync(EmulatedUe ue, int target, bool cancel = false)
    {
        var source = ue.Enb;
        var command = Expect($"enb{source}", NgapProcedureCode.HandoverPreparation, NgapPduType.SuccessfulOutcome);
        await SendFromGnbAsync(source, NgapMessages.HandoverRequired(ue.MmeUeS1apId, ue.EnbUeS1apId, GnbIdOf(source), GnbIdOf(target)));
        await command.WaitAsync(Timeout);
        if (cancel)
        {
            var cancelAck = Expect($"enb{source}", NgapProcedureCode.HandoverCancel, NgapPduType.SuccessfulOutcome);
            var targetReleased = Expect("mme", NgapProcedureCode.UeContextRelease, NgapPduType.SuccessfulOutcome);
            await SendFromGnbAsync(source, NgapMessages.HandoverCancel(ue.MmeUeS1apId, ue.EnbUeS1apId));
            await Task.WhenAll(cancelAck, targetReleased).WaitAsync(Timeout);
            return;
        }

        // The UE arrives at the target (radio, emulated): the target notifies the AMF, which releases the source.
        var pending = _pending ?? throw new TestbedException("HandoverCommand without a prepared target context");
        var sourceReleased = Expect("mme", NgapProcedureCode.UeContextRelease, NgapPduType.SuccessfulOutcome);
        ue.Enb = target;
        ue.EnbUeS1apId = pending.RanUeId;
        ue.MmeUeS1apId = pending.AmfUeId;
        ue.DownlinkTeid = pending.DlTeid;
        await SendFromGnbAsync(target, NgapMessages.HandoverNotify(pending.AmfUeId, pending.RanUeId, GnbIdOf(target)));
        DownlinkChanged?.Invoke(ue);
        await sourceReleased.WaitAsync(Timeout);
    }

    /// <summary>Inactivity at the gNB: UE Context Release Request, Command, Complete; the UE goes CM-IDLE.</summary>
    public async Task ReleaseToIdleAsync(EmulatedUe ue)
    {
        var complete = Expect("mme", NgapProcedureCode.UeContextRelease, NgapPduType.SuccessfulOutcome);
        await SendFromGnbAsync(ue.Enb, NgapMessages.UeContextReleaseRequest(ue.MmeUeS1apId, ue.EnbUeS1apId));
        await complete.WaitAsync(Timeout);
        ue.Connected = false;
        ue.DownlinkTeid = null;
        DownlinkChanged?.Invoke(ue);
    }

    /// <summary>Service Request from idle at <paramref name="gnb"/>: InitialUEMessage with the 5G-S-TMSI, context setup with the session.</summary>
    public async Task ServiceRequestAsync(EmulatedUe ue, int gnb)
    {
        var tmsi = _tmsiOf.TryGetValue(ue.Index, out var t) ? t : throw new TestbedException($"UE {ue.Index} has no 5G-GUTI: not registered");
        ue.Enb = gnb;
        ue.EnbUeS1apId = NextRanUeId();
        var done = Expect("mme", NgapProcedureCode.InitialContextSetup, NgapPduType.SuccessfulOutcome);
        await SendFromGnbAsync(gnb, NgapMessages.InitialUeMessage(ue.EnbUeS1apId, GnbIdOf(gnb), Nas5gMessages.ServiceRequest(tmsi, NextNasSequence()), Nas5gMessages.STmsi(tmsi), moData: true));
        await done.WaitAsync(Timeout);
    }

    private sealed record PreparedTarget(uint AmfUeId, uint RanUeId, uint DlTeid, int TargetGnb, EmulatedUe Ue, uint SourceAmfUeId, int SourceGnb, uint SourceRanUeId);

    private PreparedTarget? _pending;

    // ---- AMF ----
    private async Task AmfLoopAsync()
    {
        await foreach (var m in _amf.Messages.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            NgapSummary s;
            try
            {
                s = NgapDecoder.Decode(m.Payload);
            }
            catch (DecodeException e)
            {
                Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "?", "mme", $"undecodable: {e.Message}"));
                continue;
            }

            _amfSideGnb.TryGetValue(m.Association, out var fromGnb);
            Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, $"enb{fromGnb}", "mme", s.MessageName));
            try
            {
                await OnAmfMessageAsync(m.Association, s);
            }
            catch (TestbedException e)
            {
                // A message the AMF cannot place fails the waiting procedure rather than the AMF.
                Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "mme", "mme", $"refused {s.MessageName}: {e.Message}"));
                continue;
            }

            Complete("mme", s);
        }
    }

    private async Task OnAmfMessageAsync(SctpAssociation from, NgapSummary s)
    {
        switch (s.ProcedureCode, s.PduType)
        {
            case (NgapProcedureCode.NgSetup, NgapPduType.InitiatingMessage):
                {
                    var gnb = (int)((s.GlobalRanNodeId?.Id ?? 0) - 0x100u);
                    _amfSideGnb[from] = gnb;
                    await SendFromAmfAsync(gnb, NgapMessages.NgSetupResponse());
                    break;
                }

            case (NgapProcedureCode.InitialUeMessage, _):
                {
                    var gnb = _amfSideGnb[from];
                    var ran = s.RanUeNgapId ?? throw new TestbedException("InitialUEMessage without RAN-UE-NGAP-ID");
                    if (s.FiveGSTmsi is { } sTmsi)
                    {
                        // Service Request: the UE's session comes back with a new context (UL end unchanged: one UPF).
                        var idle = _tmsiOf.FirstOrDefault(kv => kv.Value == sTmsi.Tmsi);
                        var ue = Ues.FirstOrDefault(u => u.Index == idle.Key) ?? throw new TestbedException($"Service Request with unknown 5G-S-TMSI {sTmsi}");
                        ue.MmeUeS1apId = NextAmfUeId();
                        await SendFromAmfAsync(gnb, NgapMessages.InitialContextSetupRequest(ue.MmeUeS1apId, ran, null, TestbedPlan.SgwAddress, ue.UplinkTeid));
                    }
                    else
                    {
                        // Registration: the subscriber database of this emulated core is the UE list; the radio told it who sent what.
                        var ue = Ues.FirstOrDefault(u => u.EnbUeS1apId == ran && u.Enb == gnb) ?? throw new TestbedException("Registration Request from an unknown UE");
                        ue.MmeUeS1apId = NextAmfUeId();
                        await SendFromAmfAsync(gnb, NgapMessages.DownlinkNasTransport(ue.MmeUeS1apId, ran, Nas5gMessages.SecurityModeCommand()));
                    }

                    break;
                }

            case (NgapProcedureCode.UplinkNasTransport, _):
                {
                    // Security Mode Complete: accept the registration (the 5G-GUTI's TMSI names the UE from now on).
                    var ue = UeByAmfId(s.AmfUeNgapId);
                    var tmsi = _tmsiOf.GetOrAdd(ue.Index, _ => NextTmsi());
                    await SendFromAmfAsync(ue.Enb, NgapMessages.InitialContextSetupRequest(ue.MmeUeS1apId, ue.EnbUeS1apId, Nas5gMessages.RegistrationAccept(tmsi), null, 0));
                    break;
                }

            case (NgapProcedureCode.InitialContextSetup, NgapPduType.SuccessfulOutcome) when s.PduSessions.Count == 0:
                {
                    // Registered: the UE asks for its PDU session (its NAS request is not modelled); the SMF's answer comes here.
                    var ue = UeByAmfId(s.AmfUeNgapId);
                    await SendFromAmfAsync(ue.Enb, NgapMessages.PduSessionResourceSetupRequest(ue.MmeUeS1apId, ue.EnbUeS1apId, TestbedPlan.SgwAddress, ue.UplinkTeid,
                        Nas5gMessages.PduSessionEstablishmentAccept(ue.Address, NextNasSequence())));
                    break;
                }

            case (NgapProcedureCode.PathSwitchRequest, NgapPduType.InitiatingMessage):
                {
                    var ue = UeByAmfId(s.SourceAmfUeNgapId);
                    await SendFromAmfAsync(_amfSideGnb[from], NgapMessages.PathSwitchRequestAcknowledge(ue.MmeUeS1apId, s.RanUeNgapId ?? 0, TestbedPlan.SgwAddress, ue.UplinkTeid));
                    break;
                }

            case (NgapProcedureCode.HandoverPreparation, NgapPduType.InitiatingMessage):
                {
                    var ue = UeByAmfId(s.AmfUeNgapId);
                    var target = (int)((s.Target?.Node.Id ?? 0) - 0x100u);
                    var newAmfId = NextAmfUeId();
                    _pending = new PreparedTarget(newAmfId, 0, 0, target, ue, ue.MmeUeS1apId, _amfSideGnb[from], s.RanUeNgapId ?? 0);
                    await SendFromAmfAsync(target, NgapMessages.HandoverRequest(newAmfId, GnbIdOf(ue.Enb), GnbIdOf(target), TestbedPlan.SgwAddress, ue.UplinkTeid));
                    break;
                }

            case (NgapProcedureCode.HandoverResourceAllocation, NgapPduType.SuccessfulOutcome):
                {
                    var p = _pending ?? throw new TestbedException("HandoverRequestAcknowledge without a pending handover");
                    var dl = s.PduSessions.Count > 0 ? s.PduSessions[0].DlTunnel?.Teid ?? 0 : 0;
                    _pending = p with { RanUeId = s.RanUeNgapId ?? 0, DlTeid = dl };
                    await SendFromAmfAsync(p.SourceGnb, NgapMessages.HandoverCommand(p.SourceAmfUeId, p.SourceRanUeId));
                    break;
                }

            case (NgapProcedureCode.HandoverNotification, _):
                {
                    var p = _pending ?? throw new TestbedException("HandoverNotify without a pending handover");
                    _pending = null;
                    await SendFromAmfAsync(p.SourceGnb, NgapMessages.UeContextReleaseCommand(p.SourceAmfUeId, p.SourceRanUeId, NgapCauseGroup.RadioNetwork, 2)); // successful-handover
                    break;
                }

            case (NgapProcedureCode.HandoverCancel, NgapPduType.InitiatingMessage):
                {
                    var p = _pending ?? throw new TestbedException("HandoverCancel without a pending handover");
                    _pending = null;
                    await SendFromAmfAsync(p.TargetGnb, NgapMessages.UeContextReleaseCommand(p.AmfUeId, p.RanUeId, NgapCauseGroup.RadioNetwork, 5)); // handover-cancelled
                    await SendFromAmfAsync(_amfSideGnb[from], NgapMessages.HandoverCancelAcknowledge((uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0));
                    break;
                }

            case (NgapProcedureCode.UeContextReleaseRequest, _):
                await SendFromAmfAsync(_amfSideGnb[from], NgapMessages.UeContextReleaseCommand((uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0, NgapCauseGroup.RadioNetwork, 20)); // user-inactivity
                break;
        }
    }

    private EmulatedUe UeByAmfId(ulong? amfUeId) =>
        Ues.FirstOrDefault(u => amfUeId is { } id && u.MmeUeS1apId == id) ?? throw new TestbedException($"no UE with AMF-UE-NGAP-ID {amfUeId}");

    // ---- gNBs ----
    private async Task GnbLoopAsync(int gnb, SctpUdpEndpoint ep)
    {
        await foreach (var m in ep.Messages.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            NgapSummary s;
            try
            {
                s = NgapDecoder.Decode(m.Payload);
            }
            catch (DecodeException e)
            {
                Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "mme", $"enb{gnb}", $"undecodable: {e.Message}"));
                continue;
            }

            Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "mme", $"enb{gnb}", s.MessageName));
            await OnGnbMessageAsync(gnb, s);
            Complete($"enb{gnb}", s);
        }
    }

    private async Task OnGnbMessageAsync(int gnb, NgapSummary s)
    {
        switch (s.ProcedureCode, s.PduType)
        {
            case (NgapProcedureCode.DownlinkNasTransport, _):
                // Security Mode Command: the UE completes it (5G-EA0: the rest of its NAS is readable on N2).
                await SendFromGnbAsync(gnb, NgapMessages.UplinkNasTransport((uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0, GnbIdOf(gnb), Nas5gMessages.SecurityModeComplete()));
                break;

            case (NgapProcedureCode.InitialContextSetup, NgapPduType.InitiatingMessage):
                {
                    var ue = Ues.First(u => u.Enb == gnb && u.EnbUeS1apId == s.RanUeNgapId);
                    if (s.PduSessions.Count == 0)
                    {
                        await SendFromGnbAsync(gnb, NgapMessages.InitialContextSetupResponse((uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0, null, 0));
                        break;
                    }

                    // Service request: the session's radio and N3 resources come back with a new downlink TEID.
                    var dl = NextDlTeid();
                    ue.DownlinkTeid = dl;
                    ue.Connected = true;
                    await SendFromGnbAsync(gnb, NgapMessages.InitialContextSetupResponse((uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0, TestbedPlan.EnbAddress(gnb), dl));
                    DownlinkChanged?.Invoke(ue);
                    break;
                }

            case (NgapProcedureCode.PduSessionResourceSetup, NgapPduType.InitiatingMessage):
                {
                    var ue = Ues.First(u => u.Enb == gnb && u.EnbUeS1apId == s.RanUeNgapId);
                    var dl = NextDlTeid();
                    ue.DownlinkTeid = dl;
                    ue.Connected = true;
                    await SendFromGnbAsync(gnb, NgapMessages.PduSessionResourceSetupResponse((uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0, TestbedPlan.EnbAddress(gnb), dl));
                    DownlinkChanged?.Invoke(ue);
                    break;
                }

            case (NgapProcedureCode.HandoverResourceAllocation, NgapPduType.InitiatingMessage):
                await SendFromGnbAsync(gnb, NgapMessages.HandoverRequestAcknowledge((uint)(s.AmfUeNgapId ?? 0), NextRanUeId(), TestbedPlan.EnbAddress(gnb), NextDlTeid()));
                break;

            case (NgapProcedureCode.UeContextRelease, NgapPduType.InitiatingMessage):
                {
                    // The command names the UE by the AMF/RAN id pair; our decoder reads the pair into the summary's ids.
                    await SendFromGnbAsync(gnb, NgapMessages.UeContextReleaseComplete((uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0));
                    break;
                }
        }
    }

    // ---- plumbing ----
    private Task<NgapSummary> Expect(string node, NgapProcedureCode code, NgapPduType type)
    {
        var tcs = new TaskCompletionSource<NgapSummary>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_expected.TryAdd((node, code, type), tcs))
        {
            throw new TestbedException($"already waiting for {code}/{type} at {node}");
        }

        return tcs.Task;
    }

    private void Complete(string node, NgapSummary s)
    {
        if (_expected.TryRemove((node, s.ProcedureCode, s.PduType), out var tcs))
        {
            tcs.TrySetResult(s);
        }
    }

    private async Task SendFromGnbAsync(int gnb, byte[] pdu)
    {
        Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, $"enb{gnb}", "mme", NgapDecoder.Decode(pdu).MessageName));
        await _gnbToAmf[gnb].SendAsync(pdu, ppid: NgapPpid);
    }

    private async Task SendFromAmfAsync(int gnb, byte[] pdu)
    {
        var assoc = _amfSideGnb.First(kv => kv.Value == gnb).Key;
        Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "mme", $"enb{gnb}", NgapDecoder.Decode(pdu).MessageName));
        await assoc.SendAsync(pdu, ppid: NgapPpid);
    }

    private uint NextAmfUeId()
    {
        lock (_gate)
        {
            return _nextAmfUeId++;
        }
    }

    private uint NextRanUeId()
    {
        lock (_gate)
        {
            return _nextRanUeId++;
        }
    }

    private uint NextDlTeid()
    {
        lock (_gate)
        {
            return _nextDlTeid++;
        }
    }

    private uint NextTmsi()
    {
        lock (_gate)
        {
            return _nextTmsi++;
        }
    }

    private byte NextNasSequence()
    {
        lock (_gate)
        {
            return ++_nasSequence;
        }
    }

    /// <summary>Unacknowledged DATA on every association (used to wait for the wire to go quiet).</summary>
    public int OutstandingData => _gnbToAmf.Values.Sum(a => a.Outstanding) + _amfSideGnb.Keys.Sum(a => a.Outstanding);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var ep in _gnbEndpoints.Values)
        {
            await ep.DisposeAsync();
        }

        await _amf.DisposeAsync();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        _stop.Dispose();
    }
}
