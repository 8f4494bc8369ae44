using MobiScud.Protocols.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.S1ap;

public class S1apRoundTripTests
{
    [Fact]
    public void Decode_then_encode_is_byte_identical_for_every_s1ap_message_in_the_captures()
    {
        var messages = TsharkCorpus.All("s1ap");
        Assert.True(messages.Count > 500, $"only {messages.Count} S1AP messages found");
        var different = new List<string>();
        foreach (var m in messages)
        {
            var decoded = S1apMessage.Decode(m.Bytes);
            var encoded = decoded.Encode();
            if (!encoded.AsSpan().SequenceEqual(m.Bytes))
            {
                different.Add($"{m} {decoded}: {Convert.ToHexString(m.Bytes)} -> {Convert.ToHexString(encoded)}");
            }
        }

        Assert.True(different.Count == 0, string.Join("\n", different.Take(10)));
    }

    [Fact]
    public void Object_model_summary_equals_fast_path_summary()
    {
        foreach (var m in TsharkCorpus.For(TestData.Capture("open5gs_testepc_2019.pcapng"), "s1ap"))
        {
            var fast = S1apDecoder.Decode(m.Bytes);
            var viaObject = S1apMessage.Decode(m.Bytes).Summarize();
            Assert.Equal(fast.ToString(), viaObject.ToString());
            Assert.Equal(fast.IeCount, S1apMessage.Decode(m.Bytes).ProtocolIes.Count);
        }
    }
}
