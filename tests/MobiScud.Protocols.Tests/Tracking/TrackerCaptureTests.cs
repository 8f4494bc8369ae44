using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.Tests.Capture;
using MobiScud.TestSupport;
using MobiScud.Tracking;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>
/// Per-UE timelines the tracker derives from real captures. Expected values were read with tshark 4.0 (commands in the
/// comments) and written down here; where cheap, the test also asks tshark again at run time.
/// </summary>
public sealed class TrackerCaptureTests
{
    private static GtpEndpoint Ep(string address, uint teid) => new(IPAddress.Parse(address), teid);

    [Fact]
    public void Open5gs_testepc_two_path_switches_and_three_s1_handovers_one_cancelled()
    {
        var run = TrackerHarness.Run("open5gs_testepc_2019.pcapng");
        // Over the whole capture: exactly 2 X2 path switches and 3 S1 handovers, one of them cancelled.
        Assert.Equal(2, run.Events.Count(e => e.Event is PathSwitched));
        Assert.Equal(3, run.Events.Count(e => e.Event is HandoverPrepared));
        Assert.Equal(2, run.Events.Count(e => e.Event is HandoverCompleted));
        Assert.Equal(1, run.Events.Count(e => e.Event is HandoverCancelled));

        // HandoverCommand (HandoverPreparation successful outcome) in all three, the cancelled one included:
        //   tshark ... -Y 's1ap.procedureCode==0 && s1ap.successfulOutcome_element' -T fields -e frame.number  ->  427, 448, 467
        Assert.Equal(new[] { 427L, 448L, 467L }, run.Events.Where(e => e.Event is HandoverExecuting).Select(e => e.Frame));

        // eNB ids: tshark -r open5gs_testepc_2019.pcapng -Y 's1ap.procedureCode==17 && s1ap.S1SetupRequest_element'
        //   -T fields -e sctp.srcport -e s1ap.macroENB_ID  ->  57419: 54f650 (0x54f65 = 348005), 59574: 54f640 (348004),
        //   51890: 001f20 (0x001f2 = 498), 59017: 000430 (0x00043 = 67). All eNBs are 192.168.0.6; only ports differ.
        var enbA = new EnbId(348004);
        var enbB = new EnbId(348005);
        var enb498 = new EnbId(498);
        var enb67 = new EnbId(67);

        // X2: tshark ... -Y 's1ap.procedureCode==3' -T fields -e frame.number -e sctp.srcport -e s1ap.transportLayerAddressIPv4
        //   -e s1ap.gTP_TEID -e s1ap.e_RAB_ID  ->  369 57419 127.0.0.4,127.0.0.4 00000001,00000002 5,6 (acked in 376)
        //                                          377 59574 127.0.0.5,127.0.0.5 00000001,00000002 5,6 (acked in 384)
        var x2 = run.For("imsi-001010123456801");
        Assert.Equal(
            [typeof(UeAttached), typeof(BearerAdded), typeof(PathSwitched), typeof(PathSwitched)],
            x2.Select(e => e.GetType()));
        var ps1 = (PathSwitched)x2[2];
        Assert.Equal(enbB, ps1.Target);
        Assert.Equal([new BearerDownlink(5, Ep("127.0.0.4", 1)), new BearerDownlink(6, Ep("127.0.0.4", 2))], ps1.Downlinks);
        var ps2 = (PathSwitched)x2[3];
        Assert.Equal(enbA, ps2.Target);
        Assert.Equal([new BearerDownlink(5, Ep("127.0.0.5", 1)), new BearerDownlink(6, Ep("127.0.0.5", 2))], ps2.Downlinks);
        Assert.Equal(new[] { 376L, 384L }, run.Events.Where(e => e.Event is PathSwitched).Select(e => e.Frame));

        // S1: HandoverRequestAcknowledge frames 424 (target port 59017, admitted 127.0.0.4 TEID 1/2 for e-RAB 5/6) and
        // 445 (port 51890, 127.0.0.5 TEID 1/2); HandoverNotify in 430 and 451; the third preparation (462-467) is
        // cancelled by HandoverCancel in 468. The UE keeps its IMSI identity through MME-UE ids 33554628..33554631.
        var s1 = run.For("imsi-001010123456815");
        Assert.Equal(
            [typeof(UeAttached), typeof(BearerAdded), typeof(HandoverPrepared), typeof(HandoverExecuting), typeof(HandoverCompleted), typeof(HandoverPrepared), typeof(HandoverExecuting), typeof(HandoverCompleted), typeof(HandoverPrepared), typeof(HandoverExecuting), typeof(HandoverCancelled)],
            s1.Select(e => e.GetType()));
        // The cells, as tshark reads them (s1ap.CellIdentity): 498's cell 0x1f20a, 67's 0x43a0, PLMN 001-01; the target
        // cell is the first CellIdentity of HandoverRequired's transparent container (422, 443, 462), the new serving
        // cell HandoverNotify's EUTRAN-CGI (430, 451).
        var cell498 = new Ecgi("001", "01", 0x1f20a);
        var cell67 = new Ecgi("001", "01", 0x43a0);
        Assert.Equal(cell498, s1[0].Cell);
        Assert.Equal(new HandoverPrepared(s1[2].At, s1[2].Ue, enb498, enb67, HandoverKind.S1) { Cell = cell498, TargetCell = cell67 }, s1[2]);
        Assert.Equal(new HandoverExecuting(s1[3].At, s1[3].Ue, enb67) { Cell = cell498, TargetCell = cell67 }, s1[3]);
        Assert.Equal((cell498, cell67), (((HandoverCompleted)s1[4]).SourceCell, s1[4].Cell));
        var h1 = (HandoverCompleted)s1[4];
        Assert.Equal(enb67, h1.Target);
        Assert.Equal([new BearerDownlink(5, Ep("127.0.0.4", 1)), new BearerDownlink(6, Ep("127.0.0.4", 2))], h1.Downlinks);
        Assert.Equal(new HandoverPrepared(s1[5].At, s1[5].Ue, enb67, enb498, HandoverKind.S1) { Cell = cell67, TargetCell = cell498 }, s1[5]);
        Assert.Equal(new HandoverExecuting(s1[6].At, s1[6].Ue, enb498) { Cell = cell67, TargetCell = cell498 }, s1[6]);
        Assert.Equal((cell67, cell498), (((HandoverCompleted)s1[7]).SourceCell, s1[7].Cell));
        var h2 = (HandoverCompleted)s1[7];
        Assert.Equal(enb498, h2.Target);
        Assert.Equal([new BearerDownlink(5, Ep("127.0.0.5", 1)), new BearerDownlink(6, Ep("127.0.0.5", 2))], h2.Downlinks);
        Assert.Equal(new HandoverPrepared(s1[8].At, s1[8].Ue, enb498, enb67, HandoverKind.S1) { Cell = cell498, TargetCell = cell67 }, s1[8]);
        Assert.Equal(new HandoverExecuting(s1[9].At, s1[9].Ue, enb67) { Cell = cell498, TargetCell = cell67 }, s1[9]);
        Assert.Equal(new HandoverCancelled(s1[10].At, s1[10].Ue) { Cell = cell498, TargetCell = cell67 }, s1[10]);
        Assert.Equal(new[] { 430L, 451L }, run.Events.Where(e => e.Event is HandoverCompleted).Select(e => e.Frame));
        Assert.Equal(468L, run.Events.Single(e => e.Event is HandoverCancelled).Frame);

        // The cancelled handover moved nothing: the tracker still has the UE at eNB 498 with the DL of frame 445.
        var ue = run.State.Ues.Values.Single(u => u.Imsi == "001010123456815");
        Assert.Equal(enb498, ue.Enb);
        Assert.Equal(Ep("127.0.0.5", 1), ue.Bearers[5].Downlink);
        Assert.Null(ue.Handover);
    }

