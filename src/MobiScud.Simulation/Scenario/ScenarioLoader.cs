using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MobiScud.Simulation.Scenario;

/// <summary>
/// Reads a scenario YAML file (docs/scenario.md) onto <see cref="ScenarioConfig"/>. Field names are the camelCase
/// property names; every error names the field path and its line. Durations take a unit (us, ms, s, m, h; a bare
/// number is seconds); enum values are kebab-case (random-waypoint, core-anchored).
/// </summary>
public static class ScenarioLoader
{
    public static ScenarioConfig LoadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ScenarioException($"scenario file not found: {path}");
        }

        var config = Load(File.ReadAllText(path), Path.GetDirectoryName(Path.GetFullPath(path))!);
        return config;
    }

    public static ScenarioConfig Load(string yaml, string baseDirectory)
    {
        ScenarioLimits.CheckDepth(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ScenarioException($"line {ex.Start.Line}: not valid YAML: {ex.InnerException?.Message ?? ex.Message}", (int)ex.Start.Line);
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet 16 throws this (no position) for input that ends inside a flow collection: find the line
            // of the last event parsed before it gave up.
            var line = LastGoodLine(yaml);
            throw new ScenarioException($"line {line}: not valid YAML after this line (unclosed [ or {{?): {ex.Message}", line);
        }

        var config = new ScenarioConfig { BaseDirectory = baseDirectory };
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is not YamlScalarNode { Value: null or "" })
        {
            if (stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                throw Error(stream.Documents[0].RootNode, "(top level)", "expected a mapping of fields");
            }

            Bind(root, config, string.Empty, lines);
        }

        try
        {
            ScenarioValidator.Validate(config);
            ScenarioLimits.Check(config);
        }
        catch (ScenarioException ex) when (ex.Field is not null)
        {
            var line = lines.TryGetValue(ex.Field, out var l) ? l : (int?)null;
            var where = line is { } n ? $"line {n}: " : string.Empty;
            var hint = line is null ? " (field not set: the default does not fit the rest of the file)" : string.Empty;
            throw new ScenarioException($"{where}field '{ex.Field}' {ex.Message[(ex.Field.Length + 1)..]}{hint}", line, ex.Field);
        }

        return config;
    }

    private static int LastGoodLine(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var line = 1;
        try
        {
            while (parser.MoveNext())
            {
                line = (int)(parser.Current?.End.Line ?? line);
            }
        }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException)
        {
            // The position reached is what we wanted.
        }

        return line;
    }

    private static void Bind(YamlMappingNode map, object target, string prefix, Dictionary<string, int> lines)
    {
        var props = target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.Name != nameof(ScenarioConfig.BaseDirectory))
            .ToDictionary(p => Camel(p.Name), StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? string.Empty;
            var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            if (!props.TryGetValue(key, out var prop))
            {
                throw Error(keyNode, path, $"is not a known field; expected one of: {string.Join(", ", props.Keys)}");
            }

            lines[path] = (int)keyNode.Start.Line;
            prop.SetValue(target, Convert(valueNode, prop.PropertyType, path, prop.GetValue(target), lines));
        }
    }

    private static object? Convert(YamlNode node, Type type, string path, object? current, Dictionary<string, int> lines)
    {
        var nullable = Nullable.GetUnderlyingType(type);
        if (node is YamlScalarNode { Value: null or "~" or "null" } && (nullable is not null || !type.IsValueType))
        {
            return null;
        }

        type = nullable ?? type;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var element = type.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(type)!;
            var items = node is YamlSequenceNode seq ? seq.Children : throw Error(node, path, "expected a list ([a, b] or - items)");
            for (var i = 0; i < items.Count; i++)
            {
                list.Add(Convert(items[i], element, $"{path}[{i}]", null, lines));
            }

            return list;
        }

        if (type.IsClass && type != typeof(string))
        {
            if (node is not YamlMappingNode map)
            {
                throw Error(node, path, "expected a mapping of fields");
            }

            var target = current ?? Activator.CreateInstance(type)!;
            Bind(map, target, path, lines);
            return target;
        }

        if (node is not YamlScalarNode scalar || scalar.Value is null)
        {
            throw Error(node, path, $"expected a single value ({Describe(type)})");
        }

        var text = scalar.Value.Trim();
        var inv = CultureInfo.InvariantCulture;
        object? value = type switch
        {
            _ when type == typeof(string) => text,
            _ when type == typeof(int) => int.TryParse(text, NumberStyles.Integer, inv, out var i) ? i : null,
            _ when type == typeof(ulong) => ulong.TryParse(text, NumberStyles.Integer, inv, out var u) ? u : null,
            _ when type == typeof(double) => double.TryParse(text, NumberStyles.Float, inv, out var d) && double.IsFinite(d) ? d : null,
            _ when type == typeof(bool) => bool.TryParse(text, out var b) ? b : null,
            _ when type == typeof(TimeSpan) => ParseDuration(text),
            _ when type.IsEnum => ParseEnum(type, text),
            _ => throw Error(node, path, $"unsupported field type {type.Name}"),
        };
        return value ?? throw Error(node, path, $"expected {Describe(type)}, got '{text}'");
    }

    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(ulong) => "an integer",
        _ when type == typeof(double) => "a number",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(TimeSpan) => "a duration such as 250ms, 10s, 5m or 1h",
        _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type).Select(Kebab)),
        _ => "text",
    };

    public static TimeSpan? ParseDuration(string text)
    {
        var units = new (string Suffix, double Seconds)[] { ("us", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600) };
        foreach (var (suffix, seconds) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                && double.IsFinite(v) && v >= 0)
            {
                return TimeSpan.FromTicks((long)Math.Round(v * seconds * TimeSpan.TicksPerSecond));
            }
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain) && double.IsFinite(plain) && plain >= 0
            ? TimeSpan.FromTicks((long)Math.Round(plain * TimeSpan.TicksPerSecond))
            : null;
    }

    private static object? ParseEnum(Type type, string text)
    {
        var squashed = text.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal);
        foreach (var name in Enum.GetNames(type))
        {
            if (string.Equals(name, squashed, StringComparison.OrdinalIgnoreCase))
            {
                return Enum.Parse(type, name);
            }
        }

        return null;
    }

    public static string Kebab(string name)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && !char.IsUpper(name[i - 1]))
            {
                sb.Append('-');
            }

            sb.Append(char.ToLowerInvariant(name[i]));
        }

        return sb.ToString();
    }

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    private static ScenarioException Error(YamlNode node, string path, string message) =>
        new($"line {node.Start.Line}: field '{path}' {message}", (int)node.Start.Line, path);
}
