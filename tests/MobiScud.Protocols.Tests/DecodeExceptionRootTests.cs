using MobiScud.Protocols.OpenFlow;

namespace MobiScud.Protocols.Tests;

/// <summary>One decode-exception root: every codec's typed decode error is a <see cref="DecodeException"/>.</summary>
public sealed class DecodeExceptionRootTests
{
    [Fact]
    public void Every_decode_exception_in_the_codec_and_emulator_assemblies_derives_from_the_root()
    {
        var assemblies = new[] { typeof(DecodeException).Assembly, typeof(MobiScud.Testbed.Emulation.SctpUdpEndpoint).Assembly, typeof(MobiScud.Capture.PcapWriter).Assembly };
        var decodeErrors = assemblies.SelectMany(a => a.GetTypes())
            .Where(t => typeof(Exception).IsAssignableFrom(t) && t.Name.Contains("Decode", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(typeof(OfpDecodeException), decodeErrors);
        Assert.All(decodeErrors, t => Assert.True(typeof(DecodeException).IsAssignableFrom(t), $"{t.FullName} does not derive from DecodeException"));
    }

    [Fact]
    public void A_malformed_openflow_message_names_protocol_reason_and_offset()
    {
        // An OFPT_HELLO (type 0) of version 4 whose header claims 4 bytes: shorter than the header itself.
        var error = Assert.ThrowsAny<DecodeException>(() => OfpCodec.Decode([0x04, 0x00, 0x00, 0x04, 0, 0, 0, 1]));
        Assert.Equal("OpenFlow", error.Protocol);
        Assert.IsType<OfpDecodeException>(error);
        Assert.Equal(error.BitOffset / 8, error.ByteOffset);
        Assert.Contains(error.Reason, Enum.GetNames<OfpDecodeError>());
        Assert.StartsWith("OpenFlow: ", error.Message);
    }
}
