using System.Globalization;
using System.Net;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>
/// `mobiscud decode --fields` NGAP rows against `tshark -T fields` (with its 5G NAS null-deciphering option) on both
/// 5G captures, frame by frame: procedure codes, AMF/RAN UE NGAP ids, PDU session ids, TEIDs, transport addresses,
/// gNB ids, NR cells, IMSI (SUCI null scheme), UE IP, 5G NAS message types and 5G-TMSIs.
/// </summary>
public sealed class NgapDecodeOracleTests
{
    private static readonly string[] _ourFields =
    [
        "frame", "procedureCode", "amfUeNgapId", "otherAmfUeNgapIds", "ranUeNgapId", "otherRanUeNgapIds", "pduSessionIds", "teids",
        "transportAddresses", "globalRanNodeId", "targetId", "nrCgi", "imsi", "ueIp", "nasTypes", "nas", "sTmsi", "guti", "protocol",
    ];

    private static readonly string[] _tsharkFields =
    [
        "frame.number", "ngap.procedureCode", "ngap.AMF_UE_NGAP_ID", "ngap.RAN_UE_NGAP_ID", "ngap.pDUSessionID", "ngap.gTP_TEID",
        "ngap.transportLayerAddress", "ngap.gNB_ID", "ngap.NRCellIdentity", "nas_5gs.mm.suci.msin", "nas_5gs.sm.pdu_addr_inf_ipv4",
        "nas_5gs.mm.message_type", "nas_5gs.sm.message_type", "nas_5gs.5g_tmsi", "ngap.fiveG_TMSI",
    ];

    public static IEnumerable<object[]> Captures() => [["5greplay_oai_ngap.pcap"], ["open5gs_testregistration_ngap.pcapng"]];

    [Theory]
    [MemberData(nameof(Captures))]
    public async Task Ngap_decode_rows_match_tshark_frame_by_frame(string name)
    {
        var file = TestData.Capture(name);
        var output = new StringWriter();
        var code = DecodeCommand.Run([file], PipelineOptions.Default, DecodeCommand.Format.Fields, _ourFields, header: false, output, new StringWriter());
        Assert.Equal(0, code);
        var ours = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.TrimEnd('\r').Split('\t'))
            .Where(r => r[18] == "ngap")
            .GroupBy(r => long.Parse(r[0], CultureInfo.InvariantCulture))
            .ToDictionary(g => g.Key, g => g.ToList());

        var tshark = ExternalTool.Require("tshark", "tshark");
        var args = new List<string> { "-r", file, "-n", "-o", "nas-5gs.null_decipher:TRUE", "-Y", "ngap && sctp", "-T", "fields", "-E", "separator=\t" };
        foreach (var f in _tsharkFields)
        {
            args.AddRange(["-e", f]);
        }

        var result = await ExternalTool.RunAsync(tshark, args, TimeSpan.FromMinutes(2));
        Assert.Equal(0, result.ExitCode);
        var theirs = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t')).ToList();
        Assert.NotEmpty(theirs);
        Assert.Equal(theirs.Select(r => long.Parse(r[0], CultureInfo.InvariantCulture)), ours.Keys.Order());

