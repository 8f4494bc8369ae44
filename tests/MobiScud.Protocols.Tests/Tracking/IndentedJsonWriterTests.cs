using System.Net;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.Control.Model;
using MobiScud.TestSupport;
using TestData = MobiScud.TestSupport.TestData;

namespace MobiScud.Protocols.Tests.Tracking;

/// <summary>
/// `replay --json` is written by <see cref="IndentedJsonWriter"/>, which must give the bytes of an indented
/// <see cref="Utf8JsonWriter"/>: on random documents made of every call the replay's writers make (through
/// <see cref="IJsonOut"/>, so the forwarding of both outputs is checked too), and on the replay of every capture.
/// </summary>
public sealed class IndentedJsonWriterTests
{
    // Characters the default encoder writes as they are, ones it escapes (quotes, controls, HTML-sensitive, non-ASCII),
    // a surrogate pair and lone surrogates.
    private static readonly char[] _pool = ['a', 'Z', '0', '-', ' ', '.', ':', '"', '\\', '/', '<', '>', '&', '\'', '+', '`', '\0', '\n', '\t', '\u007f', 'é', '\u2028', '\ud83d', '\ude00', '\ud800'];

    private static readonly string[] _names = ["type", "at", "ue", "a<b", "summary", "cellId", "x"];

    private enum Kind
    {
        Null,
        Boolean,
        Long,
        ULong,
        Double,
        Decimal,
        Encoded,
        String,
        Utf8,
        Object,
        Array,
        Serialized,
        NamedThenValue,
    }

    [Fact]
    public void Random_documents_are_written_as_the_framework_writer_writes_them()
    {
        var documents = Gen.Sized(size => Objects(Math.Min(size, 12)));
        Prop.ForAll(documents.ToArbitrary(), root => Framework(root) == Own(root)).Check(Config.QuickThrowOnFailure.WithMaxTest(2_000));
    }

    [Fact]
    public void Deep_documents_are_indented_past_the_cached_depths()
    {
        // 70 levels: past the names' cached prefixes (16 depths) and the writer's run of spaces (128).
        var node = new Node(Kind.Long, Long: 7);
        for (var i = 0; i < 70; i++)
        {
            node = i % 2 == 0
                ? new Node(Kind.Object, Children: [node, new Node(Kind.String, Text: "é<")], Names: ["inner", "x"])
                : new Node(Kind.Array, Children: [new Node(Kind.Object, Children: [node], Names: ["a"]), new Node(Kind.Null)]);
        }

        var root = new Node(Kind.Object, Children: [node], Names: ["root"]);
        Assert.Equal(Framework(root), Own(root));
    }

    [Theory]
    [MemberData(nameof(ReplayJsonFastTests.Captures), MemberType = typeof(ReplayJsonFastTests))]
    public void Replay_json_is_the_serializers_on_every_capture(string capture)
    {
        var session = new ReplaySession();
        ReplayResult result;
        using (var source = CaptureFile.Open(TestData.Capture(capture)))
        {
            result = session.Run(source, capture, PipelineOptions.Default);
        }

        // The CLI's path (a stream under the output) against the serializer's reference through the framework's writer.
        var stream = new MemoryStream();
        using (var output = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true))
        {
            ReplayJson.Write(result, output);
        }

        var reference = new MemoryStream();
        using (var w = new Utf8JsonWriter(reference, new JsonWriterOptions { Indented = true, SkipValidation = true }))
        {
            ReplayJson.Write(w, result, serializerOnly: true);
        }

