using System.Net;
using MobiScud.Protocols.Ngap;
using static MobiScud.Tracking.Tests.Ngap.NgapScenario;

namespace MobiScud.Tracking.Tests.Ngap;

/// <summary>
/// Tracker timelines from N2 sequences built with our NGAP encoder (whose output tshark reads back in
/// NgapEncoderTsharkTests): registration and PDU sessions, an Xn path switch, an N2 handover, a cancelled N2 handover,
/// release to idle, a service request with new tunnels, deregistration; and the UE's address learnt from GTP-U when
/// the NAS is ciphered.
/// </summary>
public sealed class NgapBuiltSequenceTests
{
    private const ulong Amf1 = 1_000_000_000_001; // 40-bit AMF-UE-NGAP-IDs fold into the tracker's 32-bit id
    private static readonly Gnb _g1 = MakeGnb(1, 0x1001, 22);
    private static readonly Gnb _g2 = MakeGnb(2, 0x2ABCDEF, 26);
    private static readonly Gnb _g3 = MakeGnb(3, 0xFFFFFFF0, 32);
    private static readonly NgTai _tai = new(Plmn, 1);

    private static NgapProtocolIe HoType() => Ie(NgapIeId.HandoverType, NgapIeEncoder.HandoverType(NgapHandoverType.Intra5gs));

    private static NgapProtocolIe Container(Gnb from, Gnb to) => Ie(NgapIeId.SourceToTargetTransparentContainer, NgapIeEncoder.SourceToTargetContainer(to.Cell, from.Cell, 30));

    private static NgapProtocolIe ReleaseIds(ulong amf, uint ran) => Ie(NgapIeId.UeNgapIds, NgapIeEncoder.UeNgapIds(amf, ran));

    /// <summary>Registration at G1 (5G-EA0, so the NAS is readable) and PDU session 1 with the UE's address in its NAS.</summary>
    private static void Register(NgapScenario s, byte cipher, ulong amf)
    {
        foreach (var g in new[] { _g1, _g2, _g3 })
        {
            s.NgSetup(g);
        }

        s.Up(_g1, Initiating(NgapProcedureCode.InitialUeMessage, RanId(1), Nas(RegistrationRequest()), Location(_g1)));
        s.Down(_g1, Initiating(NgapProcedureCode.DownlinkNasTransport, AmfId(amf), RanId(1), Nas(SecurityModeCommand(cipher))));
        s.Down(_g1, Initiating(NgapProcedureCode.InitialContextSetup, AmfId(amf), RanId(1), Nas(RegistrationAccept())));
        s.Up(_g1, Successful(NgapProcedureCode.InitialContextSetup, AmfId(amf), RanId(1)));
        s.Down(_g1, Initiating(NgapProcedureCode.PduSessionResourceSetup, AmfId(amf), RanId(1),
            List(NgapIeId.PduSessionResourceSetupListSuReq, [Session(1, ul: Tunnel("10.10.0.1", 0x101))], [PduSessionEstablishmentAccept(IPAddress.Parse("10.45.0.9"))])));
        s.Up(_g1, Successful(NgapProcedureCode.PduSessionResourceSetup, AmfId(amf), RanId(1),
            List(NgapIeId.PduSessionResourceSetupListSuRes, [Session(1, dl: Tunnel("10.0.0.1", 0xA1))])));
    }

    private static void NoFaults(NgapScenario s) => Assert.True(s.Faults.Count == 0, string.Join("\n", s.Faults));

