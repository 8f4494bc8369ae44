using System.Net;
using MobiScud.Control.Model;
using Microsoft.Extensions.Logging;

namespace MobiScud.Cloud.Qemu;

/// <summary>What a migration (and the adoption of PVMs a previous process left) needs from the hypervisor.</summary>
internal interface IQemuHost
{
    PvmTable Table { get; }

    QemuManifestStore Manifests { get; }

    TimeProvider Time { get; }

    ILogger Logger { get; }

    /// <summary>The MC's clock, stamped on events.</summary>
    TimeSpan Now { get; }

    TimeSpan MigrationTimeout { get; }

    /// <summary>Cancelled when the hypervisor shuts down.</summary>
    CancellationToken Shutdown { get; }

    Task<QemuInstance> StartInstanceAsync(PvmId pvm, SiteId site, bool incoming, CancellationToken ct, string? sharedDisk, IPAddress? dataAddress);

    /// <summary>Gives back an instance's ports (before or after it is stopped).</summary>
    void Release(QemuInstance instance);

    /// <summary>Reports <paramref name="instance"/> exiting while it runs <paramref name="entry"/> as a crash.</summary>
    void Supervise(PvmEntry entry, QemuInstance instance);

    void Emit(ControlEvent e);

    void Report(QemuMigrationReport report);

    void StaleMirrorTargetRemoved();
}
