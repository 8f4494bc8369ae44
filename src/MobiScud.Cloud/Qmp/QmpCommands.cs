using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobiScud.Cloud.Qmp;

/// <summary>
/// A QMP command as a record: its public properties are the "arguments" object (QAPI member names given by
/// <see cref="JsonPropertyNameAttribute"/>), and <see cref="Read"/> turns the "return" value into
/// <typeparamref name="TResult"/>. Call sites name no command strings and build no JSON of their own.
/// </summary>
/// <param name="Name">QEMU's name for the command (not serialized).</param>
internal abstract record QmpCommand<TResult>([property: JsonIgnore] string Name)
{
    /// <summary>The "arguments" object: the record itself, or null for a command that takes none.</summary>
    internal virtual object? Arguments => this;

    /// <summary>The "return" value as <typeparamref name="TResult"/>'s schema reads it.</summary>
    internal virtual TResult Read(JsonElement value) => QmpCommandExtensions.Deserialize<TResult>(value, Name);
}

/// <summary>A command whose "return" is an empty object.</summary>
internal abstract record QmpVoidCommand(string Name) : QmpCommand<QmpDone>(Name)
{
    internal override QmpDone Read(JsonElement value) => default;
}

/// <summary>What a command without a result returns.</summary>
internal readonly record struct QmpDone;

/// <summary>A command without arguments (QEMU gets no "arguments" member at all).</summary>
internal abstract record QmpBareCommand(string Name) : QmpVoidCommand(Name)
{
    internal override object? Arguments => null;
}

/// <summary>A command with a result but without arguments.</summary>
internal abstract record QmpQuery<TResult>(string Name) : QmpCommand<TResult>(Name)
{
    internal override object? Arguments => null;
}

internal static class QmpCommandExtensions
{
    private static readonly JsonSerializerOptions _replyOptions = new() { NumberHandling = JsonNumberHandling.Strict };

    /// <summary>Runs a typed command; QEMU errors throw <see cref="QmpException"/> as with <see cref="QmpClient.ExecuteAsync"/>.</summary>
    public static async Task<TResult> SendAsync<TResult>(this QmpClient qmp, QmpCommand<TResult> command, TimeSpan? timeout = null, CancellationToken ct = default) =>
        command.Read(await qmp.ExecuteAsync(command.Name, command.Arguments, timeout, ct));

    /// <summary>
    /// For best-effort clean-up: runs the command and reports whether QEMU accepted it, swallowing QMP errors (the
    /// connection may be gone, or the job or node already is). Cancellation still throws.
    /// </summary>
    public static async Task<bool> TrySendAsync<TResult>(this QmpClient qmp, QmpCommand<TResult> command, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        try
        {
            await qmp.SendAsync(command, timeout, ct);
            return true;
        }
        catch (Exception e) when (e.IsQmpFailure())
        {
            return false;
        }
    }

    /// <summary>Errors that mean "QEMU did not do it" (refused, gone, silent, or garbled), not a bug of ours.</summary>
    public static bool IsQmpFailure(this Exception e) =>
        e is QmpException or QmpConnectionClosedException or QmpTimeoutException or QmpProtocolException;

    /// <summary>A reply as its record; a reply that does not fit the command's schema is a protocol error, like bad JSON.</summary>
    internal static T Deserialize<T>(JsonElement value, string command)
    {
        try
        {
            return value.Deserialize<T>(_replyOptions) ?? throw new QmpProtocolException($"reply to '{command}' is null");
        }
        catch (JsonException e)
        {
            throw new QmpProtocolException($"reply to '{command}' does not fit its schema: {e.Message}", e);
        }
    }
}

// ---- addresses (QAPI SocketAddress / SocketAddressLegacy) ----

/// <summary>QAPI InetSocketAddressBase; the port is a string in QAPI (a number or a service name).</summary>
internal sealed record QmpInetAddress(
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("port")] string Port)
{
    public static QmpInetAddress Loopback(int port) => new("127.0.0.1", port.ToString(CultureInfo.InvariantCulture));
}

/// <summary>QAPI SocketAddress of type inet (flat union): {"type": "inet", "host": ..., "port": ...}.</summary>
internal sealed record QmpInetSocket(
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("port")] string Port)
{
    [JsonPropertyName("type")]
    public string Type => "inet";

    public static QmpInetSocket From(QmpInetAddress a) => new(a.Host, a.Port);
}

/// <summary>QAPI SocketAddressLegacy of type inet (what nbd-server-start takes): {"type": "inet", "data": {...}}.</summary>
internal sealed record QmpLegacyInetSocket([property: JsonPropertyName("data")] QmpInetAddress Data)
{
    [JsonPropertyName("type")]
    public string Type => "inet";
}

