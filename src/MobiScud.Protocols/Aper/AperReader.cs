using System.Runtime.CompilerServices;

namespace MobiScud.Protocols.Aper;

/// <summary>
/// ITU-T X.691 ALIGNED PER reader over a span. A ref struct so decoding allocates nothing; every read
/// checks the remaining bits first and throws <see cref="AperDecodeException"/> (reason + bit offset).
/// Offsets are relative to the start of the span given to the constructor.
/// </summary>
public ref struct AperReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _endBit;
    private int _bit;

    public AperReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _endBit = checked(data.Length * 8);
        _bit = 0;
    }

    /// <summary>A reader over <paramref name="data"/> positioned at <paramref name="byteOffset"/>, ending at <paramref name="byteEnd"/>.</summary>
    public AperReader(ReadOnlySpan<byte> data, int byteOffset, int byteEnd)
    {
        if ((uint)byteEnd > (uint)data.Length || (uint)byteOffset > (uint)byteEnd)
        {
            throw new AperDecodeException(AperError.BadLength, (long)byteOffset * 8, "reader window outside the buffer");
        }

        _data = data;
        _endBit = byteEnd * 8;
        _bit = byteOffset * 8;
    }

    public readonly int BitOffset => _bit;

    public readonly int ByteOffset => _bit >> 3;

    public readonly int RemainingBits => _endBit - _bit;

    public readonly bool IsAligned => (_bit & 7) == 0;

    /// <summary>Underlying buffer (offsets returned by this reader are relative to it).</summary>
    public readonly ReadOnlySpan<byte> Buffer => _data;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Need(long bits)
    {
        if (bits > _endBit - _bit)
        {
            Throw(AperError.Truncated, $"need {bits} bits, {_endBit - _bit} left");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public readonly void Throw(AperError error, string message) =>
        throw new AperDecodeException(error, _bit, message);

    public bool ReadBit()
    {
        Need(1);
        var b = (_data[_bit >> 3] >> (7 - (_bit & 7))) & 1;
        _bit++;
        return b != 0;
    }

    /// <summary>Reads up to 64 bits MSB first.</summary>
    public ulong ReadBits(int count)
    {
        if ((uint)count > 64)
        {
            Throw(AperError.Unsupported, $"bit field of {count} bits");
        }

        Need(count);
        ulong v = 0;
        var bit = _bit;
        if ((bit & 7) == 0 && (count & 7) == 0)
        {
            // Aligned whole octets (the common APER case): no per-bit masking.
            var at = bit >> 3;
            for (var i = 0; i < count >> 3; i++)
            {
                v = (v << 8) | _data[at + i];
            }

            _bit = bit + count;
            return v;
        }

        var left = count;
        while (left > 0)
        {
            var inByte = bit & 7;
            var avail = 8 - inByte;
            var take = avail < left ? avail : left;
            var cur = _data[bit >> 3];
            var chunk = (cur >> (avail - take)) & ((1 << take) - 1);
            v = (v << take) | (uint)chunk;
            bit += take;
            left -= take;
        }

        _bit = bit;
        return v;
    }

    /// <summary>Skips padding to the next octet boundary (X.691 aligned variant).</summary>
    public void Align()
    {
        var next = (_bit + 7) & ~7;
        if (next > _endBit)
        {
            Throw(AperError.Truncated, "padding beyond end");
        }

        _bit = next;
    }

    /// <summary>Reads <paramref name="count"/> whole octets; the reader must be aligned.</summary>
    public ReadOnlySpan<byte> ReadAlignedOctets(int count)
    {
        if (count < 0)
        {
            Throw(AperError.BadLength, "negative length");
        }

        if (!IsAligned)
        {
            Align();
        }

        Need((long)count * 8);
        var s = _data.Slice(_bit >> 3, count);
        _bit += count * 8;
        return s;
    }

    private static int BitsFor(ulong range)
    {
        // Minimal bit-field for values 0..range-1 (range >= 2).
        return 64 - System.Numerics.BitOperations.LeadingZeroCount(range - 1);
    }

    /// <summary>X.691 10.5: constrained whole number in [lb, ub] (aligned variant).</summary>
    public long ReadConstrainedWholeNumber(long lb, long ub)
    {
        var range = (ulong)(ub - lb) + 1;
        ulong offset;
        if (range == 1)
        {
            return lb;
        }

        if (range <= 255)
        {
            offset = ReadBits(BitsFor(range));
        }
        else if (range == 256)
        {
            Align();
            offset = ReadBits(8);
        }
        else if (range <= 65536)
        {
            Align();
            offset = ReadBits(16);
        }
        else
        {
            // Indefinite-length case: octet count as a constrained number 1..n, then aligned octets.
            var maxOctets = (BitsFor(range) + 7) / 8;
            var octets = (int)ReadBits(BitsFor((ulong)maxOctets)) + 1;
            if (octets > maxOctets)
            {
                Throw(AperError.ConstraintViolation, $"{octets} octets for a range of {range}");
            }

            Align();
            offset = ReadBits(octets * 8);
        }

        if (offset > range - 1)
        {
            Throw(AperError.ConstraintViolation, $"value offset {offset} outside range {range}");
        }

        return lb + (long)offset;
    }

    /// <summary>X.691 10.9: unconstrained length determinant; <paramref name="fragment"/> is set for a 16K-multiple fragment.</summary>
    public int ReadLengthDeterminant(out bool fragment)
    {
        Align();
        fragment = false;
        var first = (int)ReadBits(8);
        if ((first & 0x80) == 0)
        {
            return first;
        }

        if ((first & 0xC0) == 0x80)
        {
            return ((first & 0x3F) << 8) | (int)ReadBits(8);
        }

        var m = first & 0x3F;
        if (m < 1 || m > 4)
        {
            Throw(AperError.BadLength, $"fragment multiplier {m}");
        }

        fragment = true;
        return m * 16384;
    }

    /// <summary>Length determinant of a SIZE(lb..ub) constraint (ub &lt; 64K): a constrained whole number.</summary>
    public int ReadConstrainedLength(int lb, int ub)
    {
        if (ub >= 65536)
        {
            var n = ReadLengthDeterminant(out var frag);
            if (frag)
            {
                Throw(AperError.Unsupported, "fragmented length in a counted list");
            }

            if (n < lb || n > ub)
            {
                Throw(AperError.ConstraintViolation, $"length {n} outside {lb}..{ub}");
            }

            return n;
        }

        return (int)ReadConstrainedWholeNumber(lb, ub);
    }

    /// <summary>X.691 10.6: normally small non-negative whole number (choice/enum extension indices, bitmap lengths).</summary>
    public long ReadNormallySmallNonNegative()
    {
        if (!ReadBit())
        {
            return (long)ReadBits(6);
        }

        return ReadSemiConstrainedWholeNumber(0);
    }

    /// <summary>X.691 10.7: semi-constrained whole number (lb..MAX).</summary>
    public long ReadSemiConstrainedWholeNumber(long lb)
    {
        var octets = ReadLengthDeterminant(out var frag);
        if (frag || octets < 1 || octets > 8)
        {
            Throw(AperError.Unsupported, $"semi-constrained number of {octets} octets");
        }

        var v = ReadAlignedOctets(octets);
        ulong x = 0;
        foreach (var b in v)
        {
            x = (x << 8) | b;
        }

        if (x > long.MaxValue - (ulong)Math.Max(lb, 0))
        {
            Throw(AperError.Unsupported, "semi-constrained number over 63 bits");
        }

        return lb + (long)x;
    }

    /// <summary>X.691 10.8: unconstrained whole number (two's complement octets).</summary>
    public long ReadUnconstrainedWholeNumber()
    {
        var octets = ReadLengthDeterminant(out var frag);
        if (frag || octets < 1 || octets > 8)
        {
            Throw(AperError.Unsupported, $"unconstrained number of {octets} octets");
        }

        var v = ReadAlignedOctets(octets);
        long x = (sbyte)v[0];
        for (var i = 1; i < v.Length; i++)
        {
            x = (x << 8) | v[i];
        }

        return x;
    }

    /// <summary>INTEGER (lb..ub [, ...]): extension bit when extensible; an extension value is unconstrained.</summary>
    public long ReadInteger(long lb, long ub, bool extensible)
    {
        if (extensible && ReadBit())
        {
            return ReadUnconstrainedWholeNumber();
        }

        return ReadConstrainedWholeNumber(lb, ub);
    }

    /// <summary>ENUMERATED with <paramref name="rootCount"/> root values; an extension value is returned as rootCount + index.</summary>
    public int ReadEnumerated(int rootCount, bool extensible)
    {
        if (extensible && ReadBit())
        {
            var ext = ReadNormallySmallNonNegative();
            if (ext > int.MaxValue - rootCount)
            {
                Throw(AperError.ConstraintViolation, "enumerated extension index too large");
            }

            return rootCount + (int)ext;
        }

        return (int)ReadConstrainedWholeNumber(0, rootCount - 1);
    }

    /// <summary>
    /// CHOICE index: root alternatives 0..rootCount-1; for an extension alternative <paramref name="isExtension"/>
    /// is set and the index counts from 0 among the additions (its value follows as an open type).
    /// </summary>
    public int ReadChoiceIndex(int rootCount, bool extensible, out bool isExtension)
    {
        isExtension = extensible && ReadBit();
        if (isExtension)
        {
            var ext = ReadNormallySmallNonNegative();
            if (ext > int.MaxValue)
            {
                Throw(AperError.ConstraintViolation, "choice extension index too large");
            }

            return (int)ext;
        }

        return (int)ReadConstrainedWholeNumber(0, rootCount - 1);
    }

    /// <summary>SEQUENCE preamble: the extension bit (when extensible) and the OPTIONAL/DEFAULT bitmap, MSB = first optional.</summary>
    public ulong ReadSequencePreamble(bool extensible, int optionalCount, out bool extended)
    {
        extended = extensible && ReadBit();
        return optionalCount == 0 ? 0 : ReadBits(optionalCount);
    }

    /// <summary>
    /// Skips a SEQUENCE's extension additions (X.691 18.8/18.9): a normally small bitmap length, the bitmap,
    /// then each present addition as an open type.
    /// </summary>
    public void SkipExtensionAdditions()
    {
        var count = ReadNormallySmallNonNegative() + 1;
        if (count > RemainingBits)
        {
            Throw(AperError.BadLength, $"extension bitmap of {count} bits");
        }

        var present = 0;
        for (long i = 0; i < count; i++)
        {
            if (ReadBit())
            {
                present++;
            }
        }

        for (var i = 0; i < present; i++)
        {
            SkipOpenType();
        }
    }

    /// <summary>Reads an open type's content octets (unfragmented) and returns their byte offset and length in <see cref="Buffer"/>.</summary>
    public (int Offset, int Length) ReadOpenTypeRange()
    {
        var n = ReadLengthDeterminant(out var frag);
        if (frag)
        {
            Throw(AperError.Unsupported, "fragmented open type (over 16K) is not supported here; use ReadOpenType");
        }

        Need((long)n * 8);
        var off = _bit >> 3;
        _bit += n * 8;
        return (off, n);
    }

    /// <summary>Reads an open type; fragmented content (&gt;= 16K) is reassembled into a new array whose size was checked against the input.</summary>
    public ReadOnlySpan<byte> ReadOpenType() => ReadUnconstrainedOctets();

    /// <summary>
    /// An unbounded OCTET STRING (a NAS-PDU, a container) as (offset, length) in <see cref="Buffer"/>; a fragmented
    /// (16K or more) one is an <see cref="AperError.Unsupported"/> error naming <paramref name="what"/>.
    /// </summary>
    public (int Offset, int Length) ReadUnfragmentedOctets(string what)
    {
        var n = ReadLengthDeterminant(out var fragment);
        if (fragment)
        {
            Throw(AperError.Unsupported, $"fragmented {what}");
        }

        var offset = ByteOffset;
        ReadAlignedOctets(n);
        return (offset, n);
    }

    /// <summary>An OCTET STRING holding an encoding (a transparent container): a reader over its content.</summary>
    public AperReader ReadContainedEncoding(string what)
    {
        var (offset, length) = ReadUnfragmentedOctets(what);
        return new AperReader(_data, offset, offset + length);
    }

    public void SkipOpenType()
    {
        var n = ReadLengthDeterminant(out var frag);
        while (true)
        {
            Need((long)n * 8);
            _bit += n * 8;
            if (!frag)
            {
                return;
            }

            n = ReadLengthDeterminant(out frag);
        }
    }

    private ReadOnlySpan<byte> ReadUnconstrainedOctets()
    {
        var n = ReadLengthDeterminant(out var frag);
        if (!frag)
        {
            return ReadAlignedOctets(n);
        }

        // Fragmented: every fragment is length-checked before it is copied, so the output never exceeds the input.
        var parts = new List<byte>(Math.Min(n * 2, RemainingBits / 8));
        while (true)
        {
            parts.AddRange(ReadAlignedOctets(n));
            if (!frag)
            {
                break;
            }

            n = ReadLengthDeterminant(out frag);
        }

        return parts.ToArray();
    }

    /// <summary>OCTET STRING (SIZE(lb..ub[, ...])); ub = -1 means no upper bound.</summary>
    public ReadOnlySpan<byte> ReadOctetString(int lb, int ub, bool extensible = false)
    {
        if (extensible && ReadBit())
        {
            return ReadUnconstrainedOctets();
        }

        if (ub >= 0 && lb == ub)
        {
            if (ub == 0)
            {
                return ReadOnlySpan<byte>.Empty;
            }

            if (ub <= 2)
            {
                Need(ub * 8L);
                Span<byte> tmp = stackalloc byte[2];
                for (var i = 0; i < ub; i++)
                {
                    tmp[i] = (byte)ReadBits(8);
                }

                return tmp[..ub].ToArray();
            }

            if (ub < 65536)
            {
                return ReadAlignedOctets(ub);
            }
        }

        if (ub < 0 || ub >= 65536)
        {
            var s = ReadUnconstrainedOctets();
            if (s.Length < lb || (ub >= 0 && s.Length > ub))
            {
                Throw(AperError.ConstraintViolation, $"octet string of {s.Length} outside {lb}..{ub}");
            }

            return s;
        }

        var len = ReadConstrainedLength(lb, ub);
        return len == 0 ? ReadOnlySpan<byte>.Empty : ReadAlignedOctets(len);
    }

    /// <summary>
    /// BIT STRING (SIZE(lb..ub[, ...])); returns the octets holding the bits (first bit = MSB of the first octet;
    /// trailing bits of the last octet are the encoder's, not the value's) and the bit length.
    /// Unaligned short fixed-size strings (&lt;= 16 bits) are copied, everything else is a slice.
    /// </summary>
    public ReadOnlySpan<byte> ReadBitString(int lb, int ub, bool extensible, out int bitLength)
    {
        int len;
        if (extensible && ReadBit())
        {
            len = ReadLengthDeterminant(out var frag);
            if (frag)
            {
                Throw(AperError.Unsupported, "fragmented bit string");
            }
        }
        else if (lb == ub && ub <= 16)
        {
            bitLength = ub;
            if (ub == 0)
            {
                return ReadOnlySpan<byte>.Empty;
            }

            var v = ReadBits(ub) << (64 - ub);
            var bytes = new byte[(ub + 7) / 8];
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)(v >> (56 - (8 * i)));
            }

            return bytes;
        }
        else if (lb == ub && ub < 65536)
        {
            len = ub;
        }
        else if (ub >= 65536 || ub < 0)
        {
            len = ReadLengthDeterminant(out var frag);
            if (frag)
            {
                Throw(AperError.Unsupported, "fragmented bit string");
            }
        }
        else
        {
            len = ReadConstrainedLength(lb, ub);
        }

        bitLength = len;
        if (len == 0)
        {
            return ReadOnlySpan<byte>.Empty;
        }

        Align();
        Need(len);
        var s = _data.Slice(_bit >> 3, (len + 7) / 8);
        _bit += len;
        return s;
    }

    /// <summary>
    /// The end of an extensible SEQUENCE: its OPTIONAL iE-Extensions container (SIZE(1..maxProtocolExtensions)) and,
    /// when the extension bit was set, the extension additions.
    /// </summary>
    public void SkipSequenceTail(bool hasIeExtensions, bool extended)
    {
        if (hasIeExtensions)
        {
            SkipProtocolFieldList(1, 65535);
        }

        if (extended)
        {
            SkipExtensionAdditions();
        }
    }

    /// <summary>Skips a ProtocolExtensionContainer / ProtocolIE-Container style list: SIZE(lb..ub) OF {id(0..65535), criticality, open type}.</summary>
    public void SkipProtocolFieldList(int lb, int ub)
    {
        var n = ReadConstrainedLength(lb, ub);
        for (var i = 0; i < n; i++)
        {
            ReadConstrainedWholeNumber(0, 65535);
            ReadBits(2);
            SkipOpenType();
        }
    }
}
