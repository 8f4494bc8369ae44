using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace MobiScud.Hosting.Config;

/// <summary>
/// Checks a configuration section against the options type before it is bound: the binder silently drops what it
/// cannot use (a misspelt key, a list item it cannot convert, a list where one value belongs), and the service then
/// runs with something the operator did not write. Every such key is an error naming it.
/// </summary>
internal static class StrictConfiguration
{
    public static List<string> Check(IConfigurationSection section, Type type)
    {
        var errors = new List<string>();
        CheckNode(section, type, section.Path, errors);
        return errors;
    }

    private static void CheckNode(IConfigurationSection node, Type type, string path, List<string> errors)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        var children = node.GetChildren().ToList();
        if (IsScalar(type))
        {
            if (children.Count > 0)
            {
                errors.Add($"{path} takes one {Describe(type)}, not a list or section ({string.Join(", ", children.Select(c => c.Key).Take(5))})");
            }
            else if (node.Value is { } value && !Converts(value, type))
            {
                errors.Add($"{path}: '{Clip(value)}' is not {Describe(type)}");
            }

            return;
        }

        if (ElementType(type) is { } element)
        {
            if (node.Value is { Length: > 0 } single && children.Count == 0)
            {
                errors.Add($"{path} takes a list, not the single value '{Clip(single)}'");
                return;
            }

            foreach (var child in children)
            {
                if (!IsDictionary(type) && !int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    errors.Add($"{path}:{child.Key}: a list takes items 0, 1, 2... (was key '{Clip(child.Key)}')");
                    continue;
                }

                CheckNode(child, element, child.Path, errors);
            }

            return;
        }

        if (node.Value is { Length: > 0 } v && children.Count == 0)
        {
            errors.Add($"{path} takes a section of keys, not the value '{Clip(v)}'");
            return;
        }

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && (p.CanWrite || ElementType(p.PropertyType) is not null || !IsScalar(p.PropertyType)))
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in children)
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                var guess = properties.Keys.OrderBy(k => Distance(k.ToLowerInvariant(), child.Key.ToLowerInvariant())).FirstOrDefault();
                var hint = guess is not null && Distance(guess.ToLowerInvariant(), child.Key.ToLowerInvariant()) <= 3 ? $" (did you mean {guess}?)" : "";
                errors.Add($"{child.Path}: unknown key{hint}; known here: {string.Join(", ", properties.Keys.Order(StringComparer.Ordinal))}");
                continue;
            }

            CheckNode(child, property.PropertyType, child.Path, errors);
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) || type == typeof(DateTime)
        || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri)
        || (ElementType(type) is null && !type.IsClass && TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string)))
        || (type.IsClass && type != typeof(object) && ElementType(type) is null && type.GetConstructor(Type.EmptyTypes) is null && TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string)));

    private static bool IsDictionary(Type type) => type.IsGenericType && type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var dictionary = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is not null)
        {
            return dictionary.GetGenericArguments()[1];
        }

        var enumerable = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable is not null && typeof(IEnumerable).IsAssignableFrom(type) ? enumerable.GetGenericArguments()[0] : null;
    }

    /// <summary>Converts as the binder does (TypeConverter, invariant culture); enums by name or number.</summary>
    private static bool Converts(string value, Type type)
    {
        if (value.Length == 0)
        {
            // An empty value leaves the default, as the binder does; only strings and nullables take it as such.
            return true;
        }

        try
        {
            if (type.IsEnum)
            {
                return Enum.TryParse(type, value, ignoreCase: true, out var parsed) && (Enum.IsDefined(type, parsed!) || type.IsDefined(typeof(FlagsAttribute)));
            }

            TypeDescriptor.GetConverter(type).ConvertFromString(null, CultureInfo.InvariantCulture, value);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException || e.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Describe(Type type) => type.IsEnum
        ? $"one of {string.Join(", ", Enum.GetNames(type))}"
        : type == typeof(TimeSpan) ? "a time span (hh:mm:ss)"
        : type == typeof(bool) ? "true or false"
        : type == typeof(string) ? "a string"
        : type.IsPrimitive && type != typeof(char) ? $"a number that fits {type.Name}"
        : $"a {type.Name} value";

    private static string Clip(string s) => s.Length <= 80 ? s : s[..80] + $"... ({s.Length} characters)";

    private static int Distance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            d[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            var prev = d[0];
            d[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var tmp = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), prev + (a[i - 1] == b[j - 1] ? 0 : 1));
                prev = tmp;
            }
        }

        return d[b.Length];
    }
}
