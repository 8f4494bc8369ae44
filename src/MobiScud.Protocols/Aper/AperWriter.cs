using System.Buffers.Binary;

namespace MobiScud.Protocols.Aper;

/// <summary>
/// ITU-T X.691 ALIGNED PER writer, the mirror of <see cref="AperReader"/>. Padding bits are zero and
/// lengths take their minimal form, which is what makes decode -> encode byte-identical for canonical input.
/// </summary>
public sealed class AperWriter
{
    private byte[] _buffer;
    private int _bit;
    private int _openScopes;

    public AperWriter(int initialCapacity = 256)
    {
        _buffer = new byte[Math.Max(16, initialCapacity)];
    }

    /// <summary>One value's encoding: <paramref name="write"/> fills a fresh writer, whose bytes are returned.</summary>
    internal static byte[] Build(Action<AperWriter> write, int initialCapacity = 32)
    {
        var w = new AperWriter(initialCapacity);
        write(w);
        return w.ToArray();
    }

    /// <summary>Bytes written so far (a partial last octet is zero-padded).</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, (_bit + 7) >> 3);

    public byte[] ToArray() => _openScopes == 0
        ? WrittenSpan.ToArray()
        : throw new InvalidOperationException($"{_openScopes} open type scope(s) still open: their lengths are not written yet");

    private void Ensure(long bits)
    {
        var needBytes = (_bit + bits + 7) >> 3;
        if (needBytes > _buffer.Length)
        {
            Array.Resize(ref _buffer, (int)Math.Max(needBytes, _buffer.Length * 2L));
        }
    }

    public void WriteBit(bool value) => WriteBits(value ? 1UL : 0UL, 1);

    public void WriteBits(ulong value, int count)
    {
        if ((uint)count > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        Ensure(count);
        for (var i = count - 1; i >= 0; i--)
        {
            if (((value >> i) & 1) != 0)
            {
                _buffer[_bit >> 3] |= (byte)(0x80 >> (_bit & 7));
            }

            _bit++;
        }
    }

    public void Align()
    {
        Ensure(7);
        _bit = (_bit + 7) & ~7;
    }

    /// <summary>A 4-octet OCTET STRING (SIZE(4)) holding <paramref name="value"/> big-endian: a GTP-TEID, M-TMSI or 5G-TMSI.</summary>
    public void WriteAlignedUInt32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        WriteAlignedOctets(b);
    }

    public void WriteAlignedOctets(ReadOnlySpan<byte> bytes)
    {
        Align();
        Ensure(bytes.Length * 8L);
        bytes.CopyTo(_buffer.AsSpan(_bit >> 3));
        _bit += bytes.Length * 8;
    }

    private static int BitsFor(ulong range) => 64 - System.Numerics.BitOperations.LeadingZeroCount(range - 1);

    public void WriteConstrainedWholeNumber(long value, long lb, long ub)
    {
        if (value < lb || value > ub)
        {
            throw new ArgumentOutOfRangeException(nameof(value), $"{value} outside {lb}..{ub}");
        }

        var range = (ulong)(ub - lb) + 1;
        var offset = (ulong)(value - lb);
        if (range == 1)
        {
            return;
        }

        if (range <= 255)
        {
            WriteBits(offset, BitsFor(range));
        }
        else if (range == 256)
        {
            Align();
            WriteBits(offset, 8);
        }
        else if (range <= 65536)
        {
            Align();
            WriteBits(offset, 16);
        }
        else
        {
            var maxOctets = (BitsFor(range) + 7) / 8;
            var octets = 1;
            while (octets < 8 && (offset >> (octets * 8)) != 0)
            {
                octets++;
            }

            WriteBits((ulong)(octets - 1), BitsFor((ulong)maxOctets));
            Align();
            WriteBits(offset, octets * 8);
        }
    }

    /// <summary>Unconstrained length determinant for a count below 16K (fragments are written by the octet/open-type writers).</summary>
    public void WriteLengthDeterminant(int length)
    {
        if (length < 0 || length >= 16384)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        Align();
        if (length < 128)
        {
            WriteBits((ulong)length, 8);
        }
        else
        {
            WriteBits(0x8000UL | (ulong)length, 16);
        }
    }

    public void WriteConstrainedLength(int length, int lb, int ub)
    {
        if (ub >= 65536)
        {
            WriteLengthDeterminant(length);
        }
        else
        {
            WriteConstrainedWholeNumber(length, lb, ub);
        }
    }

