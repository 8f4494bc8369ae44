using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using MobiScud.TestSupport;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MobiScud.Hosting.Tests.Mec;

/// <summary>The ETSI MEC OpenAPI files in data/specs/mec whose component schemas bodies are validated against.</summary>
public enum MecSpec
{
    /// <summary>ETSI GS MEC 021 Application Mobility Service v2.2.1 (official, OpenAPI 3.1).</summary>
    Mec021,

    /// <summary>ETSI GS MEC 012 Radio Network Information v2.1.1 (official, OpenAPI 3.1).</summary>
    Mec012,

    /// <summary>AdvantEDGE's MEC 021: the official file lacks AdjacentAppInfoNotification.</summary>
    Mec021AdvantEdge,

    /// <summary>
    /// MEC 012 v2.1.1 exactly as published: object schemas left open as the file leaves them (it sets no
    /// additionalProperties), so this is what "valid against the official schema" means for a body with extra fields.
    /// </summary>
    Mec012AsPublished,

    /// <summary>
    /// MEC 012 v2.1.1 closed as <see cref="Mec012"/>, plus MobiScud's documented NR fields (NRcgi, the file's own type):
    /// srcNrcgi/trgNrcgi on CellChangeNotification, nrcgi on RabEstNotification and RabRelNotification; any other extra
    /// field is still an error.
    /// </summary>
    Mec012Nr,
}

/// <summary>
/// Validates JSON bodies against a component schema of the official MEC OpenAPI files with a JSON Schema validator
/// (JsonSchema.Net, draft 2020-12, which OpenAPI 3.1 schemas are). Strict: every object schema is closed
/// (unevaluatedProperties: false), so a field the specification does not define is an error, as it would be to a client
/// generated from the file.
/// </summary>
public static partial class MecSchemas
{
    private static readonly Lazy<BuildOptions> _options = new(Load);

    /// <summary>Errors of <paramref name="body"/> against #/components/schemas/<paramref name="schema"/>; empty when valid.</summary>
    public static IReadOnlyList<string> Validate(MecSpec spec, string schema, JsonNode? body)
    {
        var json = JsonSchema.FromText(
            $$"""{"$ref":"{{BaseUri(spec)}}#/components/schemas/{{schema}}"}""",
            _options.Value);
        using var document = JsonDocument.Parse(body?.ToJsonString() ?? "null");
        var result = json.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            return [];
        }

        var errors = new List<string>();
        foreach (var detail in result.Details ?? [])
        {
            foreach (var (keyword, message) in detail.Errors ?? new Dictionary<string, string>())
            {
                errors.Add($"{detail.InstanceLocation} ({keyword} at {detail.EvaluationPath}): {message}");
            }
        }

