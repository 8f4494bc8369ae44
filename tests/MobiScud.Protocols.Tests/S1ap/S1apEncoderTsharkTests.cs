using System.Globalization;
using System.Net;
using System.Text;
using MobiScud.Protocols.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.S1ap;

/// <summary>
/// Checks our S1AP ENCODER against tshark: messages built from typed values are wrapped in SCTP by
/// text2pcap, and tshark (not our decoder) must read back exactly the values we put in, without malformed marks.
/// </summary>
public class S1apEncoderTsharkTests
{
    private static readonly PlmnIdentity _plmn = PlmnIdentity.FromMccMnc("001", "01");

    private static S1apProtocolIe Ie(ushort id, Criticality c, byte[] value) => new(id, c, value);

    private static ERabItem Item(ushort itemId, byte erab, GtpTunnel? tunnel = null, GtpTunnel? dlFwd = null) => new()
    {
        ItemIeId = itemId,
        ERabId = erab,
        Tunnel = tunnel,
        DlForwarding = dlFwd,
        NasPduLength = -1,
    };

    private static GtpTunnel Tunnel(string ip, uint teid) => new(TransportLayerAddress.FromIp(IPAddress.Parse(ip)), teid);

    private static readonly GtpTunnel _dualStack =
        new(TransportLayerAddress.FromIps(IPAddress.Parse("10.0.0.2"), IPAddress.Parse("2001:db8::1")), 0x55667788);