    public void WriteNormallySmallNonNegative(long value)
    {
        if (value <= 63)
        {
            WriteBit(false);
            WriteBits((ulong)value, 6);
        }
        else
        {
            WriteBit(true);
            WriteSemiConstrainedWholeNumber(value, 0);
        }
    }

    public void WriteSemiConstrainedWholeNumber(long value, long lb)
    {
        var offset = (ulong)(value - lb);
        var octets = 1;
        while (octets < 8 && (offset >> (octets * 8)) != 0)
        {
            octets++;
        }

        WriteLengthDeterminant(octets);
        Align();
        WriteBits(offset, octets * 8);
    }

    public void WriteUnconstrainedWholeNumber(long value)
    {
        var octets = 1;
        while (octets < 8 && (value < -(1L << ((octets * 8) - 1)) || value >= (1L << ((octets * 8) - 1))))
        {
            octets++;
        }

        WriteLengthDeterminant(octets);
        Align();
        WriteBits((ulong)value, octets * 8);
    }

    public void WriteInteger(long value, long lb, long ub, bool extensible)
    {
        if (extensible)
        {
            var inRoot = value >= lb && value <= ub;
            WriteBit(!inRoot);
            if (!inRoot)
            {
                WriteUnconstrainedWholeNumber(value);
                return;
            }
        }

        WriteConstrainedWholeNumber(value, lb, ub);
    }

    public void WriteEnumerated(int value, int rootCount, bool extensible)
    {
        if (extensible)
        {
            WriteBit(value >= rootCount);
            if (value >= rootCount)
            {
                WriteNormallySmallNonNegative(value - rootCount);
                return;
            }
        }

        WriteConstrainedWholeNumber(value, 0, rootCount - 1);
    }

    /// <summary>Root choice index (an extension alternative would use <see cref="WriteChoiceExtensionIndex"/> then an open type).</summary>
    public void WriteChoiceIndex(int index, int rootCount, bool extensible)
    {
        if (extensible)
        {
            WriteBit(false);
        }

        WriteConstrainedWholeNumber(index, 0, rootCount - 1);
    }

    public void WriteChoiceExtensionIndex(int extensionIndex)
    {
        WriteBit(true);
        WriteNormallySmallNonNegative(extensionIndex);
    }

    public void WriteSequencePreamble(bool extensible, bool extended, ulong optionalBitmap, int optionalCount)
    {
        if (extensible)
        {
            WriteBit(extended);
        }

        if (optionalCount > 0)
        {
            WriteBits(optionalBitmap, optionalCount);
        }
    }

    /// <summary>Open type: aligned length determinant (fragmented in 16K chunks when needed) and the content octets.</summary>
    public void WriteOpenType(ReadOnlySpan<byte> content) => WriteUnconstrainedOctets(content);

    /// <summary>
    /// Starts an open type whose content is written next, into this buffer: one octet is reserved for the length and
    /// disposing the scope back-patches it (as System.Formats.Asn1's AsnWriter.PushSequence does), moving the content
    /// only when the length needs two octets or 16K fragments. Scopes nest and must close innermost first.
    /// </summary>
    public OpenTypeScope PushOpenType()
    {
        Align();
        Ensure(8);
        var lengthAt = _bit >> 3;
        _bit += 8;
        return new OpenTypeScope(this, lengthAt, ++_openScopes);
    }

    /// <summary>
    /// An unbounded OCTET STRING holding an encoding (a transparent container): the same wire form as an open type
    /// (length determinant, octets), so the same back-patched scope.
    /// </summary>
    public OpenTypeScope PushOctetStringContaining() => PushOpenType();

    private void PopOpenType(int lengthAt, int depth)
    {
        if (depth != _openScopes)
        {
            throw new InvalidOperationException($"open type scope {depth} closed while scope {_openScopes} is open: scopes close innermost first");
        }

        _openScopes--;
        Align();
        var contentAt = lengthAt + 1;
        var length = (_bit >> 3) - contentAt;
        if (length < 128)
        {
            _buffer[lengthAt] = (byte)length;
        }
        else if (length < 16384)
        {
            // The two-octet form: shift the content by one octet.
            Ensure(8);
            Array.Copy(_buffer, contentAt, _buffer, contentAt + 1, length);
            _buffer[lengthAt] = (byte)(0x80 | (length >> 8));
            _buffer[lengthAt + 1] = (byte)length;
            _bit += 8;
        }
        else
        {
            // Fragments (X.691 11.9.3.8) are rare enough here (never in S1AP/NGAP signalling) to take a copy.
            var content = _buffer.AsSpan(contentAt, length).ToArray();
            Array.Clear(_buffer, lengthAt, length + 1);
            _bit = lengthAt * 8;
            WriteUnconstrainedOctets(content);
        }
    }

