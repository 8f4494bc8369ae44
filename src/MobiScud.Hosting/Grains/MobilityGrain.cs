using MobiScud.Control.Policies;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;

namespace MobiScud.Hosting.Grains;

[GenerateSerializer]
public sealed class MobilityRecord : ISnapshotState<MobilityRecord>
{
    [Id(0)]
    public List<MobilityRow> Rows { get; set; } = [];

    public MobilityRecord Snapshot() => new() { Rows = [.. Rows] };
}

/// <summary>The cluster's learned handover statistics, as rows (key <see cref="Key"/>).</summary>
public interface IMobilityGrain : IGrainWithStringKey
{
    public const string Key = "mobility";

    Task<MobilityRow[]> Get();

    /// <summary>Folds a silo's new observations in and persists them.</summary>
    Task Add(HandoverObservation[] observations);
}

/// <summary>
/// Persists what the silos learned (<see cref="MobilityLearner"/>), so a restarted service decides with the statistics
/// it had: a silo sends its new handovers every few seconds; a crash loses at most those.
/// </summary>
public sealed class MobilityGrain([PersistentState("mobility", GrainNames.Storage)] IPersistentState<MobilityRecord> store) : Grain, IMobilityGrain
{
    public Task<MobilityRow[]> Get() => Task.FromResult(store.State.Rows.ToArray());

    public async Task Add(HandoverObservation[] observations)
    {
        var rows = store.State.Rows.ToDictionary(r => (r.From, r.Hour, r.To));
        foreach (var o in observations)
        {
            if (o.From == o.To || o.Dwell < TimeSpan.Zero)
            {
                continue;
            }

            var key = (o.From.Value, MobilityStats.HourOf(o.At), o.To.Value);
            var row = rows.GetValueOrDefault(key) ?? new MobilityRow(key.Item1, key.Item2, key.Item3, 0, 0);
            rows[key] = row with { Count = row.Count + 1, DwellSeconds = row.DwellSeconds + o.Dwell.TotalSeconds };
        }

        await store.PersistAsync(new MobilityRecord { Rows = [.. rows.Values] }, this);
    }
}