    [Fact]
    public void Registration_sessions_Xn_N2_cancelled_N2_idle_service_request_and_deregistration()
    {
        var s = new NgapScenario();
        Register(s, cipher: 0, Amf1);
        Assert.Equal([$"imsi-{Imsi} attached 10.45.0.9 at {_g1.Node} cell {_g1.Cell.CellId} [1 ul 10.10.0.1/0x00000101 dl 10.0.0.1/0x000000a1]"], s.Events.Select(NgapTimelineTests.Line));

        // A second PDU session.
        s.Down(_g1, Initiating(NgapProcedureCode.PduSessionResourceSetup, AmfId(Amf1), RanId(1), List(NgapIeId.PduSessionResourceSetupListSuReq, [Session(2, ul: Tunnel("10.10.0.1", 0x102))])));
        s.Up(_g1, Successful(NgapProcedureCode.PduSessionResourceSetup, AmfId(Amf1), RanId(1), List(NgapIeId.PduSessionResourceSetupListSuRes, [Session(2, dl: Tunnel("10.0.0.1", 0xA2))])));

        // Xn handover to G2: PathSwitchRequest names the UE by its SourceAMF-UE-NGAP-ID; the ack moves session 1's uplink.
        s.Up(_g2, Initiating(NgapProcedureCode.PathSwitchRequest, RanId(2), Ie(NgapIeId.SourceAmfUeNgapId, NgapIeEncoder.AmfUeNgapId(Amf1)), Location(_g2),
            List(NgapIeId.PduSessionResourceToBeSwitchedDlList, [Session(1, dl: Tunnel("10.0.0.2", 0xB1)), Session(2, dl: Tunnel("10.0.0.2", 0xB2))])));
        s.Down(_g2, Successful(NgapProcedureCode.PathSwitchRequest, AmfId(Amf1), RanId(2),
            List(NgapIeId.PduSessionResourceSwitchedList, [Session(1, ul: Tunnel("10.10.0.9", 0x901)), Session(2)])));
        s.Down(_g1, Initiating(NgapProcedureCode.UeContextRelease, ReleaseIds(Amf1, 1), Cause(NgapCauseGroup.RadioNetwork, 2)));
        s.Up(_g1, Successful(NgapProcedureCode.UeContextRelease, AmfId(Amf1), RanId(1)));

        // N2 handover G2 -> G3 (the AMF gives the UE a new AMF-UE-NGAP-ID at the target).
        s.Up(_g2, Initiating(NgapProcedureCode.HandoverPreparation, AmfId(Amf1), RanId(2), HoType(), Cause(NgapCauseGroup.RadioNetwork, 16),
            Ie(NgapIeId.TargetId, NgapIeEncoder.TargetId(new NgapTargetRanNode(_g3.Id, _tai))),
            List(NgapIeId.PduSessionResourceListHoRqd, [Session(1), Session(2)]), Container(_g2, _g3)));
        s.Down(_g3, Initiating(NgapProcedureCode.HandoverResourceAllocation, AmfId(2), HoType(), Cause(NgapCauseGroup.RadioNetwork, 16),
            List(NgapIeId.PduSessionResourceSetupListHoReq, [Session(1, ul: Tunnel("10.10.0.9", 0x901)), Session(2, ul: Tunnel("10.10.0.1", 0x102))]), Container(_g2, _g3)));
        s.Up(_g3, Successful(NgapProcedureCode.HandoverResourceAllocation, AmfId(2), RanId(3),
            List(NgapIeId.PduSessionResourceAdmittedList, [Session(1, dl: Tunnel("10.0.0.3", 0xC1)), Session(2, dl: Tunnel("10.0.0.3", 0xC2))])));
        s.Down(_g2, Successful(NgapProcedureCode.HandoverPreparation, AmfId(Amf1), RanId(2), HoType(), List(NgapIeId.PduSessionResourceHandoverList, [Session(1), Session(2)])));
        s.Up(_g3, Initiating(NgapProcedureCode.HandoverNotification, AmfId(2), RanId(3), Location(_g3)));
        s.Down(_g2, Initiating(NgapProcedureCode.UeContextRelease, ReleaseIds(Amf1, 2), Cause(NgapCauseGroup.RadioNetwork, 2)));

        // N2 handover G3 -> G1, admitted, then cancelled by the source.
        s.Up(_g3, Initiating(NgapProcedureCode.HandoverPreparation, AmfId(2), RanId(3), HoType(), Cause(NgapCauseGroup.RadioNetwork, 16),
            Ie(NgapIeId.TargetId, NgapIeEncoder.TargetId(new NgapTargetRanNode(_g1.Id, _tai))),
            List(NgapIeId.PduSessionResourceListHoRqd, [Session(1), Session(2)]), Container(_g3, _g1)));
        s.Down(_g1, Initiating(NgapProcedureCode.HandoverResourceAllocation, AmfId(3), HoType(), Cause(NgapCauseGroup.RadioNetwork, 16),
            List(NgapIeId.PduSessionResourceSetupListHoReq, [Session(1, ul: Tunnel("10.10.0.9", 0x901)), Session(2, ul: Tunnel("10.10.0.1", 0x102))]), Container(_g3, _g1)));
        s.Up(_g1, Successful(NgapProcedureCode.HandoverResourceAllocation, AmfId(3), RanId(4),
            List(NgapIeId.PduSessionResourceAdmittedList, [Session(1, dl: Tunnel("10.0.0.1", 0xD1)), Session(2, dl: Tunnel("10.0.0.1", 0xD2))])));
        s.Up(_g3, Initiating(NgapProcedureCode.HandoverCancel, AmfId(2), RanId(3), Cause(NgapCauseGroup.RadioNetwork, 5)));
        s.Down(_g1, Initiating(NgapProcedureCode.UeContextRelease, ReleaseIds(3, 4), Cause(NgapCauseGroup.RadioNetwork, 5)));

        // Release to idle at G3 (user inactivity), then a service request at G1: the UPF gives new UL tunnels.
        s.Up(_g3, Initiating(NgapProcedureCode.UeContextReleaseRequest, AmfId(2), RanId(3), Cause(NgapCauseGroup.RadioNetwork, 20)));
        s.Down(_g3, Initiating(NgapProcedureCode.UeContextRelease, ReleaseIds(2, 3), Cause(NgapCauseGroup.RadioNetwork, 20)));
        s.Up(_g3, Successful(NgapProcedureCode.UeContextRelease, AmfId(2), RanId(3)));
        s.Up(_g1, Initiating(NgapProcedureCode.InitialUeMessage, RanId(5), Nas(ServiceRequest()), Location(_g1),
            Ie(NgapIeId.FiveGSTmsi, NgapIeEncoder.FiveGSTmsi(new FiveGSTmsi(1, 1, Tmsi)))));
        s.Down(_g1, Initiating(NgapProcedureCode.InitialContextSetup, AmfId(4), RanId(5),
            List(NgapIeId.PduSessionResourceSetupListCxtReq, [Session(1, ul: Tunnel("10.10.0.7", 0x701)), Session(2, ul: Tunnel("10.10.0.7", 0x702))])));
        s.Up(_g1, Successful(NgapProcedureCode.InitialContextSetup, AmfId(4), RanId(5),
            List(NgapIeId.PduSessionResourceSetupListCxtRes, [Session(1, dl: Tunnel("10.0.0.1", 0xE1)), Session(2, dl: Tunnel("10.0.0.1", 0xE2))])));

        // Deregistration (UE originating), then the AMF releases the connection.
        s.Up(_g1, Initiating(NgapProcedureCode.UplinkNasTransport, AmfId(4), RanId(5), Nas(DeregistrationRequest()), Location(_g1)));
        s.Down(_g1, Initiating(NgapProcedureCode.UeContextRelease, ReleaseIds(4, 5), Cause(NgapCauseGroup.Nas, 2)));
        s.Up(_g1, Successful(NgapProcedureCode.UeContextRelease, AmfId(4), RanId(5)));

        NoFaults(s);
        var ue = $"imsi-{Imsi}";
        Assert.Equal(
            [
                $"{ue} attached 10.45.0.9 at {_g1.Node} cell {_g1.Cell.CellId} [1 ul 10.10.0.1/0x00000101 dl 10.0.0.1/0x000000a1]",
                $"{ue} bearer+ 2 ul 10.10.0.1/0x00000102 dl 10.0.0.1/0x000000a2",
                $"{ue} path switched to {_g2.Node} [1 dl 10.0.0.2/0x000000b1, 2 dl 10.0.0.2/0x000000b2]",
                $"{ue} handover prepared {_g2.Node} -> {_g3.Node} S1",
                $"{ue} handover executing -> {_g3.Node}",
                $"{ue} handover completed at {_g3.Node} [1 dl 10.0.0.3/0x000000c1, 2 dl 10.0.0.3/0x000000c2]",
                $"{ue} handover prepared {_g3.Node} -> {_g1.Node} S1",
                $"{ue} handover cancelled",
                $"{ue} idle",
                $"{ue} service request at {_g1.Node} [1 ul 10.10.0.7/0x00000701 dl 10.0.0.1/0x000000e1, 2 ul 10.10.0.7/0x00000702 dl 10.0.0.1/0x000000e2]",
                $"{ue} detached",
            ],
            s.Events.Select(NgapTimelineTests.Line));
        Assert.Equal([0x1001u, 0x2ABCDEFu, 0xFFFFFFF0u], s.Feed.Tracker.Enbs.Values.Select(e => e.Id.Value).Order());
        Assert.Empty(s.Feed.Tracker.Ues); // detached with no connection left: forgotten
    }

