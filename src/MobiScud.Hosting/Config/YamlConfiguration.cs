using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace MobiScud.Hosting.Config;

/// <summary>appsettings.yaml as a configuration source: mappings become sections, sequences become 0,1,2... keys.</summary>
public sealed class YamlConfigurationSource(string path, bool optional) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new YamlConfigurationProvider(path, optional);
}

public sealed class YamlConfigurationProvider(string path, bool optional) : ConfigurationProvider
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
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new InvalidDataException($"{path}:{e.Start.Line}:{e.Start.Column}: bad YAML: {e.Message}", e);
        }

        if (stream.Documents.Count > 0)
        {
            Flatten(stream.Documents[0].RootNode, null, data);
        }

        Data = data;
    }

    private static void Flatten(YamlNode node, string? prefix, Dictionary<string, string?> data)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    var key = ((YamlScalarNode)k).Value ?? "";
                    Flatten(v, prefix is null ? key : $"{prefix}:{key}", data);
                }

                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    Flatten(seq.Children[i], $"{prefix}:{i}", data);
                }

                break;
            case YamlScalarNode scalar when prefix is not null:
                data[prefix] = scalar.Value;
                break;
        }
    }
}

public static class YamlConfigurationExtensions
{
    public static IConfigurationBuilder AddYamlFile(this IConfigurationBuilder builder, string path, bool optional) =>
        builder.Add(new YamlConfigurationSource(path, optional));
}
