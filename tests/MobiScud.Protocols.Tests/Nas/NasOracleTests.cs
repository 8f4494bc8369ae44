using System.Globalization;
using MobiScud.Protocols.Nas;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Tests.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Nas;

/// <summary>NAS-PDUs found by our S1AP decoder, decoded by our NAS decoder, against tshark's nas-eps fields.</summary>
public class NasOracleTests
{
    public static IEnumerable<object[]> Captures() =>
        TestData.AllCaptures().Where(c => !Path.GetFileName(c).Contains("ngap", StringComparison.Ordinal)).Select(c => new object[] { Path.GetFileName(c) });

    internal static IEnumerable<(TsharkMessage Message, List<byte[]> Nas)> NasPdus(string capture)
    {
        var summary = new S1apSummary();
        foreach (var m in TsharkCorpus.For(TestData.Capture(capture), "s1ap"))
        {
            S1apDecoder.Decode(m.Bytes, summary);
            var list = new List<byte[]>();
            if (summary.HasNasPdu)
            {
                list.Add(summary.NasPdu.ToArray());
            }

            foreach (var e in summary.ERabs)
            {
                if (e.HasNasPdu)
                {
                    list.Add(summary.ERabNasPdu(e).ToArray());
                }
            }

            if (list.Count > 0)
            {
                yield return (m, list);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void Nas_message_types_identities_and_pdn_addresses_match_tshark(string capture)
    {
        var problems = new List<string>();
        var checkedImsis = 0;
        var checkedPdn = 0;
        var count = 0;
        foreach (var (m, pdus) in NasPdus(capture))
        {
            // tshark dissects security header type 2/4 as null-ciphered by default (nas-eps.null_decipher), so do we here.
            var decoded = pdus.Select(p => NasDecoder.Decode(p, nullCipheringInUse: true)).ToList();
            count += decoded.Count;
            var all = decoded.Concat(decoded.Where(d => d.EsmMessage is not null).Select(d => d.EsmMessage!)).ToList();

            void Same<T>(string what, IEnumerable<T> ours, IEnumerable<T> theirs)
            {
                var a = ours.Distinct().Order().ToList();
                var b = theirs.Distinct().Order().ToList();
                if (!a.SequenceEqual(b))
                {
                    problems.Add($"{m} {what}: ours [{string.Join(",", a)}] tshark [{string.Join(",", b)}] ({string.Join("; ", decoded)})");
                }
            }

            Same("EMM types", all.Where(d => d.ProtocolDiscriminator == 7 && d.MessageType != NasMessageType.ServiceRequest).Select(d => (int)d.MessageType), m.Values("nas_eps.nas_msg_emm_type").Select(Hex));
            Same("ESM types", all.Where(d => d.ProtocolDiscriminator == 2).Select(d => (int)d.MessageType), m.Values("nas_eps.nas_msg_esm_type").Select(Hex));
            var imsis = all.Where(d => d.Imsi is not null).Select(d => d.Imsi!).ToList();
            checkedImsis += imsis.Count;
            Same("IMSI", imsis, m.Values("e212.imsi"));
            var pdn = all.Where(d => d.PdnAddress?.Ipv4 is not null).Select(d => d.PdnAddress!.Ipv4!.ToString()).ToList();
            checkedPdn += pdn.Count;
            Same("PDN IPv4", pdn, m.Values("nas_eps.esm.pdn_ipv4"));
            Same("M-TMSI", all.Where(d => d.MTmsi is not null).Select(d => d.MTmsi!.Value), m.Values("nas_eps.emm.m_tmsi").Select(v => uint.Parse(v, CultureInfo.InvariantCulture)));
        }

        Assert.True(count > 0, "no NAS-PDU found");
        Assert.True(problems.Count == 0, $"{problems.Count} mismatches:\n" + string.Join("\n", problems.Take(20)));
    }

    [Fact]
    public void Known_attaches_yield_imsi_and_ue_ip()
    {
        // Values from SOURCES.md (written from tshark), checked through our own S1AP + NAS path.
        Expect("open5gs_srsenb.pcapng", "901700000021309", "10.45.0.2");
        Expect("magma_nsa_connection.pcapng", "222010100001140", "12.1.1.2");
        Expect("ttm4133_X2Handover.pcapng", "208950000000010", "192.172.0.2");
        Expect("magma_inbound_roaming_05.pcapng", "001020000000064", "192.168.126.1");
    }

    private static void Expect(string capture, string imsi, string ueIp)
    {
        var decoded = NasPdus(capture).SelectMany(x => x.Nas).Select(p => NasDecoder.Decode(p, true)).ToList();
        Assert.Contains(decoded, d => d.Imsi == imsi && d.MessageType is NasMessageType.AttachRequest or NasMessageType.IdentityResponse);
        Assert.Contains(decoded, d => d.MessageType == NasMessageType.AttachAccept && d.EsmMessage?.PdnAddress?.Ipv4?.ToString() == ueIp);
    }

    [Fact]
    public void A_ciphered_message_is_reported_as_ciphered_unless_null_ciphering_is_known()
    {
        var accept = NasPdus("open5gs_srsenb.pcapng").SelectMany(x => x.Nas)
            .First(p => (p[0] >> 4) == 2 && NasDecoder.Decode(p, true).MessageType == NasMessageType.AttachAccept);
        var blind = NasDecoder.Decode(accept);
        Assert.True(blind.Ciphered);
        Assert.Null(blind.EsmMessage);
        Assert.Equal("Ciphered", blind.MessageName);
        Assert.False(NasDecoder.Decode(accept, nullCipheringInUse: true).Ciphered);
    }

    private static int Hex(string v) => int.Parse(v.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