        var problems = new List<string>();
        var (compared, tunnels, nasCompared) = (0, 0, 0);
        foreach (var t in theirs)
        {
            var frame = long.Parse(t[0], CultureInfo.InvariantCulture);
            var rows = ours[frame];
            void Same(string what, IEnumerable<string> a, IEnumerable<string> b)
            {
                var x = a.ToList();
                var y = b.ToList();
                if (!x.SequenceEqual(y))
                {
                    problems.Add($"frame {frame} {what}: decode [{string.Join(",", x)}] tshark [{string.Join(",", y)}]");
                }
            }

            compared += rows.Count;
            Same("procedureCode", rows.Select(r => r[1]), List(t[1]));
            Same("AMF-UE-NGAP-ID", Set(rows.SelectMany(r => List(r[2]).Concat(List(r[3])))), Set(List(t[2])));
            Same("RAN-UE-NGAP-ID", Set(rows.SelectMany(r => List(r[4]).Concat(List(r[5])))), Set(List(t[3])));
            Same("PDU session ids", rows.SelectMany(r => List(r[6])), List(t[4]));
            var teids = rows.SelectMany(r => List(r[7])).ToList();
            tunnels += teids.Count;
            Same("TEIDs", Sorted(teids), Sorted(List(t[5]).Select(h => uint.Parse(Hex(h), NumberStyles.HexNumber, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture))));
            Same("transport addresses", Sorted(rows.SelectMany(r => List(r[8])).SelectMany(a => a.Split(';'))), Sorted(List(t[6]).SelectMany(Addresses)));

            // gNB ids: ours print `PLMN/Gnb:id(bits)`; tshark prints the BIT STRING's octets, padded.
            var nodes = rows.SelectMany(r => new[] { r[9], r[10] }).Where(s => s.Contains("/Gnb:", StringComparison.Ordinal)).ToList();
            var bits = nodes.Select(n => int.Parse(n[(n.LastIndexOf('(') + 1)..^2], CultureInfo.InvariantCulture)).FirstOrDefault();
            Same("gNB ids", Set(nodes.Select(n => n[(n.IndexOf(":", StringComparison.Ordinal) + 1)..n.LastIndexOf('(')])), Set(List(t[7]).Select(h => GnbId(h, bits))));

            // The row's NR cell (user location) must be among tshark's (which include the cells of transparent containers).
            var cells = List(t[8]).Select(c => Convert.ToUInt64(c, 16)).ToHashSet();
            Same("NR cell", rows.Select(r => r[11]).Where(c => c.Length > 0).Select(c => Convert.ToUInt64(c[(c.IndexOf("nrcell", StringComparison.Ordinal) + 6)..], 16)).Where(c => !cells.Contains(c)).Select(c => c.ToString("x9", CultureInfo.InvariantCulture)), []);

            // IMSI from a SUCI with the null scheme: ours is MCC+MNC+MSIN, tshark gives the MSIN.
            Same("IMSI (MSIN)", Set(rows.Select(r => r[12]).Where(s => s.Length > 0).Select(s => s[^List(t[9]).DefaultIfEmpty(string.Empty).First().Length..])), Set(List(t[9])));
            Same("UE IP", Set(rows.Select(r => r[13]).Where(s => s.Length > 0).Select(s => s.Split(';')[0])), Set(List(t[10])));

            // tshark tries every ciphered 5G NAS as 5G-EA0 (its null_decipher option) and keeps what parses; we read a
            // ciphered message only when its context's Security Mode Command selected 5G-EA0, and say "ciphered"
            // otherwise: in a frame with such a message ours must be a subset of tshark's.
            var nasOurs = Sorted(rows.SelectMany(r => List(r[14]))).ToList();
            var nasTheirs = Sorted(List(t[11]).Concat(List(t[12]))).ToList();
            var tmsiOurs = Set(rows.SelectMany(r => new[] { r[16], r[17] }).Where(s => s.Length > 0).Select(s => Convert.ToUInt32(s[(s.LastIndexOf('-') + 1)..], 16).ToString(CultureInfo.InvariantCulture))).ToList();
            var tmsiTheirs = Set(List(t[13]).Concat(List(t[14]))).ToList();
            if (rows.Any(r => r[15].Contains("ciphered", StringComparison.Ordinal)))
            {
                Same("5G NAS types (subset)", nasOurs.Where(n => !nasTheirs.Contains(n)), []);
                Same("5G-TMSI (subset)", tmsiOurs.Where(n => !tmsiTheirs.Contains(n)), []);
            }
            else
            {
                nasCompared += nasOurs.Count;
                Same("5G NAS types", nasOurs, nasTheirs);
                Same("5G-TMSI", tmsiOurs, tmsiTheirs);
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} differences with tshark in {name}:\n" + string.Join("\n", problems.Take(30)));
        Assert.True(compared >= 14 && tunnels > 0 && nasCompared > 0, $"{compared} rows, {tunnels} TEIDs, {nasCompared} NAS types compared");
    }

    [Fact]
    public void Json_rows_carry_the_NGAP_ids_as_numbers()
    {
        var json = new StringWriter();
        Assert.Equal(0, DecodeCommand.Run([TestData.Capture("5greplay_oai_ngap.pcap")], PipelineOptions.Default, DecodeCommand.Format.Json, DecodeCommand.Fields.Select(f => f.Name).ToList(), false, json, TextWriter.Null));
        var rows = json.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        var setup = rows.First(e => e.GetProperty("message").GetString() == "PDUSessionResourceSetupResponse");
        Assert.Equal("ngap", setup.GetProperty("protocol").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Number, setup.GetProperty("amfUeNgapId").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Number, setup.GetProperty("ranUeNgapId").ValueKind);
        Assert.Equal([10], setup.GetProperty("pduSessionIds").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal([0xca6fe0ddL], setup.GetProperty("teids").EnumerateArray().Select(v => v.GetInt64()));
        Assert.False(setup.TryGetProperty("mmeUeS1apId", out _));
        var ngSetup = rows.First(e => e.GetProperty("message").GetString() == "NGSetupRequest");
        Assert.EndsWith("/Gnb:0(28b)", ngSetup.GetProperty("globalRanNodeId").GetString(), StringComparison.Ordinal);
    }

    private static IEnumerable<string> List(string cell) => cell.Split(',', StringSplitOptions.RemoveEmptyEntries);

    private static IEnumerable<string> Set(IEnumerable<string> values) => values.Distinct().Order(StringComparer.Ordinal);

    private static IEnumerable<string> Sorted(IEnumerable<string> values) => values.Order(StringComparer.Ordinal);

    private static string Hex(string tsharkBytes) => tsharkBytes.Replace(":", string.Empty, StringComparison.Ordinal);

    /// <summary>TransportLayerAddress BIT STRING: 32 bits IPv4, 128 bits IPv6, 160 bits both.</summary>
    private static IEnumerable<string> Addresses(string hex)
    {
        var b = Convert.FromHexString(Hex(hex));
        return b.Length switch
        {
            4 or 16 => [new IPAddress(b).ToString()],
            20 => [new IPAddress(b[..4]).ToString(), new IPAddress(b[4..]).ToString()],
            _ => [$"bits:{hex}"],
        };
    }

    private static string GnbId(string hex, int bits)
    {
        var b = Convert.FromHexString(Hex(hex));
        ulong v = 0;
        foreach (var x in b)
        {
            v = (v << 8) | x;
        }

        return (v >> ((b.Length * 8) - bits)).ToString(CultureInfo.InvariantCulture);
    }
}
