using MobiScud.Control;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// Serve learns what the simulator's MC learns (issue 12): with cell positions and predictive's move outcomes on, serve's
/// UE grains take the core's learning step (<see cref="MobilityLearning"/>) and decide as the pure
/// <see cref="SingleThreadedMc"/> with LearnMobility fed the same events; and a restarted serve has every learned part
/// back and decides as one that never stopped.
/// </summary>
public sealed class ServeLearningTests(ITestOutputHelper output)
{
    // Twelve cells on a line, one ring apart: x -> eNB id. Sites a (x 0..3), b (4..7), c (8..11), each counting as its
    // first listed cell (x 2, 6, 10).
    private static readonly uint[] _line = [1, 2, 10, 11, 3, 12, 13, 14, 4, 15, 16, 17];

    internal static EnbId Cell(int x) => new(_line[x]);

    internal static Dictionary<string, string?> LineSettings()
    {
        var s = Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Replay",
            ["MobiScud:Policy:Kind"] = "predictive",
            ["MobiScud:Policy:MoveOutcomes"] = "true",
            ["MobiScud:Api:TimelineLength"] = "1000",
            ["MobiScud:Cells:Distance"] = "1",
        });
        int[][] sites = [[2, 0, 1, 3], [6, 4, 5, 7], [10, 8, 9, 11]];
        for (var site = 0; site < sites.Length; site++)
        {
            for (var k = 0; k < sites[site].Length; k++)
            {
                s[$"MobiScud:Sites:{site}:Enbs:{k}"] = _line[sites[site][k]].ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        for (var x = 0; x < _line.Length; x++)
        {
            s[$"MobiScud:Cells:Positions:{x}:Enb"] = _line[x].ToString(System.Globalization.CultureInfo.InvariantCulture);
            s[$"MobiScud:Cells:Positions:{x}:X"] = x.ToString(System.Globalization.CultureInfo.InvariantCulture);
            s[$"MobiScud:Cells:Positions:{x}:Y"] = "0";
        }

        return s;
    }

    /// <summary>
    /// Users on the line from <paramref name="first"/>: steady walkers both ways, fast ones whose PVM is still moving when
    /// they leave, some that turn back and some that go idle, so that moves meet and miss their users and second-order
    /// paths form.
    /// </summary>
    internal static List<UeEvent> Walkers(TimeSpan t0, int first)
    {
        var events = new List<UeEvent>();
        void Walk(int ue, TimeSpan at, int[] xs, double stepSeconds, bool idleAtEnd = false, double idleAfter = 4)
        {
            events.Add(Attach(ue, Cell(xs[0]), at));
            for (var k = 1; k < xs.Length; k++)
            {
                events.Add(Switched(ue, Cell(xs[k]), at + TimeSpan.FromSeconds(k * stepSeconds)));
            }

            if (idleAtEnd)
            {
                events.Add(new UeReleasedToIdle(at + TimeSpan.FromSeconds(((xs.Length - 1) * stepSeconds) + idleAfter), Ue(ue)));
            }
        }

        var up = Enumerable.Range(0, 12).ToArray();
        var down = up.Reverse().ToArray();
        var ue = first;
        for (var i = 0; i < 5; i++)
        {
            Walk(ue++, t0 + TimeSpan.FromSeconds(7 * i), i % 2 == 0 ? up : down, 30);
        }

        for (var i = 0; i < 3; i++)
        {
            Walk(ue++, t0 + TimeSpan.FromSeconds(11 + (5 * i)), up, 2);
        }

        for (var i = 0; i < 3; i++)
        {
            Walk(ue++, t0 + TimeSpan.FromSeconds(40 + (9 * i)), [1, 2, 3, 4, 5, 6, 5, 4, 3, 2], 20);
        }

        for (var i = 0; i < 3; i++)
        {
            Walk(ue++, t0 + TimeSpan.FromSeconds(60 + (13 * i)), [2, 3, 4, 5], 25, idleAtEnd: true);
        }

        for (var i = 0; i < 3; i++)
        {
            // Far into site b toward site c at a steady pace, then idle; or back the way they came.
            Walk(ue++, t0 + TimeSpan.FromSeconds(20 + (17 * i)), [0, 1, 2, 3, 4, 5, 6, 7], 30, idleAtEnd: true);
            Walk(ue++, t0 + TimeSpan.FromSeconds(25 + (17 * i)), [0, 1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1, 0], 30);

            // Into site b and idle a second later, while its PVM is on the way: the move lands for nobody.
            Walk(ue++, t0 + TimeSpan.FromSeconds(21 + (17 * i)), [0, 1, 2, 3, 4], 30, idleAtEnd: true, idleAfter: 1);
        }

        for (var i = 0; i < 3; i++)
        {
            // Into site b and straight back before the move lands, then idle; into site b and idle before the move lands.
            Walk(ue++, t0 + TimeSpan.FromSeconds(30 + (11 * i)), [2, 3, 4, 3, 2], 1 + i, idleAtEnd: true);
            Walk(ue++, t0 + TimeSpan.FromSeconds(35 + (11 * i)), [2, 3, 4], 20, idleAtEnd: true, idleAfter: 1);
        }

        for (var i = 0; i < 3; i++)
        {
            // Down the line after the others taught where it leads (their PVMs go ahead), then idle, or back up.
            Walk(ue++, t0 + TimeSpan.FromSeconds(100 + (10 * i)), [11, 10, 9, 8, 7, 6, 5], 30, idleAtEnd: true, idleAfter: 10);
            Walk(ue++, t0 + TimeSpan.FromSeconds(105 + (10 * i)), [11, 10, 9, 8, 7, 6, 5, 6, 7, 8, 9], 30);
        }

        return events;
    }

    /// <summary>
    /// Posts the events one at a time in time order (serve's order across UEs is then the posting order), ending each
    /// migration the MC starts as a hypervisor would: completed 3 s after it started, or failed 1 s after it was cancelled.
    /// Returns the events posted, in order; afterwards no migration is on the wire.
    /// </summary>
    internal static async Task<List<UeEvent>> Drive(ServeTestHost serve, IEnumerable<UeEvent> events)
    {
        var queue = new PriorityQueue<UeEvent, (TimeSpan, long)>();
        long seq = 0;
        foreach (var e in events)
        {
            queue.Enqueue(e, (e.At, seq++));
        }

        var scheduled = new HashSet<(MigrationId, bool)>();
        var posted = new List<UeEvent>();
        while (queue.TryDequeue(out var e, out _))
        {
            if (e is MigrationCompleted or MigrationFailed)
            {
                // The hypervisor's report stands only for the migration still on the wire; a cancelled one fails.
                var id = e is MigrationCompleted c ? c.Migration : ((MigrationFailed)e).Migration;
                if ((await serve.State(e.Ue))?.Migration is not { } live || live.Id != id)
                {
                    continue;
                }

                e = live.Cancelling ? new MigrationFailed(e.At, id, "cancelled") : e;
            }

            await serve.Pipeline.PostAsync(e);
            await serve.Pipeline.FlushAsync();
            posted.Add(e);
            if ((await serve.State(e.Ue))?.Migration is { } m && scheduled.Add((m.Id, m.Cancelling)))
            {
                UeEvent end = m.Cancelling
                    ? new MigrationFailed(e.At + TimeSpan.FromSeconds(1), m.Id, "cancelled")
                    : new MigrationCompleted(e.At + TimeSpan.FromSeconds(3), m.Id, new MigrationStats(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(40), 1 << 20, 3));
                queue.Enqueue(end, (end.At, seq++));
            }
        }

        return posted;
    }

    /// <summary>
    /// Feeds <paramref name="core"/> what serve applied for each posted event (the event, then the PVM reports of the
    /// same turn), from serve's timelines, and checks every command serve issued equals the core's. With
    /// <paramref name="seen"/> (each UE's timeline length at a restart), the entries between those and this run's first
    /// event (the restart's reconciliation) are fed and compared first. Returns the count compared and the timelines' lengths.
    /// </summary>
    internal static async Task<(int Compared, Dictionary<UeId, int> Lengths)> Compare(ServeTestHost serve, SingleThreadedMc core, List<UeEvent> posted, Dictionary<UeId, int>? seen = null)
    {
        var byUe = new Dictionary<UeId, Queue<TimelineEntry>>();
        var lengths = new Dictionary<UeId, int>();
        var compared = 0;
        foreach (var ue in posted.Select(e => e.Ue).Distinct())
        {
            var all = (await serve.Grains.GetGrain<IUeGrain>(ue.Value).Timeline()).Where(t => t.Event is not null).ToList();
            lengths[ue] = all.Count;
            var firstPosted = posted.First(e => e.Ue == ue);
            var start = all.FindIndex(t => t.Event!.GetType() == firstPosted.GetType() && t.Event.At == firstPosted.At);
            Assert.True(start >= 0, $"{ue}'s timeline holds its first event");
            var before = seen?.GetValueOrDefault(ue) ?? start;
            Assert.InRange(before, 0, start);
            foreach (var entry in all.Take(start).Skip(before))
            {
                CoreComparison.Check(core, entry);
                compared++;
            }

            byUe[ue] = new Queue<TimelineEntry>(all.Skip(start));
        }

        foreach (var e in posted)
        {
            compared += CoreComparison.CompareTurn(core, e, byUe[e.Ue], next => next.Event is PvmStarted or PvmFailed);
        }

        Assert.All(byUe.Values, q => Assert.Empty(q));
        return (compared, lengths);
    }

    [Fact]
    public async Task Serve_learns_move_outcomes_and_paths_and_decides_as_the_pure_core()
    {
        await using var serve = await StartAsync(LineSettings());
        var config = serve.App.Services.GetRequiredService<McConfigProvider>().Current;
        Assert.NotNull(config.Cells);
        var posted = await Drive(serve, Walkers(Now + TimeSpan.FromHours(1), 0));
        var core = new SingleThreadedMc(config) { LearnMobility = true };
        var (compared, _) = await Compare(serve, core, posted);

        var learned = serve.App.Services.GetRequiredService<MobilityLearner>().Facts.Mobility;
        MobilityRowsTests.AssertSame(core.Facts.Mobility, learned);
        var outcomes = learned.MoveOutcomes;
        var met = Enumerable.Range(0, MoveOutcomeStats.Classes).Sum(outcomes.Met);
        output.WriteLine($"{posted.Count} events posted, {compared} decisions compared; learned {learned.Observations} handovers, {learned.ByPath.Count} paths, {learned.Headings.Observations} headings, {outcomes.Observations} move outcomes ({met} met)");
        Assert.True(outcomes.Observations > met && met > 0, $"moves met ({met}) and missed ({outcomes.Observations - met})");
        Assert.NotEmpty(learned.ByPath);
        Assert.True(learned.Headings.Observations > 0);
    }

    [Fact]
    public async Task After_a_restart_serve_has_every_learned_part_and_decides_as_one_that_never_stopped()
    {
        var store = new InProcessStateStore();
        var pvms = new ImmediatePvmModel(() => Now);
        var settings = LineSettings();
        var t0 = Now + TimeSpan.FromHours(1);
        var never = (SingleThreadedMc?)null;
        MobilityStats before;
        Dictionary<UeId, int> lengths;
        {
            await using var first = await StartAsync(settings, hypervisor: pvms, stateStore: store);
            never = new SingleThreadedMc(first.App.Services.GetRequiredService<McConfigProvider>().Current) { LearnMobility = true };
            (_, lengths) = await Compare(first, never, await Drive(first, Walkers(t0, 0)));
            before = first.App.Services.GetRequiredService<MobilityLearner>().Facts.Mobility;
            MobilityRowsTests.AssertSame(never.Facts.Mobility, before);
            Assert.True(before.MoveOutcomes.Observations > 0 && !before.ByPath.IsEmpty && before.Dwells.ByEnb.Count > 0);
        }

        // The statistics load slowly: the restart's reconciliation (which decides) must still wait for them.
        await using var second = await StartAsync(settings, hypervisor: pvms, stateStore: store, silo: s => s.Services.AddKeyedSingleton<IGrainStorage>(
            GrainNames.Storage, (sp, _) => new SlowMobilityReads(new InProcessGrainStorage(store, sp.GetRequiredService<DeepCopier>()))));
        var learner = second.App.Services.GetRequiredService<MobilityLearner>();
        Assert.True(learner.Loaded.IsCompletedSuccessfully, "the statistics were loaded before the reconciliation completed");
        MobilityRowsTests.AssertSame(before, learner.Facts.Mobility);

        // The same users walk on, and new ones start: the restarted service decides as the core that never stopped.
        var t1 = t0 + TimeSpan.FromMinutes(10);
        var again = Walkers(t1, 0).Where(e => e is not UeAttached).Concat(Walkers(t1 + TimeSpan.FromSeconds(3), 100));
        var (compared, _) = await Compare(second, never, await Drive(second, again), lengths);
        output.WriteLine($"after the restart {compared} decisions compared; learned {learner.Facts.Mobility.Observations} handovers, {learner.Facts.Mobility.MoveOutcomes.Observations} move outcomes ({before.Observations} and {before.MoveOutcomes.Observations} before it)");
        Assert.True(compared > 100, $"compared {compared} decisions");
        MobilityRowsTests.AssertSame(never.Facts.Mobility, learner.Facts.Mobility);
        Assert.True(never.Facts.Mobility.MoveOutcomes.Observations > before.MoveOutcomes.Observations);
    }
}

