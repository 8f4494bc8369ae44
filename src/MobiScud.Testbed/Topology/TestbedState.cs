using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobiScud.Testbed.Topology;

public enum CreatedKind
{
    Namespace,
    Link,
    OvsDaemons,
    Process,
}

/// <summary>Something the testbed made and must remove. Recorded BEFORE it is made, so a crash mid-step leaks nothing.</summary>
public sealed record CreatedObject(CreatedKind Kind, string Name, int? Pid = null, string? Detail = null);

/// <summary>
/// The state file of one testbed (run-dir/state.json): its prefix and every object it created, in order.
/// `testbed down` reads it and removes the objects in reverse, tolerating ones already gone.
/// </summary>
public sealed class TestbedState
{
    private static readonly JsonSerializerOptions _json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Lock _gate = new();

    public required string Prefix { get; init; }

    public required string RunDir { get; init; }

    public List<CreatedObject> Objects { get; init; } = [];

    /// <summary>The scenario it was built from (the link daemon and `run` re-derive names and delays from it).</summary>
    public Scenario? Scenario { get; init; }

    [JsonIgnore]
    public string FilePath => Path.Combine(RunDir, "state.json");

    public static string FileIn(string runDir) => Path.Combine(runDir, "state.json");

    public void Record(CreatedObject o)
    {
        lock (_gate)
        {
            Objects.Add(o);
            Save();
        }
    }

    public void Save()
    {
        lock (_gate)
        {
            Directory.CreateDirectory(RunDir);
            var tmp = FilePath + ".tmp";
            File.WriteAllText(tmp, JsonSerializer.Serialize(this, _json));
            File.Move(tmp, FilePath, overwrite: true);
        }
    }

    public static TestbedState Load(string runDir)
    {
        var path = FileIn(runDir);
        if (!File.Exists(path))
        {
            throw new Infrastructure.TestbedException($"no testbed state at {path}: nothing to tear down (was `testbed up` run with this --run-dir?)");
        }

        try
        {
            return JsonSerializer.Deserialize<TestbedState>(File.ReadAllText(path), _json)
                ?? throw new Infrastructure.TestbedException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new Infrastructure.TestbedException($"{path} is not a testbed state file: {e.Message}", e);
        }
    }
}
