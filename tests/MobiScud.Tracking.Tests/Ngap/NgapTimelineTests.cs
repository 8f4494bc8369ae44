using MobiScud.Control.Model;

namespace MobiScud.Tracking.Tests.Ngap;

public sealed class NgapTimelineTests
{
    internal static string Line(UeEvent e) => e switch
    {
        UeAttached a => $"{a.Ue} attached {a.UeAddress} at {a.Enb} cell {a.CellId} [{Bearers(a.Bearers)}]",
        BearerAdded b => $"{b.Ue} bearer+ {Bearer(b.Bearer)}",
        BearerModified m => $"{m.Ue} bearer~ {m.Downlink.ERabId} dl {m.Downlink.Downlink}",
        BearerReleased r => $"{r.Ue} bearer- {r.ERabId}",
        HandoverPrepared p => $"{p.Ue} handover prepared {p.Source} -> {p.Target} {p.Kind}",
        HandoverExecuting x => $"{x.Ue} handover executing -> {x.Target}",
        HandoverCompleted c => $"{c.Ue} handover completed at {c.Target} [{string.Join(", ", c.Downlinks.Select(d => $"{d.ERabId} dl {d.Downlink}"))}]",
        HandoverCancelled c => $"{c.Ue} handover cancelled",
        PathSwitched p => $"{p.Ue} path switched to {p.Target} [{string.Join(", ", p.Downlinks.Select(d => $"{d.ERabId} dl {d.Downlink}"))}]",
        UeReleasedToIdle i => $"{i.Ue} idle",
        ServiceRequested s => $"{s.Ue} service request at {s.Enb} [{Bearers(s.Bearers)}]",
        Detached d => $"{d.Ue} detached",
        _ => e.ToString(),
    };

    private static string Bearers(IEnumerable<Bearer> bearers) => string.Join(", ", bearers.Select(Bearer));

    private static string Bearer(Bearer b) => $"{b.ERabId} ul {b.Uplink} dl {b.Downlink}";
}
