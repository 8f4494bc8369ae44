using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobiScud.Capture;
using MobiScud.Capture.Decode;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.Hosting.Api;
using McJson = MobiScud.Hosting.Config.McJson;
using MobiScud.Hosting.Grains;
using MobiScud.Simulation.Results;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>
/// Every JSON output writes enums by name (issue 14: `Notify` had `"kind": 0`): replay --json, decode --json,
/// results.json and serve's /api/v1. Each check walks the types an output can contain, so an enum added later to an
/// event, command or DTO fails here if its output would write it as a number.
/// </summary>
public sealed class JsonEnumTests
{
    [Fact]
    public void Replay_json_writes_every_enum_of_every_event_and_command_as_a_string()
    {
        var roots = typeof(UeEvent).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && (typeof(UeEvent).IsAssignableFrom(t) || typeof(ControlCommand).IsAssignableFrom(t)));
        var enums = ReachableEnums(roots);
        Assert.Contains(typeof(NotificationKind), enums);
        Assert.Contains(typeof(HandoverKind), enums);
        AssertNames(enums, ReplayJson.Options);
    }

    [Fact]
    public void Replay_json_of_a_real_capture_has_no_enum_property_written_as_a_number()
    {
        var output = new StringWriter();
        Assert.Equal(0, ReplayCommand.Run(null, TestData.Capture("open5gs_testepc_2019.pcapng"), null, PipelineOptions.Default, json: true, output));
        var json = JsonNode.Parse(output.ToString())!;
        var types = typeof(UeEvent).Assembly.GetTypes().Where(t => typeof(UeEvent).IsAssignableFrom(t) || typeof(ControlCommand).IsAssignableFrom(t)).ToDictionary(t => t.Name);
        var checkedEnums = 0;
        var notifies = 0;
        foreach (var node in Objects(json).Where(o => o["type"] is JsonValue v && v.TryGetValue<string>(out var n) && types.ContainsKey(n)))
        {
            var type = types[node["type"]!.GetValue<string>()];
            notifies += type == typeof(Notify) ? 1 : 0;
            foreach (var property in type.GetProperties().Where(p => IsEnum(p.PropertyType)))
            {
                var value = node[JsonNamingPolicy.CamelCase.ConvertName(property.Name)];
                Assert.True(value is null || value.GetValueKind() == JsonValueKind.String, $"{type.Name}.{property.Name} written as {value?.ToJsonString()}");
                checkedEnums++;
            }
        }

        Assert.True(notifies > 0, "the capture's replay has Notify commands");
        Assert.True(checkedEnums >= notifies);
    }

    [Fact]
    public void Decode_json_columns_never_yield_an_enum_and_message_type_is_a_name()
    {
        var rows = new List<MessageRow>();
        var pipeline = new SignallingPipeline(new MessageRowReader(rows.Add));
        using (var source = CaptureFile.Open(TestData.Capture("open5gs_testattach.pcapng")))
        {
            pipeline.Run(source);
        }

        Assert.NotEmpty(rows);
        foreach (var (name, value) in DecodeCommand.Fields)
        {
            Assert.All(rows, r => Assert.False(value(r) is Enum, $"decode column {name} is an enum"));
        }

        var output = new StringWriter();
        Assert.Equal(0, DecodeCommand.Run([TestData.Capture("open5gs_testattach.pcapng")], PipelineOptions.Default, DecodeCommand.Format.Json, DecodeCommand.Fields.Select(f => f.Name).ToList(), header: false, output, TextWriter.Null));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(rows.Count, lines.Length);
        Assert.All(lines, l => Assert.Contains(JsonNode.Parse(l)!["messageType"]!.GetValue<string>(), new[] { "initiating", "successful", "unsuccessful" }));
    }

    [Fact]
    public void Results_json_writes_every_enum_as_a_string()
    {
        var enums = ReachableEnums([typeof(SimulationResult)]);
        AssertNames(enums, SimulationResult.JsonOptions);
    }

    [Fact]
    public void Serve_api_writes_our_enums_by_name_and_leaves_mec_enums_alone()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        McJson.UseEnumNames(options);
        var dtos = typeof(UeView).Assembly.GetTypes().Where(t => t.Namespace == typeof(UeView).Namespace && t.IsPublic)
            .Concat([typeof(TimelineEntry), typeof(UeSnapshot), typeof(QuarantineNote), typeof(Mec.CellChangeType)]);
        var enums = ReachableEnums(dtos);
        var ours = enums.Where(e => e.Namespace?.Contains(".Mec", StringComparison.Ordinal) != true).ToList();
        AssertNames(ours, options);

        // The events and commands the timeline carries are written with McJson: by name too.
        AssertNames(ReachableEnums(typeof(UeEvent).Assembly.GetTypes().Where(t => typeof(UeEvent).IsAssignableFrom(t) || typeof(ControlCommand).IsAssignableFrom(t))), McJson.Options);

        // A MEC enum (the ETSI schemas make some integers) is not renamed by the API's converter.
        Assert.Equal("1", JsonSerializer.Serialize(Mec.CellChangeType.Intra, options));
    }

    private static void AssertNames(IEnumerable<Type> enums, JsonSerializerOptions options)
    {
        foreach (var type in enums)
        {
            var value = Enum.GetValues(type).GetValue(0)!;
            var text = JsonSerializer.Serialize(value, type, options);
            Assert.True(text.StartsWith('"'), $"{type.FullName} is written as {text}");
        }
    }

    private static bool IsEnum(Type t) => (Nullable.GetUnderlyingType(t) ?? t).IsEnum;

    /// <summary>Every enum type reachable through public properties, element types and generic arguments.</summary>
    private static HashSet<Type> ReachableEnums(IEnumerable<Type> roots)
    {
        var seen = new HashSet<Type>();
        var enums = new HashSet<Type>();
        var queue = new Queue<Type>(roots);
        while (queue.TryDequeue(out var t))
        {
            if (!seen.Add(t) || t == typeof(string) || t.IsPrimitive)
            {
                continue;
            }

            if (t.IsEnum)
            {
                enums.Add(t);
                continue;
            }

            if (t.IsArray)
            {
                queue.Enqueue(t.GetElementType()!);
                continue;
            }

            foreach (var a in t.IsGenericType ? t.GetGenericArguments() : [])
            {
                queue.Enqueue(a);
            }

            if (t.Namespace?.StartsWith("MobiScud", StringComparison.Ordinal) != true || (typeof(IEnumerable).IsAssignableFrom(t) && t.IsGenericType))
            {
                continue;
            }

            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
            {
                queue.Enqueue(p.PropertyType);
            }

            if (t.IsAbstract)
            {
                foreach (var derived in t.Assembly.GetTypes().Where(d => !d.IsAbstract && t.IsAssignableFrom(d)))
                {
                    queue.Enqueue(derived);
                }
            }
        }

        return enums;
    }

    private static IEnumerable<JsonObject> Objects(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                yield return o;
                foreach (var (_, child) in o)
                {
                    foreach (var x in Objects(child))
                    {
                        yield return x;
                    }
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    foreach (var x in Objects(child))
                    {
                        yield return x;
                    }
                }

                break;
        }
    }
}
