using System.Net;
using MobiScud.Protocols.Aper;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Testbed.Emulation;

/// <summary>
/// The NGAP messages (TS 38.413) the emulated gNBs and AMF exchange, built with the protocols part's NGAP encoder
/// (<see cref="NgapMessage"/>, <see cref="NgapIeEncoder"/>): NG Setup, registration (InitialUEMessage, NAS transport,
/// InitialContextSetup), PDU session setup, Xn path switch, N2 handover and its cancel, release, service request.
/// tshark reads every one back in the testbed's pcap (NrTestbedTests).
/// </summary>
public static class NgapMessages
{
    public static readonly PlmnIdentity Plmn = S1apMessages.Plmn;
    public static readonly NgTai Tai = new(Plmn, 1);

    /// <summary>The gNB id length the testbed's gNBs use (TS 38.413 allows 22..32 bits).</summary>
    public const byte GnbIdBits = 22;

    /// <summary>The one QoS flow of each PDU session (5QI 9, default): what the PDU Session Container carries.</summary>
    public const byte Qfi = 1;

    /// <summary>The one PDU session of each UE.</summary>
    public const byte PduSessionId = 1;

    public static GlobalRanNodeId GlobalGnb(uint gnbId) => new(Plmn, RanNodeKind.Gnb, gnbId, GnbIdBits);

    /// <summary>The gNB's single cell: the 22-bit gNB id followed by a 14-bit cell number 1 (36-bit NR cell identity).</summary>
    public static NrCgi Cell(uint gnbId) => new(Plmn, ((ulong)gnbId << (36 - GnbIdBits)) | 1);

    private static NgapProtocolIe Ie(ushort id, Criticality c, byte[] value) => new(id, c, value);

    private static NgapProtocolIe Amf(uint id) => Ie(NgapIeId.AmfUeNgapId, Criticality.Reject, NgapIeEncoder.AmfUeNgapId(id));

    private static NgapProtocolIe Ran(uint id) => Ie(NgapIeId.RanUeNgapId, Criticality.Reject, NgapIeEncoder.RanUeNgapId(id));

    private static NgapProtocolIe Nas(byte[] nas) => Ie(NgapIeId.NasPdu, Criticality.Reject, NgapIeEncoder.NasPdu(nas));

    private static NgapProtocolIe Location(uint gnbId) => Ie(NgapIeId.UserLocationInformation, Criticality.Reject, NgapIeEncoder.UserLocationNr(Cell(gnbId), Tai));

    private static NgapProtocolIe Cause(NgapCauseGroup group, int value) => Ie(NgapIeId.Cause, Criticality.Ignore, NgapIeEncoder.Cause(new NgapCause(group, value)));

    private static NgapProtocolIe HandoverType() => Ie(NgapIeId.HandoverType, Criticality.Reject, NgapIeEncoder.HandoverType(NgapHandoverType.Intra5gs));

    private static NgapProtocolIe List(ushort listIeId, PduSessionItem item, byte[]? nas = null) =>
        Ie(listIeId, Criticality.Reject, NgapIeEncoder.PduSessionList(listIeId, [item], nas is null ? null : [nas]));

    private static byte[] Pdu(NgapPduType type, NgapProcedureCode code, params NgapProtocolIe[] ies) =>
        new NgapMessage(type, code, Criticality.Reject, ies).Encode();

    private static byte[] Initiating(NgapProcedureCode code, params NgapProtocolIe[] ies) => Pdu(NgapPduType.InitiatingMessage, code, ies);

    private static byte[] Successful(NgapProcedureCode code, params NgapProtocolIe[] ies) => Pdu(NgapPduType.SuccessfulOutcome, code, ies);

    /// <summary>The UE's PDU session, with the UPF's uplink end, the gNB's downlink end, or neither (lists that name it only).</summary>
    public static PduSessionItem Session(IPAddress? ul = null, uint ulTeid = 0, IPAddress? dl = null, uint dlTeid = 0) => new()
    {
        PduSessionId = PduSessionId,
        UlTunnel = ul is null ? null : new GtpTunnel(TransportLayerAddress.FromIp(ul), ulTeid),
        DlTunnel = dl is null ? null : new GtpTunnel(TransportLayerAddress.FromIp(dl), dlTeid),
        QosFlows = 1UL << Qfi,
        Sst = 1,
        NasPduLength = -1,
    };

    // ---- NG Setup ----
    public static byte[] NgSetupRequest(uint gnbId)
    {
        var drx = new AperWriter(2);
        drx.WriteEnumerated(1, 4, true); // v64
        return Initiating(NgapProcedureCode.NgSetup,
            Ie(NgapIeId.GlobalRanNodeId, Criticality.Reject, NgapIeEncoder.GlobalRanNodeId(GlobalGnb(gnbId))),
            Ie(21, Criticality.Ignore, drx.ToArray())); // DefaultPagingDRX
    }

