using FsCheck;
using FsCheck.Fluent;
using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.Tests.Aper;

/// <summary>
/// APER primitives against X.691 (aligned variant) encodings, including values whose bytes tshark decoded in
/// the shared captures (e.g. MME-UE-S1AP-ID 16777690 in open5gs_testepc_2019 is 0xC0 01 00 01 DA).
/// </summary>
public class AperPrimitiveTests
{
    [Theory]
    [InlineData(16777690L, "C0010001DA")] // 4 octets: length-1 = 3 in 2 bits, then aligned octets
    [InlineData(1L, "0001")] // 1 octet
    [InlineData(553648333L, "C0210000CD")] // bytes of ttm4133_X2Handover ICS as tshark shows them
    public void Mme_ue_s1ap_id_uses_the_indefinite_length_constrained_form(long value, string hex)
    {
        var r = new AperReader(Convert.FromHexString(hex));
        Assert.Equal(value, r.ReadConstrainedWholeNumber(0, uint.MaxValue));
        Assert.Equal(0, r.RemainingBits);
        var w = new AperWriter();
        w.WriteConstrainedWholeNumber(value, 0, uint.MaxValue);
        Assert.Equal(hex, Convert.ToHexString(w.WrittenSpan));
    }

    [Fact]
    public void Enb_ue_s1ap_id_12041263_is_three_octets()
    {
        // 12041263 = 0xB7BC2F (bytes 80b7bc2f in ttm4133_X2Handover): length-1 = 2 in 2 bits (range 2^24 -> 1..3 octets), aligned value.
        var w = new AperWriter();
        w.WriteConstrainedWholeNumber(12041263, 0, 16777215);
        Assert.Equal("80B7BC2F", Convert.ToHexString(w.WrittenSpan));
    }

    [Fact]
    public void Small_ranges_are_bit_fields_and_range_256_is_an_aligned_octet()
    {
        var w = new AperWriter();
        w.WriteBit(true); // bit 0
        w.WriteConstrainedWholeNumber(5, 0, 7); // 3 bits: 101
        w.WriteConstrainedWholeNumber(200, 0, 255); // aligned octet
        w.WriteConstrainedWholeNumber(1000, 0, 65535); // aligned two octets
        Assert.Equal("D0C803E8", Convert.ToHexString(w.WrittenSpan));
        var r = new AperReader(w.WrittenSpan);
        Assert.True(r.ReadBit());
        Assert.Equal(5, r.ReadConstrainedWholeNumber(0, 7));
        Assert.Equal(200, r.ReadConstrainedWholeNumber(0, 255));
        Assert.Equal(1000, r.ReadConstrainedWholeNumber(0, 65535));
    }

    [Theory]
    [InlineData("05", 5, false)]
    [InlineData("7F", 127, false)]
    [InlineData("8100", 256, false)]
    [InlineData("BFFF", 16383, false)]
    [InlineData("C1", 16384, true)]
    [InlineData("C4", 65536, true)]
    public void Length_determinants(string hex, int length, bool fragment)
    {
        var r = new AperReader(Convert.FromHexString(hex));
        Assert.Equal(length, r.ReadLengthDeterminant(out var frag));
        Assert.Equal(fragment, frag);
    }

    [Fact]
    public void Fragmented_open_type_round_trips()
    {
        var content = new byte[40000];
        new Random(1).NextBytes(content);
        var w = new AperWriter();
        w.WriteBit(true);
        w.WriteOpenType(content);
        var bytes = w.ToArray();
        Assert.Equal(0xC2, bytes[1]); // 2 x 16K fragment after the padded first octet
        var r = new AperReader(bytes);
        Assert.True(r.ReadBit());
        Assert.Equal(content, r.ReadOpenType().ToArray());
        Assert.Equal(0, r.RemainingBits);
    }

