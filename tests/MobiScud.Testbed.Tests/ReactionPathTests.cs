using System.Collections.Concurrent;
using System.Net;
using MobiScud.Control;
using MobiScud.Control.Host;
using MobiScud.Control.Model;
using MobiScud.Testbed.Control;

namespace MobiScud.Testbed.Tests;

/// <summary>The testbed MC's reaction path without a network: the steering pipeline, runtime pauses, the code warm-up.</summary>
public sealed class ReactionPathTests
{
    private static readonly SiteId _a = new("a");

    /// <summary>Carries out each dispatch when the test releases it; records the order they started and finished in.</summary>
    private sealed class GatedDispatcher : ICommandDispatcher
    {
        public ConcurrentDictionary<ControlCommand, TaskCompletionSource> Gates { get; } = new(ReferenceEqualityComparer.Instance);

        public ConcurrentQueue<string> Log { get; } = new();

        public Exception? Fail { get; set; }

        public bool ReportsAtOnce(IReadOnlyList<ControlCommand> commands) => false;

        public async Task<IReadOnlyList<UeEvent>> DispatchAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default)
        {
            if (commands.Count == 0)
            {
                Log.Enqueue("nothing");
                return [];
            }

            var first = commands[0];
            Log.Enqueue($"start {first.Ue}");
            await Gates.GetOrAdd(first, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(ct);
            Log.Enqueue($"end {first.Ue}");
            if (Fail is { } e)
            {
                throw e;
            }

            return [];
        }
    }

    private static RemoveSteering Remove(string ue) => new(new UeId(ue), _a);

    [Fact]
    public async Task A_switch_that_has_not_confirmed_one_UE_does_not_hold_the_next_decision_and_each_UE_keeps_its_order()
    {
        var inner = new GatedDispatcher();
        var failures = new ConcurrentQueue<(UeId, Exception)>();
        var pipeline = new SteeringPipeline(inner, (ue, e) => failures.Enqueue((ue, e)));
        var first = Remove("ue-1");
        var second = Remove("ue-1");
        var other = Remove("ue-2");

        // Each call returns at once although no dispatch finished: the MC is free for its next event.
        Assert.True(pipeline.DispatchAsync(null, null, [first]).IsCompletedSuccessfully);
        Assert.True(pipeline.DispatchAsync(null, null, [second]).IsCompletedSuccessfully);
        Assert.True(pipeline.DispatchAsync(null, null, [other]).IsCompletedSuccessfully);

        // ue-2 started beside ue-1's first; ue-1's second waits for its first.
        Assert.Equal(["start ue-1", "start ue-2"], inner.Log);
        var idle = pipeline.WhenIdleAsync();
        inner.Gates[other].SetResult();
        inner.Gates[first].SetResult();
        await WaitUntil(() => inner.Gates.ContainsKey(second));
        Assert.False(idle.IsCompleted);
        inner.Gates[second].SetResult();
        await idle.WaitAsync(TimeSpan.FromSeconds(10));
        var log = inner.Log.ToList();
        Assert.True(log.IndexOf("end ue-1") < log.LastIndexOf("start ue-1"), string.Join(", ", log));
        Assert.Empty(failures);
    }

    [Fact]
    public async Task A_PVM_command_waits_for_the_pending_steering_and_runs_within_the_turn()
    {
        var inner = new GatedDispatcher();
        var pipeline = new SteeringPipeline(inner, (_, _) => { });
        var steer = Remove("ue-1");
        var create = new CreatePvm(new UeId("ue-2"), new PvmId("pvm-2"), _a);
        _ = await pipeline.DispatchAsync(null, null, [steer]);
        var turn = pipeline.DispatchAsync(null, null, [create]);
        await Task.Delay(50);
        Assert.False(turn.IsCompleted);
        Assert.False(inner.Gates.ContainsKey(create));
        inner.Gates[steer].SetResult();
        await WaitUntil(() => inner.Gates.ContainsKey(create));
        Assert.False(turn.IsCompleted);
        inner.Gates[create].SetResult();
        await turn.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_decision_with_nothing_to_carry_out_does_not_wait_for_pending_steering()
    {
        var inner = new GatedDispatcher();
        var pipeline = new SteeringPipeline(inner, (_, _) => { });
        var steer = Remove("ue-1");
        _ = await pipeline.DispatchAsync(null, null, [steer]);
        Assert.True(pipeline.DispatchAsync(null, null, []).IsCompletedSuccessfully);
        Assert.Equal(["start ue-1", "nothing"], inner.Log);
        inner.Gates[steer].SetResult();
        await pipeline.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_pending_dispatch_that_fails_is_reported_with_its_UE()
    {
        var inner = new GatedDispatcher { Fail = new IOException("switch gone") };
        var failures = new ConcurrentQueue<(UeId Ue, Exception Error)>();
        var pipeline = new SteeringPipeline(inner, (ue, e) => failures.Enqueue((ue, e)));
        var steer = Remove("ue-7");
        _ = await pipeline.DispatchAsync(null, null, [steer]);
        inner.Gates[steer].SetResult();
        await pipeline.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var (ue, error) = Assert.Single(failures);
        Assert.Equal(new UeId("ue-7"), ue);
        Assert.Equal("switch gone", error.Message);
    }

    [Fact]
    public async Task The_runtime_s_own_events_show_a_forced_collection_as_a_pause()
    {
        using var pauses = new RuntimePauses();
        var before = DateTimeOffset.UtcNow;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);

        // The runtime's events reach the listener from its dispatch thread, a little later.
        await WaitUntil(() => pauses.Pauses.Any(p => p.Generation == 2));
        var pause = pauses.Pauses.First(p => p.Generation == 2);
        Assert.True(pause.End >= pause.Start, $"{pause}");
        Assert.True(pause.Start >= before.AddSeconds(-1), $"{pause} started before the collection was asked for ({before:O})");
        Assert.Equal(pause.Duration, RuntimePauses.Within([pause], pause.Start.AddDays(-1), pause.End.AddDays(1)));
    }

    [Fact]
    public void Pause_time_within_a_window_counts_only_the_overlap()
    {
        var t0 = new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
        RuntimePause[] pauses = [new(t0, t0.AddMilliseconds(10), 1, 0), new(t0.AddMilliseconds(20), t0.AddMilliseconds(30), 1, 1)];
        Assert.Equal(TimeSpan.FromMilliseconds(5 + 5), RuntimePauses.Within(pauses, t0.AddMilliseconds(5), t0.AddMilliseconds(25)));
        Assert.Equal(TimeSpan.Zero, RuntimePauses.Within(pauses, t0.AddMilliseconds(10), t0.AddMilliseconds(20)));
    }

    [Fact]
    public void The_warm_up_compiles_the_MC_s_methods()
    {
        var result = CodeWarmup.Prepare([typeof(MobiScudControl).Assembly]);

        // The MC assembly has hundreds of non-generic methods; a warm-up that skipped them all would compile none.
        Assert.True(result.Methods > 100, $"{result}");
        Assert.True(result.Failed < result.Methods / 10, $"{result}");
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, cts.Token);
        }
    }
}
