using MobiScud.Control.Policies;
using Microsoft.Extensions.Hosting;

namespace MobiScud.Hosting.Adapters;

/// <summary>
/// A policy fact each silo reads from the cluster every <see cref="Every"/> and hands to every decision of its UE
/// grains (<see cref="With"/>): immutable, swapped atomically, one read at a time so that an older read never replaces
/// a newer one. Null until the first read, and when off (the policies then do without it, as before).
/// </summary>
internal abstract class PeriodicFactsWatch<T>(TimeSpan every, TimeProvider clock) : BackgroundService
    where T : class
{
    private readonly SemaphoreSlim _reading = new(1, 1);
    private T? _last;

    /// <summary>How often the fact is read; zero: never.</summary>
    public TimeSpan Every { get; } = every;

    /// <summary>The fact as last read; null until the first read (or when off).</summary>
    protected T? Last => Volatile.Read(ref _last);

    /// <summary><paramref name="facts"/> with the fact as last read (unchanged before the first read).</summary>
    public abstract PolicyFacts? With(PolicyFacts? facts);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Every <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(Every, clock);
        try
        {
            do
            {
                await RefreshAsync();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Reads the fact now (the period's read, or a test's); nothing when there is nothing to read.</summary>
    public async Task RefreshAsync()
    {
        if (!CanRead)
        {
            return;
        }

        await _reading.WaitAsync();
        try
        {
            if (await ReadAsync(Last) is { } next)
            {
                Volatile.Write(ref _last, next);
            }
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <summary>False when the cluster has nothing to read (no site graph, no scheduler).</summary>
    protected abstract bool CanRead { get; }

    /// <summary>The fact now; <paramref name="last"/> is the previous read, for parts that did not answer; null keeps the last.</summary>
    protected abstract Task<T?> ReadAsync(T? last);

    public override void Dispose()
    {
        base.Dispose();
        _reading.Dispose();
    }
}