    [Fact]
    public async Task Magma_inbound_roaming_idle_then_service_request_keeps_the_ue_with_new_teids()
    {
        // tshark -r magma_inbound_roaming_05.pcapng -Y 's1ap.procedureCode==9' -T fields -e frame.number
        //   -e s1ap.transportLayerAddressIPv4 -e s1ap.gTP_TEID  ->  40: 172.16.10.101 80000002 (UL), 41: 172.16.10.4
        //   36000000 (DL), 56: UL unchanged, 57: 172.16.10.4 37000000 (new DL after the service request)
        var run = TrackerHarness.Run("magma_inbound_roaming_05.pcapng");
        var ue = run.For("imsi-001020000000064");
        Assert.Equal([typeof(UeAttached), typeof(UeReleasedToIdle), typeof(ServiceRequested), typeof(Detached)], ue.Select(e => e.GetType()));
        var attached = (UeAttached)ue[0];
        Assert.Equal(IPAddress.Parse("192.168.126.1"), attached.UeAddress);
        Assert.Equal([new Bearer(5, Ep("172.16.10.101", 0x80000002), Ep("172.16.10.4", 0x36000000))], attached.Bearers);
        var service = (ServiceRequested)ue[2];
        Assert.Equal(attached.Enb, service.Enb);
        Assert.Equal([new Bearer(5, Ep("172.16.10.101", 0x80000002), Ep("172.16.10.4", 0x37000000))], service.Bearers);
        Assert.Single(run.Events.Select(e => e.Event.Ue).Distinct());

        var rows = await Tshark.FieldsAsync(TestData.Capture("magma_inbound_roaming_05.pcapng"), "s1ap.procedureCode==9 && s1ap.successfulOutcome_element", "frame.number", "s1ap.gTP_TEID");
        Assert.Equal(rows.Select(r => Convert.ToUInt32(r[1], 16)), new[] { attached.Bearers[0].Downlink.Teid, service.Bearers[0].Downlink.Teid });
    }

