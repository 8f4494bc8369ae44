namespace MobiScud.Control.Policies;

/// <summary>
/// The Wang cost a user's PVM would get with knowledge of the future, from the user's cell at every cost slot boundary
/// (the bound of docs/policies.md, "What bounds predictive"; `bench oracle`). <see cref="Oracle"/> knows the whole
/// future: the cheapest sequence of sites, a lower bound for every policy (no capacity, instant moves, the first
/// placement free, as the simulator's score). <see cref="Rolling"/> is an online policy that sees the user's cells
/// exactly <c>horizon</c> slots ahead (this slot and the next horizon - 1), takes the first step of the cheapest plan
/// over them, and is charged what the slot really costs: how far ahead a predictor would have to see.
/// A run of slots where the user is not attached (cell -1) ends the PVM's life; the next one starts free.
/// </summary>
public sealed class ForesightCost
{
    private readonly WangCostModel _model;
    private readonly int[,] _userRings;
    private readonly double[] _load;
    private readonly int _sites;

    // M(rings between two sites) at each slot's load, once (Math.Pow in the inner loops would dominate).
    private readonly double[][] _migration;

    /// <param name="model">The cost model.</param>
    /// <param name="siteRings">Rings between the cells the sites count as, [site, site].</param>
    /// <param name="userRings">Rings from each cell to each site, [cell, site].</param>
    /// <param name="load">Q/R of each slot.</param>
    public ForesightCost(WangCostModel model, int[,] siteRings, int[,] userRings, double[] load)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(siteRings);
        ArgumentNullException.ThrowIfNull(userRings);
        ArgumentNullException.ThrowIfNull(load);
        _sites = siteRings.GetLength(0);
        if (_sites == 0 || siteRings.GetLength(1) != _sites || userRings.GetLength(1) != _sites)
        {
            throw new ArgumentException($"siteRings must be square and userRings must have a column per site ({siteRings.GetLength(0)}x{siteRings.GetLength(1)}, {userRings.GetLength(0)}x{userRings.GetLength(1)})", nameof(siteRings));
        }

        (_model, _userRings, _load) = (model, userRings, load);
        _migration = new double[load.Length][];
        for (var t = 0; t < load.Length; t++)
        {
            _migration[t] = new double[_sites * _sites];
            for (var a = 0; a < _sites; a++)
            {
                for (var b = 0; b < _sites; b++)
                {
                    _migration[t][(a * _sites) + b] = model.MigrationCost(siteRings[a, b], load[t]);
                }
            }
        }
    }

    /// <summary>The cheapest total cost of one user's slots (<paramref name="cells"/>: its cell per slot, -1: not attached) and the moves it makes.</summary>
    public (double Cost, int Moves) Oracle(ReadOnlySpan<int> cells)
    {
        var (cost, moves, _) = OracleParts(cells);
        return (cost, moves);
    }

    /// <summary><see cref="Oracle"/> with the migration part of its cost (the rest is transmission).</summary>
    public (double Cost, int Moves, double Migration) OracleParts(ReadOnlySpan<int> cells)
    {
        Check(cells);
        double migration = 0;
        var value = new double[_sites];
        var next = new double[_sites];
        var from = new int[cells.Length, _sites];
        double total = 0;
        var moves = 0;
        var start = -1;
        for (var t = 0; t <= cells.Length; t++)
        {
            var cell = t < cells.Length ? cells[t] : -1;
            if (cell >= 0)
            {
                for (var s = 0; s < _sites; s++)
                {
                    var best = 0.0;
                    if (start >= 0)
                    {
                        // Cheapest way to be at s in slot t: from p in slot t-1, moving (free if p == s).
                        var m = _migration[t];
                        best = value[s];
                        var arg = s;
                        for (var p = 0; p < _sites; p++)
                        {
                            var c = value[p] + m[(p * _sites) + s];
                            if (c < best)
                            {
                                (best, arg) = (c, p);
                            }
                        }

                        from[t, s] = arg;
                    }

                    next[s] = best + _model.TransmissionCost(_userRings[cell, s], _load[t]);
                }

                (value, next) = (next, value);
                start = start < 0 ? t : start;
            }
            else if (start >= 0)
            {
                // The run start..t-1 ends: its cheapest end site, and back along the choices for the moves.
                var end = 0;
                for (var s = 1; s < _sites; s++)
                {
                    end = value[s] < value[end] ? s : end;
                }

                total += value[end];
                for (var k = t - 1; k > start; k--)
                {
                    var previous = from[k, end];
                    moves += previous != end ? 1 : 0;
                    migration += _migration[k][(previous * _sites) + end];
                    end = previous;
                }

                start = -1;
            }
        }

        return (total, moves, migration);
    }

    /// <summary>One user's cost under the rolling policy that sees <paramref name="horizon"/> slots ahead; staying wins ties.</summary>
    public (double Cost, int Moves) Rolling(ReadOnlySpan<int> cells, int horizon)
    {
        Check(cells);
        ArgumentOutOfRangeException.ThrowIfLessThan(horizon, 1);
        var w = new double[_sites];
        var w2 = new double[_sites];
        double total = 0;
        var moves = 0;
        var here = -1;
        for (var t = 0; t < cells.Length; t++)
        {
            if (cells[t] < 0)
            {
                here = -1;
                continue;
            }

            // The slots it sees: t..last, while attached. Backward: w[s] = cheapest cost from slot j on, at s in slot j.
            var last = t;
            while (last + 1 < cells.Length && last + 1 < t + horizon && cells[last + 1] >= 0)
            {
                last++;
            }

            for (var s = 0; s < _sites; s++)
            {
                w[s] = _model.TransmissionCost(_userRings[cells[last], s], _load[last]);
            }

            for (var j = last - 1; j >= t; j--)
            {
                var m = _migration[j + 1];
                for (var s = 0; s < _sites; s++)
                {
                    var best = w[s];
                    for (var p = 0; p < _sites; p++)
                    {
                        best = Math.Min(best, m[(s * _sites) + p] + w[p]);
                    }

                    w2[s] = _model.TransmissionCost(_userRings[cells[j], s], _load[j]) + best;
                }

                (w, w2) = (w2, w);
            }

            var choice = here >= 0 ? here : 0;
            var choiceCost = w[choice];
            for (var s = 0; s < _sites; s++)
            {
                var c = w[s] + (here >= 0 ? _migration[t][(here * _sites) + s] : 0);
                if (c < choiceCost - 1e-12)
                {
                    (choice, choiceCost) = (s, c);
                }
            }

            total += _model.TransmissionCost(_userRings[cells[t], choice], _load[t]) + (here >= 0 ? _migration[t][(here * _sites) + choice] : 0);
            moves += here >= 0 && choice != here ? 1 : 0;
            here = choice;
        }

        return (total, moves);
    }

    private void Check(ReadOnlySpan<int> cells)
    {
        if (cells.Length > _load.Length)
        {
            throw new ArgumentException($"{cells.Length} slots of cells but the load of only {_load.Length}", nameof(cells));
        }

        foreach (var cell in cells)
        {
            if (cell >= _userRings.GetLength(0))
            {
                throw new ArgumentOutOfRangeException(nameof(cells), cell, $"cell index beyond the {_userRings.GetLength(0)} cells of userRings");
            }
        }
    }
}
