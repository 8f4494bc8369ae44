using System.Collections.Frozen;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking;

/// <summary>Builds <see cref="NgapSignal"/>s from decoded NGAP (the reusable <see cref="NgapSummary"/>).</summary>
public static class NgapSignalFactory
{
    private enum End
    {
        None,
        Uplink,
        Downlink,
        Both,
    }

    /// <summary>The PDU session lists the tracker uses, and which tunnel of their transfer it takes (TS 38.413 9.3.4):
    /// requests name the UPF's UL NG-U end, responses the gNB's DL QoS-flow-per-TNL end. Lists not here (data
    /// forwarding, release requests, HandoverRequired's) are not copied.</summary>
    private static readonly FrozenDictionary<ushort, End> _relevant = new Dictionary<ushort, End>
    {
        [NgapIeId.PduSessionResourceSetupListSuReq] = End.Uplink,
        [NgapIeId.PduSessionResourceSetupListCxtReq] = End.Uplink,
        [NgapIeId.PduSessionResourceSetupListHoReq] = End.Uplink,
        [NgapIeId.PduSessionResourceSwitchedList] = End.Uplink,
        [NgapIeId.PduSessionResourceSetupListSuRes] = End.Downlink,
        [NgapIeId.PduSessionResourceSetupListCxtRes] = End.Downlink,
        [NgapIeId.PduSessionResourceAdmittedList] = End.Downlink,
        [NgapIeId.PduSessionResourceToBeSwitchedDlList] = End.Downlink,
        [NgapIeId.PduSessionResourceModifyListModRes] = End.Both,
        [NgapIeId.PduSessionResourceReleasedListRelRes] = End.None,
        [NgapIeId.PduSessionResourceFailedToSetupListSuRes] = End.None,
        [NgapIeId.PduSessionResourceFailedToSetupListCxtRes] = End.None,
        [NgapIeId.PduSessionResourceFailedToSetupListCxtFail] = End.None,
        [NgapIeId.PduSessionResourceFailedToSetupListHoAck] = End.None,
        [NgapIeId.PduSessionResourceFailedToSetupListPsReq] = End.None,
        [NgapIeId.PduSessionResourceFailedToModifyListModRes] = End.None,
    }.ToFrozenDictionary();

    private static readonly FrozenSet<ushort> _failedLists = new[]
    {
        NgapIeId.PduSessionResourceFailedToSetupListSuRes, NgapIeId.PduSessionResourceFailedToSetupListCxtRes,
        NgapIeId.PduSessionResourceFailedToSetupListCxtFail, NgapIeId.PduSessionResourceFailedToSetupListHoAck,
        NgapIeId.PduSessionResourceFailedToSetupListPsReq, NgapIeId.PduSessionResourceFailedToModifyListModRes,
    }.ToFrozenSet();

    public static NgapSignal From(NgapSummary summary, TimeSpan at, NetEndpoint source, NetEndpoint destination)
    {
        var sessions = new List<PduSessionSignal>(summary.PduSessions.Count);
        var nas = new List<byte[]>(1);
        if (summary.HasNasPdu)
        {
            nas.Add(summary.NasPdu.ToArray());
        }

        foreach (var item in summary.PduSessions)
        {
            if (item.HasNasPdu)
            {
                nas.Add(summary.ItemNasPdu(item).ToArray());
            }

            if (!_relevant.TryGetValue(item.ListIeId, out var end))
            {
                continue;
            }

            var ul = Endpoint(item.UlTunnel);
            var dl = Endpoint(item.DlTunnel);
            sessions.Add(end switch
            {
                End.Uplink => new PduSessionSignal(item.PduSessionId, ul) { FiveQi = item.FiveQi },
                End.Downlink => new PduSessionSignal(item.PduSessionId, dl),
                End.Both => new PduSessionSignal(item.PduSessionId, dl) { Uplink = ul },
                _ => new PduSessionSignal(item.PduSessionId, null, _failedLists.Contains(item.ListIeId)),
            });
        }

        return new NgapSignal(at, source, destination, summary.ProcedureCode, summary.PduType)
        {
            AmfUeNgapId = summary.AmfUeNgapId,
            RanUeNgapId = summary.RanUeNgapId,
            SourceAmfUeNgapId = summary.SourceAmfUeNgapId,
            Sessions = sessions,
            RanNode = summary.GlobalRanNodeId,
            TargetRanNode = summary.Target?.Node,
            NrCellId = summary.NrCgi?.CellId,
            NrCgi = summary.NrCgi,
            NrTargetCell = summary.TargetCell,
            FiveGSTmsi = summary.FiveGSTmsi,
            Cause = summary.Cause,
            NasPdus = nas,
            ResetAll = summary.ResetAll,
            ResetConnections = summary.ResetConnections.ToList(),
        };
    }

    private static GtpEndpoint? Endpoint(GtpTunnel? tunnel) =>
        tunnel is { } t && t.TransportLayerAddress.PreferredIp is { } ip ? new GtpEndpoint(ip, t.Teid) : null;
}
