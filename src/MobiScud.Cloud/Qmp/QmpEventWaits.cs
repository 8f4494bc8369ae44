namespace MobiScud.Cloud.Qmp;

/// <summary>
/// The QMP event waits of one step of work. Waits registered here end with the scope: disposing it cancels those
/// still pending and awaits them all, so none outlives its step, holds a waiter slot or faults unobserved.
/// </summary>
internal sealed class QmpEventWaits(CancellationToken ct) : IAsyncDisposable
{
    private readonly CancellationTokenSource _scope = CancellationTokenSource.CreateLinkedTokenSource(ct);
    private readonly List<Task> _waits = [];

    /// <summary>Registers now (before the command that causes the event), like <see cref="QmpClient.WaitForEventAsync"/>.</summary>
    public Task<QmpEvent> Add(QmpClient qmp, string name, Func<QmpEvent, bool>? predicate, TimeSpan timeout)
    {
        var wait = qmp.WaitForEventAsync(name, predicate, timeout, _scope.Token);
        _waits.Add(wait);
        return wait;
    }

    public async ValueTask DisposeAsync()
    {
        await _scope.CancelAsync();
        await Task.WhenAll(_waits).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _scope.Dispose();
    }
}
