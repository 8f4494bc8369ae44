using MobiScud.Control.Policies;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;

namespace MobiScud.Hosting.Grains;

[GenerateSerializer]
public sealed class MobilityRecord : ISnapshotState<MobilityRecord>
{
    /// <summary>Version 1's first-order rows: read when <see cref="Stats"/> is absent, emptied once it is written.</summary>
    [Id(0)]
    public List<MobilityRow> Rows { get; set; } = [];

    /// <summary>Every learned part (version 2); null in a record written before it.</summary>
    [Id(1)]
    public MobilitySnapshot? Stats { get; set; }

    public MobilityRecord Snapshot() => new() { Rows = [.. Rows], Stats = Stats };
}

/// <summary>The cluster's learned handover statistics (key <see cref="Key"/>).</summary>
public interface IMobilityGrain : IGrainWithStringKey
{
    public const string Key = "mobility";

    /// <summary>Everything learned so far.</summary>
    Task<MobilitySnapshot> Get();

    /// <summary>Folds a silo's new lessons in (<see cref="MobilityLearning.Fold"/>, in order) and persists the result.</summary>
    Task Add(MobilityLesson[] lessons);
}

/// <summary>
/// Persists what the silos learned (<see cref="MobilityLearner"/>), so a restarted service decides with the statistics
/// it had: a silo sends its new lessons every few seconds; a crash loses at most those. The grain folds the lessons with
/// the core's own fold, so the stored statistics are what the silos learned, whichever silo sent what.
/// </summary>
public sealed class MobilityGrain([PersistentState("mobility", GrainNames.Storage)] IPersistentState<MobilityRecord> store) : Grain, IMobilityGrain
{
    private MobilityStats? _stats;

    public Task<MobilitySnapshot> Get() => Task.FromResult(store.State.Stats ?? MobilityRows.ToSnapshot(Stats()));

    public async Task Add(MobilityLesson[] lessons)
    {
        var stats = Stats();
        foreach (var lesson in lessons)
        {
            stats = MobilityLearning.Fold(stats, lesson);
        }

        await store.PersistAsync(new MobilityRecord { Stats = MobilityRows.ToSnapshot(stats) }, this);
        _stats = stats;
    }

    private MobilityStats Stats() => _stats ??= MobilityRows.Load(store.State);
}