        return errors.Count > 0 ? errors : ["invalid (no detail)"];
    }

    /// <summary>Asserts <paramref name="body"/> is a valid <paramref name="schema"/>, listing every error otherwise.</summary>
    public static void AssertValid(MecSpec spec, string schema, JsonNode? body)
    {
        var errors = Validate(spec, schema, body);
        Assert.True(errors.Count == 0, $"{schema} ({spec}) is not valid:\n{string.Join("\n", errors)}\nbody: {body?.ToJsonString()}");
    }

    /// <summary>The spec file as JSON, YAML scalars typed as YAML 1.2's core schema types them.</summary>
    public static JsonNode LoadSpec(MecSpec spec)
    {
        var stream = new YamlStream();
        using (var reader = File.OpenText(Path.Combine(TestData.Specs, "mec", FileName(spec))))
        {
            stream.Load(reader);
        }

        return ToJson(stream.Documents[0].RootNode)!;
    }

    private static BuildOptions Load()
    {
        // Draft 2020-12 (OpenAPI 3.1's dialect), with OpenAPI's own keywords (discriminator, x-etsi-*) ignored.
        var options = new BuildOptions
        {
            SchemaRegistry = new SchemaRegistry(),
            Dialect = Dialect.Draft202012.With([], allowUnknownKeywords: true),
        };
        foreach (var spec in Enum.GetValues<MecSpec>())
        {
            var node = LoadSpec(spec);
            if (spec == MecSpec.Mec021)
            {
                // The official MEC 021 file declares AssociateId a string and says "defined in ETSI GS MEC 012"; MEC 012
                // defines it as {type, value}. Use MEC 012's definition, as the text says.
                node["components"]!["schemas"]!["AssociateId"] = new JsonObject { ["$ref"] = $"{BaseUri(MecSpec.Mec012)}#/components/schemas/AssociateId" };
            }

            if (spec == MecSpec.Mec021AdvantEdge)
            {
                // AdvantEDGE's AdjacentAppInfoNotification types associateId with string enums and adjacentAppInfo as an
                // object with "items"; ETSI GS MEC 021 7.4.3 defines AssociateId as MEC 012's and adjacentAppInfo as
                // 0..N structures. Use the specification's text for those two fields, AdvantEDGE's file for the rest.
                var adjacent = node["components"]!["schemas"]!["AdjacentAppInfoNotification"]!["properties"]!;
                adjacent["associateId"]!["items"] = new JsonObject { ["$ref"] = $"{BaseUri(MecSpec.Mec012)}#/components/schemas/AssociateId" };
                adjacent["adjacentAppInfo"] = new JsonObject
                {
                    ["type"] = "array",
                    ["items"] = new JsonObject { ["$ref"] = "#/components/schemas/AdjacentAppInfoNotificationAdjacentAppInfo" },
                };
            }

            if (spec == MecSpec.Mec012Nr)
            {
                // docs/hosting.md, "5G cells in MEC 012": a 5G UE's NR cells beside the Ecgi fields the file requires.
                var schemas = node["components"]!["schemas"]!;
                JsonObject Nrcgi() => new() { ["$ref"] = "#/components/schemas/NRcgi" };
                var cellChange = schemas["CellChangeNotification"]!["allOf"]![1]!["properties"]!.AsObject();
                cellChange["srcNrcgi"] = Nrcgi();
                cellChange["trgNrcgi"] = new JsonObject { ["type"] = "array", ["minItems"] = 1, ["items"] = Nrcgi() };
                schemas["RabEstNotification"]!["allOf"]![1]!["properties"]!["nrcgi"] = Nrcgi();
                schemas["RabRelNotification"]!["allOf"]![1]!["properties"]!["nrcgi"] = Nrcgi();
            }

            if (spec != MecSpec.Mec012AsPublished)
            {
                var bases = new HashSet<string>();
                FindAllOfBases(node, bases);
                Close(node, insideAllOf: false, bases, name: null);
            }

            using var document = JsonDocument.Parse(node.ToJsonString());
            options.SchemaRegistry.Register(new JsonElementBaseDocument(document.RootElement.Clone(), BaseUri(spec)));
        }

        return options;
    }

    private static string FileName(MecSpec spec) => spec switch
    {
        MecSpec.Mec021 => "MEC021_official.yaml",
        MecSpec.Mec012 or MecSpec.Mec012AsPublished or MecSpec.Mec012Nr => "MEC012_official.yaml",
        _ => "mec021_ams_advantedge.yaml",
    };

    // The same file read three ways (closed, as published, closed with the NR fields) needs three base URIs.
    private static Uri BaseUri(MecSpec spec) => spec switch
    {
        MecSpec.Mec012AsPublished => new($"https://mobiscud.test/specs/as-published/{FileName(spec)}"),
        MecSpec.Mec012Nr => new($"https://mobiscud.test/specs/nr/{FileName(spec)}"),
        _ => new($"https://mobiscud.test/specs/{FileName(spec)}"),
    };

    /// <summary>
    /// Closes every object schema that lists properties: unevaluatedProperties false, which also sees what allOf parts
    /// evaluated, so it goes on the schema that composes, never on an allOf part nor on a component used as one (that
    /// would reject its siblings' fields).
    /// </summary>
    private static void Close(JsonNode? node, bool insideAllOf, HashSet<string> allOfBases, string? name)
    {
        switch (node)
        {
            case JsonObject o:
                var isSchema = o.ContainsKey("properties") || o.ContainsKey("allOf");
                var isBase = name is not null && allOfBases.Contains(name);
                if (isSchema && !insideAllOf && !isBase && !o.ContainsKey("additionalProperties") && !o.ContainsKey("unevaluatedProperties"))
                {
                    o["unevaluatedProperties"] = false;
                }

                var isSchemas = o.Parent is JsonObject p && p["schemas"] == o;
                foreach (var (key, value) in o.ToList())
                {
                    if (key == "allOf" && value is JsonArray parts)
                    {
                        foreach (var part in parts)
                        {
                            Close(part, insideAllOf: true, allOfBases, null);
                        }
                    }
                    else if (key is not "example" and not "examples")
                    {
                        Close(value, insideAllOf: false, allOfBases, isSchemas ? key : null);
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Close(item, insideAllOf: false, allOfBases, null);
                }

                break;
        }
    }

    /// <summary>Names of the components that some allOf composes from (`$ref: '#/components/schemas/NAME'`).</summary>
    private static void FindAllOfBases(JsonNode? node, HashSet<string> into)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    if (key == "allOf" && value is JsonArray parts)
                    {
                        foreach (var part in parts)
                        {
                            if (part?["$ref"]?.GetValue<string>() is { } reference && reference.StartsWith("#/components/schemas/", StringComparison.Ordinal))
                            {
                                into.Add(reference["#/components/schemas/".Length..]);
                            }
                        }
                    }

                    FindAllOfBases(value, into);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    FindAllOfBases(item, into);
                }

                break;
        }
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? string.Empty, ToJson(c.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode s when s.Style is ScalarStyle.Plain => Plain(s.Value ?? string.Empty),
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => throw new InvalidDataException($"unexpected YAML node {node.NodeType} at {node.Start}"),
    };

    private static JsonNode? Plain(string value)
    {
        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (value is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(value.Equals("true", StringComparison.OrdinalIgnoreCase));
        }

        if (IntegerPattern().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }

        if (FloatPattern().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return JsonValue.Create(d);
        }

        return JsonValue.Create(value);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
