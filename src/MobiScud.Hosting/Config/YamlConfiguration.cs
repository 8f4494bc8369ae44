using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace MobiScud.Hosting.Config;

/// <summary>appsettings.yaml as a configuration source: mappings become sections, sequences become 0,1,2... keys.</summary>
internal sealed class YamlConfigurationSource(string path, bool optional) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new YamlConfigurationProvider(path, optional);
}

internal sealed class YamlConfigurationProvider(string path, bool optional) : ConfigurationProvider
{
    public override void Load()
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (!File.Exists(path))
        {
            if (!optional)
            {
                throw new FileNotFoundException($"configuration file '{path}' not found", path);
            }

            Data = data;
            return;
        }

        var stream = new YamlStream();
        try
        {
            // Depth first, with the streaming parser: building the node tree of a deeply nested file overflows the stack.
            CheckDepth(path);
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new InvalidDataException($"{path}:{e.Start.Line}:{e.Start.Column}: bad YAML: {e.Message}", e);
        }

        if (stream.Documents.Count > 0)
        {
            Flatten(stream.Documents[0].RootNode, null, data, path);
        }

        Data = data;
    }

    /// <summary>Configuration is a few levels deep; anything far deeper is a mistake or an attack.</summary>
    public const int MaxDepth = 64;

    private static void CheckDepth(string path)
    {
        using var reader = new StreamReader(path);
        var parser = new YamlDotNet.Core.Parser(reader);
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart:
                    if (++depth > MaxDepth)
                    {
                        var at = parser.Current.Start;
                        throw new InvalidDataException($"{path}:{at.Line}:{at.Column}: YAML nested deeper than {MaxDepth} levels");
                    }

                    break;
                case YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd:
                    depth--;
                    break;
            }
        }
    }

    private static void Flatten(YamlNode node, string? prefix, Dictionary<string, string?> data, string path)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    if (k is not YamlScalarNode scalarKey)
                    {
                        throw new InvalidDataException($"{path}:{k.Start.Line}:{k.Start.Column}: a key must be a plain name, not a {(k is YamlSequenceNode ? "list" : "mapping")} (under '{prefix ?? "(top)"}')");
                    }

                    var key = scalarKey.Value ?? "";
                    Flatten(v, prefix is null ? key : $"{prefix}:{key}", data, path);
                }

                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    Flatten(seq.Children[i], $"{prefix}:{i}", data, path);
                }

                break;
            case YamlScalarNode scalar when prefix is not null:
                data[prefix] = scalar.Value;
                break;
        }
    }
}

internal static class YamlConfigurationExtensions
{
    public static IConfigurationBuilder AddYamlFile(this IConfigurationBuilder builder, string path, bool optional) =>
        builder.Add(new YamlConfigurationSource(path, optional));
}