    [Fact]
    public void Normally_small_numbers_and_extension_indices()
    {
        var w = new AperWriter();
        w.WriteNormallySmallNonNegative(5); // 0 000101
        w.WriteNormallySmallNonNegative(100); // 1 + semi-constrained
        var r = new AperReader(w.WrittenSpan);
        Assert.Equal(5, r.ReadNormallySmallNonNegative());
        Assert.Equal(100, r.ReadNormallySmallNonNegative());
        Assert.Equal(0x0A, w.WrittenSpan[0] & 0xFE); // first 7 bits 0000101
    }

    [Fact]
    public void Extensible_enumerated_and_choice()
    {
        var w = new AperWriter();
        w.WriteEnumerated(2, 5, true); // 0 + 3 bits 010
        w.WriteEnumerated(6, 5, true); // 1 + normally small 1
        w.WriteChoiceIndex(1, 2, true); // 0 + 1 bit
        var r = new AperReader(w.WrittenSpan);
        Assert.Equal(2, r.ReadEnumerated(5, true));
        Assert.Equal(6, r.ReadEnumerated(5, true));
        Assert.Equal(1, r.ReadChoiceIndex(2, true, out var ext));
        Assert.False(ext);
    }

    [Fact]
    public void Transport_layer_address_bit_string_is_extensible_sized_and_aligned()
    {
        // TransportLayerAddress 127.0.0.4 as open5gs_testepc_2019 carries it: ext 0, length-1 = 31 in 8 bits, aligned bits.
        var w = new AperWriter();
        w.WriteBitString([127, 0, 0, 4], 32, 1, 160, true);
        Assert.Equal("0F807F000004", Convert.ToHexString(w.WrittenSpan));
        var r = new AperReader(w.WrittenSpan);
        var bits = r.ReadBitString(1, 160, true, out var len);
        Assert.Equal(32, len);
        Assert.Equal(new byte[] { 127, 0, 0, 4 }, bits.ToArray());
    }

    [Fact]
    public void Truncated_input_is_a_typed_error_with_the_bit_offset()
    {
        var e = Assert.Throws<AperDecodeException>(() =>
        {
            var r = new AperReader([0xC0, 0x01]);
            r.ReadConstrainedWholeNumber(0, uint.MaxValue);
        });
        Assert.Equal(AperError.Truncated, e.Error);
        Assert.Equal(8, e.BitOffset);
        var len = Assert.Throws<AperDecodeException>(() =>
        {
            var r = new AperReader([0x10, 0x01]);
            r.ReadOpenType();
        });
        Assert.Equal(AperError.Truncated, len.Error);
    }

    [Fact]
    public void Constrained_numbers_round_trip_for_any_range_and_value()
    {
        var gen =
            from lb in Gen.Choose(-1000, 1000)
            from span in Gen.Elements(0L, 1L, 2L, 7L, 254L, 255L, 256L, 65535L, 65536L, 1L << 24, uint.MaxValue, 10_000_000_000L)
            from frac in Gen.Choose(0, 1000)
            from lead in Gen.Choose(0, 7)
            select (lb: (long)lb, ub: lb + span, value: lb + (long)(span * (frac / 1000.0)), lead);
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var w = new AperWriter();
            w.WriteBits(0, t.lead);
            w.WriteConstrainedWholeNumber(t.value, t.lb, t.ub);
            w.WriteBit(true);
            var r = new AperReader(w.WrittenSpan);
            r.ReadBits(t.lead);
            var v = r.ReadConstrainedWholeNumber(t.lb, t.ub);
            return v == t.value && r.ReadBit();
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Octet_strings_round_trip_for_any_size_constraint()
    {
        var gen =
            from len in Gen.Choose(0, 300)
            from ub in Gen.Elements(-1, 300, 65535, 70000)
            from lead in Gen.Choose(0, 7)
            select (len, ub, lead);
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var data = new byte[t.len];
            new Random(t.len).NextBytes(data);
            var w = new AperWriter();
            w.WriteBits(0, t.lead);
            w.WriteOctetString(data, 0, t.ub);
            var r = new AperReader(w.WrittenSpan);
            r.ReadBits(t.lead);
            return r.ReadOctetString(0, t.ub).SequenceEqual(data);
        }).QuickCheckThrowOnFailure();
    }
}
