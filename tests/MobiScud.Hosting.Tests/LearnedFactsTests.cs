using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.DependencyInjection;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// Serve learns handover statistics from the events it applies and hands them to the policy, as the simulator's lanes
/// do: a differential test against the pure core's <see cref="SingleThreadedMc"/> (LearnMobility on) fed the very
/// events serve's MC applied, in the same order.
/// </summary>
public sealed class LearnedFactsTests
{
    private const int Training = 8;
    private const int Probe = 20;

    [Fact]
    public async Task Predictive_in_serve_decides_as_the_pure_core_fed_the_same_events_and_uses_what_it_learned()
    {
        // Learned short stays at site-b's eNB (ping-pong) against long ones: the probe's same handover is decided differently.
        var brief = await RunPattern(2);
        var long_ = await RunPattern(900);
        Assert.Null(brief.Migration);
        Assert.Equal(B, long_.Migration?.To);
    }

    private static async Task<UeState> RunPattern(int dwellAtB)
    {
        var settings = Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Replay",
            ["MobiScud:Policy:Kind"] = "predictive",
        });
        await using var serve = await StartAsync(settings);
        var t0 = Now + TimeSpan.FromHours(1);

        // The pattern: UEs stay 5 s at site-a's eNB, then dwellAtB seconds at site-b's before going on to site-c's.
        // Then a probe UE makes the same first move, which predictive weighs with what it learned of site-b's eNB.
        var posted = new List<UeEvent>();
        for (var i = 0; i < Training; i++)
        {
            var at = t0 + TimeSpan.FromSeconds(i);
            posted.Add(Attach(i, EnbA, at));
            posted.Add(Switched(i, EnbB, at + TimeSpan.FromSeconds(5)));
            posted.Add(Switched(i, EnbC, at + TimeSpan.FromSeconds(5 + dwellAtB)));
        }

        var probeAt = t0 + TimeSpan.FromSeconds(dwellAtB + 100);
        posted.Add(Attach(Probe, EnbA, probeAt));
        posted.Add(Switched(Probe, EnbB, probeAt + TimeSpan.FromSeconds(5)));
        posted = [.. posted.OrderBy(e => e.At)];
        foreach (var e in posted)
        {
            // One at a time: serve's order across UEs is then the posting order.
            await serve.Pipeline.PostAsync(e);
            await serve.Pipeline.FlushAsync();
        }

        // Every event serve's MC applied per UE, with the commands it issued (its timeline keeps both).
        var byUe = await CoreComparison.Timelines(serve, posted.Select(e => e.Ue));
        var config = serve.App.Services.GetRequiredService<McConfigProvider>().Current;
        var learning = new SingleThreadedMc(config) { LearnMobility = true };
        var compared = 0;
        foreach (var e in posted)
        {
            // The posted event, then the outcomes serve applied in the same turn (PVM starts of the replay model).
            compared += CoreComparison.CompareTurn(learning, e, byUe[e.Ue], next => next.Event is not (UeAttached or PathSwitched));
        }

        Assert.All(byUe.Values, q => Assert.Empty(q));
        Assert.True(compared > posted.Count, $"compared {compared} decisions");
        Assert.Equal((Training * 2L) + 1, learning.Facts.Mobility.Observations);
        Assert.Equal(learning.Facts.Mobility.Observations, serve.App.Services.GetRequiredService<MobilityLearner>().Facts.Mobility.Observations);

        var probe = (await serve.State(Ue(Probe)))!;
        Console.Error.WriteLine($"learned dwell at site-b's eNB {dwellAtB} s: the probe's migration {probe.Migration?.To.ToString() ?? "none"}");
        return probe;
    }

    [Fact]
    public async Task Learned_statistics_are_persisted_and_loaded_after_a_restart()
    {
        var store = new InProcessStateStore();
        var settings = Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Replay",
            ["MobiScud:Policy:Kind"] = "predictive",
        });
        var t0 = Now;
        long learned;
        {
            await using var first = await StartAsync(settings, stateStore: store);
            for (var i = 0; i < 4; i++)
            {
                await first.Pipeline.PostAsync(Attach(i, EnbA, t0));
                await first.Pipeline.PostAsync(Switched(i, EnbB, t0 + TimeSpan.FromSeconds(7)));
            }

            await first.Pipeline.FlushAsync();
            learned = first.App.Services.GetRequiredService<MobilityLearner>().Facts.Mobility.Observations;
            Assert.Equal(4, learned);
        }

        await using var second = await StartAsync(settings, stateStore: store);
        var learner = second.App.Services.GetRequiredService<MobilityLearner>();
        await Wait.Until(() => Task.FromResult(learner.Facts.Mobility.Observations == learned), "the statistics loaded");
        var enb = learner.Facts.Mobility.ByEnb[EnbA];
        Assert.Equal(4, enb.Departures);
        Assert.Equal(4, enb.Next[EnbB]);
        Assert.Equal(TimeSpan.FromSeconds(7), enb.MeanDwell);
    }
}
