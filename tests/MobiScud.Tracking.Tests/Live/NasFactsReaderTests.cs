namespace MobiScud.Tracking.Tests.Live;

/// <summary>
/// <see cref="NasFactsReader.Read"/> answers some NAS from its header bytes alone (ciphered, or an EMM type the decoder
/// reads nothing from); the decoder's path (<see cref="NasFactsReader.ReadByDecoding"/>) is the reference it must equal.
/// </summary>
public sealed class NasFactsReaderTests
{
    [Fact]
    public void EveryHeaderAndMessageTypeGivesTheDecodersFacts()
    {
        var random = new Random(14);
        var compared = 0;
        var shortcut = 0;
        foreach (var nullCiphering in new[] { false, true })
        {
            for (var first = 0; first < 256; first++)
            {
                for (var type = 0; type < 256; type++)
                {
                    // Each first byte (security header, protocol discriminator) with each second byte, and each type
                    // inside a security header (MAC, sequence number, plain EMM header), with no tail (truncated) and a random one.
                    foreach (var tail in new[] { 0, 12 })
                    {
                        var bytes = new byte[tail];
                        random.NextBytes(bytes);
                        Check([(byte)first, (byte)type, .. bytes]);
                        Check([(byte)first, 1, 2, 3, 4, 5, 0x07, (byte)type, .. bytes]);
                    }
                }
            }

            void Check(byte[] pdu)
            {
                var expected = NasFactsReader.ReadByDecoding(pdu, nullCiphering);
                var actual = NasFactsReader.Read(pdu, nullCiphering);
                Assert.True(Equals(expected, actual), $"{Convert.ToHexString(pdu)} (null ciphering {nullCiphering}): {expected} != {actual}");
                compared++;
                shortcut += NasFactsReader.IsFactlessEmm(pdu) ? 1 : 0;
            }
        }

        Assert.Equal(2 * 256 * 256 * 2 * 2, compared);

        // The header check is taken (not a test that cannot fail): for EMM under headers 0-4 with any of the 243 types
        // the decoder reads nothing from, in both forms, tails and ciphering modes, about 5,900 of the cases.
        Assert.True(shortcut > 5_800, $"{shortcut} of {compared}");
    }

    [Fact]
    public void AuthenticationAndSecurityModeCompleteAreOtherWithoutIdentities()
    {
        // 0x07 0x52: plain Authentication Request; 0x47 ... 0x07 0x5E: integrity-protected Security Mode Complete (header 4, read with EEA0).
        Assert.Equal(new NasFacts(NasKind.Other), NasFactsReader.Read([0x07, 0x52, 0x00, 0x01], nullCiphering: false));
        Assert.Equal(new NasFacts(NasKind.Other), NasFactsReader.Read([0x47, 0, 0, 0, 0, 1, 0x07, 0x5E], nullCiphering: true));
        Assert.Equal(new NasFacts(NasKind.Ciphered), NasFactsReader.Read([0x47, 0, 0, 0, 0, 1, 0x07, 0x5E], nullCiphering: false));

        // An Identity Response is decoded (its IMSI is a fact): 0x07 0x56, mobile identity IMSI 001010123456789.
        var identity = NasFactsReader.Read([0x07, 0x56, 0x08, 0x09, 0x10, 0x10, 0x10, 0x32, 0x54, 0x76, 0x98], nullCiphering: false);
        Assert.Equal(NasKind.IdentityResponse, identity?.Kind);
        Assert.Equal("001010123456789", identity?.Imsi);
    }
}
