using System.Text.Json;

namespace MobiScud.Cli;

/// <summary>
/// The JSON-encoded UTF-8 text of strings that repeat from entry to entry of a replay (UE ids, PVM and site names, MCC
/// and MNC, notification details: on the bench capture ~200 distinct values in ~350,000 writes), so a
/// repeated value is copied as bytes instead of transcoded from UTF-16 and checked for characters to escape each time.
/// </summary>
/// <remarks>
/// Direct-mapped and bounded: a long live view meets ever new values, and a value that lost its slot is encoded again.
/// A slot holds one immutable entry, so threads that share the cache read an old entry or a new one, whole. The text is
/// what <see cref="JsonEncodedText.Encode(string, System.Text.Encodings.Web.JavaScriptEncoder?)"/> gives with the
/// default encoder: the bytes a <see cref="Utf8JsonWriter"/> without an encoder of its own writes for the string
/// (ReplayJsonFastTests holds the two to the same bytes on hostile strings).
/// </remarks>
internal sealed class EncodedTextCache
{
    private const int Bits = 10;

    private readonly Entry?[] _slots = new Entry?[1 << Bits];

    /// <summary>
    /// The string's encoded text; false for a string with a surrogate, which is to be written as a string: a writer
    /// escapes an unpaired one differently from <see cref="JsonEncodedText"/>, and no id or name of a replay has any.
    /// </summary>
    public bool TryGet(string value, out JsonEncodedText text)
    {
        var index = Slot(value);
        var entry = _slots[index];
        if (entry is null || !string.Equals(entry.Value, value, StringComparison.Ordinal))
        {
            if (value.AsSpan().ContainsAnyInRange('\ud800', '\udfff'))
            {
                text = default;
                return false;
            }

            entry = new Entry(value, JsonEncodedText.Encode(value));
            _slots[index] = entry;
        }

        text = entry.Text;
        return true;
    }

    /// <summary>
    /// From the length and the last two characters: the ids written differ at their end ("imsi-...819",
    /// "site-enb-...004"), and a string's own hash reads every character, which cost about what the transcoding it
    /// saves did. A collision costs a comparison and, at worst, an encoding.
    /// </summary>
    private static int Slot(string value)
    {
        var n = value.Length;
        var hash = n switch
        {
            0 => 0u,
            1 => value[0],
            _ => ((uint)n << 20) ^ ((uint)value[n - 2] << 10) ^ value[n - 1],
        };

        // Fibonacci hashing: the top bits of the product depend on all of the hash's bits.
        return (int)((hash * 0x9E3779B9u) >> (32 - Bits));
    }

    private sealed record Entry(string Value, JsonEncodedText Text);
}
