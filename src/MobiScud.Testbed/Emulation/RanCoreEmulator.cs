using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MobiScud.Protocols;
using MobiScud.Protocols.Aper;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Emulation;

/// <summary>An emulated UE: what the radio, the MME or AMF and the S-GW or UPF know of it (never shown to the MC).</summary>
internal sealed class EmulatedUe
{
    public required int Index { get; init; }

    public required string Imsi { get; init; }

    public required IPAddress Address { get; init; }

    /// <summary>The S-GW's or UPF's uplink TEID for the default bearer or PDU session (stays across handovers: one S-GW/UPF).</summary>
    public required uint UplinkTeid { get; init; }

    public const byte ERabId = 5;

    /// <summary>The serving eNB or gNB.</summary>
    public int Enb { get; internal set; }

    /// <summary>eNB-UE-S1AP-ID or RAN-UE-NGAP-ID at the serving node.</summary>
    public uint RanUeId { get; internal set; }

    /// <summary>MME-UE-S1AP-ID or AMF-UE-NGAP-ID.</summary>
    public uint CoreUeId { get; internal set; }

    /// <summary>The serving node's downlink TEID, null while idle.</summary>
    public uint? DownlinkTeid { get; internal set; }

    /// <summary>The M-TMSI (LTE GUTI) or 5G-TMSI (5G-GUTI) the core assigned at attach or registration.</summary>
    public uint? Tmsi { get; internal set; }

    public bool Connected { get; internal set; }

    /// <summary>When the UE last arrived at a node in a handover (wall clock, UTC): where its outage window opens.</summary>
    public DateTime? MovedAt { get; internal set; }
}

/// <summary>
/// One signalling message as the emulator handled it, recorded once by its sender (<paramref name="Sent"/>) and once
/// by its receiver: the test oracle for what the tap must see. Nodes are "enbN" (eNB or gNB N) and "mme" (MME or AMF).
/// </summary>
internal sealed record SignallingRecord(DateTime At, string From, string To, string Message, bool Sent);

/// <summary>A message a node could not read or could not place; also logged as a warning.</summary>
internal sealed record SignallingProblem(DateTime At, string Node, string Problem);

/// <summary>Why the core releases a UE's context at a RAN node (each RAT has its own cause values).</summary>
internal enum ReleaseCause
{
    SuccessfulHandover,
    HandoverCancelled,
    Inactivity,
}