    private static List<S1apMessage> Messages()
    {
        var pathSwitch = new S1apMessage(S1apPduType.InitiatingMessage, S1apProcedureCode.PathSwitchRequest, Criticality.Reject,
        [
            Ie(S1apIeId.EnbUeS1apId, Criticality.Reject, S1apIeCodec.EncodeEnbUeS1apId(77)),
            Ie(S1apIeId.ERabToBeSwitchedDlList, Criticality.Reject, S1apIeCodec.EncodeERabList(S1apIeId.ERabToBeSwitchedDlItem, Criticality.Reject,
            [
                S1apIeCodec.EncodeERabItem(Item(S1apIeId.ERabToBeSwitchedDlItem, 5, Tunnel("10.0.0.1", 0x11223344))),
                S1apIeCodec.EncodeERabItem(Item(S1apIeId.ERabToBeSwitchedDlItem, 6, _dualStack)),
            ])),
            Ie(S1apIeId.SourceMmeUeS1apId, Criticality.Reject, S1apIeCodec.EncodeMmeUeS1apId(16777690)),
            Ie(S1apIeId.EutranCgi, Criticality.Ignore, S1apIeCodec.EncodeEutranCgi(new EutranCgi(_plmn, 0x1234567))),
            Ie(S1apIeId.Tai, Criticality.Ignore, S1apIeCodec.EncodeTai(new Tai(_plmn, 7))),
        ]);
        var releasePair = new S1apMessage(S1apPduType.InitiatingMessage, S1apProcedureCode.UeContextRelease, Criticality.Reject,
        [
            Ie(S1apIeId.UeS1apIds, Criticality.Reject, S1apIeCodec.EncodeUeS1apIds(new UeS1apIds(3000000000, 16000000))),
            Ie(S1apIeId.Cause, Criticality.Ignore, S1apIeCodec.EncodeCause(new S1apCause(CauseGroup.RadioNetwork, 20))),
        ]);
        var releaseMme = new S1apMessage(S1apPduType.InitiatingMessage, S1apProcedureCode.UeContextRelease, Criticality.Reject,
        [
            Ie(S1apIeId.UeS1apIds, Criticality.Reject, S1apIeCodec.EncodeUeS1apIds(new UeS1apIds(42, null))),
            Ie(S1apIeId.Cause, Criticality.Ignore, S1apIeCodec.EncodeCause(new S1apCause(CauseGroup.Nas, 0))),
        ]);
        var hoRequired = new S1apMessage(S1apPduType.InitiatingMessage, S1apProcedureCode.HandoverPreparation, Criticality.Reject,
        [
            Ie(S1apIeId.MmeUeS1apId, Criticality.Reject, S1apIeCodec.EncodeMmeUeS1apId(5)),
            Ie(S1apIeId.EnbUeS1apId, Criticality.Reject, S1apIeCodec.EncodeEnbUeS1apId(9)),
            Ie(S1apIeId.HandoverType, Criticality.Reject, S1apIeCodec.EncodeHandoverType(HandoverType.IntraLte)),
            Ie(S1apIeId.Cause, Criticality.Ignore, S1apIeCodec.EncodeCause(new S1apCause(CauseGroup.RadioNetwork, 16))),
            Ie(S1apIeId.TargetId, Criticality.Reject, S1apIeCodec.EncodeTargetEnbId(
                new TargetEnbId(new GlobalEnbId(_plmn, EnbIdKind.Macro, 0x12345), new Tai(_plmn, 9)))),
        ]);
        var hoAck = new S1apMessage(S1apPduType.SuccessfulOutcome, S1apProcedureCode.HandoverResourceAllocation, Criticality.Reject,
        [
            Ie(S1apIeId.MmeUeS1apId, Criticality.Ignore, S1apIeCodec.EncodeMmeUeS1apId(5)),
            Ie(S1apIeId.EnbUeS1apId, Criticality.Ignore, S1apIeCodec.EncodeEnbUeS1apId(10)),
            Ie(S1apIeId.ERabAdmittedList, Criticality.Ignore, S1apIeCodec.EncodeERabList(S1apIeId.ERabAdmittedItem, Criticality.Ignore,
            [
                S1apIeCodec.EncodeERabItem(Item(S1apIeId.ERabAdmittedItem, 5, Tunnel("10.0.1.1", 0xA1), Tunnel("10.0.1.1", 0xB1))),
            ])),
        ]);
        var icsResponse = new S1apMessage(S1apPduType.SuccessfulOutcome, S1apProcedureCode.InitialContextSetup, Criticality.Reject,
        [
            Ie(S1apIeId.MmeUeS1apId, Criticality.Ignore, S1apIeCodec.EncodeMmeUeS1apId(7)),
            Ie(S1apIeId.EnbUeS1apId, Criticality.Ignore, S1apIeCodec.EncodeEnbUeS1apId(8)),
            Ie(S1apIeId.ERabSetupListCtxtSuRes, Criticality.Ignore, S1apIeCodec.EncodeERabList(S1apIeId.ERabSetupItemCtxtSuRes, Criticality.Ignore,
            [
                S1apIeCodec.EncodeERabItem(Item(S1apIeId.ERabSetupItemCtxtSuRes, 5, Tunnel("192.168.1.10", 0xDAE424C5))),
            ])),
        ]);
        var initialUe = new S1apMessage(S1apPduType.InitiatingMessage, S1apProcedureCode.InitialUeMessage, Criticality.Ignore,
        [
            Ie(S1apIeId.EnbUeS1apId, Criticality.Reject, S1apIeCodec.EncodeEnbUeS1apId(3)),
            Ie(S1apIeId.NasPdu, Criticality.Reject, S1apIeCodec.EncodeNasPdu(Convert.FromHexString("0746"))),
            Ie(S1apIeId.Tai, Criticality.Reject, S1apIeCodec.EncodeTai(new Tai(_plmn, 7))),
            Ie(S1apIeId.EutranCgi, Criticality.Ignore, S1apIeCodec.EncodeEutranCgi(new EutranCgi(_plmn, 0x19B01))),
            Ie(S1apIeId.STmsi, Criticality.Reject, S1apIeCodec.EncodeSTmsi(new STmsi(0x01, 0xC0000740))),
        ]);
        return [pathSwitch, releasePair, releaseMme, hoRequired, hoAck, icsResponse, initialUe];
    }

