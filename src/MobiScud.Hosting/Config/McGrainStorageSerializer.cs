using System.Text.Json;
using Orleans.Storage;

namespace MobiScud.Hosting.Config;

/// <summary>Grain state in Redis as readable JSON (the contract's own JSON shape), not Orleans' binary format.</summary>
internal sealed class McGrainStorageSerializer : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, McJson.Options));

    public T Deserialize<T>(BinaryData input) =>
        JsonSerializer.Deserialize<T>(input.ToMemory().Span, McJson.Options)
        ?? throw new InvalidDataException($"stored grain state of type {typeof(T).Name} is null");
}
