using System.Collections.Immutable;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking;

/// <summary>Builds <see cref="S1apSignal"/>s from decoded S1AP (the reusable <see cref="S1apSummary"/>).</summary>
public static class S1apSignalFactory
{
    /// <summary>E-RAB lists whose items the tracker uses; the others (data forwarding, QoS-only modify) are not copied.</summary>
    private static readonly ImmutableHashSet<ushort> _relevantLists =
    [
        S1apIeId.ERabToBeSetupListCtxtSuReq, S1apIeId.ERabSetupListCtxtSuRes, S1apIeId.ERabFailedToSetupListCtxtSuRes,
        S1apIeId.ERabToBeSetupListBearerSuReq, S1apIeId.ERabSetupListBearerSuRes, S1apIeId.ERabFailedToSetupListBearerSuRes,
        S1apIeId.ERabReleaseListBearerRelComp, S1apIeId.ERabFailedToReleaseList, S1apIeId.ERabReleasedList, S1apIeId.ERabToBeReleasedList,
        S1apIeId.ERabToBeModifiedListBearerModInd, S1apIeId.ERabModifyListBearerModConf, S1apIeId.ERabFailedToModifyListBearerModConf,
        S1apIeId.ERabToBeSwitchedDlList, S1apIeId.ERabToBeSwitchedUlList,
        S1apIeId.ERabToBeSetupListHoReq, S1apIeId.ERabAdmittedList, S1apIeId.ERabFailedToSetupListHoReqAck,
    ];

    private static readonly ImmutableHashSet<ushort> _failedLists =
    [
        S1apIeId.ERabFailedToSetupListCtxtSuRes, S1apIeId.ERabFailedToSetupListBearerSuRes, S1apIeId.ERabFailedToReleaseList,
        S1apIeId.ERabFailedToModifyListBearerModConf, S1apIeId.ERabFailedToSetupListHoReqAck,
    ];

    /// <remarks>
    /// Lists are exact-size arrays, and the shared empty array where a message has none (most have no E-RAB items, one
    /// NAS-PDU or none, no Reset list): the signal is built for every S1AP message, so its lists are most of its bytes.
    /// </remarks>
    public static S1apSignal From(S1apSummary summary, TimeSpan at, NetEndpoint source, NetEndpoint destination)
    {
        var relevant = 0;
        var nasCount = summary.HasNasPdu ? 1 : 0;
        foreach (var item in summary.ERabs)
        {
            if (_relevantLists.Contains(item.ListIeId))
            {
                relevant++;
                nasCount += item.HasNasPdu ? 1 : 0;
            }
        }

        var erabs = relevant == 0 ? [] : new ERabSignal[relevant];
        var nas = nasCount == 0 ? [] : new byte[nasCount][];
        int e = 0, n = 0;
        if (summary.HasNasPdu)
        {
            nas[n++] = summary.NasPdu.ToArray();
        }

        foreach (var item in summary.ERabs)
        {
            if (!_relevantLists.Contains(item.ListIeId))
            {
                continue;
            }

            GtpEndpoint? tunnel = item.Tunnel is { } t && t.TransportLayerAddress.PreferredIp is { } ip ? new GtpEndpoint(ip, t.Teid) : null;
            erabs[e++] = new ERabSignal(item.ERabId, tunnel, _failedLists.Contains(item.ListIeId)) { Qci = item.Qos?.Qci };
            if (item.HasNasPdu)
            {
                nas[n++] = summary.ERabNasPdu(item).ToArray();
            }
        }

        return new S1apSignal(at, source, destination, summary.ProcedureCode, summary.PduType)
        {
            MmeUeS1apId = summary.MmeUeS1apId,
            EnbUeS1apId = summary.EnbUeS1apId,
            SourceMmeUeS1apId = summary.SourceMmeUeS1apId,
            ERabs = erabs,
            GlobalEnbId = summary.GlobalEnbId,
            TargetEnbId = summary.TargetEnbId?.GlobalEnbId,
            Cgi = summary.EutranCgi,
            TargetCell = summary.TargetCell,
            STmsi = summary.STmsi,
            Cause = summary.Cause,
            NasPdus = nas,
            ResetAll = summary.ResetAll,
            ResetConnections = summary.ResetConnections.Count == 0 ? [] : summary.ResetConnections.ToArray(),
        };
    }
}
