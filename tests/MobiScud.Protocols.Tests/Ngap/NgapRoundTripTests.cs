using MobiScud.Protocols.Ngap;

namespace MobiScud.Protocols.Tests.Ngap;

public class NgapRoundTripTests
{
    [Fact]
    public void Decode_then_encode_is_byte_identical_for_every_ngap_message_in_the_captures()
    {
        var messages = NgapOracleTests.NgapCaptures.SelectMany(NgapOracleTests.Messages).ToList();
        Assert.True(messages.Count > 1000, $"only {messages.Count} NGAP messages found");
        var different = new List<string>();
        foreach (var m in messages)
        {
            var decoded = NgapMessage.Decode(m.Bytes);
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
        foreach (var m in NgapOracleTests.NgapCaptures.SelectMany(NgapOracleTests.Messages))
        {
            var fast = NgapDecoder.Decode(m.Bytes);
            var message = NgapMessage.Decode(m.Bytes);
            Assert.Equal(fast.ToString(), message.Summarize().ToString());
            Assert.Equal(fast.IeCount, message.ProtocolIes.Count);
        }
    }
}
