using System.Text.Json;

namespace MobiScud.Cloud.Qmp;

/// <summary>An asynchronous QMP event (MIGRATION, STOP, RESUME, SHUTDOWN, BLOCK_JOB_READY ...).</summary>
/// <param name="Name">The event name as QEMU spells it.</param>
/// <param name="Data">The event's data object (a JSON null when the event has none); detached from the parsed line.</param>
/// <param name="Timestamp">QEMU's own timestamp of the event (UTC).</param>
public sealed record QmpEvent(string Name, JsonElement Data, DateTimeOffset Timestamp)
{
    /// <summary>A string member of <see cref="Data"/>, or null.</summary>
    public string? DataString(string name) =>
        Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;
}
