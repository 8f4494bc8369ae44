using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;
using static MobiScud.Tracking.Tests.Ngap.NgapScenario;

namespace MobiScud.Tracking.Tests.Ngap;

/// <summary>eNB and gNB ids are separate value spaces: the same number on S1 and on N2 names two RAN nodes.</summary>
public sealed class RatTagTests
{
    [Fact]
    public void An_eNB_and_a_gNB_with_the_same_number_are_two_nodes()
    {
        var s = new NgapScenario();
        var gnb = MakeGnb(1, 0x1001, 22);
        var enbAddress = IPAddress.Parse("10.0.0.50");

        // S1 Setup from macro eNB 0x1001 (S1AP, PPID 18, port 36412) and NG Setup from gNB 0x1001.
        var s1Setup = new S1apMessage(S1apPduType.InitiatingMessage, S1apProcedureCode.S1Setup, Criticality.Reject,
            [new S1apProtocolIe(S1apIeId.GlobalEnbId, Criticality.Reject, S1apIeCodec.EncodeGlobalEnbId(new GlobalEnbId(Plmn, EnbIdKind.Macro, 0x1001)))]);
        s.S1(enbAddress, Amf, s1Setup.Encode());
        s.NgSetup(gnb);

        var nodes = s.Feed.Tracker.Enbs.Values.Select(e => e.Id).ToList();
        Assert.Equal(2, nodes.Count);
        Assert.Contains(new EnbId(0x1001), nodes);
        Assert.Contains(new EnbId(0x1001, Rat.Nr), nodes);
        Assert.Equal("gnb-4097", gnb.Node.ToString());
        Assert.Equal("enb-4097", new EnbId(0x1001).ToString());

        // A UE registering at the gNB is placed at the gNB, not at the eNB with its number.
        s.Up(gnb, Initiating(NgapProcedureCode.InitialUeMessage, RanId(1), Nas(RegistrationRequest()), Location(gnb)));
        s.Down(gnb, Initiating(NgapProcedureCode.DownlinkNasTransport, AmfId(7), RanId(1), Nas(SecurityModeCommand(0))));
        s.Down(gnb, Initiating(NgapProcedureCode.InitialContextSetup, AmfId(7), RanId(1), Nas(RegistrationAccept())));
        s.Up(gnb, Successful(NgapProcedureCode.InitialContextSetup, AmfId(7), RanId(1)));
        s.Down(gnb, Initiating(NgapProcedureCode.PduSessionResourceSetup, AmfId(7), RanId(1),
            List(NgapIeId.PduSessionResourceSetupListSuReq, [Session(1, ul: Tunnel("10.10.0.1", 0x101))], [PduSessionEstablishmentAccept(IPAddress.Parse("10.45.0.9"))])));
        s.Up(gnb, Successful(NgapProcedureCode.PduSessionResourceSetup, AmfId(7), RanId(1),
            List(NgapIeId.PduSessionResourceSetupListSuRes, [Session(1, dl: Tunnel("10.0.0.1", 0xA1))])));
        Assert.Empty(s.Faults);
        var attached = Assert.IsType<UeAttached>(Assert.Single(s.Events));
        Assert.Equal(new EnbId(0x1001, Rat.Nr), attached.Enb);
        Assert.NotEqual(new EnbId(0x1001), attached.Enb);
    }
}
