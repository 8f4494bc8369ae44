using FsCheck;
using FsCheck.Fluent;
using MobiScud.Protocols.Aper;

namespace MobiScud.Protocols.Tests.Aper;

/// <summary>
/// <see cref="AperWriter.PushOpenType"/> writes the content in place and back-patches the length: its bytes must be
/// those of <see cref="AperWriter.WriteOpenType"/> over the same content (checked against tshark through the encoder
/// oracle tests), for every length form: one octet, two octets, and 16K fragments.
/// </summary>
public class AperWriterScopeTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(16383)]
    [InlineData(16384)]
    [InlineData(40000)]
    [InlineData(70000)]
    public void A_scope_gives_the_bytes_of_an_open_type_written_from_a_copy(int length)
    {
        var content = new byte[length];
        new Random(length).NextBytes(content);
        Assert.Equal(WithCopy(content, prefixBits: 3), WithScope(content, prefixBits: 3));
    }

    [Fact]
    public void Any_content_and_prefix_gives_the_same_bytes_as_the_copying_writer()
    {
        var gen =
            from length in Gen.Choose(0, 600)
            from seed in Gen.Choose(0, 1000)
            from prefix in Gen.Choose(0, 9)
            select (length, seed, prefix);
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var content = new byte[t.length];
            new Random(t.seed).NextBytes(content);
            return WithCopy(content, t.prefix).AsSpan().SequenceEqual(WithScope(content, t.prefix));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Nested_scopes_back_patch_each_length_and_read_back()
    {
        var inner = Enumerable.Range(0, 200).Select(i => (byte)i).ToArray();
        var w = new AperWriter(4);
        w.WriteBit(true);
        using (w.PushOpenType())
        {
            w.WriteBits(5, 3);
            using (w.PushOpenType())
            {
                w.WriteAlignedOctets(inner);
            }

            w.WriteBit(true);
        }

        var bytes = w.ToArray();
        var r = new AperReader(bytes);
        Assert.True(r.ReadBit());
        var outer = new AperReader(r.ReadOpenType());
        Assert.Equal(5UL, outer.ReadBits(3));
        Assert.Equal(inner, outer.ReadOpenType().ToArray());
        Assert.True(outer.ReadBit());
        Assert.Equal(0, r.RemainingBits);
    }

    [Fact]
    public void Closing_out_of_order_or_reading_an_open_scope_fails_loudly()
    {
        var w = new AperWriter();
        var outer = w.PushOpenType();
        var inner = w.PushOpenType();
        Assert.Throws<InvalidOperationException>(() => w.ToArray());
        string? error = null;
        try
        {
            outer.Dispose(); // a scope is a ref struct: no lambda for Assert.Throws
        }
        catch (InvalidOperationException e)
        {
            error = e.Message;
        }

        Assert.Contains("innermost first", error);
        inner.Dispose();
        outer.Dispose();
        Assert.Equal([0x01, 0x00], w.ToArray());
    }

    private static byte[] WithCopy(byte[] content, int prefixBits)
    {
        var w = new AperWriter(4);
        w.WriteBits(0x155, prefixBits);
        var inner = new AperWriter(4);
        inner.WriteAlignedOctets(content);
        w.WriteOpenType(inner.WrittenSpan);
        w.WriteBit(true);
        return w.ToArray();
    }

    private static byte[] WithScope(byte[] content, int prefixBits)
    {
        var w = new AperWriter(4);
        w.WriteBits(0x155, prefixBits);
        using (w.PushOpenType())
        {
            w.WriteAlignedOctets(content);
        }

        w.WriteBit(true);
        return w.ToArray();
    }
}
