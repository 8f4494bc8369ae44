namespace MobiScud.Control.Policies;

/// <summary>
/// The cost model of Wang, Urgaonkar, Zafer, He, Chan and Leung, "Dynamic Service Migration in Mobile Edge Computing
/// Based on Markov Decision Process" (IEEE/ACM ToN 2019), as their real-trace evaluation sets it
/// (shiqiangw/service-migration-mdp, mainRealCellLocation.m): per UE and per slot, migrating the service x rings costs
/// <c>(1 + (1 - mu^x)) / (1 - Q/R)</c> for x &gt; 0, and serving the user from y rings away costs
/// <c>(1 - mu^y) / (1 - Q/R)</c> for y &gt; 0, both 0 at distance 0. Q is the number of users in the slot and R the
/// resource available, 1.5 times the largest Q. The transmission cost is charged at the distance after the slot's
/// migration. <see cref="MigrationScale"/> and <see cref="TransmissionScale"/> are ours (1 in the paper): they let a
/// test or an operator make migration free or prohibitive.
/// </summary>
public sealed record WangCostModel
{
    public WangCostModel(double mu = 0.8, double gamma = 0.9, double migrationScale = 1, double transmissionScale = 1)
    {
        if (!(mu > 0 && mu < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(mu), mu, "mu must be in (0, 1)");
        }

        if (!(gamma >= 0 && gamma < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma (the discount factor) must be in [0, 1)");
        }

        if (!(migrationScale >= 0) || double.IsInfinity(migrationScale))
        {
            throw new ArgumentOutOfRangeException(nameof(migrationScale), migrationScale, "migrationScale must be finite and not negative");
        }

        if (!(transmissionScale >= 0) || double.IsInfinity(transmissionScale))
        {
            throw new ArgumentOutOfRangeException(nameof(transmissionScale), transmissionScale, "transmissionScale must be finite and not negative");
        }

        Mu = mu;
        Gamma = gamma;
        MigrationScale = migrationScale;
        TransmissionScale = transmissionScale;
    }

    /// <summary>mu = 0.8, gamma = 0.9: the paper's real-trace parameters.</summary>
    public static WangCostModel Default { get; } = new();

    /// <summary>How fast the distance-dependent part saturates (the paper's powerFactor).</summary>
    public double Mu { get; }

    /// <summary>The MDP's discount factor.</summary>
    public double Gamma { get; }

    /// <summary>Multiplies the migration cost (ours; 1 in the paper).</summary>
    public double MigrationScale { get; }

    /// <summary>Multiplies the transmission cost (ours; 1 in the paper).</summary>
    public double TransmissionScale { get; }

    /// <summary>Q/R: users in the slot over the resource available, R = <paramref name="factor"/> times the largest Q (1.5 in the paper).</summary>
    public static double LoadRatio(int usersInSlot, int maxUsersInAnySlot, double factor = 1.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(usersInSlot);
        if (maxUsersInAnySlot <= 0)
        {
            return 0;
        }

        if (usersInSlot > maxUsersInAnySlot)
        {
            throw new ArgumentOutOfRangeException(nameof(usersInSlot), usersInSlot, $"users in the slot exceed the maximum ({maxUsersInAnySlot})");
        }

        if (!(factor > 1))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "R must exceed the largest Q: factor > 1");
        }

        return usersInSlot / (factor * maxUsersInAnySlot);
    }

    /// <summary>Cost of moving the service <paramref name="x"/> rings (hops) at load <paramref name="loadRatio"/> (Q/R).</summary>
    public double MigrationCost(int x, double loadRatio = 0) =>
        x <= 0 ? 0 : MigrationScale * (1 + (1 - Math.Pow(Mu, x))) / Headroom(loadRatio);

    /// <summary>Cost of serving a user <paramref name="y"/> rings (hops) away for one slot at load <paramref name="loadRatio"/>.</summary>
    public double TransmissionCost(int y, double loadRatio = 0) =>
        y <= 0 ? 0 : TransmissionScale * (1 - Math.Pow(Mu, y)) / Headroom(loadRatio);

    /// <summary>One UE's cost for one slot: the slot's migration over <paramref name="x"/>, then serving from <paramref name="y"/>.</summary>
    public double SlotCost(int x, int y, double loadRatio = 0) => MigrationCost(x, loadRatio) + TransmissionCost(y, loadRatio);

    private static double Headroom(double loadRatio)
    {
        if (!(loadRatio >= 0 && loadRatio < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(loadRatio), loadRatio, "the load ratio Q/R must be in [0, 1)");
        }

        return 1 - loadRatio;
    }
}