/// <summary>`MobiScud:Cells`: the geometry serve's MC decides with, and the errors that name their key.</summary>
public sealed class CellsServeOptionsTests
{
    [Fact]
    public void Each_site_counts_as_its_first_listed_cell_with_a_position()
    {
        var cells = new CellsServeOptions
        {
            Distance = 2,
            Positions = [new() { Enb = 1, X = 0, Y = 0 }, new() { Enb = 2, X = 4, Y = 0 }, new() { Gnb = 1, X = 0, Y = 5 }],
        };
        SiteOptions[] sites = [new() { Name = "a", Enbs = [9, 2, 1] }, new() { Name = "b", Gnbs = [1] }, new() { Name = "c", Enbs = [7] }];
        var geometry = cells.ToCellGeometry(sites)!;
        Assert.Equal(new EnbId(2), geometry.CellOf(new SiteId("a")));
        Assert.Equal(new EnbId(1, Rat.Nr), geometry.CellOf(new SiteId("b")));
        Assert.Null(geometry.CellOf(new SiteId("c")));

        // 4 units at 2 a ring: 2 rings; 5 units: 2.5, rounded up to 3.
        Assert.Equal(2, geometry.Rings(new EnbId(1), new EnbId(2)));
        Assert.Equal(3, geometry.Rings(new EnbId(1), new SiteId("b")));
        Assert.Null(new CellsServeOptions().ToCellGeometry(sites));
        Assert.Empty(cells.Problems());
    }

    [Fact]
    public void A_bad_cell_list_is_an_error_naming_its_key()
    {
        var cells = new CellsServeOptions
        {
            Distance = 0,
            Positions = [new() { Enb = 1 }, new() { Enb = 1, X = double.NaN }, new() { Enb = 2, Gnb = 2 }],
        };
        Assert.Equal(
            ["MobiScud:Cells:Distance must be finite and positive (was 0)", "MobiScud:Cells:Positions:1 (enb-1) needs a finite X and Y", "MobiScud:Cells:Positions:1 places enb-1 a second time", "MobiScud:Cells:Positions:2 needs exactly one of Enb and Gnb"],
            cells.Problems());
    }
}

/// <summary>Grain storage whose read of the learned statistics takes a while, as a remote database's may.</summary>
internal sealed class SlowMobilityReads(IGrainStorage inner) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (stateName == "mobility")
        {
            await Task.Delay(TimeSpan.FromMilliseconds(700));
        }

        await inner.ReadStateAsync(stateName, grainId, grainState);
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}