    public static byte[] NgSetupResponse()
    {
        var capacity = new AperWriter(2);
        capacity.WriteConstrainedWholeNumber(255, 0, 255);
        return Successful(NgapProcedureCode.NgSetup, Ie(86, Criticality.Ignore, capacity.ToArray())); // RelativeAMFCapacity
    }

    // ---- registration, PDU session, service request ----
    public static byte[] InitialUeMessage(uint ranUeId, uint gnbId, byte[] nas, FiveGSTmsi? sTmsi, bool moData)
    {
        var cause = new AperWriter(2);
        cause.WriteEnumerated(moData ? 4 : 3, 10, true); // RRCEstablishmentCause mo-Data / mo-Signalling
        var ies = new List<NgapProtocolIe> { Ran(ranUeId), Nas(nas), Location(gnbId), Ie(90, Criticality.Ignore, cause.ToArray()) };
        if (sTmsi is { } s)
        {
            ies.Add(Ie(NgapIeId.FiveGSTmsi, Criticality.Reject, NgapIeEncoder.FiveGSTmsi(s)));
        }

        return Initiating(NgapProcedureCode.InitialUeMessage, [.. ies]);
    }

    public static byte[] DownlinkNasTransport(uint amfUeId, uint ranUeId, byte[] nas) =>
        Initiating(NgapProcedureCode.DownlinkNasTransport, Amf(amfUeId), Ran(ranUeId), Nas(nas));

    public static byte[] UplinkNasTransport(uint amfUeId, uint ranUeId, uint gnbId, byte[] nas) =>
        Initiating(NgapProcedureCode.UplinkNasTransport, Amf(amfUeId), Ran(ranUeId), Nas(nas), Location(gnbId));

    /// <summary>Registration's context (NAS Registration Accept, no session), or a service request's (the session's UL end).</summary>
    public static byte[] InitialContextSetupRequest(uint amfUeId, uint ranUeId, byte[]? nas, IPAddress? upf, uint ulTeid)
    {
        var ies = new List<NgapProtocolIe> { Amf(amfUeId), Ran(ranUeId) };
        if (upf is not null)
        {
            ies.Add(List(NgapIeId.PduSessionResourceSetupListCxtReq, Session(upf, ulTeid)));
        }

        if (nas is not null)
        {
            ies.Add(Nas(nas));
        }

        return Initiating(NgapProcedureCode.InitialContextSetup, [.. ies]);
    }

    public static byte[] InitialContextSetupResponse(uint amfUeId, uint ranUeId, IPAddress? gnb, uint dlTeid)
    {
        var ies = new List<NgapProtocolIe> { Amf(amfUeId), Ran(ranUeId) };
        if (gnb is not null)
        {
            ies.Add(List(NgapIeId.PduSessionResourceSetupListCxtRes, Session(dl: gnb, dlTeid: dlTeid)));
        }

        return Successful(NgapProcedureCode.InitialContextSetup, [.. ies]);
    }

    /// <summary>PDUSessionResourceSetupRequest with the UPF's UL end and the NAS PDU Session Establishment Accept.</summary>
    public static byte[] PduSessionResourceSetupRequest(uint amfUeId, uint ranUeId, IPAddress upf, uint ulTeid, byte[] nas) =>
        Initiating(NgapProcedureCode.PduSessionResourceSetup, Amf(amfUeId), Ran(ranUeId), List(NgapIeId.PduSessionResourceSetupListSuReq, Session(upf, ulTeid), nas));

    public static byte[] PduSessionResourceSetupResponse(uint amfUeId, uint ranUeId, IPAddress gnb, uint dlTeid) =>
        Successful(NgapProcedureCode.PduSessionResourceSetup, Amf(amfUeId), Ran(ranUeId), List(NgapIeId.PduSessionResourceSetupListSuRes, Session(dl: gnb, dlTeid: dlTeid)));

    // ---- Xn handover: the target gNB asks the AMF to switch the path ----
    public static byte[] PathSwitchRequest(uint ranUeId, uint sourceAmfUeId, uint targetGnbId, IPAddress gnb, uint dlTeid) =>
        Initiating(NgapProcedureCode.PathSwitchRequest,
            Ran(ranUeId),
            Ie(NgapIeId.SourceAmfUeNgapId, Criticality.Reject, NgapIeEncoder.AmfUeNgapId(sourceAmfUeId)),
            Location(targetGnbId),
            List(NgapIeId.PduSessionResourceToBeSwitchedDlList, Session(dl: gnb, dlTeid: dlTeid)));

