using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using MobiScud.Control.Model;

namespace MobiScud.Hosting.Config;

/// <summary>
/// JSON for the control contract (grain calls, grain storage, event files, REST): IP addresses as strings and the
/// event/command hierarchies tagged with their type name, so the contract needs no serializer attributes.
/// </summary>
internal static class McJson
{
    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var resolver = new DefaultJsonTypeInfoResolver();
        resolver.Modifiers.Add(Polymorphic<UeEvent>);
        resolver.Modifiers.Add(Polymorphic<ControlCommand>);
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = resolver };
        o.Converters.Add(new IpAddressJsonConverter());
        o.Converters.Add(new JsonStringEnumConverter());
        return o;
    }

    /// <summary>
    /// The REST API's JSON (/api/v1 and the rest of ASP.NET's responses): our enums by name. Left alone: enums in a
    /// MEC namespace (the ETSI schemas make some of them integers) and any enum with a converter of its own.
    /// </summary>
    public static void UseEnumNames(JsonSerializerOptions options) => options.Converters.Add(new EnumNamesConverter());

    private sealed class EnumNamesConverter : JsonConverterFactory
    {
        private readonly JsonStringEnumConverter _names = new();

        public override bool CanConvert(Type typeToConvert) =>
            typeToConvert.IsEnum && typeToConvert.Namespace?.Contains(".Mec", StringComparison.Ordinal) != true
            && !typeToConvert.IsDefined(typeof(JsonConverterAttribute), inherit: false);

        public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options) => _names.CreateConverter(typeToConvert, options);
    }

    private static void Polymorphic<TBase>(JsonTypeInfo info)
    {
        if (info.Type != typeof(TBase))
        {
            return;
        }

        var options = new JsonPolymorphismOptions { TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization };
        foreach (var t in typeof(TBase).Assembly.GetTypes().Where(t => !t.IsAbstract && typeof(TBase).IsAssignableFrom(t)))
        {
            options.DerivedTypes.Add(new JsonDerivedType(t, t.Name));
        }

        info.PolymorphismOptions = options;
    }
}
