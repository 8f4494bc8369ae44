using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.Tracking;
using TestData = MobiScud.TestSupport.TestData;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>
/// `replay --json` groups the timeline by UE from the UE indexes the session records as the entries arrive
/// (<see cref="ReplayResult.EntryUes"/>), without reading the entries' events: the groups must be GroupBy's over the
/// events' UE, on every capture and when the session's indexes are absent (a result built elsewhere).
/// </summary>
public sealed class UeOrderTests
{
    [Theory]
    [MemberData(nameof(ReplayJsonFastTests.Captures), MemberType = typeof(ReplayJsonFastTests))]
    public void The_sessions_ue_indexes_group_the_entries_as_GroupBy_does(string capture)
    {
        var session = new ReplaySession();
        ReplayResult result;
        using (var source = CaptureFile.Open(TestData.Capture(capture)))
        {
            result = session.Run(source, capture, PipelineOptions.Default);
        }

        Assert.Equal(result.Entries.Count, result.EntryUes!.Count);
        var expected = result.Entries.GroupBy(e => e.Event.Ue).Select(g => (g.Key, g.ToList())).ToList();
        AssertGroups(expected, UeOrder.Of(result, result.Entries), result.Entries);
        AssertGroups(expected, UeOrder.Of(result with { EntryUes = null }, result.Entries), result.Entries);
    }

    [Fact]
    public void Without_the_sessions_indexes_the_entries_events_are_read()
    {
        // Interleaved UEs, a null id (a group of its own), an empty one, and ids that differ only at the end.
        UeId[] ues = [new("imsi-1"), new("imsi-2"), default, new(""), new("imsi-10"), new("imsi-1 ")];
        var random = new Random(14);
        var entries = new List<ReplayEntry>();
        for (var i = 0; i < 400; i++)
        {
            var ue = ues[random.Next(ues.Length)];
            entries.Add(new ReplayEntry(TimeSpan.FromTicks(i), i, new Detached(TimeSpan.FromTicks(i), ue), []));
        }

        var result = new ReplayResult("x", new PipelineStatistics(), entries, [], new Dictionary<EnbId, SiteId>(), TrackerState.Empty);
        var order = UeOrder.Of(result, entries);
        var expected = entries.GroupBy(e => e.Event.Ue).Select(g => (g.Key, g.ToList())).ToList();
        AssertGroups(expected, order, entries);
        Assert.Equal(ues.Length, order.Ues.Length);

        // Indexes that do not cover the entries (a result put together from parts) are not trusted.
        var stale = result with { EntryUes = [0, 0], UeIds = [ues[0]] };
        AssertGroups(expected, UeOrder.Of(stale, entries), entries);
    }

    /// <summary>The same UEs in the same order, each with the same entries (the same objects) in the same order.</summary>
    private static void AssertGroups(List<(UeId Ue, List<ReplayEntry> Entries)> expected, UeOrder order, IReadOnlyList<ReplayEntry> entries)
    {
        Assert.Equal(expected.Select(g => g.Ue), order.Ues);
        Assert.Equal(expected.Count + 1, order.Starts.Length);
        for (var u = 0; u < expected.Count; u++)
        {
            var actual = order.Order[order.Starts[u]..order.Starts[u + 1]].Select(i => entries[i]).ToList();
            Assert.Equal(expected[u].Entries.Count, actual.Count);
            Assert.All(expected[u].Entries.Zip(actual), p => Assert.Same(p.First, p.Second));
        }
    }
}
