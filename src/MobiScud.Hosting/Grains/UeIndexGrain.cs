namespace MobiScud.Hosting.Grains;

[GenerateSerializer]
public sealed class UeIndexRecord
{
    [Id(0)]
    public HashSet<string> Ues { get; set; } = [];
}

public sealed class UeIndexGrain([PersistentState("index", GrainNames.Storage)] IPersistentState<UeIndexRecord> store) : Grain, IUeIndexGrain
{
    public async Task Add(string ue)
    {
        if (!store.State.Ues.Contains(ue))
        {
            await store.PersistAsync(new UeIndexRecord { Ues = [.. store.State.Ues, ue] }, this);
        }
    }

    public Task<bool> Contains(string ue) => Task.FromResult(store.State.Ues.Contains(ue));

    public Task<string[]> List() => Task.FromResult(store.State.Ues.ToArray());

    public Task<bool> Repersist() => store.State.Ues.Count == 0 ? Task.FromResult(false) : store.RepersistAsync(this);
}
