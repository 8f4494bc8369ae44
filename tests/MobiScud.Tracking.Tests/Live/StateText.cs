using System.Collections;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;

namespace MobiScud.Tracking.Tests.Live;

/// <summary>
/// A tracker state (or event, or record) as text, by value all the way down: records compare their immutable
/// collections by reference, so two trackers that hold the same state in different instances would not be Equal.
/// Every property is written, internal ones too (the index's lookups); keyed and set collections are sorted (their
/// enumeration order is the hash's, not the state's), lists keep their order (a lookup's order says which UE was given
/// the identity last).
/// </summary>
internal static class StateText
{
    public static string Of(object? value)
    {
        var text = new StringBuilder();
        Write(text, value, 0);
        return text.ToString();
    }

    private static void Write(StringBuilder text, object? value, int depth)
    {
        if (depth > 12)
        {
            throw new InvalidOperationException("state text: too deep (a cycle?)");
        }

        switch (value)
        {
            case null:
                text.Append("null");
                return;
            case string s:
                text.Append('"').Append(s).Append('"');
                return;
            case IPAddress a:
                text.Append(a);
                return;
            case IFormattable f when value.GetType().IsPrimitive || value is TimeSpan || value is Enum || value is decimal:
                text.Append(f.ToString(null, CultureInfo.InvariantCulture));
                return;
            case bool b:
                text.Append(b ? "true" : "false");
                return;
            case IEnumerable items:
                var parts = new List<string>();
                foreach (var item in items)
                {
                    parts.Add(Of(item));
                }

                var type = value.GetType();
                var keyed = type.GetInterfaces().Any(i => i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>) || i.GetGenericTypeDefinition() == typeof(IReadOnlySet<>)));
                if (keyed)
                {
                    parts.Sort(StringComparer.Ordinal);
                }

                text.Append('[').AppendJoin(", ", parts).Append(']');
                return;
        }

        var t = value.GetType();
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(KeyValuePair<,>))
        {
            text.Append(Of(t.GetProperty("Key")!.GetValue(value))).Append(": ").Append(Of(t.GetProperty("Value")!.GetValue(value)));
            return;
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Nullable<>))
        {
            Write(text, t.GetProperty("Value")!.GetValue(value), depth + 1);
            return;
        }

        var properties = t.GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
        if (properties.Count == 0)
        {
            text.Append(value);
            return;
        }

        text.Append(t.Name).Append('{');
        foreach (var p in properties)
        {
            text.Append(p.Name).Append('=');
            Write(text, p.GetValue(value), depth + 1);
            text.Append("; ");
        }

        text.Append('}');
    }
}