    public static byte[] PathSwitchRequestAcknowledge(uint amfUeId, uint ranUeId, IPAddress upf, uint ulTeid) =>
        Successful(NgapProcedureCode.PathSwitchRequest, Amf(amfUeId), Ran(ranUeId), List(NgapIeId.PduSessionResourceSwitchedList, Session(upf, ulTeid)));

    // ---- N2 handover ----
    public static byte[] HandoverRequired(uint amfUeId, uint ranUeId, uint sourceGnbId, uint targetGnbId) =>
        Initiating(NgapProcedureCode.HandoverPreparation, Amf(amfUeId), Ran(ranUeId), HandoverType(), Cause(NgapCauseGroup.RadioNetwork, 16),
            Ie(NgapIeId.TargetId, Criticality.Reject, NgapIeEncoder.TargetId(new NgapTargetRanNode(GlobalGnb(targetGnbId), Tai))),
            List(NgapIeId.PduSessionResourceListHoRqd, Session()),
            SourceToTarget(sourceGnbId, targetGnbId));

    public static byte[] HandoverRequest(uint amfUeId, uint sourceGnbId, uint targetGnbId, IPAddress upf, uint ulTeid) =>
        Initiating(NgapProcedureCode.HandoverResourceAllocation, Amf(amfUeId), HandoverType(), Cause(NgapCauseGroup.RadioNetwork, 16),
            List(NgapIeId.PduSessionResourceSetupListHoReq, Session(upf, ulTeid)),
            SourceToTarget(sourceGnbId, targetGnbId));

    public static byte[] HandoverRequestAcknowledge(uint amfUeId, uint ranUeId, IPAddress gnb, uint dlTeid) =>
        Successful(NgapProcedureCode.HandoverResourceAllocation, Amf(amfUeId), Ran(ranUeId),
            List(NgapIeId.PduSessionResourceAdmittedList, Session(dl: gnb, dlTeid: dlTeid)),
            TargetToSource());

    public static byte[] HandoverCommand(uint amfUeId, uint ranUeId) =>
        Successful(NgapProcedureCode.HandoverPreparation, Amf(amfUeId), Ran(ranUeId), HandoverType(),
            List(NgapIeId.PduSessionResourceHandoverList, Session()),
            TargetToSource());

    public static byte[] HandoverNotify(uint amfUeId, uint ranUeId, uint gnbId) =>
        Initiating(NgapProcedureCode.HandoverNotification, Amf(amfUeId), Ran(ranUeId), Location(gnbId));

    public static byte[] HandoverCancel(uint amfUeId, uint ranUeId) =>
        Initiating(NgapProcedureCode.HandoverCancel, Amf(amfUeId), Ran(ranUeId), Cause(NgapCauseGroup.RadioNetwork, 5));

    public static byte[] HandoverCancelAcknowledge(uint amfUeId, uint ranUeId) =>
        Successful(NgapProcedureCode.HandoverCancel, Amf(amfUeId), Ran(ranUeId));

    private static NgapProtocolIe SourceToTarget(uint sourceGnbId, uint targetGnbId) =>
        Ie(NgapIeId.SourceToTargetTransparentContainer, Criticality.Reject, NgapIeEncoder.SourceToTargetContainer(Cell(targetGnbId), Cell(sourceGnbId), 30));

    private static NgapProtocolIe TargetToSource() =>
        Ie(NgapIeId.TargetToSourceTransparentContainer, Criticality.Reject, NgapIeEncoder.TargetToSourceContainer());

    // ---- release ----
    public static byte[] UeContextReleaseRequest(uint amfUeId, uint ranUeId) =>
        Initiating(NgapProcedureCode.UeContextReleaseRequest, Amf(amfUeId), Ran(ranUeId), Cause(NgapCauseGroup.RadioNetwork, 20)); // user-inactivity

    public static byte[] UeContextReleaseCommand(uint amfUeId, uint ranUeId, NgapCauseGroup group, int cause) =>
        Initiating(NgapProcedureCode.UeContextRelease,
            Ie(NgapIeId.UeNgapIds, Criticality.Reject, NgapIeEncoder.UeNgapIds(amfUeId, ranUeId)),
            Cause(group, cause));

    public static byte[] UeContextReleaseComplete(uint amfUeId, uint ranUeId) =>
        Successful(NgapProcedureCode.UeContextRelease, Amf(amfUeId), Ran(ranUeId));
}

