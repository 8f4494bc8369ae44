using MobiScud.Control.Policies;

namespace MobiScud.Hosting.Config;

/// <summary>
/// `MobiScud:Policy`: the migration policy serve's MC decides with (docs/policies.md), the same parameters as a scenario's
/// `control.policy`. Under Strategy MobiScud only.
/// </summary>
public sealed class PolicyServeOptions
{
    /// <summary>always, never, myopic, hysteresis, mdp-threshold or predictive.</summary>
    public string Kind { get; set; } = "always";

    public TimeSpan Dwell { get; set; } = TimeSpan.FromSeconds(30);

    public int HandoversAway { get; set; } = 3;

    public int MaxDistance { get; set; } = 20;

    public double MoveProbability { get; set; } = 0.3;

    public bool Learn { get; set; } = true;

    public TimeSpan PriorDwell { get; set; } = TimeSpan.FromSeconds(120);

    public int MinDepartures { get; set; } = 5;

    public TimeSpan ReviewAfter { get; set; } = TimeSpan.FromSeconds(30);

    public double LinkLoadWeight { get; set; } = 1;

    public double LatencyWeight { get; set; } = PolicyConfig.Default.LatencyWeight;

    public bool PreCopyOnPrepare { get; set; } = true;

    /// <summary>Slot of the cost model (Wang et al.: 60 s).</summary>
    public TimeSpan Slot { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Wang et al.'s mu.</summary>
    public double Mu { get; set; } = 0.8;

    public double MigrationScale { get; set; } = 1;

    public double TransmissionScale { get; set; } = 1;

    /// <summary>One-way delay between two edge sites (and a site and the core) of the site graph serve builds: a full mesh, as the sites list no links.</summary>
    public double InterSiteDelayMs { get; set; } = 1;

    /// <summary>The core's PolicyConfig; throws ArgumentException naming the key for a value out of range.</summary>
    public PolicyConfig ToPolicyConfig()
    {
        const string p = MobiScudOptions.Section + ":Policy";
        try
        {
            return new PolicyConfig
            {
                Kind = PolicyConfig.Parse(Kind),
                Cost = new WangCostModel(Mu, 0.9, MigrationScale, TransmissionScale),
                Slot = Slot,
                Dwell = Dwell,
                HandoversAway = HandoversAway,
                MaxDistance = MaxDistance,
                MoveProbability = MoveProbability,
                Learn = Learn,
                PriorDwell = PriorDwell,
                MinDepartures = MinDepartures,
                ReviewAfter = ReviewAfter,
                LinkLoadWeight = LinkLoadWeight,
                LatencyWeight = LatencyWeight,
                PreCopyOnPrepare = PreCopyOnPrepare,
            };
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
    }
}
