using Microsoft.Extensions.Logging;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Emulation;

/// <summary>
/// Emulated MME and eNBs speaking S1AP over SCTP over UDP (RFC 6951) between their namespaces. The MME answers
/// like a real one (S1 Setup, attach with NAS Attach Accept, path switch, S1 handover resource allocation and
/// cancel, context release); eNBs answer the MME, and the UE-side procedures are started by the methods below
/// and <see cref="RanCoreEmulator{TSummary, TCode, TPdu}"/>.
/// </summary>
internal sealed class EpcEmulator : RanCoreEmulator<S1apSummary, S1apProcedureCode, S1apPduType>
{
    private const byte MmeCode = 0x01;

    private static readonly Procedures _s1ap = new(
        S1apPduType.SuccessfulOutcome,
        S1apProcedureCode.S1Setup,
        S1apProcedureCode.PathSwitchRequest,
        S1apProcedureCode.HandoverPreparation,
        S1apProcedureCode.HandoverCancel,
        S1apProcedureCode.UeContextRelease);

    private EpcEmulator(TestbedPlan plan, ILogger? log)
        : base(plan, SctpWellKnown.S1apPort, SctpWellKnown.S1apPpid, _s1ap, log)
    {
    }

    public static Task<EpcEmulator> StartAsync(TestbedPlan plan, ILogger<EpcEmulator>? log = null) => StartAsync(new EpcEmulator(plan, log));

    public override Task AttachAsync(EmulatedUe ue, int enb) =>
        InitialUeMessageAsync(ue, enb, S1apProcedureCode.InitialContextSetup,
            id => S1apMessages.InitialUeMessage(id, TestbedPlan.EnbIdOf(enb), NasMessages.AttachRequest(ue.Imsi), null, moData: false));

    /// <summary>Service Request from idle at <paramref name="enb"/>: InitialUEMessage with S-TMSI, context setup.</summary>
    public override Task ServiceRequestAsync(EmulatedUe ue, int enb)
    {
        var tmsi = ue.Tmsi ?? throw new TestbedException($"UE {ue.Index} has no GUTI: not attached");
        return InitialUeMessageAsync(ue, enb, S1apProcedureCode.InitialContextSetup,
            id => S1apMessages.InitialUeMessage(id, TestbedPlan.EnbIdOf(enb), NasMessages.ServiceRequest(NextNasSequence()), new STmsi(MmeCode, tmsi), moData: true));
    }

    protected override S1apSummary Decode(byte[] pdu) => S1apDecoder.Decode(pdu);

    protected override string NameOf(S1apSummary s) => s.MessageName;

    // ---- MME ----
    protected override async Task OnCoreMessageAsync(int enb, S1apSummary s)
    {
        switch (s.ProcedureCode, s.PduType)
        {
            case (S1apProcedureCode.S1Setup, S1apPduType.InitiatingMessage):
                await SendFromCoreAsync(enb, S1apMessages.S1SetupResponse());
                break;

            case (S1apProcedureCode.InitialUeMessage, _):
                {
                    var nas = s.NasPdu;
                    EmulatedUe ue;
                    byte[]? accept = null;
                    if (nas.Length > 1 && nas[1] == 0x41)
                    {
                        // The subscriber database of this emulated EPC is the UE list; the radio told it who sent what.
                        ue = UeAt(enb, s.EnbUeS1apId);
                        ue.Tmsi = NextTmsi();
                        accept = NasMessages.AttachAccept(ue.Address, MmeCode, ue.Tmsi.Value, [S1apMessages.Plmn.Octet0, S1apMessages.Plmn.Octet1, S1apMessages.Plmn.Octet2]);
                    }
                    else
                    {
                        ue = s.STmsi is { MmeCode: MmeCode } sTmsi ? UeByTmsi(sTmsi.MTmsi) : throw new TestbedException($"Service Request with unknown S-TMSI {s.STmsi}");
                    }

                    ue.CoreUeId = NextCoreUeId();
                    await SendFromCoreAsync(enb, S1apMessages.InitialContextSetupRequest(ue.CoreUeId, s.EnbUeS1apId ?? 0, EmulatedUe.ERabId, TestbedPlan.SgwAddress, ue.UplinkTeid, accept));
                    break;
                }

            case (S1apProcedureCode.PathSwitchRequest, S1apPduType.InitiatingMessage):
                await SendFromCoreAsync(enb, S1apMessages.PathSwitchRequestAcknowledge(s.SourceMmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0));
                break;

            case (S1apProcedureCode.HandoverPreparation, S1apPduType.InitiatingMessage):
                await PrepareHandoverAsync(enb, s.EnbUeS1apId ?? 0, UeByCoreId(s.MmeUeS1apId), (int)((s.TargetEnbId?.GlobalEnbId.EnbId ?? 0) - 0x100u));
                break;

            case (S1apProcedureCode.HandoverResourceAllocation, S1apPduType.SuccessfulOutcome):
                await TargetPreparedAsync(s.EnbUeS1apId ?? 0, s.ERabs.Count > 0 ? s.ERabs[0].Tunnel?.Teid ?? 0 : 0);
                break;

            case (S1apProcedureCode.HandoverNotification, _):
                await HandoverNotifiedAsync();
                break;

            case (S1apProcedureCode.HandoverCancel, S1apPduType.InitiatingMessage):
                await HandoverCancelledAsync(enb, s.MmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0);
                break;

            case (S1apProcedureCode.UeContextReleaseRequest, _):
                await ReleaseRequestedAsync(enb, s.MmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0);
                break;
        }
    }

