using System.Globalization;
using MobiScud.Capture;
using MobiScud.Cli;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>
/// `mobiscud decode --fields` against `tshark -T fields` on every capture in data/, frame by frame: procedure codes,
/// UE S1AP ids, E-RAB ids, TEIDs, transport addresses, eNB ids (global and target), cells, IMSI and UE IP.
/// </summary>
public sealed class DecodeCommandOracleTests
{
    private static readonly string[] _ourFields =
    [
        "frame", "procedureCode", "mmeUeS1apId", "otherMmeUeS1apIds", "enbUeS1apId", "otherEnbUeS1apIds", "eRabIds", "teids",
        "transportAddresses", "globalEnbId", "targetId", "ecgi", "imsi", "ueIp", "nasTypes", "nas", "protocol",
    ];

    private static readonly string[] _tsharkFields =
    [
        "frame.number", "s1ap.procedureCode", "s1ap.MME_UE_S1AP_ID", "s1ap.ENB_UE_S1AP_ID", "s1ap.e_RAB_ID",
        "s1ap.gTP_TEID", "s1ap.dL_gTP_TEID", "s1ap.uL_GTP_TEID", "s1ap.dL_GTP_TEID",
        "s1ap.transportLayerAddressIPv4", "s1ap.transportLayerAddressIPv6",
        "s1ap.macroENB_ID", "s1ap.homeENB_ID", "s1ap.short_macroENB_ID", "s1ap.long_macroENB_ID",
        "e212.imsi", "nas_eps.esm.pdn_ipv4", "nas_eps.nas_msg_emm_type", "nas_eps.nas_msg_esm_type", "s1ap.CellIdentity",
    ];

    [Theory]
    [MemberData(nameof(CaptureReaderOracleTests.Captures), MemberType = typeof(CaptureReaderOracleTests))]
    public async Task Decode_rows_match_tshark_frame_by_frame(string name)
    {
        var file = TestData.Capture(name);
        var output = new StringWriter();
        var errors = new StringWriter();
        var code = DecodeCommand.Run([file], PipelineOptions.Default, DecodeCommand.Format.Fields, _ourFields, header: false, output, errors);
        Assert.Equal(0, code);

        var ours = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.TrimEnd('\r').Split('\t'))
            .Where(r => r[16] == "s1ap") // NGAP rows: NgapDecodeOracleTests
            .GroupBy(r => long.Parse(r[0], CultureInfo.InvariantCulture))
            .ToDictionary(g => g.Key, g => g.ToList());
        var theirs = await Tshark.FieldsAsync(file, "s1ap", _tsharkFields);
        Assert.Equal(theirs.Select(r => long.Parse(r[0], CultureInfo.InvariantCulture)), ours.Keys.Order());
        if (name.Contains("ngap", StringComparison.Ordinal))
        {
            Assert.Empty(theirs); // 5G captures carry no S1AP
        }

        var problems = new List<string>();
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

