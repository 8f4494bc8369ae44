using System.Collections;
using MobiScud.Cloud.Simulated;

namespace MobiScud.Simulation.Engine;

/// <summary>
/// The migrations on each link now, read from the lane's migration model when the core asks (a policy fact,
/// <c>PolicyFacts.LinkMigrations</c>): a count sampled every few seconds would let a burst of moves pile onto one link.
/// </summary>
internal sealed class LiveLinkMigrations(PreCopyMigrationModel model) : IReadOnlyList<int>
{
    public int this[int index] => model.ActiveOn(index);

    public int Count => model.LinkCount;

    public IEnumerator<int> GetEnumerator()
    {
        for (var l = 0; l < model.LinkCount; l++)
        {
            yield return model.ActiveOn(l);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