// ---- NBD and block nodes ----

/// <summary>nbd-server-start: serve NBD exports on <paramref name="Addr"/>.</summary>
internal sealed record NbdServerStart([property: JsonPropertyName("addr")] QmpLegacyInetSocket Addr) : QmpVoidCommand("nbd-server-start");

internal sealed record NbdServerStop() : QmpBareCommand("nbd-server-stop");

/// <summary>block-export-add of type nbd: exports block node <paramref name="NodeName"/> under <paramref name="ExportName"/>.</summary>
internal sealed record BlockExportAddNbd(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("node-name")] string NodeName,
    [property: JsonPropertyName("writable")] bool Writable,
    [property: JsonPropertyName("name")] string ExportName) : QmpVoidCommand("block-export-add")
{
    [JsonPropertyName("type")]
    public string Type => "nbd";
}

/// <summary>blockdev-add with the nbd driver: a block node <paramref name="NodeName"/> backed by a remote NBD export.</summary>
internal sealed record BlockdevAddNbd(
    [property: JsonPropertyName("node-name")] string NodeName,
    [property: JsonPropertyName("server")] QmpInetSocket Server,
    [property: JsonPropertyName("export")] string Export) : QmpVoidCommand("blockdev-add")
{
    [JsonPropertyName("driver")]
    public string Driver => "nbd";
}

internal sealed record BlockdevDel([property: JsonPropertyName("node-name")] string NodeName) : QmpVoidCommand("blockdev-del");

/// <summary>query-named-block-nodes; <paramref name="Flat"/>: no nested backing chains.</summary>
internal sealed record QueryNamedBlockNodes([property: JsonPropertyName("flat")] bool Flat) : QmpCommand<IReadOnlyList<BlockNodeInfo>>("query-named-block-nodes")
{
    internal override IReadOnlyList<BlockNodeInfo> Read(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? QmpCommandExtensions.Deserialize<BlockNodeInfo[]>(value, Name) : [];
}

/// <summary>One entry of query-named-block-nodes (BlockDeviceInfo), the part we use.</summary>
internal sealed record BlockNodeInfo([property: JsonPropertyName("node-name")] string? NodeName);

// ---- block jobs ----

/// <summary>blockdev-mirror: job <paramref name="JobId"/> copies node <paramref name="Device"/> to node <paramref name="Target"/>.</summary>
/// <param name="Sync">"full", "top" or "none".</param>
/// <param name="CopyMode">"background" or "write-blocking" (guest writes reach both nodes before they complete).</param>
internal sealed record BlockdevMirror(
    [property: JsonPropertyName("job-id")] string JobId,
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("sync")] string Sync,
    [property: JsonPropertyName("copy-mode")] string CopyMode) : QmpVoidCommand("blockdev-mirror");

