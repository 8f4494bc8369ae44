using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace MobiScud.Hosting.Config;

/// <summary>A state that can snapshot itself without a serializer round-trip (its parts are immutable or copied by hand).</summary>
public interface ISnapshotState<out T>
{
    T Snapshot();
}

/// <summary>
/// Where the in-process storage keeps its snapshots. One per service; silos of one process may share it (the bench's
/// two silos), as they would share a database.
/// </summary>
public sealed class InProcessStateStore
{
    internal ConcurrentDictionary<(string State, GrainId Grain), (object Value, string ETag)> Entries { get; } = new();

    private long _etag;

    internal string NextETag() => Interlocked.Increment(ref _etag).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The `Memory` storage kind: a snapshot of the state in a dictionary of this process. Orleans' memory storage sends
/// every write as a message to one of a few storage grains (which queue all UEs behind each other) and deep-copies
/// the state through the JSON codec of the contract; here a UE record snapshots itself (its MC state is immutable)
/// and the write completes before the grain executes commands, as with any storage. ETags are checked like a
/// database would, so two activations of one grain cannot both write.
/// </summary>
internal sealed class InProcessGrainStorage(InProcessStateStore store, DeepCopier copier) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (store.Entries.TryGetValue((stateName, grainId), out var entry))
        {
            grainState.State = Copy((T)entry.Value);
            grainState.ETag = entry.ETag;
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        var etag = store.NextETag();
        var value = (object)Copy(grainState.State)!;
        var expected = grainState.ETag;
        var update = (value, etag);
        // A compare-and-swap loop rather than AddOrUpdate with lambdas: no closure per write.
        while (true)
        {
            if (store.Entries.TryGetValue(key, out var old))
            {
                if (old.ETag != expected)
                {
                    throw Inconsistent(stateName, grainId, old.ETag, expected);
                }

                if (store.Entries.TryUpdate(key, update, old))
                {
                    break;
                }
            }
            else if (expected is not null)
            {
                throw Inconsistent(stateName, grainId, "none", expected);
            }
            else if (store.Entries.TryAdd(key, update))
            {
                break;
            }
        }

        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        store.Entries.TryRemove((stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private T Copy<T>(T value) => value is ISnapshotState<T> s ? s.Snapshot() : copier.Copy(value)!;

    private static InconsistentStateException Inconsistent(string state, GrainId grain, string stored, string? current) =>
        new($"state '{state}' of {grain} was written by another activation (stored ETag {stored}, this activation's {current ?? "none"})", stored, current ?? "none");
}
