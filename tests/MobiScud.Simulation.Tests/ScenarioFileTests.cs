using System.Text.Json;
using MobiScud.Simulation.Scenario;
using MobiScud.TestSupport;

namespace MobiScud.Simulation.Tests;

public sealed class ScenarioFileTests
{
    private static string Example(string name) => Path.Combine(TestData.RepoRoot, "examples", name);

    [Fact]
    public void DefaultExampleIsTheDemoScenario()
    {
        var file = ScenarioLoader.LoadFile(Example("default.yaml"));
        var demo = new ScenarioConfig();
        file.BaseDirectory = demo.BaseDirectory;
        Assert.Equal(JsonSerializer.Serialize(demo), JsonSerializer.Serialize(file));
    }

    [Fact]
    public void UnknownFieldIsNamedWithItsLine()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("seed: 1\nmobility:\n  model: highway\n  sped: 3\n", "."));
        Assert.Equal(4, ex.Line);
        Assert.Contains("mobility.sped", ex.Message);
        Assert.Contains("speedMin", ex.Message); // lists what is allowed
    }

    [Fact]
    public void WrongValueIsNamedWithItsLine()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("name: x\npvm:\n  createTime: soon\n", "."));
        Assert.Equal(3, ex.Line);
        Assert.Contains("pvm.createTime", ex.Message);
        Assert.Contains("duration", ex.Message);

        var e2 = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("mobility:\n  model: teleport\n", "."));
        Assert.Equal(2, e2.Line);
        Assert.Contains("random-waypoint", e2.Message);
    }

    [Fact]
    public void OutOfRangeValueIsNamedWithItsLine()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("name: x\n\nhandover:\n  cancelProbability: 1.5\n", "."));
        Assert.Equal(4, ex.Line);
        Assert.Contains("handover.cancelProbability", ex.Message);
    }

    [Fact]
    public void BrokenYamlGivesTheLine()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("name: x\nues: [1, 2\nseed: 3\n", "."));
        Assert.NotNull(ex.Line);
        Assert.Contains("line", ex.Message);
    }

    [Fact]
    public void DurationsTakeUnits()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(250), ScenarioLoader.ParseDuration("250ms"));
        Assert.Equal(TimeSpan.FromMinutes(10), ScenarioLoader.ParseDuration("10m"));
        Assert.Equal(TimeSpan.FromHours(1.5), ScenarioLoader.ParseDuration("1.5h"));
        Assert.Equal(TimeSpan.FromMicroseconds(5), ScenarioLoader.ParseDuration("5us"));
        Assert.Equal(TimeSpan.FromSeconds(3), ScenarioLoader.ParseDuration("3"));
        Assert.Null(ScenarioLoader.ParseDuration("-3s"));
        Assert.Null(ScenarioLoader.ParseDuration("soon"));
    }

    [Fact]
    public async Task CliRunOnABadFileExitsWith2AndNamesFieldAndLine()
    {
        var dir = Directory.CreateTempSubdirectory("mobiscud-sim-yaml-");
        try
        {
            var bad = Path.Combine(dir.FullName, "bad.yaml");
            await File.WriteAllTextAsync(bad, "name: bad\nues: 10\ntopology:\n  sites: many\n");
            var cli = Path.Combine(AppContext.BaseDirectory, "mobiscud.dll");
            var result = await ExternalTool.RunAsync("dotnet", [cli, "run", bad, "--out", dir.FullName], TimeSpan.FromMinutes(2));
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("topology.sites", result.StdErr);
            Assert.Contains("line 4", result.StdErr);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
