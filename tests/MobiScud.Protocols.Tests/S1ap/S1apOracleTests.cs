using System.Globalization;
using MobiScud.Protocols.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.S1ap;

/// <summary>Every S1AP message of every shared capture, decoded by us and by tshark: the MC fields must agree.</summary>
public class S1apOracleTests
{
    private static readonly HashSet<string> _mmeIdFields = ["s1ap.MME_UE_S1AP_ID", "s1ap.mME_UE_S1AP_ID"];
    private static readonly HashSet<string> _enbIdFields = ["s1ap.ENB_UE_S1AP_ID", "s1ap.eNB_UE_S1AP_ID"];
    private static readonly HashSet<string> _eRabIdFields = ["s1ap.e_RAB_ID"];
    private static readonly HashSet<string> _teidFields = ["s1ap.gTP_TEID", "s1ap.dL_gTP_TEID", "s1ap.uL_GTP_TEID", "s1ap.dL_GTP_TEID"];
    private static readonly HashSet<string> _tlaFields = ["s1ap.transportLayerAddress", "s1ap.dL_transportLayerAddress", "s1ap.uL_TransportLayerAddress"];

    public static IEnumerable<object[]> Captures() =>
        TestData.AllCaptures().Select(c => new object[] { Path.GetFileName(c) });

    [Theory]
    [MemberData(nameof(Captures))]
    public void Every_s1ap_message_matches_tshark(string capture)
    {
        var messages = TsharkCorpus.For(TestData.Capture(capture), "s1ap");
        if (capture.Contains("ngap", StringComparison.Ordinal))
        {
            Assert.Empty(messages); // 5G captures: NGAP only, per SOURCES.md
            return;
        }

        Assert.NotEmpty(messages);
        var summary = new S1apSummary();
        var problems = new List<string>();
        foreach (var m in messages)
        {
            S1apDecoder.Decode(m.Bytes, summary);
            Check(m, summary, problems);
        }

        Assert.True(problems.Count == 0, $"{problems.Count} mismatches with tshark:\n" + string.Join("\n", problems.Take(30)));
    }

    private static void Check(TsharkMessage m, S1apSummary s, List<string> problems)
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

        Same("procedureCode", [(int)s.ProcedureCode], m.Values("s1ap.procedureCode").Take(1).Select(int.Parse));
        var tsharkType = m.Fields.First(f => f.Key is "s1ap.initiatingMessage_element" or "s1ap.successfulOutcome_element" or "s1ap.unsuccessfulOutcome_element").Key;
        var ourType = s.PduType switch
        {
            S1apPduType.InitiatingMessage => "s1ap.initiatingMessage_element",
            S1apPduType.SuccessfulOutcome => "s1ap.successfulOutcome_element",
            _ => "s1ap.unsuccessfulOutcome_element",
        };
        Same("message type", [ourType], [tsharkType]);

        // tshark lists the members of a UE-S1AP-ID pair twice, so ids are compared as sets.
        var mme = new[] { s.MmeUeS1apId, s.SourceMmeUeS1apId, s.MmeUeS1apId2 }.Concat(s.ResetConnections.Select(c => c.MmeUeS1apId))
            .Where(x => x.HasValue).Select(x => x!.Value).Distinct().Order();
        Same("MME-UE-S1AP-ID", mme, m.ValuesOf(_mmeIdFields).Select(uint.Parse).Distinct().Order());
        var enb = new[] { s.EnbUeS1apId }.Concat(s.ResetConnections.Select(c => c.EnbUeS1apId))
            .Where(x => x.HasValue).Select(x => x!.Value).Distinct().Order();
        Same("eNB-UE-S1AP-ID", enb, m.ValuesOf(_enbIdFields).Select(uint.Parse).Distinct().Order());

        Same("E-RAB ids", s.ERabs.Select(e => (int)e.ERabId), m.ValuesOf(_eRabIdFields).Select(int.Parse));

        var tunnels = s.ERabs.SelectMany(e => new[] { e.Tunnel, e.DlForwarding, e.UlForwarding }).Where(t => t.HasValue).Select(t => t!.Value).ToList();
        Same("TEIDs", tunnels.Select(t => t.Teid), m.ValuesOf(_teidFields).Select(ParseTeid));
        Same(
            "transport addresses",
            tunnels.Where(t => !t.TransportLayerAddress.IsEmpty).Select(t => Convert.ToHexString(t.TransportLayerAddress.ToArray())),
            m.ValuesOf(_tlaFields).Select(h => h.Replace(":", string.Empty, StringComparison.Ordinal).ToUpperInvariant()));
    }

    private static uint ParseTeid(string hex) =>
        uint.Parse(hex.Replace(":", string.Empty, StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