    [Fact]
    public void Ciphered_NAS_the_address_comes_from_the_first_uplink_GTP_U_packet()
    {
        // 5G-EA2: the Registration Accept and the PDU Session Establishment Accept are ciphered; the UE is announced
        // when its first uplink G-PDU (with the PDU Session Container) reaches the UPF's tunnel end.
        var s = new NgapScenario();
        Register(s, cipher: 2, amf: 7);
        NoFaults(s);
        Assert.Empty(s.Events);

        s.UplinkPacket(_g1, Endpoint("10.10.0.1", 0x102), IPAddress.Parse("10.45.0.66")); // not this UE's tunnel
        Assert.Empty(s.Events);
        s.UplinkPacket(_g1, Endpoint("10.10.0.1", 0x101), IPAddress.Parse("10.45.0.77"));
        NoFaults(s);
        Assert.Equal([$"imsi-{Imsi} attached 10.45.0.77 at {_g1.Node} cell {_g1.Cell.CellId} [1 ul 10.10.0.1/0x00000101 dl 10.0.0.1/0x000000a1]"], s.Events.Select(NgapTimelineTests.Line));
        Assert.Contains(s.Notes, n => n.Contains("address 10.45.0.77 learnt from the first uplink GTP-U packet", StringComparison.Ordinal));
        Assert.Equal(2, s.Feed.Statistics.GtpuPackets);
    }

    [Fact]
    public void Ciphered_NAS_without_GTP_U_the_UE_is_not_announced_on_a_guess()
    {
        var s = new NgapScenario();
        Register(s, cipher: 1, amf: 7);
        s.Down(_g1, Initiating(NgapProcedureCode.UeContextRelease, ReleaseIds(7, 1), Cause(NgapCauseGroup.RadioNetwork, 20)));
        NoFaults(s);
        Assert.Empty(s.Events);
    }
}
