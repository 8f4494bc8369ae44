using System.Globalization;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Tests.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Ngap;

/// <summary>Every NGAP message of the shared 5G captures, decoded by us and by tshark: the MC fields must agree.</summary>
public class NgapOracleTests
{
    public static readonly string[] NgapCaptures = ["5greplay_oai_ngap.pcap", "open5gs_testregistration_ngap.pcapng"];

    private static readonly HashSet<string> _amfIdFields = ["ngap.AMF_UE_NGAP_ID", "ngap.aMF_UE_NGAP_ID"];
    private static readonly HashSet<string> _ranIdFields = ["ngap.RAN_UE_NGAP_ID", "ngap.rAN_UE_NGAP_ID"];
    private static readonly HashSet<string> _nasFields = ["ngap.NAS_PDU", "ngap.pDUSessionNAS_PDU", "ngap.nAS_PDU"];
    private static readonly HashSet<string> _causeFields = ["ngap.radioNetwork", "ngap.transport", "ngap.nas", "ngap.protocol", "ngap.misc"];

    public static IEnumerable<object[]> Captures() => NgapCaptures.Select(c => new object[] { c });

    /// <summary>The NGAP-PDUs carried by SCTP (HTTP/2 N1N2 messages carry NGAP transfers, not PDUs).</summary>
    internal static IReadOnlyList<TsharkMessage> Messages(string capture) =>
        TsharkCorpus.For(TestData.Capture(capture), "ngap", "ngap && sctp");

    [Theory]
    [MemberData(nameof(Captures))]
    public void Every_ngap_message_matches_tshark(string capture)
    {
        var messages = Messages(capture);
        Assert.True(messages.Count >= 14, $"{capture}: only {messages.Count} NGAP messages");
        var summary = new NgapSummary();
        var problems = new List<string>();
        var checkedTunnels = 0;
        foreach (var m in messages)
        {
            NgapDecoder.Decode(m.Bytes, summary);
            checkedTunnels += Check(m, summary, problems);
        }

        Assert.True(problems.Count == 0, $"{problems.Count} mismatches with tshark:\n" + string.Join("\n", problems.Take(30)));
        Assert.True(checkedTunnels > 0, "no GTP tunnel compared");
    }

    private static string Hex(string tsharkBytes) => tsharkBytes.Replace(":", string.Empty, StringComparison.Ordinal).ToUpperInvariant();

