using System.Text.Json;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// The differential check serve's policy tests share: serve's per-UE timelines (each event its MC applied, with the
/// commands it issued) replayed turn by turn through a pure <see cref="SingleThreadedMc"/>, which must issue the same
/// commands. A turn is a posted event and what serve applied with it (PVM outcomes of the replay model), up to the
/// test's own boundary.
/// </summary>
internal static class CoreComparison
{
    /// <summary>Each UE's timeline as serve kept it, its entries with an event in order.</summary>
    public static async Task<Dictionary<UeId, Queue<TimelineEntry>>> Timelines(ServeTestHost serve, IEnumerable<UeId> ues)
    {
        var byUe = new Dictionary<UeId, Queue<TimelineEntry>>();
        foreach (var ue in ues.Distinct())
        {
            byUe[ue] = new Queue<TimelineEntry>((await serve.Grains.GetGrain<IUeGrain>(ue.Value).Timeline()).Where(t => t.Event is not null));
        }

        return byUe;
    }

    /// <summary>
    /// Checks the turn <paramref name="posted"/> opens: the next entry is that event, and it and every following entry
    /// for which <paramref name="sameTurn"/> holds give the core's commands. Returns how many decisions were compared.
    /// </summary>
    public static int CompareTurn(SingleThreadedMc core, UeEvent posted, Queue<TimelineEntry> entries, Func<TimelineEntry, bool> sameTurn)
    {
        var first = entries.Dequeue();
        Assert.Equal((posted.GetType(), posted.At), (first.Event!.GetType(), first.Event.At));
        var turn = new List<TimelineEntry> { first };
        while (entries.TryPeek(out var next) && sameTurn(next))
        {
            turn.Add(entries.Dequeue());
        }

        foreach (var entry in turn)
        {
            Check(core, entry);
        }

        return turn.Count;
    }

    /// <summary>The core, handed the entry's event, issues the commands serve issued (notifications aside).</summary>
    public static void Check(SingleThreadedMc core, TimelineEntry entry) =>
        Assert.Equal(Json(core.Handle(entry.Event!).Where(c => c is not Notify)), Json(entry.Commands ?? []));

    /// <summary>True when the core, handed the entry's event, issues the commands serve issued (notifications aside).</summary>
    public static bool Same(SingleThreadedMc core, TimelineEntry entry) =>
        Json(core.Handle(entry.Event!).Where(c => c is not Notify)) == Json(entry.Commands ?? []);

    private static string Json(IEnumerable<ControlCommand> commands) =>
        string.Join("\n", commands.Select(c => c.GetType().Name + " " + JsonSerializer.Serialize(c, c.GetType(), McJson.Options)));
}
