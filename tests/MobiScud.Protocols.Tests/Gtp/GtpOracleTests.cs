using System.Globalization;
using MobiScud.Protocols.Gtp;
using MobiScud.Protocols.Tests.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Gtp;

public class GtpOracleTests
{
    public static IEnumerable<object[]> Captures() =>
        TestData.AllCaptures().Select(c => new object[] { Path.GetFileName(c) });

    [Theory]
    [MemberData(nameof(Captures))]
    public void Gtpv2_messages_match_tshark(string capture)
    {
        var problems = new List<string>();
        foreach (var m in TsharkCorpus.For(TestData.Capture(capture), "gtpv2"))
        {
            var g = GtpV2Decoder.Decode(m.Bytes);
            var chain = new List<GtpV2Message>();
            for (var x = g; x is not null; x = x.Piggybacked)
            {
                chain.Add(x);
            }

            void Same<T>(string what, IEnumerable<T> ours, IEnumerable<T> theirs)
            {
                var a = ours.ToList();
                var b = theirs.ToList();
                if (!a.SequenceEqual(b))
                {
                    problems.Add($"{m} {g.MessageName} {what}: ours [{string.Join(",", a)}] tshark [{string.Join(",", b)}]");
                }
            }

            Same("message type", chain.Select(c => (int)c.MessageType), m.Values("gtpv2.message_type").Select(int.Parse));
            Same("sequence", chain.Select(c => c.SequenceNumber), m.Values("gtpv2.seq").Select(HexU));
            var fteids = chain.SelectMany(c => AllFTeids(c.Ies)).ToList();
            Same("F-TEID TEIDs", fteids.Select(f => f.Teid), m.Values("gtpv2.f_teid_gre_key").Select(HexU));
            Same("F-TEID IPv4", fteids.Where(f => f.Ipv4 is not null).Select(f => f.Ipv4!.ToString()), m.Values("gtpv2.f_teid_ipv4"));
            Same("F-TEID interface", fteids.Select(f => (int)f.InterfaceType), m.Values("gtpv2.f_teid_interface_type").Select(int.Parse));
            Same("IMSI", chain.Where(c => c.Imsi is not null).Select(c => c.Imsi!), m.Values("e212.imsi"));
            Same("PAA IPv4", chain.Where(c => c.Paa?.Ipv4 is not null).Select(c => c.Paa!.Ipv4!.ToString()), m.Values("gtpv2.pdn_addr_and_prefix.ipv4"));
            Same("EBI", chain.SelectMany(c => AllOfType(c.Ies, GtpV2IeType.Ebi)).Select(i => i.Value.Span[0] & 0x0F), m.Values("gtpv2.ebi").Select(int.Parse));
        }

        Assert.True(problems.Count == 0, $"{problems.Count} mismatches:\n" + string.Join("\n", problems.Take(20)));
    }

    [Fact]
    public void Known_captures_carry_the_expected_gtpv2_procedures()
    {
        var epc = TsharkCorpus.For(TestData.Capture("open5gs_testepc_2019.pcapng"), "gtpv2").Select(m => GtpV2Decoder.Decode(m.Bytes)).ToList();
        Assert.Contains(epc, g => g.MessageType == GtpV2MessageType.CreateIndirectDataForwardingTunnelRequest);
        Assert.Contains(epc, g => g.MessageType == GtpV2MessageType.DeleteIndirectDataForwardingTunnelResponse);
        var srs = TsharkCorpus.For(TestData.Capture("open5gs_srsenb.pcapng"), "gtpv2").Select(m => GtpV2Decoder.Decode(m.Bytes)).ToList();
        Assert.Contains(srs, g => g.MessageType == GtpV2MessageType.CreateSessionResponse && g.Paa?.Ipv4?.ToString() == "10.45.0.2");
        Assert.Contains(srs, g => g.MessageType == GtpV2MessageType.CreateSessionRequest && g.Imsi == "901700000021309");
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void Gtpu_headers_match_tshark(string capture)
    {
        var problems = new List<string>();
        foreach (var m in TsharkCorpus.For(TestData.Capture(capture), "gtp"))
        {
            var declared = m.Values("gtp.length").Select(int.Parse).First();
            if (8 + declared > m.Bytes.Length)
            {
                // tshark dissects a header whose length runs past the datagram (it flags it malformed); we refuse it.
                var e = Assert.Throws<GtpDecodeException>(() => GtpU.Decode(m.Bytes));
                Assert.Equal(GtpError.BadLength, e.Error);
                continue;
            }

            var h = GtpU.Decode(m.Bytes);
            if (m.Values("gtp.teid").Select(HexU).FirstOrDefault() != h.Teid ||
                m.Values("gtp.message").Select(HexU).FirstOrDefault() != h.MessageType ||
                m.Values("gtp.length").Select(uint.Parse).FirstOrDefault() != (uint)(h.PayloadOffset - 8 + h.PayloadLength))
            {
                problems.Add($"{m}: teid 0x{h.Teid:x8} type {h.MessageType} len {h.PayloadOffset - 8 + h.PayloadLength}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} mismatches:\n" + string.Join("\n", problems.Take(20)));
    }

    private static IEnumerable<FTeid> AllFTeids(IEnumerable<GtpV2Ie> ies) =>
        AllOfType(ies, GtpV2IeType.FTeid).Select(GtpV2Decoder.ReadFTeid);

    private static IEnumerable<GtpV2Ie> AllOfType(IEnumerable<GtpV2Ie> ies, byte type)
    {
        foreach (var ie in ies)
        {
            if (ie.Type == type)
            {
                yield return ie;
            }

            foreach (var c in AllOfType(ie.Children, type))
            {
                yield return c;
            }
        }
    }

    private static uint HexU(string v) => uint.Parse(v.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