    internal static int Check(TsharkMessage m, NgapSummary s, List<string> problems)
    {
        void Same<T>(string what, IEnumerable<T> ours, IEnumerable<T> theirs)
        {
            var a = ours.ToList();
            var b = theirs.ToList();
            if (!a.SequenceEqual(b))
            {
                problems.Add($"{m} {s.MessageName} {what}: ours [{string.Join(",", a)}] tshark [{string.Join(",", b)}]");
            }
        }

        Same("procedureCode", [(int)s.ProcedureCode], m.Values("ngap.procedureCode").Take(1).Select(int.Parse));
        var tsharkType = m.Fields.First(f => f.Key is "ngap.initiatingMessage_element" or "ngap.successfulOutcome_element" or "ngap.unsuccessfulOutcome_element").Key;
        var ourType = s.PduType switch
        {
            NgapPduType.InitiatingMessage => "ngap.initiatingMessage_element",
            NgapPduType.SuccessfulOutcome => "ngap.successfulOutcome_element",
            _ => "ngap.unsuccessfulOutcome_element",
        };
        Same("message type", [ourType], [tsharkType]);
        Same("IE count", [s.IeCount], m.Values("ngap.protocolIEs").Take(1).Select(int.Parse)); // the first list is the message's

        var amf = new[] { s.AmfUeNgapId, s.SourceAmfUeNgapId }.Concat(s.ResetConnections.Select(c => c.AmfUeNgapId))
            .Where(x => x.HasValue).Select(x => x!.Value).Distinct().Order();
        Same("AMF-UE-NGAP-ID", amf, m.ValuesOf(_amfIdFields).Select(ulong.Parse).Distinct().Order());
        var ran = new[] { s.RanUeNgapId }.Concat(s.ResetConnections.Select(c => c.RanUeNgapId))
            .Where(x => x.HasValue).Select(x => x!.Value).Distinct().Order();
        Same("RAN-UE-NGAP-ID", ran, m.ValuesOf(_ranIdFields).Select(uint.Parse).Distinct().Order());

        Same("PDU session ids", s.PduSessions.Select(p => (int)p.PduSessionId), m.Values("ngap.pDUSessionID").Select(int.Parse));

        var tunnels = s.PduSessions.SelectMany(p => new[] { p.UlTunnel, p.DlTunnel, p.DlForwarding }).Where(t => t.HasValue).Select(t => t!.Value).ToList();
        Same("TEIDs", tunnels.Select(t => t.Teid).Order(), m.Values("ngap.gTP_TEID").Select(ParseHex).Order());
        Same(
            "transport addresses",
            tunnels.Select(t => Convert.ToHexString(t.TransportLayerAddress.ToArray())).Order(),
            m.Values("ngap.transportLayerAddress").Select(Hex).Order());

        var nodes = new[] { s.GlobalRanNodeId, s.Target?.Node }.Where(n => n is { Kind: RanNodeKind.Gnb }).Select(n => n!.Value);
        Same("gNB ids", nodes.Select(n => n.Id), m.Values("ngap.gNB_ID").Select(h => GnbId(h, nodes.First().IdBits)));

        // A source-to-target container lists the target cell first, then the UE history cells (not summarised).
        var theirCells = m.Values("ngap.NRCellIdentity").Select(ParseHex64).ToList();
        var ourCells = new[] { s.NrCgi, s.TargetCell }.Where(c => c.HasValue).Select(c => c!.Value.CellId).ToList();
        Same("NR cell ids", ourCells, s.TargetCell is null ? theirCells : theirCells.Take(ourCells.Count));
        if (s.GlobalRanNodeId is null)
        {
            // NGSetup lists its supported TACs; other messages carry the UE's TAI (user location or target).
            var tacs = new[] { s.Tai, s.Target?.SelectedTai }.Where(t => t.HasValue).Select(t => t!.Value.Tac);
            Same("TACs", tacs, m.Values("ngap.tAC").Select(uint.Parse));
        }

        Same("5G-TMSI", s.FiveGSTmsi is { } t5 ? [t5.Tmsi] : Array.Empty<uint>(), m.Values("ngap.fiveG_TMSI").Select(uint.Parse));

        var causes = new[] { s.Cause }.Concat(s.PduSessions.Select(p => p.Cause)).Where(c => c.HasValue).Select(c => c!.Value)
            .Select(c => $"{c.Group}:{c.Value}").Order();
        var theirCauses = m.Fields.Where(f => _causeFields.Contains(f.Key))
            .Select(f => $"{CauseGroupOf(f.Key)}:{f.Value}").Order();
        Same("causes", causes, theirCauses);

        var nas = new List<string>();
        if (s.HasNasPdu)
        {
            nas.Add(Convert.ToHexString(s.NasPdu));
        }

        nas.AddRange(s.PduSessions.Where(p => p.HasNasPdu).Select(p => Convert.ToHexString(s.ItemNasPdu(p))));
        Same("NAS-PDUs", nas.Order(), m.ValuesOf(_nasFields).Select(Hex).Order());

        Same("QFIs", s.PduSessions.SelectMany(p => p.Qfis()).Order(), m.Values("ngap.qosFlowIdentifier").Select(int.Parse).Order());

        // Each setup item's 5QI is its first QoS flow's: one of tshark's fiveQI values, and present exactly when tshark has any.
        var fiveQis = s.PduSessions.Where(p => p.FiveQi is not null).Select(p => (int)p.FiveQi!.Value).ToList();
        var theirFiveQis = m.Values("ngap.fiveQI").Select(int.Parse).ToHashSet();
        Same("5QIs", fiveQis.Where(theirFiveQis.Contains), fiveQis);
        Same("5QI present", [fiveQis.Count > 0], [theirFiveQis.Count > 0]);

        return tunnels.Count;
    }

    private static NgapCauseGroup CauseGroupOf(string field) => field switch
    {
        "ngap.radioNetwork" => NgapCauseGroup.RadioNetwork,
        "ngap.transport" => NgapCauseGroup.Transport,
        "ngap.nas" => NgapCauseGroup.Nas,
        "ngap.protocol" => NgapCauseGroup.Protocol,
        _ => NgapCauseGroup.Misc,
    };

    private static uint GnbId(string hex, int bits)
    {
        var b = Convert.FromHexString(Hex(hex));
        ulong v = 0;
        foreach (var x in b)
        {
            v = (v << 8) | x;
        }

        return (uint)(v >> ((b.Length * 8) - bits));
    }

    private static uint ParseHex(string hex) => uint.Parse(Hex(hex), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static ulong ParseHex64(string hex) =>
        ulong.Parse(hex.StartsWith("0x", StringComparison.Ordinal) ? hex[2..] : Hex(hex), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
