using Microsoft.Extensions.Logging;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.Sctp;
using MobiScud.Testbed.Infrastructure;
using MobiScud.Testbed.Topology;

namespace MobiScud.Testbed.Emulation;

/// <summary>
/// Emulated AMF and gNBs speaking NGAP (TS 38.413) over SCTP over UDP (RFC 6951; SCTP port 38412, PPID 60) between
/// their namespaces: the gNBs live in the eNB namespaces, the AMF in the MME's, the UPF (user plane) in the S-GW's.
/// The AMF answers like a real one (NG Setup; registration with Security Mode Command selecting 5G-EA0, Registration
/// Accept and the PDU session with its NAS Establishment Accept; Xn path switch; N2 handover resource allocation and
/// cancel; context release; service request); the UE-side procedures are started by the methods below and
/// <see cref="RanCoreEmulator{TSummary, TCode, TPdu}"/>.
/// </summary>
internal sealed class NgcEmulator : RanCoreEmulator<NgapSummary, NgapProcedureCode, NgapPduType>
{
    private static readonly Procedures _ngap = new(
        NgapPduType.SuccessfulOutcome,
        NgapProcedureCode.NgSetup,
        NgapProcedureCode.PathSwitchRequest,
        NgapProcedureCode.HandoverPreparation,
        NgapProcedureCode.HandoverCancel,
        NgapProcedureCode.UeContextRelease);

    private NgcEmulator(TestbedPlan plan, ILogger? log)
        : base(plan, SctpWellKnown.NgapPort, SctpWellKnown.NgapPpid, _ngap, log)
    {
    }

    /// <summary>The gNB id (22 bits) of gNB <paramref name="gnb"/>: the same numbers as the LTE testbed's eNB ids.</summary>
    public static uint GnbIdOf(int gnb) => TestbedPlan.EnbIdOf(gnb);

    public static Task<NgcEmulator> StartAsync(TestbedPlan plan, ILogger<NgcEmulator>? log = null) => StartAsync(new NgcEmulator(plan, log));

    /// <summary>Registration at <paramref name="gnb"/> and the UE's PDU session (the MC hears of the UE once it has one).</summary>
    public override Task AttachAsync(EmulatedUe ue, int gnb) =>
        InitialUeMessageAsync(ue, gnb, NgapProcedureCode.PduSessionResourceSetup,
            id => NgapMessages.InitialUeMessage(id, GnbIdOf(gnb), Nas5gMessages.RegistrationRequest(ue.Imsi), null, moData: false));

    /// <summary>Service Request from idle at <paramref name="gnb"/>: InitialUEMessage with the 5G-S-TMSI, context setup with the session.</summary>
    public override Task ServiceRequestAsync(EmulatedUe ue, int gnb)
    {
        var tmsi = ue.Tmsi ?? throw new TestbedException($"UE {ue.Index} has no 5G-GUTI: not registered");
        return InitialUeMessageAsync(ue, gnb, NgapProcedureCode.InitialContextSetup,
            id => NgapMessages.InitialUeMessage(id, GnbIdOf(gnb), Nas5gMessages.ServiceRequest(tmsi, NextNasSequence()), Nas5gMessages.STmsi(tmsi), moData: true));
    }

    protected override NgapSummary Decode(byte[] pdu) => NgapDecoder.Decode(pdu);

    protected override string NameOf(NgapSummary s) => s.MessageName;

