using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MobiScud.Hosting.Mec;

/// <summary>
/// MEC 009 attribute-based filtering (clause 6.19, as ETSI GS NFV-SOL 013 5.2 defines it): `(op,attr,value[,value...])`
/// conditions joined by `;`, all of which must hold. Attribute names in nested objects are joined by `/`; through an
/// array a positive condition (eq, gt, lt, gte, lte, in, cont) holds when some element satisfies it, and neq, nin,
/// ncont hold when eq, in, cont do not. A value holding `,`, `)` or `'` is quoted ('...', with '' for a quote).
/// Numbers compare as numbers, anything else as ordinal strings.
/// </summary>
internal sealed class MecAttributeFilter
{
    private static readonly string[] _single = ["eq", "neq", "gt", "lt", "gte", "lte"];
    private static readonly string[] _multiple = ["in", "nin", "cont", "ncont"];

    private sealed record Condition(string Op, string[] Path, IReadOnlyList<string> Values);

    private readonly List<Condition> _conditions;

    private MecAttributeFilter(List<Condition> conditions) => _conditions = conditions;

    /// <summary>The filter, or null with why it is malformed or names an attribute not in <paramref name="attributes"/>.</summary>
    public static MecAttributeFilter? Parse(string text, IReadOnlyCollection<string> attributes, out string? problem)
    {
        problem = null;
        var conditions = new List<Condition>();
        var i = 0;
        while (true)
        {
            if (i >= text.Length || text[i] != '(')
            {
                problem = $"expected '(' at position {i} of '{MecJson.Clip(text)}'";
                return null;
            }

            i++;
            var parts = new List<string>();
            var part = new StringBuilder();
            var closed = false;
            while (i < text.Length && !closed)
            {
                var c = text[i];
                if (c == '\'' && part.Length == 0)
                {
                    // A quoted value: up to the lone closing quote ('' is a quote inside).
                    i++;
                    while (true)
                    {
                        if (i >= text.Length)
                        {
                            problem = $"a quoted value is not closed in '{MecJson.Clip(text)}'";
                            return null;
                        }

                        if (text[i] == '\'' && (i + 1 >= text.Length || text[i + 1] != '\''))
                        {
                            i++;
                            break;
                        }

                        part.Append(text[i]);
                        i += text[i] == '\'' ? 2 : 1;
                    }

                    continue;
                }

                if (c is ',' or ')')
                {
                    parts.Add(part.ToString());
                    part.Clear();
                    closed = c == ')';
                }
                else
                {
                    part.Append(c);
                }

                i++;
            }

            if (!closed)
            {
                problem = $"a condition is not closed with ')' in '{MecJson.Clip(text)}'";
                return null;
            }

            if (parts.Count < 3)
            {
                problem = $"a condition needs (op,attribute,value), was ({MecJson.Clip(string.Join(",", parts))})";
                return null;
            }

            var op = parts[0];
            if (!_single.Contains(op) && !_multiple.Contains(op))
            {
                problem = $"unknown operator '{MecJson.Clip(op)}' (one of {string.Join(", ", _single.Concat(_multiple))})";
                return null;
            }

            if (_single.Contains(op) && parts.Count != 3)
            {
                problem = $"{op} takes one value, was given {parts.Count - 2}";
                return null;
            }

            if (!attributes.Contains(parts[1]))
            {
                problem = $"no attribute '{MecJson.Clip(parts[1])}' (attributes: {string.Join(", ", attributes)})";
                return null;
            }

            conditions.Add(new Condition(op, parts[1].Split('/'), parts.Skip(2).ToList()));
            if (i == text.Length)
            {
                return new MecAttributeFilter(conditions);
            }

            if (text[i] != ';')
            {
                problem = $"expected ';' between conditions at position {i} of '{MecJson.Clip(text)}'";
                return null;
            }

            i++;
        }
    }

    /// <summary>Whether every condition holds for <paramref name="resource"/>.</summary>
    public bool Matches(JsonNode resource) => _conditions.All(c => Holds(c, Leaves(resource, c.Path, 0).ToList()));

    private static bool Holds(Condition c, List<JsonNode> leaves) => c.Op switch
    {
        "neq" => !leaves.Any(l => Compare(l, c.Values[0]) == 0),
        "nin" => !leaves.Any(l => c.Values.Any(v => Compare(l, v) == 0)),
        "ncont" => !leaves.Any(l => c.Values.Any(v => Text(l).Contains(v, StringComparison.Ordinal))),
        "eq" => leaves.Any(l => Compare(l, c.Values[0]) == 0),
        "in" => leaves.Any(l => c.Values.Any(v => Compare(l, v) == 0)),
        "cont" => leaves.Any(l => c.Values.Any(v => Text(l).Contains(v, StringComparison.Ordinal))),
        "gt" => leaves.Any(l => Compare(l, c.Values[0]) > 0),
        "lt" => leaves.Any(l => Compare(l, c.Values[0]) < 0),
        "gte" => leaves.Any(l => Compare(l, c.Values[0]) >= 0),
        _ => leaves.Any(l => Compare(l, c.Values[0]) <= 0),
    };

    private static IEnumerable<JsonNode> Leaves(JsonNode? node, string[] path, int at)
    {
        switch (node)
        {
            case JsonArray a:
                foreach (var item in a)
                {
                    foreach (var leaf in Leaves(item, path, at))
                    {
                        yield return leaf;
                    }
                }

                break;
            case JsonObject o when at < path.Length:
                foreach (var leaf in Leaves(o[path[at]], path, at + 1))
                {
                    yield return leaf;
                }

                break;
            case JsonValue v when at == path.Length:
                yield return v;
                break;
        }
    }

    private static string Text(JsonNode leaf) => leaf.GetValueKind() == JsonValueKind.String ? leaf.GetValue<string>() : leaf.ToJsonString();

    private static int Compare(JsonNode leaf, string value) =>
        leaf.GetValueKind() == JsonValueKind.Number && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
            ? double.Parse(leaf.ToJsonString(), CultureInfo.InvariantCulture).CompareTo(n)
            : string.CompareOrdinal(Text(leaf), value);
}
