using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using static MobiScud.Hosting.Tests.ServeLearningTests;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// Serve decides with the plan it is configured with: predictive with `Plan: smdp` solves the semi-Markov plan in the
/// silo's learner as <see cref="SingleThreadedMc"/> solves it in its fold (<see cref="HandoverSmdp.Observe"/> at the
/// event's time), so every decision equals the pure core's on the same events, before and after a restart (the plan is
/// re-solved from the persisted statistics). The twelve cells on a line of <see cref="ServeLearningTests"/>.
/// </summary>
public sealed class ServeSmdpTests(ITestOutputHelper output)
{
    /// <summary>Re-solved every 30 s of the events' time (default 5 min): the walkers' 7 minutes see many solves and many decisions between them.</summary>
    private static readonly TimeSpan _resolve = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string?> SmdpSettings()
    {
        var s = LineSettings();
        s["MobiScud:Policy:Plan"] = "smdp";
        s["MobiScud:Policy:PlanResolve"] = _resolve.ToString();
        return s;
    }

    /// <summary>
    /// How many of serve's decisions (each posted event and the PVM reports of its turn, in the order
    /// <see cref="ServeLearningTests"/>' comparison feeds them) the plan changed: a fresh core replays them, and before
    /// each it is asked what the same state and facts without the plan (the 1-D MDP fallback) would decide. Moves: the
    /// decisions whose PVM commands differ (not only the plan's review timers).
    /// </summary>
    private static async Task<(int Changed, int Moves)> ChangedByThePlan(ServeTestHost serve, McConfig config, List<UeEvent> posted)
    {
        var byUe = await CoreComparison.Timelines(serve, posted.Select(e => e.Ue));
        var core = new SingleThreadedMc(config) { LearnMobility = true };
        var changed = 0;
        var moves = 0;
        foreach (var e in posted)
        {
            var turn = new List<UeEvent> { byUe[e.Ue].Dequeue().Event! };
            while (byUe[e.Ue].TryPeek(out var next) && next.Event is PvmStarted or PvmFailed)
            {
                turn.Add(byUe[e.Ue].Dequeue().Event!);
            }

            foreach (var step in turn)
            {
                var state = core[step.Ue];
                var mobility = MobilityLearning.Before(config, state, step) is { } lesson ? MobilityLearning.Fold(core.Facts.Mobility, lesson) : core.Facts.Mobility;
                var fallback = MobiScudControl.Decide(config, state, step, core.Facts with { Mobility = mobility with { Smdp = HandoverSmdp.Empty } });
                var planned = core.Handle(step);
                changed += Same(fallback.Commands, planned, c => c is not Notify) ? 0 : 1;
                moves += Same(fallback.Commands, planned, c => c is CreatePvm or StartMigration or CancelMigration) ? 0 : 1;
            }
        }

        return (changed, moves);

        static bool Same(IReadOnlyList<ControlCommand> a, IReadOnlyList<ControlCommand> b, Func<ControlCommand, bool> kept) =>
            a.Where(kept).SequenceEqual(b.Where(kept));
    }

    [Fact]
    public async Task Serve_solves_the_smdp_plan_and_decides_as_the_pure_core()
    {
        await using var serve = await StartAsync(SmdpSettings());
        var config = serve.App.Services.GetRequiredService<McConfigProvider>().Current;
        Assert.Equal(PredictivePlan.Smdp, config.Policy.Plan);
        Assert.Null(MobilityLearner.PlanWarning(config));
        var posted = await Drive(serve, Walkers(Now + TimeSpan.FromHours(1), 0));
        var core = new SingleThreadedMc(config) { LearnMobility = true };
        var (compared, _) = await Compare(serve, core, posted);

        var learned = serve.App.Services.GetRequiredService<MobilityLearner>().Facts.Mobility;
        MobilityRowsTests.AssertSame(core.Facts.Mobility, learned);
        Assert.True(learned.Smdp.Sweeps > 0, "serve solved the plan");
        Assert.Equal(core.Facts.Mobility.Smdp.Sweeps, learned.Smdp.Sweeps);

        // Not vacuous: on these events the plan decides differently from the fallback serve used before.
        var (changed, moves) = await ChangedByThePlan(serve, config, posted);
        output.WriteLine($"{posted.Count} events posted, {compared} decisions compared, {changed} of them changed by the plan ({moves} in their PVM commands); {learned.Observations} handovers learned, last solve {learned.Smdp.Sweeps} sweeps");
        Assert.True(moves > 0, "the plan moved some PVM differently");
    }

