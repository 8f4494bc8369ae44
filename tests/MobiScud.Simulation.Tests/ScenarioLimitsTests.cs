using MobiScud.Simulation.Scenario;

namespace MobiScud.Simulation.Tests;

/// <summary>Scenario sizes that would exhaust the machine are refused up front, naming the field, before any allocation.</summary>
public sealed class ScenarioLimitsTests
{
    private static ScenarioException Refused(string yaml) => Assert.Throws<ScenarioException>(() => ScenarioLoader.Load(yaml, Path.GetTempPath()));

    [Theory]
    [InlineData("ues: 1000000000\n", "line 1: field 'ues' is 1,000,000,000; at most 1,000,000")]
    [InlineData("topology:\n  enbs: 100000000\n", "line 2: field 'topology.enbs' is 100,000,000; at most 100,000")]
    [InlineData("topology:\n  sites: 50000\n", "line 2: field 'topology.sites' is 50,000; at most 10,000")]
    [InlineData("duration: 1e308h\n", "line 1: field 'duration'")]
    [InlineData("duration: 365d\n", "duration")]
    public void Sizes_beyond_the_limits_are_errors_naming_the_field(string yaml, string expected)
    {
        // Before: an OutOfMemoryException, 28 s and 3.9 GB, or a run that never ends.
        Assert.Contains(expected, Refused(yaml).Message);
    }

    [Fact]
    public void Deep_nesting_is_an_error_with_its_line_not_a_stack_overflow()
    {
        var e = Refused("name: x\nreport: " + new string('[', 100_000) + new string(']', 100_000) + "\n");
        Assert.Equal("line 2: YAML nested deeper than 64 levels", e.Message);
    }

    [Fact]
    public void Memory_is_estimated_against_the_machine_before_allocating()
    {
        var config = new ScenarioConfig { Ues = 1_000_000 };
        var e = Assert.Throws<ScenarioException>(() => ScenarioLimits.Check(config, availableBytes: 8L << 30));
        Assert.Equal("ues", e.Field);
        Assert.Contains("needs about 45.8 GB of memory (1,000,000 UEs x 3 strategies, 20 eNBs); this machine has 6 GB usable", e.Message);

        // The shipped 10,000-UE benchmark fits a small machine.
        ScenarioLimits.Check(new ScenarioConfig { Ues = 10_000 }, availableBytes: 4L << 30);
    }
}
