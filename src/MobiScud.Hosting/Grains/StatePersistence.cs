namespace MobiScud.Hosting.Grains;

/// <summary>
/// Persist, then acknowledge: a grain changes a copy of its state and makes it current only once storage has it. A
/// failed write leaves the last persisted state in place and ends the activation, so that the next one reads storage
/// (the write may have landed although it threw, and then this activation's ETag is stale).
/// </summary>
internal static class StatePersistence
{
    public static async Task PersistAsync<T>(this IPersistentState<T> store, T next, Grain grain)
    {
        var last = store.State;
        store.State = next;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo failure;
        try
        {
            await store.WriteStateAsync();
            return;
        }
        catch (Exception e)
        {
            failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
        }

        // Storage wiped under this activation: what it knows is the best there is, written afresh.
        if (failure.SourceException is Orleans.Storage.InconsistentStateException && await LostRecordAsync(store, next))
        {
            return;
        }

        store.State = last;
        grain.DeactivateOnIdle();
        failure.Throw();
    }

    /// <summary>
    /// Whether the record this activation wrote before is gone (storage wiped or flushed); if so, writes
    /// <paramref name="next"/> as a new record. A record that exists was written by someone else: a real conflict.
    /// </summary>
    private static async Task<bool> LostRecordAsync<T>(IPersistentState<T> store, T next)
    {
        try
        {
            await store.ReadStateAsync();
            if (store.RecordExists)
            {
                return false;
            }

            store.State = next;
            await store.WriteStateAsync();
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>
    /// After storage came back wiped, writes what this activation holds: reading drops the stale ETag (a write with it
    /// would be refused), then the held state goes back. Storage that has a record is left alone: it is the truth.
    /// </summary>
    public static async Task<bool> RepersistAsync<T>(this IPersistentState<T> store, Grain grain)
    {
        var held = store.State;
        await store.ReadStateAsync();
        if (store.RecordExists)
        {
            return false;
        }

        await store.PersistAsync(held, grain);
        return true;
    }
}