    [Fact]
    public async Task After_a_restart_serve_re_solves_the_smdp_plan_and_decides_as_one_that_never_stopped()
    {
        var store = new InProcessStateStore();
        var pvms = new ImmediatePvmModel(() => Now);
        var settings = SmdpSettings();
        var t0 = Now + TimeSpan.FromHours(1);
        var walk = Walkers(t0, 0);

        // A last handover a full re-solve period after everything else: the plan of the service that never stops is
        // then solved on everything learned, as the restarted one's is (its first event solves on the loaded statistics).
        var end = walk.Max(e => e.At);
        walk.Add(Attach(99, Cell(0), end + _resolve));
        walk.Add(Switched(99, Cell(1), end + (2 * _resolve)));
        SingleThreadedMc never;
        MobilityStats before;
        Dictionary<UeId, int> lengths;
        {
            await using var first = await StartAsync(settings, hypervisor: pvms, stateStore: store);
            never = new SingleThreadedMc(first.App.Services.GetRequiredService<McConfigProvider>().Current) { LearnMobility = true };
            (_, lengths) = await Compare(first, never, await Drive(first, walk));
            before = first.App.Services.GetRequiredService<MobilityLearner>().Facts.Mobility;
            Assert.True(before.Smdp.Sweeps > 0, "the first service solved the plan");
        }

        await using var second = await StartAsync(settings, hypervisor: pvms, stateStore: store);
        var learner = second.App.Services.GetRequiredService<MobilityLearner>();
        MobilityRowsTests.AssertSame(before, learner.Facts.Mobility);

        // The same users walk on and new ones start, after the plan of the core that never stopped is due again.
        var t1 = end + TimeSpan.FromMinutes(5);
        var again = Walkers(t1, 0).Where(e => e is not UeAttached).Concat(Walkers(t1 + TimeSpan.FromSeconds(3), 100)).ToList();
        var posted = await Drive(second, again);
        var (compared, _) = await Compare(second, never, posted, lengths);
        var after = learner.Facts.Mobility;
        output.WriteLine($"after the restart {compared} decisions compared; {after.Observations} handovers learned ({before.Observations} before it), last solve {after.Smdp.Sweeps} sweeps");
        Assert.True(compared > 100, $"compared {compared} decisions");
        Assert.True(after.Smdp.Sweeps > 0, "the restarted service solved the plan");
        MobilityRowsTests.AssertSame(never.Facts.Mobility, after);
    }

    [Theory]
    [InlineData("mdp2d")]
    [InlineData("mdp2d-path")]
    public async Task Serve_warns_at_start_that_it_does_not_solve_the_2d_plans_and_decides_with_the_1d_mdp(string plan)
    {
        var log = new RecordingOutput(output);
        var settings = LineSettings();
        settings["MobiScud:Policy:Plan"] = plan;
        await using var serve = await StartAsync(settings, output: log);
        Assert.Contains(log.Lines, l => l.Contains($"Warning MobiScud.Hosting.Adapters.MobilityLearner: MobiScud:Policy:Plan {plan} is solved by run (the simulator) only", StringComparison.Ordinal));

        // What the warning says: the decisions are the pure core's with plan mdp.
        var config = serve.App.Services.GetRequiredService<McConfigProvider>().Current;
        var core = new SingleThreadedMc(config with { Policy = config.Policy with { Plan = PredictivePlan.Mdp } }) { LearnMobility = true };
        var (compared, _) = await Compare(serve, core, await Drive(serve, Walkers(Now + TimeSpan.FromHours(1), 0)));
        Assert.True(compared > 100, $"compared {compared} decisions");
        Assert.Equal(0, serve.App.Services.GetRequiredService<MobilityLearner>().Facts.Mobility.Chain.Transitions);
    }

    [Fact]
    public void A_plan_serve_does_not_solve_is_named_at_start()
    {
        var a = new SiteId("site-a");
        var config = new McConfig(new Dictionary<EnbId, SiteId> { [new EnbId(1)] = a, [new EnbId(2)] = a }, new SiteId("core"))
        {
            Policy = PolicyConfig.Default with { Kind = PolicyKind.Predictive, Plan = PredictivePlan.Smdp },
            Cells = new CellGeometry(new Dictionary<EnbId, (double X, double Y)> { [new EnbId(1)] = (0, 0), [new EnbId(2)] = (1, 0) }, new Dictionary<SiteId, EnbId> { [a] = new EnbId(1) }, 1),
        };
        Assert.Null(MobilityLearner.PlanWarning(config));
        Assert.Null(MobilityLearner.PlanWarning(config with { Policy = config.Policy with { Plan = PredictivePlan.Mdp } }));
        Assert.Null(MobilityLearner.PlanWarning(config with { Policy = config.Policy with { Kind = PolicyKind.MdpThreshold, Plan = PredictivePlan.Mdp2d } }));

        Assert.Contains("Plan mdp2d is solved by run (the simulator) only", MobilityLearner.PlanWarning(config with { Policy = config.Policy with { Plan = PredictivePlan.Mdp2d } }));
        Assert.Contains("Plan mdp2d-path is solved by run (the simulator) only", MobilityLearner.PlanWarning(config with { Policy = config.Policy with { Plan = PredictivePlan.Mdp2dPath } }));
        Assert.Contains("needs cell positions (MobiScud:Cells)", MobilityLearner.PlanWarning(config with { Cells = null }));
        Assert.Contains("MobiScud:Policy:Learn false", MobilityLearner.PlanWarning(config with { Policy = config.Policy with { Learn = false } }));
    }
}

/// <summary>The service's log lines, kept for the test to read, and passed on to the test's output.</summary>
internal sealed class RecordingOutput(ITestOutputHelper inner) : ITestOutputHelper
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IEnumerable<string> Lines => _lines;

    public void WriteLine(string message)
    {
        _lines.Enqueue(message);
        inner.WriteLine(message);
    }

    public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
}