    // ---- eNBs ----
    protected override async Task OnRanMessageAsync(int enb, S1apSummary s)
    {
        switch (s.ProcedureCode, s.PduType)
        {
            case (S1apProcedureCode.InitialContextSetup, S1apPduType.InitiatingMessage):
                await SetUpDownlinkAsync(enb, s.EnbUeS1apId,
                    dl => S1apMessages.InitialContextSetupResponse(s.MmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0, EmulatedUe.ERabId, TestbedPlan.EnbAddress(enb), dl));
                break;

            case (S1apProcedureCode.HandoverResourceAllocation, S1apPduType.InitiatingMessage):
                await SendFromRanAsync(enb, S1apMessages.HandoverRequestAcknowledge(s.MmeUeS1apId ?? 0, NextRanUeId(), EmulatedUe.ERabId, TestbedPlan.EnbAddress(enb), NextDlTeid()));
                break;

            case (S1apProcedureCode.UeContextRelease, S1apPduType.InitiatingMessage):
                await SendFromRanAsync(enb, S1apMessages.UeContextReleaseComplete(s.MmeUeS1apId ?? 0, s.EnbUeS1apId ?? 0));
                break;
        }
    }

    // ---- the messages of the shared procedures ----
    protected override byte[] SetupRequest(int enb) => S1apMessages.S1SetupRequest(TestbedPlan.EnbIdOf(enb));

    protected override byte[] PathSwitchRequest(EmulatedUe ue, int target, uint enbUeId, uint dlTeid) =>
        S1apMessages.PathSwitchRequest(enbUeId, ue.CoreUeId, TestbedPlan.EnbIdOf(target), EmulatedUe.ERabId, TestbedPlan.EnbAddress(target), dlTeid);

    protected override byte[] HandoverRequired(EmulatedUe ue, int source, int target) =>
        S1apMessages.HandoverRequired(ue.CoreUeId, ue.RanUeId, TestbedPlan.EnbIdOf(source), TestbedPlan.EnbIdOf(target), EmulatedUe.ERabId);

    protected override byte[] HandoverRequest(uint mmeUeId, EmulatedUe ue, int target) =>
        S1apMessages.HandoverRequest(mmeUeId, TestbedPlan.EnbIdOf(ue.Enb), TestbedPlan.EnbIdOf(target), EmulatedUe.ERabId, TestbedPlan.SgwAddress, ue.UplinkTeid);

    protected override byte[] HandoverCommand(PreparedTarget p) => S1apMessages.HandoverCommand(p.SourceCoreUeId, p.SourceRanUeId);

    protected override byte[] HandoverNotify(PreparedTarget p) => S1apMessages.HandoverNotify(p.CoreUeId, p.RanUeId, TestbedPlan.EnbIdOf(p.Target));

    protected override byte[] HandoverCancel(EmulatedUe ue) => S1apMessages.HandoverCancel(ue.CoreUeId, ue.RanUeId);

    protected override byte[] HandoverCancelAcknowledge(uint mmeUeId, uint enbUeId) => S1apMessages.HandoverCancelAcknowledge(mmeUeId, enbUeId);

    protected override byte[] UeContextReleaseRequest(EmulatedUe ue) => S1apMessages.UeContextReleaseRequest(ue.CoreUeId, ue.RanUeId);

    // TS 36.413 causes: radioNetwork successful-handover (2), handover-cancelled (4); nas normal-release (0).
    protected override byte[] UeContextReleaseCommand(uint mmeUeId, uint enbUeId, ReleaseCause cause) =>
        S1apMessages.UeContextReleaseCommand(mmeUeId, enbUeId, cause switch
        {
            ReleaseCause.SuccessfulHandover => new S1apCause(CauseGroup.RadioNetwork, 2),
            ReleaseCause.HandoverCancelled => new S1apCause(CauseGroup.RadioNetwork, 4),
            _ => new S1apCause(CauseGroup.Nas, 0),
        });
}
