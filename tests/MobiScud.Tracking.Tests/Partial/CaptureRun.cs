using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Tracking.Tests.WholePath;

namespace MobiScud.Tracking.Tests.Partial;

/// <summary>One capture (some of its frames) through TrackerFeed and the MC model: events, typed notes, the tracker.</summary>
internal sealed record CaptureRun(List<(UeEvent Event, long Frame)> Timeline, List<TrackerNote> Notes, TrackerState Tracker)
{
    public IEnumerable<UeEvent> Events => Timeline.Select(t => t.Event);

    public IEnumerable<TrackerNote> Inferred => Notes.Where(n => n.Kind == TrackerNoteKind.Inferred);

    /// <summary>Each UE's event kinds, in order.</summary>
    public string Kinds(string ue) => string.Join(" ", Events.Where(e => e.Ue.Value == ue).Select(e => e.GetType().Name));

    /// <summary>Frames are the capture's own numbers (tshark's frame.number); <paramref name="keep"/> picks them.</summary>
    public static CaptureRun Of(string capture, Func<long, bool> keep, IReadOnlyCollection<EnbId>? configured = null)
    {
        var c = CaptureFrames.All.Single(x => x.Name == capture);
        var timeline = new List<(UeEvent, long)>();
        var notes = new List<TrackerNote>();
        var model = new McModel(WholePathRunner.ConfigFor(c, Strategy.MobiScud), 1);
        var feed = new TrackerFeed((e, frame) =>
        {
            timeline.Add((e, frame));
            model.Handle(e);
        });
        if (configured is not null)
        {
            feed.UseConfiguredEnbs(configured);
        }

        feed.AfterStep = step =>
        {
            UeTracker.CheckInvariants(step.State);
            notes.AddRange(step.Notes);
            Assert.DoesNotContain(step.Notes, n => n.Kind == TrackerNoteKind.Fault);
        };
        foreach (var f in c.Frames.Where(f => keep(f.Number)))
        {
            feed.Process(f.ToFrame(f.Number, f.TimestampNanos));
        }

        UeTracker.CheckInvariants(feed.Tracker);
        return new CaptureRun(timeline, notes, feed.Tracker);
    }

    /// <summary>The UE's bearers at the end, as text (E-RAB, uplink, downlink).</summary>
    public string Bearers(string ue) => string.Join("; ", Tracker.Ues.Values.Where(u => u.Id?.Value == ue)
        .SelectMany(u => u.Bearers.Values).Select(b => $"{b.ERabId} UL {b.Uplink} DL {b.Downlink?.ToString() ?? "?"}"));
}
