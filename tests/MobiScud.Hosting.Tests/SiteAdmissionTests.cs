using MobiScud.Control;
using MobiScud.Hosting.Grains;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

public sealed class SiteAdmissionTests
{
    [Fact]
    public async Task Migrations_into_a_full_site_are_refused_and_batched_membership_counts_each_pvm_once()
    {
        // No VMs: PVMs start at once and migrations stay in flight, so the arriving PVMs keep their places at site-b.
        await using var serve = await StartAsync(Settings(new()
        {
            ["MobiScud:Hypervisor:Kind"] = "Replay",
            ["MobiScud:Sites:1:Capacity"] = "3",
            // Admission alone: with the occupancy facts a read landing mid-burst would keep the MC from asking.
            ["MobiScud:Policy:OccupancyEvery"] = "00:00:00",
        }));
        const int ues = 8;
        for (var i = 0; i < ues; i++)
        {
            await serve.Pipeline.PostAsync(Attach(i, EnbA, Now));
        }

        await serve.Pipeline.FlushAsync();
        for (var i = 0; i < ues; i++)
        {
            await serve.Pipeline.PostAsync(Switched(i, EnbB, Now));
        }

        await serve.Pipeline.FlushAsync();
        await Wait.Until(async () =>
        {
            // Settled: each UE is either admitted (migrating to site-b and counted there) or refused (its MigrationFailed,
            // posted back through the pipeline, applied: no migration, back-off set). A UE still waiting for its refusal
            // also shows a migration to site-b, so the membership is what tells them apart.
            var members = (await serve.Grains.GetGrain<ISiteGrain>(B.Value).Get()).Ues;
            for (var i = 0; i < ues; i++)
            {
                var s = await serve.State(Ue(i));
                var admitted = s?.Migration?.To == B && members.Contains(s.Ue.Value);
                var refused = s is { Migration: null } && s.MigrationBlockedUntil != TimeSpan.Zero;
                if (!admitted && !refused)
                {
                    return false;
                }
            }

            return true;
        }, "every UE migrating to site-b or refused");

        var states = new List<UeState>();
        for (var i = 0; i < ues; i++)
        {
            states.Add((await serve.State(Ue(i)))!);
        }

        Assert.Equal(3, states.Count(s => s.Migration?.To == B));
        Assert.Equal(ues - 3, states.Count(s => s.Migration is null && s.PvmSite == A));
        await Wait.Until(async () => (await serve.Grains.GetGrain<ISiteGrain>(A.Value).Get()).Ues.Length == ues, "site-a counts every PVM (held there)");
        var b = await serve.Grains.GetGrain<ISiteGrain>(B.Value).Get();
        Assert.Equal(states.Where(s => s.Migration?.To == B).Select(s => s.Ue.Value).Order(StringComparer.Ordinal), b.Ues);
    }
}