    [Fact]
    public async Task Tshark_decodes_our_encoded_messages_to_the_values_we_encoded()
    {
        var dir = Directory.CreateTempSubdirectory("mobiscud-s1ap-enc-");
        try
        {
            var messages = Messages();
            var pcap = await WritePcapWithoutMalformedAsync(dir.FullName, messages);

            var decoded = TsharkCorpus.For(pcap, "s1ap");
            Assert.Equal(messages.Count, decoded.Count);
            for (var i = 0; i < messages.Count; i++)
            {
                Assert.Equal(messages[i].Encode(), decoded[i].Bytes); // tshark saw exactly one whole PDU per frame
                Assert.Equal((int)messages[i].ProcedureCode, int.Parse(decoded[i].Values("s1ap.procedureCode").First(), CultureInfo.InvariantCulture));
            }

            var (ps, relPair, relMme, hoReq, hoAck, ics, iue) = (decoded[0], decoded[1], decoded[2], decoded[3], decoded[4], decoded[5], decoded[6]);
            Assert.Equal(["77"], ps.Values("s1ap.ENB_UE_S1AP_ID"));
            Assert.Equal(["16777690"], ps.Values("s1ap.MME_UE_S1AP_ID"));
            Assert.Equal(["5", "6"], ps.Values("s1ap.e_RAB_ID"));
            Assert.Equal(["11:22:33:44", "55:66:77:88"], ps.Values("s1ap.gTP_TEID"));
            Assert.Equal(["10.0.0.1", "10.0.0.2"], ps.Values("s1ap.transportLayerAddressIPv4"));
            Assert.Equal(["2001:db8::1"], ps.Values("s1ap.transportLayerAddressIPv6"));
            Assert.Equal(["0x01234567"], ps.Values("s1ap.CellIdentity"));
            Assert.Contains("7", ps.Values("s1ap.tAC"));
            Assert.Equal(["00:f1:10"], ps.Values("s1ap.pLMNidentity").Distinct());

            Assert.Equal(["3000000000"], relPair.Values("s1ap.MME_UE_S1AP_ID").Distinct());
            Assert.Equal(["16000000"], relPair.Values("s1ap.ENB_UE_S1AP_ID").Distinct());
            Assert.Equal(["20"], relPair.Values("s1ap.radioNetwork"));
            Assert.Equal(["42"], relMme.Values("s1ap.MME_UE_S1AP_ID").Distinct()); // tshark lists UE-S1AP-IDs members twice
            Assert.Empty(relMme.Values("s1ap.ENB_UE_S1AP_ID"));
            Assert.Equal(["0"], relMme.Values("s1ap.nas"));

            Assert.Equal(["0"], hoReq.Values("s1ap.HandoverType"));
            Assert.Equal(["16"], hoReq.Values("s1ap.radioNetwork"));
            Assert.Equal(["12:34:50"], hoReq.Values("s1ap.macroENB_ID")); // 20 bits, left-aligned
            Assert.Equal(["9"], hoReq.Values("s1ap.tAC"));

            Assert.Equal(["5"], hoAck.Values("s1ap.e_RAB_ID"));
            Assert.Equal(["00:00:00:a1"], hoAck.Values("s1ap.gTP_TEID"));
            Assert.Equal(["00:00:00:b1"], hoAck.Values("s1ap.dL_gTP_TEID"));

            Assert.Equal(["da:e4:24:c5"], ics.Values("s1ap.gTP_TEID"));
            Assert.Equal(["192.168.1.10"], ics.Values("s1ap.transportLayerAddressIPv4"));

            Assert.Equal(["07:46"], iue.Values("s1ap.NAS_PDU"));
            Assert.Equal(["1"], iue.Values("s1ap.mMEC"));
            Assert.Equal(["3221227328"], iue.Values("s1ap.m_TMSI"));

            // And our own decoder agrees with the values, for completeness.
            var ours = S1apDecoder.Decode(messages[0].Encode());
            Assert.Equal([5, 6], ours.ERabs.Select(e => (int)e.ERabId));
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("MOBISCUD_KEEP_TMP") is null) { dir.Delete(recursive: true); }
        }
    }

    /// <summary>
    /// Writes one S1AP message per frame (text2pcap, SCTP PPID 18) and asserts tshark finds nothing malformed and
    /// raises no warning in any of them. Returns the pcap's path.
    /// </summary>
    internal static async Task<string> WritePcapWithoutMalformedAsync(string dir, IReadOnlyList<S1apMessage> messages)
    {
        var text2pcap = ExternalTool.Require("text2pcap", "wireshark-common");
        var tshark = ExternalTool.Require("tshark", "tshark");
        var hex = new StringBuilder();
        foreach (var m in messages)
        {
            var bytes = m.Encode();
            for (var off = 0; off < bytes.Length; off += 16)
            {
                hex.Append(CultureInfo.InvariantCulture, $"{off:x6} ");
                hex.AppendJoin(' ', bytes.Skip(off).Take(16).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
                hex.Append('\n');
            }
        }

        var txt = Path.Combine(dir, "s1ap.txt");
        var pcap = Path.Combine(dir, "s1ap.pcap");
        File.WriteAllText(txt, hex.ToString());
        var conv = await ExternalTool.RunAsync(text2pcap, ["-q", "-S", "36412,36412,18", txt, pcap], TimeSpan.FromMinutes(1));
        Assert.True(conv.ExitCode == 0, conv.StdErr);

        var malformed = await ExternalTool.RunAsync(tshark, ["-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= warning", "-T", "fields", "-e", "frame.number"], TimeSpan.FromMinutes(1));
        Assert.Equal(string.Empty, malformed.StdOut.Trim());
        return pcap;
    }
}
