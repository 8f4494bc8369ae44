using MobiScud.Control.Model;

namespace MobiScud.Control;

/// <summary>One line of text per event and per command: what `mobiscud replay` prints and the service's UE timeline shows.</summary>
public static class McText
{
    public static string Describe(UeEvent e) => e switch
    {
        UeAttached a => $"attach imsi {a.Imsi ?? "?"} ip {a.UeAddress} at {a.Enb}{(a.CellId is { } c ? $" cell 0x{c:x7}" : string.Empty)}; {Bearers(a.Bearers)}",
        BearerAdded b => $"bearer added {Bearer(b.Bearer)}",
        BearerModified m => $"bearer modified: e-RAB {m.Downlink.ERabId} DL {m.Downlink.Downlink}",
        BearerReleased r => $"bearer released: e-RAB {r.ERabId}",
        HandoverPrepared p => $"{HandoverNames.Name(p.Kind, p.Source)} handover prepared {p.Source} -> {p.Target}",
        HandoverCompleted c => $"{HandoverNames.Name(HandoverKind.S1, c.Target)} handover completed at {c.Target}: {Downlinks(c.Downlinks)}",
        HandoverExecuting x => $"handover executing toward {x.Target}",
        HandoverCancelled => "handover cancelled",
        PathSwitched p => $"{HandoverNames.Name(HandoverKind.X2, p.Target)} path switch to {p.Target}: {Downlinks(p.Downlinks)}",
        UeReleasedToIdle => "released to idle",
        ServiceRequested s => $"service request at {s.Enb}; {Bearers(s.Bearers)}",
        Detached => "detached",
        EnbIdentified n => $"{n.Was} is {n.Now} ({n.Reason})",
        PvmStarted s => $"{s.Pvm} started at {s.Site}",
        PvmFailed f => $"{f.Pvm} failed at {f.Site}: {f.Reason}",
        MigrationCompleted c => $"migration {c.Migration} completed in {c.Stats.TotalTime.TotalMilliseconds:0} ms",
        MigrationFailed f => $"migration {f.Migration} failed: {f.Reason}",
        SteeringFailed f => $"steering v{f.IntentVersion} failed at {f.SwitchSite}: {f.Reason}",
        PvmObserved o => $"hypervisor holds {o.Pvm} at {o.Site?.ToString() ?? "nowhere"}",
        PinRequested p => p.Site is { } site ? $"pinned to {site}" : "unpinned",
        TimerFired t => $"timer {t.Kind} #{t.Token}",
        _ => e.GetType().Name,
    };

    public static string Describe(ControlCommand c) => c switch
    {
        CreatePvm p => $"CreatePvm {p.Pvm} at {p.Site}",
        ResumePvm p => $"ResumePvm {p.Pvm} at {p.Site}",
        SuspendPvm p => $"SuspendPvm {p.Pvm} at {p.Site}",
        DestroyPvm p => $"DestroyPvm {p.Pvm} at {p.Site}",
        StartMigration m => $"StartMigration {m.Migration} {m.From} -> {m.To}",
        CancelMigration m => $"CancelMigration {m.Migration} {m.From} -> {m.To}",
        InstallSteering s => $"InstallSteering v{s.Intent.Version} switch {s.Intent.SwitchSite} pvm {s.Intent.PvmSite} ue {s.Intent.UeAddress} via {s.Intent.Enb}: {string.Join(", ", s.Intent.Bearers.Select(b => $"{b.ERabId} DL {b.Downlink}"))}",
        RemoveSteering r => $"RemoveSteering at {r.SwitchSite}",
        ScheduleTimer t => $"ScheduleTimer {t.Kind} in {t.Due}",
        Notify n => $"Notify {n.Kind}: {n.Detail}",
        _ => c.GetType().Name,
    };

    private static string Bearers(IReadOnlyList<Bearer> bearers) => string.Join("; ", bearers.Select(Bearer));

    private static string Bearer(Bearer b) => $"e-RAB {b.ERabId} UL {b.Uplink} DL {b.Downlink}";

    private static string Downlinks(IReadOnlyList<BearerDownlink> d) => string.Join("; ", d.Select(x => $"e-RAB {x.ERabId} DL {x.Downlink}"));
}