        Assert.Equal(Encoding.UTF8.GetString(reference.ToArray()) + "\n", Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static Gen<Node> Nodes(int size, bool inArray)
    {
        var text = Gen.ArrayOf(Gen.Elements(_pool)).Select(c => new string(c));
        var leaves = new List<Gen<Node>>
        {
            Gen.Constant(new Node(Kind.Null)),
            text.Select(t => new Node(Kind.Encoded, Text: t)),
            text.Select(t => new Node(Kind.String, Text: t)),
            text.Select(t => new Node(Kind.Utf8, Text: t)),
            Gen.Elements(0, 1, 2).Select(i => new Node(Kind.Serialized, Long: i)),
        };
        if (!inArray)
        {
            leaves.Add(Gen.Elements(false, true).Select(b => new Node(Kind.Boolean, Boolean: b)));
            leaves.Add(ArbMap.Default.GeneratorFor<long>().Select(v => new Node(Kind.Long, Long: v)));
            leaves.Add(ArbMap.Default.GeneratorFor<ulong>().Select(v => new Node(Kind.ULong, ULong: v)));
            leaves.Add(ArbMap.Default.GeneratorFor<NormalFloat>().Select(v => new Node(Kind.Double, Double: v.Item)));
            leaves.Add(Decimals().Select(v => new Node(Kind.Decimal, Decimal: v)));
        }

        if (size <= 0)
        {
            return Gen.OneOf(leaves);
        }

        var item = Gen.Sized(_ => Nodes(size / 2, inArray: true));
        var containers = new List<Gen<Node>>(leaves)
        {
            Objects(size),
            Gen.ListOf(item).Select(items => new Node(Kind.Array, Children: items.Take(5).ToArray())),
        };
        if (!inArray)
        {
            containers.Add(item.Select(value => new Node(Kind.NamedThenValue, Children: [value])));
        }

        return Gen.OneOf(containers);
    }

    private static Gen<Node> Objects(int size) =>
        from children in Gen.ListOf(Gen.Sized(_ => Nodes(size / 2, inArray: false)))
        from names in Gen.ArrayOf(Gen.Elements(_names))
        let kept = children.Take(5).ToArray()
        select new Node(Kind.Object, Children: kept, Names: kept.Select((_, i) => names.Length > 0 ? names[i % names.Length] : "n").ToArray());

    private static Gen<decimal> Decimals() =>
        from lo in ArbMap.Default.GeneratorFor<int>()
        from mid in ArbMap.Default.GeneratorFor<int>()
        from hi in Gen.Elements(0, 1, int.MaxValue, -1)
        from negative in Gen.Elements(false, true)
        from scale in Gen.Choose(0, 28)
        select new decimal(lo, mid, hi, negative, (byte)scale);

    private static string Framework(Node root)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, SkipValidation = true }))
        {
            Emit(new Utf8Out(w), root, null);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Own(Node root)
    {
        var buffer = new MemoryStream();
        var w = new IndentedJsonWriter(buffer);
        Emit(new IndentedOut(w), root, null);
        w.Flush();
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The node through the writer: as a property when it has a name, else as a value (in an array, or the root).</summary>
    private static void Emit<TOut>(TOut w, Node n, string? name)
        where TOut : struct, IJsonOut
    {
        var key = name is null ? null : new JsonName(name);
        switch (n.Kind)
        {
            case Kind.Null when key is null:
                w.WriteNullValue();
                break;
            case Kind.Null:
                w.WriteNull(key!);
                break;
            case Kind.Boolean:
                w.WriteBoolean(key!, n.Boolean);
                break;
            case Kind.Long:
                w.WriteNumber(key!, n.Long);
                break;
            case Kind.ULong:
                w.WriteNumber(key!, n.ULong);
                break;
            case Kind.Double:
                w.WriteNumber(key!, n.Double);
                break;
            case Kind.Decimal:
                w.WriteNumber(key!, n.Decimal);
                break;
            case Kind.Encoded when IsEncodable(n.Text):
                if (key is null)
                {
                    w.WriteStringValue(JsonEncodedText.Encode(n.Text));
                }
                else
                {
                    w.WriteString(key, JsonEncodedText.Encode(n.Text));
                }

                break;
            case Kind.Encoded or Kind.String when key is null:
                w.WriteStringValue(n.Text);
                break;
            case Kind.Encoded or Kind.String:
                w.WriteString(key!, n.Text);
                break;
            case Kind.Utf8 when key is null:
                w.WriteStringValue(Encoding.UTF8.GetBytes(n.Text));
                break;
            case Kind.Utf8:
                w.WriteString(key!, Encoding.UTF8.GetBytes(n.Text));
                break;
            case Kind.Serialized:
                if (key is not null)
                {
                    w.WritePropertyName(key);
                }

                w.WriteSerialized(Serializable((int)n.Long), ReplayJson.Options);
                break;
            case Kind.NamedThenValue:
                w.WritePropertyName(key!);
                Emit(w, n.Children![0], null);
                break;
            case Kind.Object:
                if (key is null)
                {
                    w.WriteStartObject();
                }
                else
                {
                    w.WriteStartObject(key);
                }

                for (var i = 0; i < n.Children!.Length; i++)
                {
                    Emit(w, n.Children[i], n.Names![i]);
                }

                w.WriteEndObject();
                break;
            case Kind.Array:
                if (key is null)
                {
                    w.WriteStartArray();
                }
                else
                {
                    w.WriteStartArray(key);
                }

                foreach (var item in n.Children!)
                {
                    Emit(w, item, null);
                    if (w.BytesPending > 64)
                    {
                        w.Flush();
                    }
                }

                w.WriteEndArray();
                break;
        }
    }

    /// <summary>JsonEncodedText refuses lone surrogates (the cache writes such a string as a string instead).</summary>
    private static bool IsEncodable(string text)
    {
        try
        {
            JsonEncodedText.Encode(text);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Values with no hand-written form, nested and flat, for the serializer's path.</summary>
    private static object Serializable(int which)
    {
        var ue = new UeId("imsi-\"1\"");
        return which switch
        {
            0 => new TimerFired(TimeSpan.FromSeconds(1.5), ue, TimerKind.PolicyReview, 4),
            1 => new Bearer(5, new GtpEndpoint(IPAddress.Parse("10.0.0.1"), 1), new GtpEndpoint(IPAddress.IPv6Loopback, 2)) { Qci = 9 },
            _ => new List<int>(),
        };
    }

    private sealed record Node(Kind Kind, string Text = "", long Long = 0, ulong ULong = 0, double Double = 0, decimal Decimal = 0, bool Boolean = false, Node[]? Children = null, string[]? Names = null);
}