/// <summary>
/// 5G NAS (TS 24.501) as the emulated UE and AMF send it. Registration and service requests are initial NAS messages
/// (plain, or integrity protected only); the AMF's Security Mode Command selects 5G-EA0, so what follows is protected
/// but readable, as a tap needs it (MAC and sequence numbers are not checked by a tap).
/// </summary>
public static class Nas5gMessages
{
    public const ushort AmfSetId = 1;
    public const byte AmfPointer = 1;
    public const byte AmfRegionId = 1;

    private static byte[] Protected(byte header, byte sequence, params byte[] plain) => [0x7E, header, 0, 0, 0, 0, sequence, .. plain];

    /// <summary>Registration Request (initial registration), SUCI with the null protection scheme for <paramref name="imsi"/>.</summary>
    public static byte[] RegistrationRequest(string imsi)
    {
        // IMSI = MCC (3) + MNC (2) + MSIN: the SUCI's scheme output is the MSIN in BCD (TS 24.501 9.11.3.4).
        var plmn = PlmnOctets(imsi[..3], imsi[3..5]);
        var msin = Bcd(imsi[5..]);
        byte[] suci = [0x01, .. plmn, 0xF0, 0xFF, 0x00, 0x00, .. msin];
        return [0x7E, 0x00, 0x41, 0x79, 0x00, (byte)suci.Length, .. suci, 0x2E, 0x02, 0x80, 0x20]; // + UE security capability 5G-EA0, 5G-IA2
    }

    /// <summary>Security Mode Command selecting 5G-EA0 (null ciphering) and 5G-IA2, protected with the new context.</summary>
    public static byte[] SecurityModeCommand() => Protected(3, 0, 0x7E, 0x00, 0x5D, 0x02, 0x00, 0x02, 0x80, 0x20);

    public static byte[] SecurityModeComplete() => Protected(4, 0, 0x7E, 0x00, 0x5E);

    /// <summary>Registration Accept with the 5G-GUTI whose 5G-S-TMSI the UE later uses in Service Request.</summary>
    public static byte[] RegistrationAccept(uint tmsi) => Protected(2, 1, [0x7E, 0x00, 0x42, 0x01, 0x01, 0x77, .. Guti(tmsi)]);

    /// <summary>DL NAS Transport carrying PDU Session Establishment Accept (session 1, IPv4 <paramref name="ue"/>).</summary>
    public static byte[] PduSessionEstablishmentAccept(IPAddress ue, byte sequence)
    {
        // SSC mode 1, IPv4; one default QoS rule (match-all packet filter) for the QoS flow; session-AMBR 100 Mbps each way.
        byte[] rule = [0x01, 0x00, 0x06, 0x31, 0x31, 0x01, 0x01, 0xFF, NgapMessages.Qfi];
        byte[] sm =
        [
            0x2E, NgapMessages.PduSessionId, 0x01, 0xC2, 0x11, 0x00, (byte)rule.Length, .. rule, 0x06, 0x06, 0x00, 0x64, 0x06, 0x00, 0x64,
            0x29, 0x05, 0x01, .. ue.GetAddressBytes(),
        ];
        return Protected(2, sequence, [0x7E, 0x00, 0x68, 0x01, (byte)(sm.Length >> 8), (byte)sm.Length, .. sm]);
    }

    /// <summary>Service Request (mobile-originated data) with the 5G-S-TMSI, integrity protected only.</summary>
    public static byte[] ServiceRequest(uint tmsi, byte sequence) =>
        Protected(1, sequence, 0x7E, 0x00, 0x4C, 0x10, 0x00, 0x07, 0xF4, (byte)(AmfSetId >> 2), (byte)(((AmfSetId & 3) << 6) | AmfPointer),
            (byte)(tmsi >> 24), (byte)(tmsi >> 16), (byte)(tmsi >> 8), (byte)tmsi);

    public static FiveGSTmsi STmsi(uint tmsi) => new(AmfSetId, AmfPointer, tmsi);

    private static byte[] Guti(uint tmsi) =>
        [0x00, 0x0B, 0xF2, .. PlmnOctets("001", "01"), AmfRegionId, (byte)(AmfSetId >> 2), (byte)(((AmfSetId & 3) << 6) | AmfPointer),
            (byte)(tmsi >> 24), (byte)(tmsi >> 16), (byte)(tmsi >> 8), (byte)tmsi];

    private static byte[] PlmnOctets(string mcc, string mnc)
    {
        var p = PlmnIdentity.FromMccMnc(mcc, mnc);
        return [p.Octet0, p.Octet1, p.Octet2];
    }

    private static byte[] Bcd(string digits)
    {
        var b = new byte[(digits.Length + 1) / 2];
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[i] - '0';
            b[i / 2] |= (byte)(i % 2 == 0 ? d : d << 4);
        }

        if (digits.Length % 2 == 1)
        {
            b[^1] |= 0xF0;
        }

        return b;
    }
}