            // A frame can bundle several messages: compare what the frame holds. tshark repeats ids (both members of an
            // id pair, both ends of a list), so ids are sets; TEIDs and addresses come from several tshark columns, so
            // they are compared as sorted lists.
            Same("procedureCode", rows.Select(r => r[1]), List(t[1]));
            Same("MME-UE-S1AP-ID", Set(rows.SelectMany(r => List(r[2]).Concat(List(r[3])))), Set(List(t[2])));
            Same("eNB-UE-S1AP-ID", Set(rows.SelectMany(r => List(r[4]).Concat(List(r[5])))), Set(List(t[3])));
            Same("E-RAB ids", rows.SelectMany(r => List(r[6])), List(t[4]));
            Same("TEIDs", Sorted(rows.SelectMany(r => List(r[7]))), Sorted(t[5..9].SelectMany(List).Select(h => uint.Parse(h.Replace(":", string.Empty, StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture))));
            Same("transport addresses", Sorted(rows.SelectMany(r => List(r[8])).SelectMany(a => a.Split(';'))), Sorted(List(t[9]).Concat(List(t[10]))));
            Same("eNB ids", Set(rows.SelectMany(r => new[] { r[9], r[10] }).Where(s => s.Length > 0).Select(s => s[(s.LastIndexOf(':') + 1)..])), Set(EnbIds(t)));
            // tshark also shows the cells inside transparent containers; the row's ECGI must be among them.
            var cells = List(t[19]).Select(c => Convert.ToUInt32(c, 16)).ToHashSet();
            Same("ECGI cell", rows.Select(r => r[11]).Where(e => e.Length > 0).Select(e => Convert.ToUInt32(e[(e.IndexOf("cell", StringComparison.Ordinal) + 4)..], 16)).Where(c => !cells.Contains(c)).Select(c => c.ToString("x7", CultureInfo.InvariantCulture)), []);
            Same("IMSI", Set(rows.Select(r => r[12]).Where(s => s.Length > 0)), Set(List(t[15])));
            // tshark tries every ciphered NAS as EEA0 and keeps what parses (nas-eps.null_decipher); we read a ciphered
            // message only when its context's Security Mode Command selected EEA0, and say "ciphered" otherwise, so in
            // a frame with such a message ours must be a subset of tshark's.
            var nasOurs = Sorted(rows.SelectMany(r => List(r[14]))).ToList();
            var nasTheirs = Sorted(List(t[17]).Concat(List(t[18]))).ToList();
            if (rows.Any(r => r[15].Contains("ciphered", StringComparison.Ordinal)))
            {
                Same("NAS types (subset)", nasOurs.Where(n => !nasTheirs.Contains(n)), []);
            }
            else
            {
                Same("NAS types", nasOurs, nasTheirs);
            }

            Same("UE IP", Set(rows.Select(r => r[13]).Where(s => s.Length > 0).Select(s => s.Split(';')[0])), Set(List(t[16])));
        }

        Assert.True(problems.Count == 0, $"{problems.Count} differences with tshark in {name}:\n" + string.Join("\n", problems.Take(30)));
    }

    [Fact]
    public void Fields_and_json_forms_name_the_same_values()
    {
        var file = TestData.Capture("open5gs_testepc_2019.pcapng");
        var json = new StringWriter();
        Assert.Equal(0, DecodeCommand.Run([file], PipelineOptions.Default, DecodeCommand.Format.Json, DecodeCommand.Fields.Select(f => f.Name).ToList(), false, json, TextWriter.Null));
        var lines = json.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var handoverRequired = lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .First(e => e.GetProperty("message").GetString() == "HandoverRequired");
        Assert.Equal("initiating", handoverRequired.GetProperty("messageType").GetString());
        Assert.Equal(0, handoverRequired.GetProperty("procedureCode").GetInt32());
        Assert.True(handoverRequired.TryGetProperty("targetId", out _));
        Assert.Equal(System.Text.Json.JsonValueKind.Number, handoverRequired.GetProperty("time").ValueKind);
    }

    [Fact]
    public void A_missing_file_is_exit_3_naming_it()
    {
        var errors = new StringWriter();
        var code = DecodeCommand.Run(["/nonexistent/x.pcap"], PipelineOptions.Default, DecodeCommand.Format.Text, ["frame"], false, TextWriter.Null, errors);
        Assert.Equal(3, code);
        Assert.Contains("/nonexistent/x.pcap", errors.ToString(), StringComparison.Ordinal);
    }

    private static IEnumerable<string> List(string cell) => cell.Split(',', StringSplitOptions.RemoveEmptyEntries);

    private static IEnumerable<string> Set(IEnumerable<string> values) => values.Distinct().Order(StringComparer.Ordinal);

    private static IEnumerable<string> Sorted(IEnumerable<string> values) => values.Order(StringComparer.Ordinal);

    /// <summary>tshark prints eNB ids as the BIT STRING's octets: drop the padding bits of each id's size.</summary>
    private static IEnumerable<string> EnbIds(string[] t)
    {
        (int Column, int Bits)[] kinds = [(11, 20), (12, 28), (13, 18), (14, 21)];
        foreach (var (column, bits) in kinds)
        {
            foreach (var hex in List(t[column]))
            {
                var clean = hex.Replace(":", string.Empty, StringComparison.Ordinal);
                var value = ulong.Parse(clean, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                yield return (value >> ((clean.Length * 4) - bits)).ToString(CultureInfo.InvariantCulture);
            }
        }
    }
}
