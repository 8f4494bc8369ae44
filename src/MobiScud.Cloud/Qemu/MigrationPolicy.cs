namespace MobiScud.Cloud.Qemu;

/// <summary>
/// How a live migration is tuned (QEMU migrate-set-parameters / migrate-set-capabilities). Null means "leave
/// QEMU's default" (7.2: 128 MiB/s, 300 ms downtime limit, no compression).
/// </summary>
public sealed record MigrationPolicy
{
    /// <summary>max-bandwidth, bytes per second.</summary>
    public long? MaxBandwidthBytesPerSecond { get; init; }

    /// <summary>downtime-limit: the stop-and-copy phase starts once the remaining dirty memory fits in it.</summary>
    public TimeSpan? DowntimeLimit { get; init; }

    /// <summary>Throttle the guest's vCPU when it dirties memory faster than it can be sent.</summary>
    public bool AutoConverge { get; init; }

    /// <summary>Send deltas of re-dirtied pages (XBZRLE) instead of whole pages.</summary>
    public bool Xbzrle { get; init; }

    public long? XbzrleCacheBytes { get; init; }

    /// <summary>Parallel migration channels (multifd); 0 = off.</summary>
    public int MultifdChannels { get; init; }

    /// <summary>"none", "zlib" or "zstd" (needs <see cref="MultifdChannels"/> &gt; 0).</summary>
    public string? MultifdCompression { get; init; }

    /// <summary>Mirror the PVM's disk to the destination over NBD before moving memory.</summary>
    public bool MirrorDisk { get; init; } = true;

    /// <summary>QEMU's own defaults: the baseline every tuned setting is compared with.</summary>
    public static MigrationPolicy QemuDefaults { get; } = new();

    /// <summary>
    /// The best settings found on this machine (TCG, loopback): no artificial bandwidth cap (the sender's CPU is
    /// the limit) and a downtime limit that an idle guest's final dirty set fits into. See docs/cloud.md.
    /// </summary>
    public static MigrationPolicy Tuned { get; } = new()
    {
        MaxBandwidthBytesPerSecond = 10L * 1024 * 1024 * 1024,
        DowntimeLimit = TimeSpan.FromMilliseconds(30),
    };

    public override string ToString() =>
        $"bw={(MaxBandwidthBytesPerSecond is { } b ? $"{b / (1024 * 1024)}MiB/s" : "default")} " +
        $"downtime={(DowntimeLimit is { } d ? $"{d.TotalMilliseconds}ms" : "default")}" +
        (AutoConverge ? " auto-converge" : "") + (Xbzrle ? " xbzrle" : "") +
        (MultifdChannels > 0 ? $" multifd={MultifdChannels}/{MultifdCompression ?? "none"}" : "") +
        (MirrorDisk ? " mirror" : " no-mirror");
}

/// <summary>Size of one PVM.</summary>
/// <param name="MemoryMiB">Guest RAM; Debian's kernel needs at least 96.</param>
/// <param name="DiskMiB">The user's persistent disk (raw, sparse).</param>
/// <param name="DirtyMiB">Memory the guest keeps rewriting (0 = idle).</param>
public sealed record PvmSpec(int MemoryMiB = 128, int DiskMiB = 32, int DirtyMiB = 0)
{
    /// <summary>Pins the PVM's data-plane address (must be in the pool of <see cref="QemuHypervisorOptions.DataNetwork"/>);
    /// null: the hypervisor picks the lowest free one.</summary>
    public System.Net.IPAddress? DataAddress { get; init; }
}

/// <summary>One edge site on this machine: a directory for its PVMs and a range of loopback ports.</summary>
public sealed record QemuSite(Control.Model.SiteId Id, string Directory, int FirstPort, int PortCount)
{
    /// <summary>The bridge the site's PVM data NICs (taps) are plugged into; required when the hypervisor has a
    /// <see cref="QemuHypervisorOptions.DataNetwork"/>, not allowed without one.</summary>
    public QemuDataBridge? DataBridge { get; init; }
}