    /// <summary>An open type being written: dispose it (<c>using var scope = w.PushOpenType();</c>) to close it.</summary>
    public readonly ref struct OpenTypeScope
    {
        private readonly AperWriter _writer;
        private readonly int _lengthAt;
        private readonly int _depth;

        internal OpenTypeScope(AperWriter writer, int lengthAt, int depth)
        {
            _writer = writer;
            _lengthAt = lengthAt;
            _depth = depth;
        }

        public void Dispose() => _writer?.PopOpenType(_lengthAt, _depth);
    }

    private void WriteUnconstrainedOctets(ReadOnlySpan<byte> content)
    {
        var rest = content;
        while (rest.Length >= 16384)
        {
            var m = Math.Min(4, rest.Length / 16384);
            Align();
            WriteBits(0xC0UL | (ulong)m, 8);
            WriteAlignedOctets(rest[..(m * 16384)]);
            rest = rest[(m * 16384)..];
        }

        // A final (possibly empty) length closes a fragmented encoding.
        WriteLengthDeterminant(rest.Length);
        if (rest.Length > 0)
        {
            WriteAlignedOctets(rest);
        }
    }

    /// <summary>OCTET STRING (SIZE(lb..ub[, ...])); ub = -1 means unbounded.</summary>
    public void WriteOctetString(ReadOnlySpan<byte> value, int lb, int ub, bool extensible = false)
    {
        var inRoot = value.Length >= lb && (ub < 0 || value.Length <= ub);
        if (extensible)
        {
            WriteBit(!inRoot);
            if (!inRoot)
            {
                WriteUnconstrainedOctets(value);
                return;
            }
        }
        else if (!inRoot)
        {
            throw new ArgumentOutOfRangeException(nameof(value), $"octet string of {value.Length} outside {lb}..{ub}");
        }

        if (ub >= 0 && lb == ub)
        {
            if (ub <= 2)
            {
                foreach (var b in value)
                {
                    WriteBits(b, 8);
                }
            }
            else if (ub < 65536)
            {
                WriteAlignedOctets(value);
            }
            else
            {
                WriteUnconstrainedOctets(value);
            }

            return;
        }

        if (ub < 0 || ub >= 65536)
        {
            WriteUnconstrainedOctets(value);
            return;
        }

        WriteConstrainedLength(value.Length, lb, ub);
        if (value.Length > 0)
        {
            WriteAlignedOctets(value);
        }
    }

    /// <summary>BIT STRING of <paramref name="bitLength"/> bits taken MSB-first from <paramref name="bits"/>.</summary>
    public void WriteBitString(ReadOnlySpan<byte> bits, int bitLength, int lb, int ub, bool extensible)
    {
        if (bitLength > bits.Length * 8)
        {
            throw new ArgumentOutOfRangeException(nameof(bitLength));
        }

        var inRoot = bitLength >= lb && bitLength <= ub;
        if (extensible)
        {
            WriteBit(!inRoot);
            if (!inRoot)
            {
                WriteLengthDeterminant(bitLength);
                WriteBitsFrom(bits, bitLength, align: true);
                return;
            }
        }
        else if (!inRoot)
        {
            throw new ArgumentOutOfRangeException(nameof(bitLength));
        }

        if (lb == ub && ub <= 16)
        {
            WriteBitsFrom(bits, bitLength, align: false);
            return;
        }

        if (!(lb == ub && ub < 65536))
        {
            WriteConstrainedLength(bitLength, lb, ub);
        }

        WriteBitsFrom(bits, bitLength, align: bitLength > 0);
    }

    private void WriteBitsFrom(ReadOnlySpan<byte> bits, int bitLength, bool align)
    {
        if (align)
        {
            Align();
        }

        for (var i = 0; i < bitLength; i += 8)
        {
            var n = Math.Min(8, bitLength - i);
            WriteBits((ulong)(bits[i >> 3] >> (8 - n)), n);
        }
    }
}
