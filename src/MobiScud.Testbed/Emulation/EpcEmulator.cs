using System.Collections.Concurrent;
using System.Net;
using MobiScud.Protocols.S1ap;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Emulation;

/// <summary>An emulated UE: what the radio, the MME and the S-GW know of it (never shown to the MC).</summary>
public sealed class EmulatedUe
{
    public required int Index { get; init; }

    public required string Imsi { get; init; }

    public required IPAddress Address { get; init; }

    /// <summary>S-GW's uplink TEID for the default bearer (stays across handovers: one S-GW).</summary>
    public required uint UplinkTeid { get; init; }

    public const byte ERabId = 5;

    public int Enb { get; internal set; }

    public uint EnbUeS1apId { get; internal set; }

    public uint MmeUeS1apId { get; internal set; }

    /// <summary>The serving eNB's downlink TEID, null while idle.</summary>
    public uint? DownlinkTeid { get; internal set; }

    public STmsi? STmsi { get; internal set; }

    public bool Connected { get; internal set; }
}

/// <summary>One S1AP message on the wire, as logged by the emulator (the test oracle for the tap's view).</summary>
public sealed record S1apLogEntry(DateTime At, string From, string To, string Message);

/// <summary>
/// Emulated MME and eNBs speaking S1AP over SCTP over UDP (RFC 6951) between their namespaces. The MME answers
/// like a real one (S1 Setup, attach with NAS Attach Accept, path switch, S1 handover resource allocation and
/// cancel, context release); eNBs answer the MME, and the UE-side procedures are started by the methods below.
/// </summary>
public sealed class EpcEmulator : IRanEmulator
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestbedPlan _plan;
    private readonly SctpUdpEndpoint _mme;
    private readonly Dictionary<int, SctpUdpEndpoint> _enbEndpoints = [];
    private readonly Dictionary<int, SctpAssociation> _enbToMme = [];
    private readonly ConcurrentDictionary<SctpAssociation, int> _mmeSideEnb = new();
    private readonly ConcurrentDictionary<(string Node, S1apProcedureCode Code, S1apPduType Type), TaskCompletionSource<S1apSummary>> _expected = new();
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private uint _nextMmeUeId = 100;
    private uint _nextEnbUeId = 1;
    private uint _nextDlTeid = 0x2000;
    private uint _nextMTmsi = 0xC0000001;
    private byte _serviceSequence;

    private EpcEmulator(TestbedPlan plan, SctpUdpEndpoint mme)
    {
        _plan = plan;
        _mme = mme;
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

    /// <summary>Raised when a UE's downlink end changes (attach, handover, release): the S-GW's user plane follows.</summary>
    public event Action<EmulatedUe>? DownlinkChanged;

    public static async Task<EpcEmulator> StartAsync(TestbedPlan plan)
    {
        var mme = SctpUdpEndpoint.Open(plan.MmeNs, TestbedPlan.MmeAddress, SctpCodec.S1apPort);
        var epc = new EpcEmulator(plan, mme);
        epc._loops.Add(Task.Run(() => epc.MmeLoopAsync()));
        for (var enb = 1; enb <= plan.Scenario.Enbs; enb++)
        {
            var ep = SctpUdpEndpoint.Open(plan.EnbNs(enb), TestbedPlan.EnbAddress(enb), SctpCodec.S1apPort);
            epc._enbEndpoints[enb] = ep;
            var assoc = await ep.ConnectAsync(TestbedPlan.MmeAddress, SctpCodec.S1apPort, Timeout);
            epc._enbToMme[enb] = assoc;
            var n = enb;
            epc._loops.Add(Task.Run(() => epc.EnbLoopAsync(n, ep)));
            var setup = epc.Expect($"enb{enb}", S1apProcedureCode.S1Setup, S1apPduType.SuccessfulOutcome);
            await epc.SendFromEnbAsync(enb, S1apMessages.S1SetupRequest(TestbedPlan.EnbIdOf(enb)));
            await setup.WaitAsync(Timeout);
        }

        return epc;
    }

    // ---- procedures started by the UE / radio ----
    public async Task AttachAsync(EmulatedUe ue, int enb)
    {
        ue.Enb = enb;
        ue.EnbUeS1apId = NextEnbUeId();
        var done = Expect($"mme", S1apProcedureCode.InitialContextSetup, S1apPduType.SuccessfulOutcome);
        await SendFromEnbAsync(enb, S1apMessages.InitialUeMessage(ue.EnbUeS1apId, TestbedPlan.EnbIdOf(enb), NasMessages.AttachRequest(ue.Imsi), null, moData: false));
        await done.WaitAsync(Timeout);
    }

    /// <summary>X2 handover: the target eNB asks the MME to switch the downlink path.</summary>
    public async Task X2HandoverAsync(EmulatedUe ue, int target)
    {
        var enbUeId = NextEnbUeId();
        var dl = NextDlTeid();
        var ack = Expect($"enb{target}", S1apProcedureCode.PathSwitchRequest, S1apPduType.SuccessfulOutcome);
        await SendFromEnbAsync(target, S1apMessages.PathSwitchRequest(enbUeId, ue.MmeUeS1apId, TestbedPlan.EnbIdOf(target), EmulatedUe.ERabId, TestbedPlan.EnbAddress(target), dl));
        await ack.WaitAsync(Timeout);

        // The source eNB learns of the success over X2 (UE Context Release), which is not on S1.
        ue.Enb = target;
        ue.EnbUeS1apId = enbUeId;
        ue.DownlinkTeid = dl;
        DownlinkChanged?.Invoke(ue);
    }

    /// <summary>S1 handover through the MME; with <paramref name="cancel"/> the source cancels after preparation.</summary>
    public async Task S1HandoverAsync(EmulatedUe ue, int target, bool cancel = false)
    {
        var source = ue.Enb;
        var command = Expect($"enb{source}", S1apProcedureCode.HandoverPreparation, S1apPduType.SuccessfulOutcome);
        await SendFromEnbAsync(source, S1apMessages.HandoverRequired(ue.MmeUeS1apId, ue.EnbUeS1apId, TestbedPlan.EnbIdOf(source), TestbedPlan.EnbIdOf(target), EmulatedUe.ERabId));
        await command.WaitAsync(Timeout);
        if (cancel)
        {
            var cancelAck = Expect($"enb{source}", S1apProcedureCode.HandoverCancel, S1apPduType.SuccessfulOutcome);
            var targetReleased = Expect("mme", S1apProcedureCode.UeContextRelease, S1apPduType.SuccessfulOutcome);
            await SendFromEnbAsync(source, S1apMessages.HandoverCancel(ue.MmeUeS1apId, ue.EnbUeS1apId));
            await Task.WhenAll(cancelAck, targetReleased).WaitAsync(Timeout);
            return;
        }

        // The UE arrives at the target (radio, emulated): the target notifies the MME, which releases the source.
        var pending = PendingHandover ?? throw new TestbedException("HandoverCommand without a prepared target context");
        var sourceReleased = Expect("mme", S1apProcedureCode.UeContextRelease, S1apPduType.SuccessfulOutcome);
        ue.Enb = target;
        ue.EnbUeS1apId = pending.EnbUeId;
        ue.MmeUeS1apId = pending.MmeUeId;
        ue.DownlinkTeid = pending.DlTeid;
        await SendFromEnbAsync(target, S1apMessages.HandoverNotify(pending.MmeUeId, pending.EnbUeId, TestbedPlan.EnbIdOf(target)));
        DownlinkChanged?.Invoke(ue);
        await sourceReleased.WaitAsync(Timeout);
    }

    /// <summary>Inactivity at the eNB: UE Context Release Request, Command, Complete; the UE goes ECM-IDLE.</summary>
    public async Task ReleaseToIdleAsync(EmulatedUe ue)
    {
        var complete = Expect("mme", S1apProcedureCode.UeContextRelease, S1apPduType.SuccessfulOutcome);
        await SendFromEnbAsync(ue.Enb, S1apMessages.UeContextReleaseRequest(ue.MmeUeS1apId, ue.EnbUeS1apId));
        await complete.WaitAsync(Timeout);
        ue.Connected = false;
        ue.DownlinkTeid = null;
        DownlinkChanged?.Invoke(ue);
    }

    /// <summary>Service Request from idle at <paramref name="enb"/>: InitialUEMessage with S-TMSI, context setup.</summary>
    public async Task ServiceRequestAsync(EmulatedUe ue, int enb)
    {
        ue.Enb = enb;
        ue.EnbUeS1apId = NextEnbUeId();
        var done = Expect("mme", S1apProcedureCode.InitialContextSetup, S1apPduType.SuccessfulOutcome);
        await SendFromEnbAsync(enb, S1apMessages.InitialUeMessage(ue.EnbUeS1apId, TestbedPlan.EnbIdOf(enb), NasMessages.ServiceRequest(_serviceSequence++), ue.STmsi, moData: true));
        await done.WaitAsync(Timeout);
    }

    private sealed record PreparedTarget(uint MmeUeId, uint EnbUeId, uint DlTeid, int TargetEnb, EmulatedUe Ue, uint SourceMmeUeId, int SourceEnb, uint SourceEnbUeId);

    private PreparedTarget? PendingHandover { get; set; }

    // ---- MME ----
    private async Task MmeLoopAsync()
    {
        await foreach (var m in _mme.Messages.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            S1apSummary s;
            try
            {
                s = S1apDecoder.Decode(m.Payload);
            }
            catch (Exception e) when (e is MobiScud.Protocols.DecodeException)
            {
                Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "?", "mme", $"undecodable: {e.Message}"));
                continue;
            }

            _mmeSideEnb.TryGetValue(m.Association, out var fromEnb);
            Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, $"enb{fromEnb}", "mme", s.MessageName));
            await OnMmeMessageAsync(m.Association, s);
            Complete("mme", s);
        }
    }

    private async Task OnMmeMessageAsync(SctpAssociation from, S1apSummary s)
    {
        switch (s.ProcedureCode, s.PduType)
        {
            case (S1apProcedureCode.S1Setup, S1apPduType.InitiatingMessage):
                {
                    var enb = (int)((s.GlobalEnbId?.EnbId ?? 0) - 0x100u);
                    _mmeSideEnb[from] = enb;
                    await SendFromMmeAsync(enb, S1apMessages.S1SetupResponse());
                    break;
                }

            case (S1apProcedureCode.InitialUeMessage, _):
                {
                    var enb = _mmeSideEnb[from];
                    var nas = s.NasPdu;
                    EmulatedUe ue;
                    byte[]? accept = null;
                    if (nas.Length > 1 && nas[1] == 0x41)
                    {
                        // The subscriber database of this emulated EPC is the UE list; the radio told it who sent what.
                        ue = Ues.FirstOrDefault(u => s.EnbUeS1apId is { } id && u.EnbUeS1apId == id && u.Enb == enb)
                            ?? throw new TestbedException("Attach Request from an unknown UE");
                        ue.MmeUeS1apId = NextMmeUeId();
                        var mTmsi = NextMTmsi();
                        ue.STmsi = new STmsi(0x01, mTmsi);
                        accept = NasMessages.AttachAccept(ue.Address, 0x01, mTmsi, [S1apMessages.Plmn.Octet0, S1apMessages.Plmn.Octet1, S1apMessages.Plmn.Octet2]);
                    }
                    else
                    {
                        ue = Ues.FirstOrDefault(u => u.STmsi == s.STmsi) ?? throw new TestbedException($"Service Request with unknown S-TMSI {s.STmsi}");
                        ue.MmeUeS1apId = NextMmeUeId();
                    }

                    await SendFromMmeAsync(enb, S1apMessages.InitialContextSetupRequest(ue.MmeUeS1apId, s.EnbUeS1apId ?? 0, EmulatedUe.ERabId, TestbedPlan.SgwAddress, ue.UplinkTeid, accept));
                    break;
                }

            case (S1apProcedureCode.PathSwitchRequest, S1apPduType.InitiatingMessage):
                await SendFromMmeAsync(_mmeSideEnb[from], S1apMessages.PathSwitchRequestAcknowledge(s.SourceMmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0));
                break;

            case (S1apProcedureCode.HandoverPreparation, S1apPduType.InitiatingMessage):
                {
                    var ue = Ues.First(u => u.MmeUeS1apId == s.MmeUeS1apId);
                    var target = (int)((s.TargetEnbId?.GlobalEnbId.EnbId ?? 0) - 0x100u);
                    var newMmeId = NextMmeUeId();
                    PendingHandover = new PreparedTarget(newMmeId, 0, 0, target, ue, ue.MmeUeS1apId, _mmeSideEnb[from], s.EnbUeS1apId ?? 0);
                    await SendFromMmeAsync(target, S1apMessages.HandoverRequest(newMmeId, TestbedPlan.EnbIdOf(ue.Enb), TestbedPlan.EnbIdOf(target), EmulatedUe.ERabId, TestbedPlan.SgwAddress, ue.UplinkTeid));
                    break;
                }

            case (S1apProcedureCode.HandoverResourceAllocation, S1apPduType.SuccessfulOutcome):
                {
                    var p = PendingHandover ?? throw new TestbedException("HandoverRequestAcknowledge without a pending handover");
                    var dl = s.ERabs.Count > 0 ? s.ERabs[0].Tunnel?.Teid ?? 0 : 0;
                    PendingHandover = p with { EnbUeId = s.EnbUeS1apId ?? 0, DlTeid = dl };
                    await SendFromMmeAsync(p.SourceEnb, S1apMessages.HandoverCommand(p.SourceMmeUeId, p.SourceEnbUeId));
                    break;
                }

            case (S1apProcedureCode.HandoverNotification, _):
                {
                    var p = PendingHandover ?? throw new TestbedException("HandoverNotify without a pending handover");
                    PendingHandover = null;
                    await SendFromMmeAsync(p.SourceEnb, S1apMessages.UeContextReleaseCommand(p.SourceMmeUeId, p.SourceEnbUeId, new S1apCause(CauseGroup.RadioNetwork, 2)));
                    break;
                }

            case (S1apProcedureCode.HandoverCancel, S1apPduType.InitiatingMessage):
                {
                    var p = PendingHandover ?? throw new TestbedException("HandoverCancel without a pending handover");
                    PendingHandover = null;
                    await SendFromMmeAsync(p.TargetEnb, S1apMessages.UeContextReleaseCommand(p.MmeUeId, p.EnbUeId, new S1apCause(CauseGroup.RadioNetwork, 4)));
                    await SendFromMmeAsync(_mmeSideEnb[from], S1apMessages.HandoverCancelAcknowledge(s.MmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0));
                    break;
                }

            case (S1apProcedureCode.UeContextReleaseRequest, _):
                await SendFromMmeAsync(_mmeSideEnb[from], S1apMessages.UeContextReleaseCommand(s.MmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0, new S1apCause(CauseGroup.Nas, 0)));
                break;
        }
    }

    // ---- eNBs ----
    private async Task EnbLoopAsync(int enb, SctpUdpEndpoint ep)
    {
        await foreach (var m in ep.Messages.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            S1apSummary s;
            try
            {
                s = S1apDecoder.Decode(m.Payload);
            }
            catch (Exception e) when (e is MobiScud.Protocols.DecodeException)
            {
                Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "mme", $"enb{enb}", $"undecodable: {e.Message}"));
                continue;
            }

            Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "mme", $"enb{enb}", s.MessageName));
            await OnEnbMessageAsync(enb, s);
            Complete($"enb{enb}", s);
        }
    }

    private async Task OnEnbMessageAsync(int enb, S1apSummary s)
    {
        switch (s.ProcedureCode, s.PduType)
        {
            case (S1apProcedureCode.InitialContextSetup, S1apPduType.InitiatingMessage):
                {
                    var ue = Ues.First(u => u.Enb == enb && u.EnbUeS1apId == s.EnbUeS1apId);
                    var dl = NextDlTeid();
                    ue.DownlinkTeid = dl;
                    ue.Connected = true;
                    await SendFromEnbAsync(enb, S1apMessages.InitialContextSetupResponse(s.MmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0, EmulatedUe.ERabId, TestbedPlan.EnbAddress(enb), dl));
                    DownlinkChanged?.Invoke(ue);
                    break;
                }

            case (S1apProcedureCode.HandoverResourceAllocation, S1apPduType.InitiatingMessage):
                {
                    var enbUeId = NextEnbUeId();
                    await SendFromEnbAsync(enb, S1apMessages.HandoverRequestAcknowledge(s.MmeUeS1apId ?? 0, enbUeId, EmulatedUe.ERabId, TestbedPlan.EnbAddress(enb), NextDlTeid()));
                    break;
                }

            case (S1apProcedureCode.UeContextRelease, S1apPduType.InitiatingMessage):
                await SendFromEnbAsync(enb, S1apMessages.UeContextReleaseComplete(s.MmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0));
                break;
        }
    }

    // ---- plumbing ----
    private Task<S1apSummary> Expect(string node, S1apProcedureCode code, S1apPduType type)
    {
        var tcs = new TaskCompletionSource<S1apSummary>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_expected.TryAdd((node, code, type), tcs))
        {
            throw new TestbedException($"already waiting for {code}/{type} at {node}");
        }

        return tcs.Task;
    }

    private void Complete(string node, S1apSummary s)
    {
        if (_expected.TryRemove((node, s.ProcedureCode, s.PduType), out var tcs))
        {
            tcs.TrySetResult(s);
        }
    }

    private async Task SendFromEnbAsync(int enb, byte[] pdu)
    {
        Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, $"enb{enb}", "mme", S1apDecoder.Decode(pdu).MessageName));
        await _enbToMme[enb].SendAsync(pdu);
    }

    private async Task SendFromMmeAsync(int enb, byte[] pdu)
    {
        var assoc = _mmeSideEnb.First(kv => kv.Value == enb).Key;
        Log.Enqueue(new S1apLogEntry(DateTime.UtcNow, "mme", $"enb{enb}", S1apDecoder.Decode(pdu).MessageName));
        await assoc.SendAsync(pdu);
    }

    private uint NextMmeUeId()
    {
        lock (_gate)
        {
            return _nextMmeUeId++;
        }
    }

    private uint NextEnbUeId()
    {
        lock (_gate)
        {
            return _nextEnbUeId++;
        }
    }

    private uint NextDlTeid()
    {
        lock (_gate)
        {
            return _nextDlTeid++;
        }
    }

    private uint NextMTmsi()
    {
        lock (_gate)
        {
            return _nextMTmsi++;
        }
    }

    /// <summary>Every association still has unacknowledged DATA? (used to wait for the wire to go quiet).</summary>
    public int OutstandingData => _enbToMme.Values.Sum(a => a.Outstanding) + _mmeSideEnb.Keys.Sum(a => a.Outstanding);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var ep in _enbEndpoints.Values)
        {
            await ep.DisposeAsync();
        }

        await _mme.DisposeAsync();
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
