namespace MobiScud.Testbed.Infrastructure;

/// <summary>Disposes a group of resources together (e.g. one datapath-sync connection per site).</summary>
internal sealed class AsyncDisposables(IEnumerable<IAsyncDisposable> items) : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _items = [.. items];

    public async ValueTask DisposeAsync()
    {
        foreach (var item in _items)
        {
            await item.DisposeAsync();
        }
    }
}
