using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Control.Tests;

/// <summary>
/// Predictive's forecast states replace a dictionary per step: they must give the same states, in the same order, with
/// the same weights to the last bit (the sums over them run in that order), else predictive's decisions would change.
/// </summary>
public sealed class ForecastStatesTests
{
    [Fact]
    public void Accumulate_keeps_first_insertion_order_and_sums_as_a_dictionary_does()
    {
        var states = new ForecastStates(2);
        states.Accumulate((new EnbId(5), 0), 0.5);
        states.Accumulate((new EnbId(3), 1), 0.25);
        states.Accumulate((new EnbId(5), 0), 0.125);
        states.AddPositive((new EnbId(7), 0), 0);
        states.AddPositive((new EnbId(7), 0), -1);
        states.Accumulate((new EnbId(3, Rat.Nr), 1), 1);
        states.AddPositive((new EnbId(3), 2), 2);

        Assert.Equal(4, states.Count);
        Assert.Equal([((new EnbId(5), 0), 0.625), ((new EnbId(3), 1), 0.25), ((new EnbId(3, Rat.Nr), 1), 1.0), ((new EnbId(3), 2), 2.0)], Entries(states));
        Assert.Equal(3.875, states.Total());
        states.Clear();
        Assert.Equal(0, states.Count);
        states.Accumulate((new EnbId(3), 1), 4);
        Assert.Equal([((new EnbId(3), 1), 4.0)], Entries(states));
    }

    [Fact]
    public void Prune_keeps_the_heaviest_in_the_order_and_with_the_weights_of_the_dictionary_it_replaces()
    {
        var random = new Random(12);
        for (var round = 0; round < 300; round++)
        {
            var width = random.Next(1, 12);
            var states = new ForecastStates(4);
            var reference = new Dictionary<(EnbId Cell, int Extra), double>();
            for (var i = random.Next(0, 80); i > 0; i--)
            {
                // Few cells and coarse weights: many equal weights, so the tie-breaks are tested too.
                var key = (new EnbId((uint)random.Next(0, 25)), random.Next(0, 3));
                var p = random.Next(0, 4) == 0 ? 0.25 : random.NextDouble();
                states.Accumulate(key, p);
                reference[key] = reference.GetValueOrDefault(key) + p;
            }

            Assert.Equal(reference.Select(x => (x.Key, x.Value)), Entries(states));
            Assert.Equal(reference.Values.Sum(), states.Total());
            states.Prune(width);
            Assert.Equal(Pruned(reference, width).Select(x => (x.Key, x.Value)), Entries(states));

            // Still a working map after the prune: an existing key accumulates, a new one goes last.
            if (states.Count > 0)
            {
                var first = states.Key(0);
                var weight = states.Value(0);
                states.Accumulate(first, 1);
                Assert.Equal(weight + 1, states.Value(0));
                states.Accumulate((new EnbId(999), 0), 1);
                Assert.Equal((new EnbId(999), 0), states.Key(states.Count - 1));
            }
        }
    }

    // What the forecast did before (its Prune, verbatim): a sort of the dictionary and a dictionary of the kept.
    private static Dictionary<(EnbId Cell, int Extra), double> Pruned(Dictionary<(EnbId Cell, int Extra), double> d, int width)
    {
        if (d.Count <= width)
        {
            return d;
        }

        var total = d.Values.Sum();
        var kept = d.OrderByDescending(x => x.Value).ThenBy(x => x.Key.Cell.Value).ThenBy(x => x.Key.Extra).Take(width).ToList();
        var keptMass = kept.Sum(x => x.Value);
        return kept.ToDictionary(x => x.Key, x => x.Value * total / keptMass);
    }

    private static List<((EnbId Cell, int Extra) Key, double Value)> Entries(ForecastStates states) =>
        [.. Enumerable.Range(0, states.Count).Select(i => (states.Key(i), states.Value(i)))];
}
