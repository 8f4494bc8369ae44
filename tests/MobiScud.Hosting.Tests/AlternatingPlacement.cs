using Orleans.Runtime.Placement;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// Stands in for <see cref="RandomPlacement"/> (in serve, UE grains only) where a test needs UEs on two silos for
/// certain: random placement of the handover captures' 9 UEs leaves all of them on one silo in 2 of 2^9 runs (it did
/// once). Takes the silos in turn, so any two placements by one silo land on both; waits until the placing silo sees
/// <see cref="Silos"/> silos able to host the grain (in 4 runs the tapping silo saw both from its first UE).
/// </summary>
internal sealed class AlternatingPlacement : IPlacementDirector
{
    public const int Silos = 2;

    private static readonly TimeSpan _waitForSilos = TimeSpan.FromSeconds(60);

    private int _placed = -1;

    public static void Use(ISiloBuilder silo) => silo.AddPlacementDirector<RandomPlacement, AlternatingPlacement>();

    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var deadline = DateTime.UtcNow + _waitForSilos;
        var silos = context.GetCompatibleSilos(target);
        while (silos.Length < Silos)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new OrleansException($"{target.GrainIdentity}: {silos.Length} silo(s) can host it after {_waitForSilos}, {Silos} expected");
            }

            await Task.Delay(50);
            silos = context.GetCompatibleSilos(target);
        }

        // Ordered, so that consecutive placements land on different silos whatever order the view lists them in.
        var ordered = silos.Order().ToArray();
        return ordered[Interlocked.Increment(ref _placed) % ordered.Length];
    }
}
