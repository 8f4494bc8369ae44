using System.Net;
using MobiScud.Control.Model;
using MobiScud.Protocols.Ngap;
using static MobiScud.Tracking.Tests.Ngap.NgapScenario;

namespace MobiScud.Tracking.Tests.Ngap;

/// <summary>5G UEs' events carry their NR cells (NCGI: PLMN + 36-bit cell id) where LTE UEs' carry ECGIs.</summary>
public sealed class NgapNrCellTests
{
    private static readonly Gnb _g1 = MakeGnb(1, 0x1001, 22);
    private static readonly Gnb _g2 = MakeGnb(2, 0x2ABCDEF, 26);
    private static readonly Gnb _g3 = MakeGnb(3, 0xFFFFFFF0, 32);
    private static readonly NgTai _tai = new(Plmn, 1);

    private static Ncgi CellOf(Gnb g) => new("001", "01", g.Cell.CellId);

    [Fact]
    public void Registration_Xn_and_N2_events_name_the_serving_source_and_target_NR_cells()
    {
        var s = new NgapScenario();
        foreach (var g in new[] { _g1, _g2, _g3 })
        {
            s.NgSetup(g);
        }

        s.Up(_g1, Initiating(NgapProcedureCode.InitialUeMessage, RanId(1), Nas(RegistrationRequest()), Location(_g1)));
        s.Down(_g1, Initiating(NgapProcedureCode.DownlinkNasTransport, AmfId(7), RanId(1), Nas(SecurityModeCommand(0))));
        s.Down(_g1, Initiating(NgapProcedureCode.InitialContextSetup, AmfId(7), RanId(1), Nas(RegistrationAccept())));
        s.Up(_g1, Successful(NgapProcedureCode.InitialContextSetup, AmfId(7), RanId(1)));
        s.Down(_g1, Initiating(NgapProcedureCode.PduSessionResourceSetup, AmfId(7), RanId(1),
            List(NgapIeId.PduSessionResourceSetupListSuReq, [Session(1, ul: Tunnel("10.10.0.1", 0x101))], [PduSessionEstablishmentAccept(IPAddress.Parse("10.45.0.9"))])));
        s.Up(_g1, Successful(NgapProcedureCode.PduSessionResourceSetup, AmfId(7), RanId(1),
            List(NgapIeId.PduSessionResourceSetupListSuRes, [Session(1, dl: Tunnel("10.0.0.1", 0xA1))])));

        // Xn to G2: the request names G2's cell (User Location Information), the acknowledge completes it.
        s.Up(_g2, Initiating(NgapProcedureCode.PathSwitchRequest, RanId(2), Ie(NgapIeId.SourceAmfUeNgapId, NgapIeEncoder.AmfUeNgapId(7)), Location(_g2),
            List(NgapIeId.PduSessionResourceToBeSwitchedDlList, [Session(1, dl: Tunnel("10.0.0.2", 0xB1))])));
        s.Down(_g2, Successful(NgapProcedureCode.PathSwitchRequest, AmfId(7), RanId(2), List(NgapIeId.PduSessionResourceSwitchedList, [Session(1)])));

        // N2 to G3: the target cell comes from the source-to-target container, the serving one from HandoverNotify.
        var hoType = Ie(NgapIeId.HandoverType, NgapIeEncoder.HandoverType(NgapHandoverType.Intra5gs));
        var container = Ie(NgapIeId.SourceToTargetTransparentContainer, NgapIeEncoder.SourceToTargetContainer(_g3.Cell, _g2.Cell, 30));
        s.Up(_g2, Initiating(NgapProcedureCode.HandoverPreparation, AmfId(7), RanId(2), hoType, Cause(NgapCauseGroup.RadioNetwork, 16),
            Ie(NgapIeId.TargetId, NgapIeEncoder.TargetId(new NgapTargetRanNode(_g3.Id, _tai))), List(NgapIeId.PduSessionResourceListHoRqd, [Session(1)]), container));
        s.Down(_g3, Initiating(NgapProcedureCode.HandoverResourceAllocation, AmfId(8), hoType, Cause(NgapCauseGroup.RadioNetwork, 16),
            List(NgapIeId.PduSessionResourceSetupListHoReq, [Session(1, ul: Tunnel("10.10.0.1", 0x101))]), container));
        s.Up(_g3, Successful(NgapProcedureCode.HandoverResourceAllocation, AmfId(8), RanId(3), List(NgapIeId.PduSessionResourceAdmittedList, [Session(1, dl: Tunnel("10.0.0.3", 0xC1))])));
        s.Down(_g2, Successful(NgapProcedureCode.HandoverPreparation, AmfId(7), RanId(2), hoType, List(NgapIeId.PduSessionResourceHandoverList, [Session(1)])));
        s.Up(_g3, Initiating(NgapProcedureCode.HandoverNotification, AmfId(8), RanId(3), Location(_g3)));
        Assert.Empty(s.Faults);

        var attached = Assert.IsType<UeAttached>(s.Events[0]);
        Assert.Equal(CellOf(_g1), attached.NrCell);
        Assert.Null(attached.Cell); // no E-UTRA cell for a 5G UE
        var switched = Assert.IsType<PathSwitched>(s.Events[1]);
        Assert.Equal((CellOf(_g2), CellOf(_g1)), (switched.NrCell, switched.NrSourceCell));
        var prepared = Assert.IsType<HandoverPrepared>(s.Events[2]);
        Assert.Equal((CellOf(_g2), CellOf(_g3)), (prepared.NrCell, prepared.NrTargetCell));
        var executing = Assert.IsType<HandoverExecuting>(s.Events[3]);
        Assert.Equal(CellOf(_g3), executing.NrTargetCell);
        var completed = Assert.IsType<HandoverCompleted>(s.Events[4]);
        Assert.Equal((CellOf(_g3), CellOf(_g2)), (completed.NrCell, completed.NrSourceCell));
        Assert.Equal(0xFFFFFFF0UL << 4 | 1, completed.NrCell!.NrCellId); // 32-bit gNB id, 4-bit cell number: 36 bits
    }
}
