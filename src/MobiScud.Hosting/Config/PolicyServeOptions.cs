using MobiScud.Control.Policies;

namespace MobiScud.Hosting.Config;

/// <summary>
/// `MobiScud:Policy`: the migration policy serve's MC decides with (docs/policies.md): the parameters a scenario's
/// `control.policy` has (<see cref="PolicyParameters"/>), plus the cost model and site graph serve has no scenario for.
/// Under Strategy MobiScud only.
/// </summary>
public sealed class PolicyServeOptions : PolicyParameters
{
    /// <summary>Slot of the cost model (Wang et al.: 60 s).</summary>
    public TimeSpan Slot { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Wang et al.'s mu.</summary>
    public double Mu { get; set; } = 0.8;

    /// <summary>One-way delay between two edge sites (and a site and the core) of the site graph serve builds: a full mesh, as the sites list no links.</summary>
    public double InterSiteDelayMs { get; set; } = 1;

    /// <summary>
    /// How often each silo reads the site grains' admitted counts for <see cref="PolicyFacts.SiteOccupancy"/>, so that the
    /// policies choose a site with room (SiteOccupancyWatch), and, with a Backhaul budget, the scheduler's migrations per
    /// link for <see cref="PolicyFacts.LinkMigrations"/> (LinkMigrationsWatch); zero: never (the policies believe every
    /// site has room and every link is free; admission and the scheduler alone refuse).
    /// </summary>
    public TimeSpan OccupancyEvery { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Bytes one migration moves, as admission by expected completion assumes (<see cref="PolicyConfig.MigrationBytes"/>;
    /// the simulator sets the PVM's memory plus its writable working set); 0: unknown, no admission, and the migrations
    /// per link (<see cref="PolicyFacts.LinkMigrations"/>) weigh in no decision.
    /// </summary>
    public double MigrationBytes { get; set; }

    /// <summary>The rate cap of one migration in bytes per second (<see cref="PolicyConfig.MigrationBytesPerSecond"/>, QEMU max-bandwidth); 0: only the links limit it.</summary>
    public double MigrationBytesPerSecond { get; set; }

    /// <summary>The core's PolicyConfig; throws ArgumentException naming the key for a value out of range.</summary>
    public PolicyConfig ToPolicyConfig()
    {
        const string p = MobiScudOptions.Section + ":Policy";
        try
        {
            return ToPolicyConfig(PolicyConfig.Parse(Kind), Mu, Slot, MigrationBytes, MigrationBytesPerSecond);
        }
        catch (ArgumentException e)
        {
            var name = e is ArgumentOutOfRangeException { ParamName: { } param } ? param : nameof(Kind);
            throw new ArgumentException($"{p}:{char.ToUpperInvariant(name[0])}{name[1..]}: {e.Message.Split(" (Parameter", 2)[0]}", e);
        }
    }

    /// <summary>Configuration errors, each naming its key (empty when the options are valid).</summary>
    public IEnumerable<string> Problems()
    {
        string? problem = null;
        try
        {
            _ = ToPolicyConfig();
        }
        catch (ArgumentException e)
        {
            problem = e.Message;
        }

        if (problem is not null)
        {
            yield return problem;
        }

        if (!(InterSiteDelayMs >= 0) || double.IsInfinity(InterSiteDelayMs))
        {
            yield return $"{MobiScudOptions.Section}:Policy:InterSiteDelayMs must be finite and not negative (was {InterSiteDelayMs})";
        }

        if (OccupancyEvery < TimeSpan.Zero)
        {
            yield return $"{MobiScudOptions.Section}:Policy:OccupancyEvery must not be negative (was {OccupancyEvery})";
        }
    }
}