/// <summary>
/// What the LTE and 5G emulators share: the core's and the RAN nodes' SCTP-over-UDP endpoints and associations, the
/// loops that decode and record each message, the waits for an answer, the UE table and its id counters, the
/// UE-side procedures whose shape is the same in S1AP and NGAP (X2/Xn path switch, S1/N2 handover and its cancel,
/// release to idle) and the core's side of the one handover in preparation. Subclasses give the RAT's messages
/// and answer what differs (attach or registration, service request).
/// </summary>
internal abstract class RanCoreEmulator<TSummary, TCode, TPdu> : IRanEmulator
    where TSummary : ApSummary<TPdu, TCode>
    where TCode : struct, Enum
    where TPdu : struct, Enum
{
    protected const string CoreNode = "mme";
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestbedPlan _plan;
    private readonly ushort _sctpPort;
    private readonly uint _ppid;
    private readonly Procedures _codes;
    private readonly SctpUdpEndpoint _core;
    private readonly Dictionary<int, SctpUdpEndpoint> _ranEndpoints = [];
    private readonly Dictionary<int, SctpAssociation> _ranToCore = [];

    // The core knows a RAN node by the address its association comes from (each node has its own on the backhaul).
    private readonly Dictionary<IPAddress, int> _ranByAddress;
    private readonly ConcurrentDictionary<int, SctpAssociation> _coreToRan = new();
    private readonly ConcurrentDictionary<(string Node, TCode Code, TPdu Type), TaskCompletionSource<TSummary>> _expected = new();
    private readonly ConcurrentQueue<SignallingRecord> _signalling = new();
    private readonly ConcurrentQueue<SignallingProblem> _problems = new();
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _log;

    // The last id of each kind handed out (the first ones are 100, 1, 0x2000, 0xC0000001, 1).
    private uint _coreUeIds = 99;
    private uint _ranUeIds;
    private uint _dlTeids = 0x1FFF;
    private uint _tmsis = 0xC0000000;
    private uint _nasSequence;
    private PreparedTarget? _pending;

    protected RanCoreEmulator(TestbedPlan plan, ushort sctpPort, uint ppid, Procedures codes, ILogger? log)
    {
        _plan = plan;
        _sctpPort = sctpPort;
        _ppid = ppid;
        _codes = codes;
        _log = log ?? NullLogger.Instance;
        Ues = Enumerable.Range(1, plan.Scenario.Ues).Select(i => new EmulatedUe
        {
            Index = i,
            Imsi = TestbedPlan.ImsiOf(i),
            Address = TestbedPlan.UeAddress(i),
            UplinkTeid = 0x1000u + (uint)i,
        }).ToList();
        _ranByAddress = Enumerable.Range(1, plan.Scenario.Enbs).ToDictionary(TestbedPlan.EnbAddress, n => n);
        _core = SctpUdpEndpoint.Open(plan.MmeNs, TestbedPlan.MmeAddress, sctpPort, log: _log);
    }

    /// <summary>The codes of the procedures this class runs, in the RAT's signalling.</summary>
    protected sealed record Procedures(TPdu Successful, TCode Setup, TCode PathSwitch, TCode HandoverPreparation, TCode HandoverCancel, TCode UeContextRelease);

    /// <summary>The core's record of an S1/N2 handover between Handover Required and Notify (or Cancel).</summary>
    protected sealed record PreparedTarget(uint CoreUeId, uint RanUeId, uint DlTeid, int Target, EmulatedUe Ue, uint SourceCoreUeId, int Source, uint SourceRanUeId);

    public IReadOnlyList<EmulatedUe> Ues { get; }

    public IReadOnlyCollection<SignallingRecord> Signalling => _signalling;

    public IReadOnlyCollection<SignallingProblem> Problems => _problems;

    public event Action<EmulatedUe>? DownlinkChanged;

    public int OutstandingData => _ranToCore.Values.Sum(a => a.Outstanding) + _coreToRan.Values.Sum(a => a.Outstanding);

    protected static string RanNode(int ran) => $"enb{ran}";

    // ---- what each RAT gives ----
    protected abstract TSummary Decode(byte[] pdu);

    protected abstract string NameOf(TSummary s);

    protected abstract Task OnCoreMessageAsync(int fromRan, TSummary s);

    protected abstract Task OnRanMessageAsync(int ran, TSummary s);

    protected abstract byte[] SetupRequest(int ran);

    protected abstract byte[] PathSwitchRequest(EmulatedUe ue, int target, uint ranUeId, uint dlTeid);

    protected abstract byte[] HandoverRequired(EmulatedUe ue, int source, int target);

    protected abstract byte[] HandoverRequest(uint coreUeId, EmulatedUe ue, int target);

    protected abstract byte[] HandoverCommand(PreparedTarget p);

    protected abstract byte[] HandoverNotify(PreparedTarget p);

    protected abstract byte[] HandoverCancel(EmulatedUe ue);

    protected abstract byte[] HandoverCancelAcknowledge(uint coreUeId, uint ranUeId);

    protected abstract byte[] UeContextReleaseRequest(EmulatedUe ue);

    protected abstract byte[] UeContextReleaseCommand(uint coreUeId, uint ranUeId, ReleaseCause cause);

    /// <summary>Starts the core's loop, connects every RAN node and runs its setup; on failure everything is stopped.</summary>
    protected static async Task<T> StartAsync<T>(T emulator)
        where T : RanCoreEmulator<TSummary, TCode, TPdu>
    {
        await emulator.StartNodesAsync();
        return emulator;
    }

    private async Task StartNodesAsync()
    {
        try
        {
            _loops.Add(Task.Run(() => ReadAsync(_core, CoreNode, null)));
            for (var ran = 1; ran <= _plan.Scenario.Enbs; ran++)
            {
                var ep = SctpUdpEndpoint.Open(_plan.EnbNs(ran), TestbedPlan.EnbAddress(ran), _sctpPort, log: _log);
                _ranEndpoints[ran] = ep;
                _ranToCore[ran] = await ep.ConnectAsync(TestbedPlan.MmeAddress, _sctpPort, Timeout);
                var n = ran;
                _loops.Add(Task.Run(() => ReadAsync(ep, RanNode(n), n)));
                var setup = Expect(RanNode(ran), _codes.Setup, _codes.Successful);
                await SendFromRanAsync(ran, SetupRequest(ran));
                await setup.WaitAsync(Timeout);
            }
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    // ---- procedures started by the UE / radio ----
    public abstract Task AttachAsync(EmulatedUe ue, int enb);

    public abstract Task ServiceRequestAsync(EmulatedUe ue, int enb);

    /// <summary>X2/Xn handover: the UE has moved; the target asks the core to switch the downlink path.</summary>
    public async Task X2HandoverAsync(EmulatedUe ue, int target)
    {
        var ranUeId = NextRanUeId();
        var dl = NextDlTeid();
        var ack = Expect(RanNode(target), _codes.PathSwitch, _codes.Successful);

        // The UE is at the target before the target asks for the path switch (TS 36.300 10.1.2.1.1, TS 38.300
        // 9.2.3.2.1), so it sends through the target from here on. Moving it only when the acknowledgement reached the
        // target kept it at the source for as long as that message took (820 ms once, under load), after the MC had
        // already taken the source's steering away on seeing the acknowledgement.
        Move(ue, target, ranUeId, dl);
        await SendFromRanAsync(target, PathSwitchRequest(ue, target, ranUeId, dl));
        await ack.WaitAsync(Timeout);

        // The source learns of the success over X2/Xn (UE Context Release), which is not on S1/N2.
    }

    private void Move(EmulatedUe ue, int target, uint ranUeId, uint dlTeid)
    {
        ue.Enb = target;
        ue.RanUeId = ranUeId;
        ue.DownlinkTeid = dlTeid;
        ue.MovedAt = TimeProvider.System.GetUtcNow().UtcDateTime;
        DownlinkChanged?.Invoke(ue);
    }

    /// <summary>S1/N2 handover through the core; with <paramref name="cancel"/> the source cancels after preparation.</summary>
    public async Task S1HandoverAsync(EmulatedUe ue, int target, bool cancel = false)
    {
        var source = ue.Enb;
        var command = Expect(RanNode(source), _codes.HandoverPreparation, _codes.Successful);
        await SendFromRanAsync(source, HandoverRequired(ue, source, target));
        await command.WaitAsync(Timeout);
        if (cancel)
        {
            var cancelAck = Expect(RanNode(source), _codes.HandoverCancel, _codes.Successful);
            var targetReleased = Expect(CoreNode, _codes.UeContextRelease, _codes.Successful);
            await SendFromRanAsync(source, HandoverCancel(ue));
            await Task.WhenAll(cancelAck, targetReleased).WaitAsync(Timeout);
            return;
        }

        // The UE arrives at the target (radio, emulated): the target notifies the core, which releases the source.
        var pending = _pending ?? throw new TestbedException("Handover Command without a prepared target context");
        var sourceReleased = Expect(CoreNode, _codes.UeContextRelease, _codes.Successful);
        ue.CoreUeId = pending.CoreUeId;
        Move(ue, target, pending.RanUeId, pending.DlTeid);
        await SendFromRanAsync(target, HandoverNotify(pending));
        await sourceReleased.WaitAsync(Timeout);
    }

    /// <summary>Inactivity at the serving node: UE Context Release Request, Command, Complete; the UE goes idle.</summary>
    public async Task ReleaseToIdleAsync(EmulatedUe ue)
    {
        var complete = Expect(CoreNode, _codes.UeContextRelease, _codes.Successful);
        await SendFromRanAsync(ue.Enb, UeContextReleaseRequest(ue));
        await complete.WaitAsync(Timeout);
        ue.Connected = false;
        ue.DownlinkTeid = null;
        DownlinkChanged?.Invoke(ue);
    }

    /// <summary>The UE at <paramref name="ran"/> sends its first message (attach, registration, service request) and waits for the core's <paramref name="completedBy"/>.</summary>
    protected async Task InitialUeMessageAsync(EmulatedUe ue, int ran, TCode completedBy, Func<uint, byte[]> initialUeMessage)
    {
        ue.Enb = ran;
        ue.RanUeId = NextRanUeId();
        var done = Expect(CoreNode, completedBy, _codes.Successful);
        await SendFromRanAsync(ran, initialUeMessage(ue.RanUeId));
        await done.WaitAsync(Timeout);
    }

    // ---- the core's side ----

    /// <summary>Handover Required: a new context at the target, asked for with Handover Request.</summary>
    protected Task PrepareHandoverAsync(int source, uint sourceRanUeId, EmulatedUe ue, int target)
    {
        var coreUeId = NextCoreUeId();
        _pending = new PreparedTarget(coreUeId, 0, 0, target, ue, ue.CoreUeId, source, sourceRanUeId);
        return SendFromCoreAsync(target, HandoverRequest(coreUeId, ue, target));
    }

    /// <summary>Handover Request Acknowledge: the target's context and downlink end; the source gets Handover Command.</summary>
    protected Task TargetPreparedAsync(uint ranUeId, uint dlTeid)
    {
        var p = _pending ?? throw new TestbedException("Handover Request Acknowledge without a pending handover");
        _pending = p with { RanUeId = ranUeId, DlTeid = dlTeid };
        return SendFromCoreAsync(p.Source, HandoverCommand(_pending));
    }

    /// <summary>Handover Notify: the UE is at the target; the source's context is released.</summary>
    protected Task HandoverNotifiedAsync()
    {
        var p = TakePending("Handover Notify");
        return SendFromCoreAsync(p.Source, UeContextReleaseCommand(p.SourceCoreUeId, p.SourceRanUeId, ReleaseCause.SuccessfulHandover));
    }

    /// <summary>Handover Cancel from the source: the target's prepared context is released, the source acknowledged.</summary>
    protected async Task HandoverCancelledAsync(int source, uint coreUeId, uint ranUeId)
    {
        var p = TakePending("Handover Cancel");
        await SendFromCoreAsync(p.Target, UeContextReleaseCommand(p.CoreUeId, p.RanUeId, ReleaseCause.HandoverCancelled));
        await SendFromCoreAsync(source, HandoverCancelAcknowledge(coreUeId, ranUeId));
    }

    private PreparedTarget TakePending(string message)
    {
        var p = _pending ?? throw new TestbedException($"{message} without a pending handover");
        _pending = null;
        return p;
    }

    /// <summary>UE Context Release Request: the core commands the release.</summary>
    protected Task ReleaseRequestedAsync(int ran, uint coreUeId, uint ranUeId) =>
        SendFromCoreAsync(ran, UeContextReleaseCommand(coreUeId, ranUeId, ReleaseCause.Inactivity));

    // ---- the RAN node's side ----

    /// <summary>The UE's radio and user plane resources at <paramref name="ran"/>: a new downlink TEID, answered with <paramref name="response"/>; the user plane follows.</summary>
    protected async Task SetUpDownlinkAsync(int ran, uint? ranUeId, Func<uint, byte[]> response)
    {
        var ue = UeAt(ran, ranUeId);
        var dl = NextDlTeid();
        ue.DownlinkTeid = dl;
        ue.Connected = true;
        await SendFromRanAsync(ran, response(dl));
        DownlinkChanged?.Invoke(ue);
    }

    protected EmulatedUe UeAt(int ran, uint? ranUeId) =>
        Ues.FirstOrDefault(u => u.Enb == ran && u.RanUeId == ranUeId) ?? throw new TestbedException($"no UE with RAN UE id {ranUeId} at {RanNode(ran)}");

    protected EmulatedUe UeByTmsi(uint tmsi) =>
        Ues.FirstOrDefault(u => u.Tmsi == tmsi) ?? throw new TestbedException($"Service Request with unknown TMSI 0x{tmsi:x8}");

    protected EmulatedUe UeByCoreId(ulong? coreUeId) =>
        Ues.FirstOrDefault(u => coreUeId is { } id && u.CoreUeId == id) ?? throw new TestbedException($"no UE with core UE id {coreUeId}");

    // ---- plumbing ----
    private async Task ReadAsync(SctpUdpEndpoint ep, string node, int? ran)
    {
        await foreach (var m in ep.Messages.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            var fromRan = ran ?? (_ranByAddress.TryGetValue(m.Association.UdpPeer.Address, out var r) ? r : 0);
            var from = ran is null ? RanNode(fromRan) : CoreNode;
            if (fromRan == 0)
            {
                Problem(node, $"a message from {m.Association.UdpPeer}, which is no RAN node of this testbed");
                continue;
            }

            TSummary s;
            try
            {
                s = Decode(m.Payload);
            }
            catch (DecodeException e)
            {
                Problem(node, $"undecodable message from {from}: {e.Message}");
                continue;
            }

            Record(from, node, NameOf(s), sent: false);
            try
            {
                if (ran is null)
                {
                    _coreToRan[fromRan] = m.Association;
                    await OnCoreMessageAsync(fromRan, s);
                }
                else
                {
                    await OnRanMessageAsync(fromRan, s);
                }
            }
            catch (TestbedException e)
            {
                // A message the node cannot place fails the waiting procedure (by its timeout) rather than the node.
                Problem(node, $"refused {NameOf(s)} from {from}: {e.Message}");
                continue;
            }

            Complete(node, s);
        }
    }

    private Task<TSummary> Expect(string node, TCode code, TPdu type)
    {
        var tcs = new TaskCompletionSource<TSummary>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_expected.TryAdd((node, code, type), tcs))
        {
            throw new TestbedException($"already waiting for {code}/{type} at {node}");
        }

        return tcs.Task;
    }

    private void Complete(string node, TSummary s)
    {
        var (code, type) = (s.ProcedureCode, s.PduType);
        if (_expected.TryRemove((node, code, type), out var tcs))
        {
            tcs.TrySetResult(s);
        }
    }

    protected async Task SendFromRanAsync(int ran, byte[] pdu)
    {
        Record(RanNode(ran), CoreNode, NameOf(Decode(pdu)), sent: true);
        await _ranToCore[ran].SendAsync(pdu, ppid: _ppid);
    }

    protected async Task SendFromCoreAsync(int ran, byte[] pdu)
    {
        var assoc = _coreToRan.TryGetValue(ran, out var a) ? a : throw new TestbedException($"{RanNode(ran)} has no association with the core");
        Record(CoreNode, RanNode(ran), NameOf(Decode(pdu)), sent: true);
        await assoc.SendAsync(pdu, ppid: _ppid);
    }

    private void Record(string from, string to, string message, bool sent)
    {
        _signalling.Enqueue(new SignallingRecord(TimeProvider.System.GetUtcNow().UtcDateTime, from, to, message, sent));
        if (sent)
        {
            _log.LogDebug("{From} -> {To}: {Message}", from, to, message);
        }
    }

    private void Problem(string node, string problem)
    {
        _problems.Enqueue(new SignallingProblem(TimeProvider.System.GetUtcNow().UtcDateTime, node, problem));
        _log.LogWarning("{Node}: {Problem}", node, problem);
    }

    protected uint NextCoreUeId() => Interlocked.Increment(ref _coreUeIds);

    protected uint NextRanUeId() => Interlocked.Increment(ref _ranUeIds);

    protected uint NextDlTeid() => Interlocked.Increment(ref _dlTeids);

    protected uint NextTmsi() => Interlocked.Increment(ref _tmsis);

    protected byte NextNasSequence() => (byte)Interlocked.Increment(ref _nasSequence);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        foreach (var ep in _ranEndpoints.Values)
        {
            await ep.DisposeAsync();
        }

        await _core.DisposeAsync();
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
