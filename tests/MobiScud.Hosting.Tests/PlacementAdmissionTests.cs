using MobiScud.Control;
using MobiScud.Control.Policies;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using Microsoft.Extensions.Configuration;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>Serve admits new PVMs against site capacity, with fallback, and takes the migration policy from its configuration.</summary>
public sealed class PlacementAdmissionTests
{
    [Fact]
    public async Task New_pvms_beyond_a_sites_capacity_go_to_the_next_site_with_room_and_never_exceed_it()
    {
        // site-a holds 3 and site-b 2: of 8 UEs attaching at site-a's eNB, 3 land at site-a, 2 at site-b, and the rest
        // at site-c (the next edge site by name), none at the core while an edge site has room.
        await using var serve = await StartAsync(Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Replay",
            ["MobiScud:Sites:0:Capacity"] = "3",
            ["MobiScud:Sites:1:Capacity"] = "2",
            ["MobiScud:Policy:Kind"] = "never",
            // Admission alone: with the occupancy facts a read landing mid-burst would send the MC's own asks elsewhere.
            ["MobiScud:Policy:OccupancyEvery"] = "00:00:00",
        }));
        const int ues = 8;
        for (var i = 0; i < ues; i++)
        {
            await serve.Pipeline.PostAsync(Attach(i, EnbA, Now));
        }

        await serve.Pipeline.FlushAsync();
        await Wait.Until(async () =>
        {
            for (var i = 0; i < ues; i++)
            {
                if (await serve.State(Ue(i)) is not { PvmStatus: PvmStatus.Running })
                {
                    return false;
                }
            }

            return true;
        }, "every PVM running");

        var states = new List<UeState>();
        for (var i = 0; i < ues; i++)
        {
            states.Add((await serve.State(Ue(i)))!);
        }

        Assert.Equal(3, states.Count(s => s.PvmSite == A));
        Assert.Equal(2, states.Count(s => s.PvmSite == B));
        Assert.Equal(3, states.Count(s => s.PvmSite == C));
        await Wait.Until(async () => (await serve.Grains.GetGrain<ISiteGrain>(A.Value).Get()).Ues.Length == 3, "site-a counts its 3 PVMs");
        Assert.Equal(states.Where(s => s.PvmSite == B).Select(s => s.Ue.Value).Order(StringComparer.Ordinal), (await serve.Grains.GetGrain<ISiteGrain>(B.Value).Get()).Ues);
        Assert.Equal(3, (await serve.Grains.GetGrain<ISiteGrain>(C.Value).Get()).Ues.Length);

        // never: a handover to site-b's eNB moves nothing (the policy came from the configuration).
        await serve.Pipeline.PostAsync(Switched(0, EnbB, Now + TimeSpan.FromSeconds(1)));
        await serve.Pipeline.FlushAsync();
        Assert.Null((await serve.State(Ue(0)))!.Migration);
    }

    [Fact]
    public void The_policy_section_binds_into_the_mcs_config_and_bad_values_name_their_key()
    {
        var settings = Settings(new()
        {
            ["MobiScud:Policy:Kind"] = "predictive",
            ["MobiScud:Policy:Dwell"] = "00:00:20",
            ["MobiScud:Policy:LatencyWeight"] = "0.5",

            // Parameters serve shares with a scenario's control.policy (one PolicyParameters class), new ones included.
            ["MobiScud:Policy:MinRingGain"] = "2",
            ["MobiScud:Policy:ForecastVeto"] = "false",
            ["MobiScud:Policy:DeadlineShare"] = "0.25",
            ["MobiScud:Sites:0:Capacity"] = "7",

            // Serve's own: the migration size and rate cap admission by expected completion assumes.
            ["MobiScud:Policy:MigrationBytes"] = "2.5e9",
            ["MobiScud:Policy:MigrationBytesPerSecond"] = "1e8",
        });
        var section = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(MobiScudOptions.Section);
        Assert.Empty(StrictConfiguration.Check(section, typeof(MobiScudOptions)));
        var options = section.Get<MobiScudOptions>()!;
        var config = options.ToMcConfig();
        Assert.Equal(PolicyKind.Predictive, config.Policy.Kind);
        Assert.Equal(TimeSpan.FromSeconds(20), config.Policy.Dwell);
        Assert.Equal(0.5, config.Policy.LatencyWeight);
        Assert.Equal(2, config.Policy.MinRingGain);
        Assert.False(config.Policy.ForecastVeto);
        Assert.Equal(0.25, config.Policy.DeadlineShare);
        Assert.Equal(2.5e9, config.Policy.MigrationBytes);
        Assert.Equal(1e8, config.Policy.MigrationBytesPerSecond);
        Assert.Equal(7, config.Sites!.Capacity(A));
        Assert.Null(config.Sites.Capacity(config.CoreSite));

        settings["MobiScud:Policy:Kind"] = "sometimes";
        var bad = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(MobiScudOptions.Section).Get<MobiScudOptions>()!;
        Assert.Contains(bad.Policy.Problems(), p => p.Contains("MobiScud:Policy:Kind", StringComparison.Ordinal) && p.Contains("sometimes", StringComparison.Ordinal));

        settings["MobiScud:Policy:Kind"] = "predictive";
        settings["MobiScud:Policy:MigrationBytes"] = "-1";
        bad = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(MobiScudOptions.Section).Get<MobiScudOptions>()!;
        Assert.Contains(bad.Policy.Problems(), p => p.StartsWith("MobiScud:Policy:MigrationBytes:", StringComparison.Ordinal));
        settings["MobiScud:Policy:MigrationBytes"] = "2.5e9";

        settings["MobiScud:Policy:Kind"] = "hysteresis";
        settings["MobiScud:Policy:HandoversAway"] = "0";
        bad = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(MobiScudOptions.Section).Get<MobiScudOptions>()!;
        Assert.Contains(bad.Policy.Problems(), p => p.Contains("MobiScud:Policy:HandoversAway", StringComparison.Ordinal));

        settings["MobiScud:Policy:Dwel"] = "00:00:10";
        var unknown = StrictConfiguration.Check(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(MobiScudOptions.Section), typeof(MobiScudOptions));
        Assert.Contains(unknown, e => e.Contains("MobiScud:Policy:Dwel", StringComparison.Ordinal));
    }
}
