using MobiScud.Simulation.Engine;
using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Tests;

public sealed class DeterminismTests
{
    private static ScenarioConfig Short(ulong seed) => new()
    {
        Seed = seed,
        Duration = TimeSpan.FromMinutes(3),
        Ues = 40,
        Handover = { CancelProbability = 0.1 },
        Pvm = { MigrationFailureProbability = 0.1 },
    };

    [Fact]
    public void SameSeedGivesTheSameResults()
    {
        var a = new Simulator(Short(9)).Run().DeterministicJson();
        var b = new Simulator(Short(9)).Run().DeterministicJson();
        Assert.Equal(a, b);
    }

    [Fact]
    public void AnotherSeedGivesOtherResults()
    {
        var a = new Simulator(Short(9)).Run();
        var b = new Simulator(Short(10)).Run();
        Assert.NotEqual(a.DeterministicJson(), b.DeterministicJson());
    }

    [Fact]
    public void CancelsAndFailuresStillKeepOnePvmPerUe()
    {
        var r = new Simulator(Short(11)).Run();
        Assert.True(r.Ran.HandoversCancelled > 0);
        var m = r.Strategies.Single(s => s.Strategy == "mobiscud");
        Assert.True(m.MigrationsFailed > 0, "failure injection should hit some migrations");
        foreach (var s in r.Strategies)
        {
            Assert.True(s.InvariantViolations == 0, string.Join("; ", s.Violations));
        }
    }
}
