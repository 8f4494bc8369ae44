using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobiScud.Cloud.Qemu;

/// <summary>What a QEMU instance is for: the PVM's live instance, or the destination of a migration in flight.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<QemuInstanceRole>))]
public enum QemuInstanceRole
{
    Active,
    Destination,
}

/// <summary>The data NIC of an instance, as written in its manifest.</summary>
public sealed record QemuManifestNic(string Tap, string Address, string Mac, string Bridge, string? Namespace);

/// <summary>
/// manifest.json in a detached QEMU instance's directory: everything a later process needs to reattach to it (see
/// <see cref="QemuHypervisor.AdoptAsync"/>). Written atomically (temp file + rename) whenever it changes.
/// </summary>
public sealed record QemuManifest
{
    public const string FileName = "manifest.json";
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string Ue { get; init; }

    public required string Pvm { get; init; }

    public required string Site { get; init; }

    public required QemuInstanceRole Role { get; init; }

    /// <summary>Running or Suspended: what the MC last asked of the PVM (a `cont` after a rolled-back migration honours it).</summary>
    public required PvmState State { get; init; }

    public required int Pid { get; init; }

    /// <summary>The instance directory (its full path appears on QEMU's command line, which is how the pid is checked).</summary>
    public required string Directory { get; init; }

    public required string QmpSocket { get; init; }

    public required QemuPorts Ports { get; init; }

    public required string DiskPath { get; init; }

    public required int MemoryMiB { get; init; }

    public required int DiskMiB { get; init; }

    public int DirtyMiB { get; init; }

    /// <summary>The PVM's data-plane address (null without a data network).</summary>
    public string? Address { get; init; }

    public QemuManifestNic? DataNic { get; init; }

    /// <summary>The migration in flight (sequence of its <see cref="Control.Model.MigrationId"/>), on the source and on the destination.</summary>
    public int? MigrationSequence { get; init; }

    public string? MigrationFrom { get; init; }

    public string? MigrationTo { get; init; }

    /// <summary>The source's mirror job and its NBD target node, to cancel them when the migration is rolled back.</summary>
    public string? MirrorJob { get; init; }

    public string? MirrorNode { get; init; }

    public DateTimeOffset WrittenAt { get; init; }

    private static readonly JsonSerializerOptions _json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string PathIn(string directory) => System.IO.Path.Combine(directory, FileName);

    /// <summary>Writes the manifest into <see cref="Directory"/>: a temp file, flushed, then renamed over the old one.</summary>
    public void Write()
    {
        var path = PathIn(Directory);
        // Its own temp name: two writers (a suspend racing a resume) never share one; the last rename wins whole.
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(f, this with { WrittenAt = TimeProvider.System.GetUtcNow() }, _json);
            f.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads and checks a manifest; on failure <paramref name="error"/> says what is wrong (never throws for bad content).</summary>
    public static QemuManifest? TryRead(string path, out string? error)
    {
        error = null;
        QemuManifest? m;
        try
        {
            m = JsonSerializer.Deserialize<QemuManifest>(File.ReadAllBytes(path), _json);
        }
        catch (JsonException e)
        {
            error = $"not a QEMU instance manifest: {e.Message}";
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read: {e.Message}";
            return null;
        }

        if (m is null)
        {
            error = "empty manifest (null)";
            return null;
        }

        error = m.Version != CurrentVersion ? $"manifest version {m.Version}, this build reads {CurrentVersion}"
            : m.Pid <= 0 ? $"pid {m.Pid} is not a process id"
            : string.IsNullOrWhiteSpace(m.Ue) || string.IsNullOrWhiteSpace(m.Pvm) || string.IsNullOrWhiteSpace(m.Site) ? "ue, pvm and site must be given"
            : m.Ports is null || m.Ports.Echo <= 0 ? "ports missing"
            : string.IsNullOrWhiteSpace(m.QmpSocket) || string.IsNullOrWhiteSpace(m.DiskPath) ? "qmpSocket and diskPath must be given"
            : m.Role == QemuInstanceRole.Destination && m.MigrationSequence is null ? "a destination names no migration"
            : m.MemoryMiB <= 0 ? $"memoryMiB {m.MemoryMiB}"
            : null;
        return error is null ? m : null;
    }
}
