using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// The cost model against slots computed by hand from the definitions in Wang et al.'s code
/// (mainRealCellLocation.m: const + proportional factors with mu = 0.8 and R = 1.5 max Q).
/// </summary>
public sealed class CostModelTests
{
    private static readonly WangCostModel _model = WangCostModel.Default;

    [Theory]
    [InlineData(0, 0.0, 0.0)]
    [InlineData(1, 0.0, 1.2)] // 1 + (1 - 0.8)
    [InlineData(2, 0.0, 1.36)] // 1 + (1 - 0.64)
    [InlineData(3, 0.5, 2.976)] // (1 + (1 - 0.512)) / 0.5
    public void Migration_cost_is_one_plus_one_minus_mu_to_the_x_over_headroom(int x, double q, double expected) =>
        Assert.Equal(expected, _model.MigrationCost(x, q), 9);

    [Theory]
    [InlineData(0, 0.0, 0.0)]
    [InlineData(1, 0.0, 0.2)]
    [InlineData(3, 1.0 / 3, 0.732)] // (1 - 0.512) / (2/3)
    [InlineData(10, 0.2, 1.115782272)] // (1 - 0.1073741824) / 0.8
    public void Transmission_cost_is_one_minus_mu_to_the_y_over_headroom(int y, double q, double expected) =>
        Assert.Equal(expected, _model.TransmissionCost(y, q), 9);

    [Fact]
    public void A_slot_adds_the_migration_and_the_transmission_after_it()
    {
        // 40 users of at most 100: Q/R = 40 / 150.
        var q = WangCostModel.LoadRatio(40, 100);
        Assert.Equal(40.0 / 150, q, 12);

        // Moved 2 rings, now 1 ring from the user: (1.36 + 0.2) / (1 - 4/15) = 1.56 * 15 / 11.
        Assert.Equal(1.56 * 15 / 11, _model.SlotCost(2, 1, q), 9);

        // Stayed 3 rings away: only transmission, (1 - 0.512) * 15 / 11.
        Assert.Equal(0.488 * 15 / 11, _model.SlotCost(0, 3, q), 9);

        // Followed to the user's cell: migration only.
        Assert.Equal(1.2 * 15 / 11, _model.SlotCost(1, 0, q), 9);
    }

    [Fact]
    public void Scales_make_migration_free_or_dearer()
    {
        Assert.Equal(0, new WangCostModel(migrationScale: 0).MigrationCost(4));
        Assert.Equal(120, new WangCostModel(migrationScale: 100).MigrationCost(1), 9);
        Assert.Equal(0.2, new WangCostModel(migrationScale: 100).TransmissionCost(1), 9);
    }

    [Fact]
    public void Bad_parameters_are_refused_with_their_name()
    {
        Assert.Equal("mu", Assert.Throws<ArgumentOutOfRangeException>(() => new WangCostModel(mu: 1)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new WangCostModel(gamma: 1)).ParamName);
        Assert.Equal("loadRatio", Assert.Throws<ArgumentOutOfRangeException>(() => _model.TransmissionCost(1, 1)).ParamName);
        Assert.Equal("usersInSlot", Assert.Throws<ArgumentOutOfRangeException>(() => WangCostModel.LoadRatio(101, 100)).ParamName);
    }
}
