namespace MobiScud.Cloud.Simulated;

/// <summary>
/// What one pre-copy live migration moves and how the guest behaves meanwhile (Clark et al., NSDI'05; QEMU's
/// RAM migration). Rates are bytes per second.
/// </summary>
/// <param name="MemoryBytes">Guest RAM, all of it sent in the first round.</param>
/// <param name="DirtyRate">Rate at which the running guest dirties memory.</param>
/// <param name="WritableWorkingSet">Upper bound of the dirty set: pages rewritten over and over count once.</param>
/// <param name="DowntimeLimit">Stop-and-copy starts once the remainder can be sent within this (QEMU downtime-limit).</param>
/// <param name="MaxRounds">Iteration cap: after this many pre-copy rounds stop-and-copy happens anyway.</param>
/// <param name="MaxBandwidth">Per-migration cap (QEMU max-bandwidth); the link share is min(cap, link/n).</param>
/// <param name="Switchover">Fixed pause to hand the device state over and resume at the destination.</param>
public sealed record PreCopyParameters(
    long MemoryBytes,
    double DirtyRate,
    long WritableWorkingSet,
    TimeSpan DowntimeLimit,
    int MaxRounds,
    double MaxBandwidth,
    TimeSpan Switchover)
{
    public void Validate()
    {
        if (MemoryBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryBytes), MemoryBytes, "guest memory must be positive");
        }

        if (DirtyRate < 0 || double.IsNaN(DirtyRate))
        {
            throw new ArgumentOutOfRangeException(nameof(DirtyRate), DirtyRate, "dirty rate must be >= 0");
        }

        if (WritableWorkingSet < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(WritableWorkingSet), WritableWorkingSet, "writable working set must be >= 0");
        }

        if (DowntimeLimit < TimeSpan.Zero || Switchover < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DowntimeLimit), "downtime limit and switchover must be >= 0");
        }

        if (MaxRounds < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRounds), MaxRounds, "at least one pre-copy round");
        }

        if (!(MaxBandwidth > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBandwidth), MaxBandwidth, "bandwidth cap must be positive");
        }
    }
}

public enum PreCopyPhase
{
    PreCopy,
    StopAndCopy,
    Done,
    Cancelled,
}

/// <summary>What a finished migration reports. Rounds counts pre-copy rounds (the first full copy included).</summary>
public readonly record struct PreCopyResult(TimeSpan TotalTime, TimeSpan Downtime, long BytesSent, int Rounds, TimeSpan CompletesAt);

/// <summary>One migration in flight on a path of links.</summary>
public sealed class PreCopyMigration
{
    internal PreCopyMigration(long id, int[] path, PreCopyParameters parameters, object? tag, TimeSpan startedAt)
    {
        Id = id;
        Links = path;
        Parameters = parameters;
        Tag = tag;
        StartedAt = startedAt;
    }

    public long Id { get; }

    /// <summary>The first link of the path (the only one for a direct link).</summary>
    public int Link => Links[0];

    /// <summary>The links the migration's bytes cross; it progresses at the share of the most loaded one.</summary>
    public IReadOnlyList<int> Path => Links;

    // The array itself: the hot loops iterate it without an interface enumerator.
    internal readonly int[] Links;

    public PreCopyParameters Parameters { get; }

    /// <summary>The caller's handle (e.g. which UE's PVM this is).</summary>
    public object? Tag { get; }

    public TimeSpan StartedAt { get; }

    public PreCopyPhase Phase { get; internal set; }

    /// <summary>Pre-copy rounds started so far (1 during the first full copy).</summary>
    public int Round { get; internal set; } = 1;

    /// <summary>Bytes put on the wire so far; after a cancel, what the cancelled attempt cost.</summary>
    public double BytesSent => Model is { } model ? model.BytesSentOf(Slot) : _finalBytesSent;

    /// <summary>When the guest was paused for stop-and-copy (valid in StopAndCopy and Done).</summary>
    public TimeSpan PausedAt { get; internal set; }

    /// <summary>Bytes still to send in the current round (the dashboard's progress bar; as of the last update or Flush).</summary>
    public double BytesRemaining => Model is { } model ? model.RemainingOf(Slot) : _finalRemaining;

    /// <summary>The bandwidth it gets now (bytes/s), for an expected downtime as QEMU computes it: remaining / bandwidth.</summary>
    public double CurrentRate => Model is { } model ? model.ShareOf(Slot) : _finalShare;

    internal double RoundStart;

    // While on the wire the hot numbers live in the model's slot (Slot); once over, they are copied here.
    internal PreCopyMigrationModel? Model;
    internal int Slot = -1;
    private double _finalBytesSent;
    private double _finalRemaining;
    private double _finalShare;

    internal void Detach(double bytesSent, double remaining, double share)
    {
        _finalBytesSent = bytesSent;
        _finalRemaining = remaining;
        _finalShare = share;
        Model = null;
        Slot = -1;
    }
}

/// <summary>
/// The numbers of one migration on the wire that every change on its links reads and writes, kept in one array of the
/// model (not in the migration objects): a link with hundreds of migrations walks contiguous memory instead of
/// hundreds of objects scattered over the heap (each a cache miss; 20% of a 100k-UE run's samples before).
/// </summary>
internal struct MigrationHot
{
    // A routed migration (several links): its own progress, advanced at every change on any of its links.
    public double Remaining;
    public double BytesSent;
    public double Share;
    public double LastUpdate;
    public double MaxBandwidth;

    /// <summary>Its path is one link (the mesh): its progress is read from that link's clock (below), not kept here.</summary>
    public bool Direct;

    // A direct migration: every migration of its class on the link sends at the same rate, so the bytes each has sent
    // since it started are the class's virtual clock minus the clock when it started; the round is sent when the clock
    // reaches Finish. A change costs O(log n) in the class's heap of finish times instead of O(n).
    public int Link;
    public int Class;
    public int HeapIndex;
    public double Finish;
    public double RoundBytes;
    public double SentBefore;
    public long Order;
}

/// <summary>The clock side of the model: it asks to be woken, and it reports finished migrations.</summary>
public interface IPreCopyHost
{
    /// <summary>Call <see cref="PreCopyMigrationModel.OnWake"/> at this time with this link and version.</summary>
    void WakeAt(TimeSpan at, int link, long version);

    /// <summary>The migration's last byte is sent; the guest runs at the destination at result.CompletesAt.</summary>
    void Finished(PreCopyMigration migration, PreCopyResult result);
}