/// <summary>
/// block-job-cancel. On a ready mirror without <paramref name="Force"/> it completes the job without pivoting
/// (BLOCK_JOB_COMPLETED); with it the job is abandoned (BLOCK_JOB_CANCELLED). Null: the member is left out.
/// </summary>
internal sealed record BlockJobCancel(
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("force"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Force = null) : QmpVoidCommand("block-job-cancel");

internal sealed record QueryBlockJobs() : QmpQuery<IReadOnlyList<BlockJobInfo>>("query-block-jobs")
{
    internal override IReadOnlyList<BlockJobInfo> Read(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? QmpCommandExtensions.Deserialize<BlockJobInfo[]>(value, Name) : [];
}

/// <summary>One entry of query-block-jobs (BlockJobInfo), the part we use: the job id is its "device".</summary>
internal sealed record BlockJobInfo([property: JsonPropertyName("device")] string? Device);

/// <summary>Events of block jobs, with the job id in "device" and the bytes done in "offset".</summary>
internal static class BlockJobEvents
{
    public const string Ready = "BLOCK_JOB_READY";
    public const string Completed = "BLOCK_JOB_COMPLETED";
    public const string Cancelled = "BLOCK_JOB_CANCELLED";

    public static Func<QmpEvent, bool> Of(string job) => e => e.DataString("device") == job;

    /// <summary>The event's offset (bytes the job has copied), or null.</summary>
    public static long? Offset(QmpEvent e) =>
        e.Data.ValueKind == JsonValueKind.Object && e.Data.TryGetProperty("offset", out var off) && off.TryGetInt64(out var n) ? n : null;
}

// ---- migration ----

/// <summary>One member of migrate-set-capabilities' list.</summary>
internal sealed record MigrationCapability(
    [property: JsonPropertyName("capability")] string Capability,
    [property: JsonPropertyName("state")] bool State);

internal sealed record MigrateSetCapabilities(
    [property: JsonPropertyName("capabilities")] IReadOnlyList<MigrationCapability> Capabilities) : QmpVoidCommand("migrate-set-capabilities");

/// <summary>migrate-set-parameters; null members are left out (QEMU keeps its current value).</summary>
/// <param name="DowntimeLimit">Milliseconds.</param>
/// <param name="MultifdCompression">"none", "zlib" or "zstd".</param>
internal sealed record MigrateSetParameters(
    [property: JsonPropertyName("max-bandwidth"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? MaxBandwidth = null,
    [property: JsonPropertyName("downtime-limit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? DowntimeLimit = null,
    [property: JsonPropertyName("xbzrle-cache-size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? XbzrleCacheSize = null,
    [property: JsonPropertyName("multifd-channels"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MultifdChannels = null,
    [property: JsonPropertyName("multifd-compression"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? MultifdCompression = null)
    : QmpVoidCommand("migrate-set-parameters")
{
    [JsonIgnore]
    public bool IsEmpty => this == new MigrateSetParameters();
}

/// <summary>migrate: the source sends the VM to <paramref name="Uri"/> (e.g. "tcp:127.0.0.1:4444").</summary>
internal sealed record Migrate([property: JsonPropertyName("uri")] string Uri) : QmpVoidCommand("migrate");

/// <summary>migrate-incoming: a destination started with -incoming defer listens on <paramref name="Uri"/>.</summary>
internal sealed record MigrateIncoming([property: JsonPropertyName("uri")] string Uri) : QmpVoidCommand("migrate-incoming");

internal sealed record MigrateCancel() : QmpBareCommand("migrate_cancel");

internal sealed record QueryMigrate() : QmpQuery<MigrationInfo>("query-migrate")
{
    internal override MigrationInfo Read(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object ? QmpCommandExtensions.Deserialize<MigrationInfo>(value, Name) : new MigrationInfo();
}

/// <summary>The "MIGRATION" event's data: {"status": ...}.</summary>
internal static class MigrationEvents
{
    public const string Migration = "MIGRATION";

    public static bool IsFinal(QmpEvent e) => e.DataString("status") is "completed" or "failed" or "cancelled";
}

/// <summary>query-migrate's MigrationInfo, the part we use. Members QEMU leaves out read as null (times, counts: zero).</summary>
/// <param name="Status">"setup", "active", "completed", "failed", "cancelled", ...; null: no migration was ever started.</param>
internal sealed record MigrationInfo(
    [property: JsonPropertyName("status")] string? Status = null,
    [property: JsonPropertyName("error-desc")] string? ErrorDesc = null,
    [property: JsonPropertyName("total-time")] long? TotalTimeMs = null,
    [property: JsonPropertyName("downtime")] long? DowntimeMs = null,
    [property: JsonPropertyName("ram")] MigrationRamStats? Ram = null)
{
    public TimeSpan TotalTime => TimeSpan.FromMilliseconds(TotalTimeMs ?? 0);

    public TimeSpan Downtime => TimeSpan.FromMilliseconds(DowntimeMs ?? 0);

    /// <summary>Pre-copy rounds so far (ram.dirty-sync-count).</summary>
    public int Rounds => (int)(Ram?.DirtySyncCount ?? 0);

    public long RamTransferred => Ram?.Transferred ?? 0;
}

/// <summary>query-migrate's "ram" member (MigrationStats), the part we use.</summary>
internal sealed record MigrationRamStats(
    [property: JsonPropertyName("transferred")] long Transferred = 0,
    [property: JsonPropertyName("dirty-sync-count")] long DirtySyncCount = 0);

// ---- run state ----

internal sealed record QueryStatus() : QmpQuery<VmRunStatus>("query-status");

/// <summary>query-status's StatusInfo: "running", "paused", "inmigrate", "postmigrate", "prelaunch", ...</summary>
internal sealed record VmRunStatus(
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("running")] bool Running);

internal sealed record Cont() : QmpBareCommand("cont");

internal sealed record Stop() : QmpBareCommand("stop");

/// <summary>Run-state events: STOP when the VM pauses (a migration's switch-over on the source), RESUME when it runs.</summary>
internal static class RunStateEvents
{
    public const string Stop = "STOP";
    public const string Resume = "RESUME";
}

/// <summary>quit: QEMU exits (the connection drops as it does).</summary>
internal sealed record Quit() : QmpBareCommand("quit");

/// <summary>dump-guest-memory to <paramref name="Protocol"/> ("file:/path"); <paramref name="Paging"/>: guest-virtual mappings too.</summary>
internal sealed record DumpGuestMemory(
    [property: JsonPropertyName("paging")] bool Paging,
    [property: JsonPropertyName("protocol")] string Protocol) : QmpVoidCommand("dump-guest-memory");