    [Fact]
    public void Magma_nsa_e_rab_modification_indication_moves_the_downlink()
    {
        // tshark -r magma_nsa_connection.pcapng -Y 's1ap.procedureCode==50' -V: E-RABToBeModifiedItemBearerModInd
        //   e-RAB-ID 5, transportLayerAddress 192.168.18.198, dL-GTP-TEID 3db0b51d; the Confirm lists e-RAB 5.
        var run = TrackerHarness.Run("magma_nsa_connection.pcapng");
        var ue = run.For("imsi-222010100001140");
        var attached = Assert.IsType<UeAttached>(ue[0]);
        Assert.Equal(IPAddress.Parse("12.1.1.2"), attached.UeAddress);
        var modified = Assert.IsType<BearerModified>(ue[1]);
        Assert.Equal(new BearerDownlink(5, Ep("192.168.18.198", 0x3db0b51d)), modified.Downlink);
        Assert.NotEqual(attached.Bearers[0].Downlink, modified.Downlink.Downlink);
    }

    [Fact]
    public async Task Open5gs_testattach_unsuccessful_initial_context_setup_creates_no_bearer()
    {
        var file = TestData.Capture("open5gs_testattach.pcapng");
        var failed = (await Tshark.FieldsAsync(file, "s1ap.procedureCode==9 && s1ap.unsuccessfulOutcome_element", "frame.number")).Select(r => long.Parse(r[0])).ToList();
        var succeeded = (await Tshark.FieldsAsync(file, "s1ap.procedureCode==9 && s1ap.successfulOutcome_element", "frame.number")).Select(r => long.Parse(r[0])).ToHashSet();
        Assert.Equal(3, failed.Count);
        var run = TrackerHarness.Run("open5gs_testattach.pcapng");
        Assert.DoesNotContain(run.Events, e => failed.Contains(e.Frame));
        // Every context the tracker reports comes from a successful InitialContextSetupResponse.
        Assert.All(run.Events.Where(e => e.Event is UeAttached or ServiceRequested), e => Assert.Contains(e.Frame, succeeded));
        Assert.DoesNotContain(run.Events, e => e.Event is BearerAdded);
    }

    [Fact]
    public void Ttm4133_attach_learns_the_ue_address_from_nas()
    {
        // SOURCES.md and tshark (frames 1760/1775): IMSI 208950000000010, PDN address 192.172.0.2, UL S-GW
        // 192.168.117.104/0x3f, DL eNB 192.168.117.103/0xdae424c5, Global-eNB-ID macro 00e000 (0xe00 = 3584).
        var run = TrackerHarness.Run("ttm4133_X2Handover.pcapng");
        var attached = Assert.IsType<UeAttached>(Assert.Single(run.Events).Event);
        Assert.Equal(new UeId("imsi-208950000000010"), attached.Ue);
        Assert.Equal("208950000000010", attached.Imsi);
        Assert.Equal(IPAddress.Parse("192.172.0.2"), attached.UeAddress);
        Assert.Equal(new EnbId(3584), attached.Enb);
        Assert.Equal([new Bearer(5, Ep("192.168.117.104", 0x3f), Ep("192.168.117.103", 0xdae424c5))], attached.Bearers);
    }

    [Fact]
    public void Without_nas_the_address_comes_from_the_s11_create_session_response()
    {
        // tshark -r open5gs_testepc_2019.pcapng -Y 'gtpv2.message_type==33' -T fields -e gtpv2.pdn_addr_and_prefix.ipv4
        //   -e gtpv2.f_teid_ipv4 -e gtpv2.f_teid_gre_key  ->  frame 407: 45.45.0.11, S1-U S-GW 192.168.0.6/0x19.
        var run = TrackerHarness.Run("open5gs_testepc_2019.pcapng", StripNas);
        var attached = run.Events.Select(e => e.Event).OfType<UeAttached>().First(a => a.Bearers.Any(b => b.Uplink == Ep("192.168.0.6", 0x19)));
        Assert.Equal(IPAddress.Parse("45.45.0.11"), attached.UeAddress);
        // No NAS, so no IMSI from the attach; S11 Create Session Request gives it.
        Assert.Equal("001010123456815", attached.Imsi);
    }

    [Fact]
    public void Without_nas_and_s11_the_address_comes_from_the_first_uplink_gtpu_packet()
    {
        // srsENB capture: the UE's uplink GTP-U to 127.0.0.6/TEID 2 carries packets from 10.45.0.2
        // (tshark -r open5gs_srsenb.pcapng -Y 'gtp.teid==2 && ip.dst==127.0.0.6' -T fields -e ip.src -c 1 -> inner 10.45.0.2).
        var run = TrackerHarness.Run("open5gs_srsenb.pcapng", i => i is GtpcSignal ? null : StripNas(i));
        var attached = run.Events.Select(e => e.Event).OfType<UeAttached>().Single();
        Assert.Equal(IPAddress.Parse("10.45.0.2"), attached.UeAddress);
        Assert.Null(attached.Imsi);
    }

    private static TrackerInput? StripNas(TrackerInput input) => input is S1apSignal s ? s with { NasPdus = [] } : input;
}