    // ---- AMF ----
    protected override async Task OnCoreMessageAsync(int gnb, NgapSummary s)
    {
        switch (s.ProcedureCode, s.PduType)
        {
            case (NgapProcedureCode.NgSetup, NgapPduType.InitiatingMessage):
                await SendFromCoreAsync(gnb, NgapMessages.NgSetupResponse());
                break;

            case (NgapProcedureCode.InitialUeMessage, _):
                {
                    var ran = s.RanUeNgapId ?? throw new TestbedException("InitialUEMessage without RAN-UE-NGAP-ID");
                    if (s.FiveGSTmsi is { } sTmsi)
                    {
                        // Service Request: the UE's session comes back with a new context (UL end unchanged: one UPF).
                        var ue = UeByTmsi(sTmsi.Tmsi);
                        ue.CoreUeId = NextCoreUeId();
                        await SendFromCoreAsync(gnb, NgapMessages.InitialContextSetupRequest(ue.CoreUeId, ran, null, TestbedPlan.SgwAddress, ue.UplinkTeid));
                    }
                    else
                    {
                        // Registration: the subscriber database of this emulated core is the UE list; the radio told it who sent what.
                        var ue = UeAt(gnb, ran);
                        ue.CoreUeId = NextCoreUeId();
                        await SendFromCoreAsync(gnb, NgapMessages.DownlinkNasTransport(ue.CoreUeId, ran, Nas5gMessages.SecurityModeCommand()));
                    }

                    break;
                }

            case (NgapProcedureCode.UplinkNasTransport, _):
                {
                    // Security Mode Complete: accept the registration (the 5G-GUTI's TMSI names the UE from now on).
                    var ue = UeByCoreId(s.AmfUeNgapId);
                    ue.Tmsi ??= NextTmsi();
                    await SendFromCoreAsync(ue.Enb, NgapMessages.InitialContextSetupRequest(ue.CoreUeId, ue.RanUeId, Nas5gMessages.RegistrationAccept(ue.Tmsi.Value), null, 0));
                    break;
                }

            case (NgapProcedureCode.InitialContextSetup, NgapPduType.SuccessfulOutcome) when s.PduSessions.Count == 0:
                {
                    // Registered: the UE asks for its PDU session (its NAS request is not modelled); the SMF's answer comes here.
                    var ue = UeByCoreId(s.AmfUeNgapId);
                    await SendFromCoreAsync(ue.Enb, NgapMessages.PduSessionResourceSetupRequest(ue.CoreUeId, ue.RanUeId, TestbedPlan.SgwAddress, ue.UplinkTeid,
                        Nas5gMessages.PduSessionEstablishmentAccept(ue.Address, NextNasSequence())));
                    break;
                }

            case (NgapProcedureCode.PathSwitchRequest, NgapPduType.InitiatingMessage):
                {
                    var ue = UeByCoreId(s.SourceAmfUeNgapId);
                    await SendFromCoreAsync(gnb, NgapMessages.PathSwitchRequestAcknowledge(ue.CoreUeId, s.RanUeNgapId ?? 0, TestbedPlan.SgwAddress, ue.UplinkTeid));
                    break;
                }

            case (NgapProcedureCode.HandoverPreparation, NgapPduType.InitiatingMessage):
                await PrepareHandoverAsync(gnb, s.RanUeNgapId ?? 0, UeByCoreId(s.AmfUeNgapId), (int)((s.Target?.Node.Id ?? 0) - 0x100u));
                break;

            case (NgapProcedureCode.HandoverResourceAllocation, NgapPduType.SuccessfulOutcome):
                await TargetPreparedAsync(s.RanUeNgapId ?? 0, s.PduSessions.Count > 0 ? s.PduSessions[0].DlTunnel?.Teid ?? 0 : 0);
                break;

            case (NgapProcedureCode.HandoverNotification, _):
                await HandoverNotifiedAsync();
                break;

            case (NgapProcedureCode.HandoverCancel, NgapPduType.InitiatingMessage):
                await HandoverCancelledAsync(gnb, (uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0);
                break;

            case (NgapProcedureCode.UeContextReleaseRequest, _):
                await ReleaseRequestedAsync(gnb, (uint)(s.AmfUeNgapId ?? 0), s.RanUeNgapId ?? 0);
                break;
        }
    }

    // ---- gNBs ----
    protected override async Task OnRanMessageAsync(int gnb, NgapSummary s)
    {
        var amf = (uint)(s.AmfUeNgapId ?? 0);
        var ran = s.RanUeNgapId ?? 0;
        switch (s.ProcedureCode, s.PduType)
        {
            case (NgapProcedureCode.DownlinkNasTransport, _):
                // Security Mode Command: the UE completes it (5G-EA0: the rest of its NAS is readable on N2).
                await SendFromRanAsync(gnb, NgapMessages.UplinkNasTransport(amf, ran, GnbIdOf(gnb), Nas5gMessages.SecurityModeComplete()));
                break;

            case (NgapProcedureCode.InitialContextSetup, NgapPduType.InitiatingMessage) when s.PduSessions.Count == 0:
                await SendFromRanAsync(gnb, NgapMessages.InitialContextSetupResponse(amf, ran, null, 0));
                break;

            case (NgapProcedureCode.InitialContextSetup, NgapPduType.InitiatingMessage):
                // Service request: the session's radio and N3 resources come back with a new downlink TEID.
                await SetUpDownlinkAsync(gnb, s.RanUeNgapId, dl => NgapMessages.InitialContextSetupResponse(amf, ran, TestbedPlan.EnbAddress(gnb), dl));
                break;

            case (NgapProcedureCode.PduSessionResourceSetup, NgapPduType.InitiatingMessage):
                await SetUpDownlinkAsync(gnb, s.RanUeNgapId, dl => NgapMessages.PduSessionResourceSetupResponse(amf, ran, TestbedPlan.EnbAddress(gnb), dl));
                break;

            case (NgapProcedureCode.HandoverResourceAllocation, NgapPduType.InitiatingMessage):
                await SendFromRanAsync(gnb, NgapMessages.HandoverRequestAcknowledge(amf, NextRanUeId(), TestbedPlan.EnbAddress(gnb), NextDlTeid()));
                break;

            case (NgapProcedureCode.UeContextRelease, NgapPduType.InitiatingMessage):
                // The command names the UE by the AMF/RAN id pair; our decoder reads the pair into the summary's ids.
                await SendFromRanAsync(gnb, NgapMessages.UeContextReleaseComplete(amf, ran));
                break;
        }
    }

    // ---- the messages of the shared procedures ----
    protected override byte[] SetupRequest(int gnb) => NgapMessages.NgSetupRequest(GnbIdOf(gnb));

    protected override byte[] PathSwitchRequest(EmulatedUe ue, int target, uint ranUeId, uint dlTeid) =>
        NgapMessages.PathSwitchRequest(ranUeId, ue.CoreUeId, GnbIdOf(target), TestbedPlan.EnbAddress(target), dlTeid);

    protected override byte[] HandoverRequired(EmulatedUe ue, int source, int target) =>
        NgapMessages.HandoverRequired(ue.CoreUeId, ue.RanUeId, GnbIdOf(source), GnbIdOf(target));

    protected override byte[] HandoverRequest(uint amfUeId, EmulatedUe ue, int target) =>
        NgapMessages.HandoverRequest(amfUeId, GnbIdOf(ue.Enb), GnbIdOf(target), TestbedPlan.SgwAddress, ue.UplinkTeid);

    protected override byte[] HandoverCommand(PreparedTarget p) => NgapMessages.HandoverCommand(p.SourceCoreUeId, p.SourceRanUeId);

    protected override byte[] HandoverNotify(PreparedTarget p) => NgapMessages.HandoverNotify(p.CoreUeId, p.RanUeId, GnbIdOf(p.Target));

    protected override byte[] HandoverCancel(EmulatedUe ue) => NgapMessages.HandoverCancel(ue.CoreUeId, ue.RanUeId);

    protected override byte[] HandoverCancelAcknowledge(uint amfUeId, uint ranUeId) => NgapMessages.HandoverCancelAcknowledge(amfUeId, ranUeId);

    protected override byte[] UeContextReleaseRequest(EmulatedUe ue) => NgapMessages.UeContextReleaseRequest(ue.CoreUeId, ue.RanUeId);

    // TS 38.413 radioNetwork causes: successful-handover (2), handover-cancelled (5), user-inactivity (20).
    protected override byte[] UeContextReleaseCommand(uint amfUeId, uint ranUeId, ReleaseCause cause) =>
        NgapMessages.UeContextReleaseCommand(amfUeId, ranUeId, NgapCauseGroup.RadioNetwork, cause switch
        {
            ReleaseCause.SuccessfulHandover => 2,
            ReleaseCause.HandoverCancelled => 5,
            _ => 20,
        });
}
