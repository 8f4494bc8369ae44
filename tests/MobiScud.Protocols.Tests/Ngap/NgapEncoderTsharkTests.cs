using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using MobiScud.Capture;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Tests.S1ap;
using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Ngap;

/// <summary>
/// Checks our NGAP ENCODER against tshark: an N2 handover (Required, Request, Ack, Command, Notify, Cancel and the two
/// failures) and an Xn path switch (Request, Ack, Failure) with several PDU sessions are built from typed values,
/// written to a pcap in SCTP DATA chunks (PPID 60, port 38412), and tshark (not our decoder) must read back the values.
/// </summary>
public class NgapEncoderTsharkTests
{
    private static readonly PlmnIdentity _plmn = PlmnIdentity.FromMccMnc("001", "01");
    private static readonly NgTai _targetTai = new(_plmn, 0x000102);
    private static readonly NrCgi _sourceCell = new(_plmn, 0x0000_1234_5ul);
    private static readonly NrCgi _targetCell = new(_plmn, 0xA_BCDE_F012ul);
    private static readonly GlobalRanNodeId _targetGnb = new(_plmn, RanNodeKind.Gnb, 0x2ABCDEF, 26);
    private const ulong Amf = 1_000_000_000_001; // beyond 32 bits: AMF-UE-NGAP-ID is 40 bits
    private const uint SourceRan = 7;
    private const uint TargetRan = 4_000_000_000;

    private static NgapProtocolIe Ie(ushort id, Criticality c, byte[] value) => new(id, c, value);

    private static GtpTunnel Tunnel(string ip, uint teid) => new(TransportLayerAddress.FromIp(IPAddress.Parse(ip)), teid);

    private static PduSessionItem Session(byte id, GtpTunnel? ul = null, GtpTunnel? dl = null, GtpTunnel? fwd = null, ulong qfis = 0, NgapCause? cause = null) => new()
    {
        PduSessionId = id,
        UlTunnel = ul,
        DlTunnel = dl,
        DlForwarding = fwd,
        QosFlows = qfis,
        Cause = cause,
        Sst = 1,
        Sd = id == 2 ? 0x010203u : null,
        NasPduLength = -1,
    };

    private static NgapMessage Msg(NgapPduType type, NgapProcedureCode code, params NgapProtocolIe[] ies) => new(type, code, Criticality.Reject, ies);

    internal static List<NgapMessage> HandoverMessages()
    {
        var amf = Ie(NgapIeId.AmfUeNgapId, Criticality.Reject, NgapIeEncoder.AmfUeNgapId(Amf));
        var srcRan = Ie(NgapIeId.RanUeNgapId, Criticality.Reject, NgapIeEncoder.RanUeNgapId(SourceRan));
        var tgtRan = Ie(NgapIeId.RanUeNgapId, Criticality.Ignore, NgapIeEncoder.RanUeNgapId(TargetRan));
        var hoType = Ie(NgapIeId.HandoverType, Criticality.Reject, NgapIeEncoder.HandoverType(NgapHandoverType.Intra5gs));
        var radio = Ie(NgapIeId.Cause, Criticality.Ignore, NgapIeEncoder.Cause(new NgapCause(NgapCauseGroup.RadioNetwork, 16)));
        var container = Ie(NgapIeId.SourceToTargetTransparentContainer, Criticality.Reject, NgapIeEncoder.SourceToTargetContainer(_targetCell, _sourceCell, 30));
        var back = Ie(NgapIeId.TargetToSourceTransparentContainer, Criticality.Reject, NgapIeEncoder.TargetToSourceContainer());
        var upf = Tunnel("10.10.0.1", 0x0000_0101);
        var required = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.HandoverPreparation, amf, srcRan, hoType, radio,
            Ie(NgapIeId.TargetId, Criticality.Reject, NgapIeEncoder.TargetId(new NgapTargetRanNode(_targetGnb, _targetTai))),
            Ie(NgapIeId.PduSessionResourceListHoRqd, Criticality.Reject, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceListHoRqd, [Session(1), Session(2), Session(5)])),
            container);
        var request = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.HandoverResourceAllocation, amf, hoType, radio,
            Ie(NgapIeId.PduSessionResourceSetupListHoReq, Criticality.Reject, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceSetupListHoReq,
                [Session(1, ul: upf, qfis: 0b10), Session(2, ul: Tunnel("10.10.0.1", 0x0000_0102), qfis: 0b110), Session(5, ul: Tunnel("10.10.0.2", 0x0000_0105), qfis: 1UL << 5)])),
            container);
        var ack = Msg(NgapPduType.SuccessfulOutcome, NgapProcedureCode.HandoverResourceAllocation, amf, tgtRan,
            Ie(NgapIeId.PduSessionResourceAdmittedList, Criticality.Ignore, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceAdmittedList,
                [Session(1, dl: Tunnel("10.20.0.2", 0xB0000001), fwd: Tunnel("10.20.0.2", 0xF0000001), qfis: 0b10), Session(2, dl: Tunnel("10.20.0.2", 0xB0000002), qfis: 0b110)])),
            Ie(NgapIeId.PduSessionResourceFailedToSetupListHoAck, Criticality.Ignore, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceFailedToSetupListHoAck,
                [Session(5, cause: new NgapCause(NgapCauseGroup.RadioNetwork, 22))])),
            back);
        var command = Msg(NgapPduType.SuccessfulOutcome, NgapProcedureCode.HandoverPreparation, amf, srcRan, hoType,
            Ie(NgapIeId.PduSessionResourceHandoverList, Criticality.Ignore, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceHandoverList,
                [Session(1, fwd: Tunnel("10.20.0.2", 0xF0000001)), Session(2)])),
            Ie(NgapIeId.PduSessionResourceToReleaseListHoCmd, Criticality.Ignore, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceToReleaseListHoCmd,
                [Session(5, cause: new NgapCause(NgapCauseGroup.RadioNetwork, 22))])),
            back);
        var notify = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.HandoverNotification, amf, tgtRan,
            Ie(NgapIeId.UserLocationInformation, Criticality.Ignore, NgapIeEncoder.UserLocationNr(_targetCell, _targetTai)));
        var cancel = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.HandoverCancel, amf, srcRan,
            Ie(NgapIeId.Cause, Criticality.Ignore, NgapIeEncoder.Cause(new NgapCause(NgapCauseGroup.RadioNetwork, 5))));
        var prepFailure = Msg(NgapPduType.UnsuccessfulOutcome, NgapProcedureCode.HandoverPreparation, amf, srcRan,
            Ie(NgapIeId.Cause, Criticality.Ignore, NgapIeEncoder.Cause(new NgapCause(NgapCauseGroup.Misc, 0))));
        var hoFailure = Msg(NgapPduType.UnsuccessfulOutcome, NgapProcedureCode.HandoverResourceAllocation, amf,
            Ie(NgapIeId.Cause, Criticality.Ignore, NgapIeEncoder.Cause(new NgapCause(NgapCauseGroup.Transport, 0))));

        var dualStack = new GtpTunnel(TransportLayerAddress.FromIps(IPAddress.Parse("10.30.0.3"), IPAddress.Parse("2001:db8::3")), 0xC0000002);
        var pathSwitch = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.PathSwitchRequest,
            Ie(NgapIeId.RanUeNgapId, Criticality.Reject, NgapIeEncoder.RanUeNgapId(55)),
            Ie(NgapIeId.SourceAmfUeNgapId, Criticality.Reject, NgapIeEncoder.AmfUeNgapId(Amf)),
            Ie(NgapIeId.UserLocationInformation, Criticality.Ignore, NgapIeEncoder.UserLocationNr(_targetCell, _targetTai)),
            Ie(NgapIeId.PduSessionResourceToBeSwitchedDlList, Criticality.Reject, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceToBeSwitchedDlList,
                [Session(1, dl: Tunnel("10.30.0.3", 0xC0000001), qfis: 0b10), Session(2, dl: dualStack, qfis: 0b110)])));
        var pathSwitchAck = Msg(NgapPduType.SuccessfulOutcome, NgapProcedureCode.PathSwitchRequest, amf,
            Ie(NgapIeId.RanUeNgapId, Criticality.Ignore, NgapIeEncoder.RanUeNgapId(55)),
            Ie(NgapIeId.PduSessionResourceSwitchedList, Criticality.Ignore, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceSwitchedList,
                [Session(1, ul: Tunnel("10.10.0.9", 0x0000_0901)), Session(2)])));
        var pathSwitchFailure = Msg(NgapPduType.UnsuccessfulOutcome, NgapProcedureCode.PathSwitchRequest, amf,
            Ie(NgapIeId.RanUeNgapId, Criticality.Ignore, NgapIeEncoder.RanUeNgapId(55)),
            Ie(NgapIeId.PduSessionResourceReleasedListPsFail, Criticality.Ignore, NgapIeEncoder.PduSessionList(NgapIeId.PduSessionResourceReleasedListPsFail,
                [Session(1, cause: new NgapCause(NgapCauseGroup.RadioNetwork, 26))])));
        var status = Ie(NgapIeId.RanStatusTransferTransparentContainer, Criticality.Reject, NgapIeEncoder.RanStatusTransferContainer([(1, 0x12345, 0x23456), (2, 7, 9)]));
        var ulStatus = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.UplinkRanStatusTransfer, amf, srcRan, status);
        var dlStatus = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.DownlinkRanStatusTransfer, amf, tgtRan, status);
        var reset = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.NgReset,
            Ie(NgapIeId.Cause, Criticality.Ignore, NgapIeEncoder.Cause(new NgapCause(NgapCauseGroup.Misc, 3))),
            Ie(NgapIeId.ResetType, Criticality.Reject, NgapIeEncoder.ResetType([new NgConnectionId(Amf, SourceRan), new NgConnectionId(null, 99)])));
        var resetAck = Msg(NgapPduType.SuccessfulOutcome, NgapProcedureCode.NgReset,
            Ie(NgapIeId.UeAssociatedLogicalNgConnectionList, Criticality.Ignore, NgapIeEncoder.ConnectionList([new NgConnectionId(Amf, SourceRan)])));
        var resetAll = Msg(NgapPduType.InitiatingMessage, NgapProcedureCode.NgReset,
            Ie(NgapIeId.Cause, Criticality.Ignore, NgapIeEncoder.Cause(new NgapCause(NgapCauseGroup.Misc, 3))),
            Ie(NgapIeId.ResetType, Criticality.Reject, NgapIeEncoder.ResetType(null)));
        return [required, request, ack, command, notify, cancel, prepFailure, hoFailure, pathSwitch, pathSwitchAck, pathSwitchFailure, ulStatus, dlStatus, reset, resetAck, resetAll];
    }

    /// <summary>Writes each message in its own IPv4/SCTP packet (one DATA chunk, PPID 60, fresh TSNs per direction).</summary>
    internal static void WritePcap(string path, IReadOnlyList<byte[]> messages)
    {
        using var writer = new PcapWriter(File.Create(path), LinkType.Raw);
        var gnb = IPAddress.Parse("192.168.0.10");
        var amfIp = IPAddress.Parse("192.168.0.1");
        uint tsn = 0x1000;
        for (var i = 0; i < messages.Count; i++)
        {
            var data = messages[i];
            var chunk = new byte[(16 + data.Length + 3) & ~3];
            chunk[1] = 0x03; // B|E: unfragmented
            BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)(16 + data.Length));
            BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4), tsn++);
            BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(8), 1);
            BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(10), (ushort)i);
            BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(12), 60);
            data.CopyTo(chunk.AsSpan(16));
            var sctp = new byte[12 + chunk.Length];
            BinaryPrimitives.WriteUInt16BigEndian(sctp, 38412);
            BinaryPrimitives.WriteUInt16BigEndian(sctp.AsSpan(2), 38412);
            BinaryPrimitives.WriteUInt32BigEndian(sctp.AsSpan(4), 0x5C7A9);
            chunk.CopyTo(sctp.AsSpan(12));
            var ip = PacketBuilder.Ipv4(i % 2 == 0 ? gnb : amfIp, i % 2 == 0 ? amfIp : gnb, 132, sctp, (ushort)i);
            writer.Write(1_700_000_000_000_000_000L + (i * 1_000_000L), ip);
        }
    }

    [Fact]
    public async Task Tshark_decodes_our_handover_and_path_switch_messages_to_the_values_we_encoded()
    {
        var tshark = ExternalTool.Require("tshark", "tshark");
        var dir = Directory.CreateTempSubdirectory("mobiscud-ngap-enc-");
        try
        {
            var messages = HandoverMessages();
            var pcap = Path.Combine(dir.FullName, "ngap.pcap");
            WritePcap(pcap, messages.Select(m => m.Encode()).ToList());

            var malformed = await ExternalTool.RunAsync(tshark, ["-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= warning", "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"], TimeSpan.FromMinutes(1));
            Assert.Equal(string.Empty, malformed.StdOut.Trim());

            var decoded = TsharkCorpus.For(pcap, "ngap");
            Assert.Equal(messages.Count, decoded.Count);
            var problems = new List<string>();
            for (var i = 0; i < messages.Count; i++)
            {
                Assert.Equal(messages[i].Encode(), decoded[i].Bytes);
                var ours = NgapDecoder.Decode(decoded[i].Bytes);
                Assert.Equal(messages[i].MessageName, ours.MessageName);
                NgapOracleTests.Check(decoded[i], ours, problems); // our decoder agrees with tshark field by field
            }

            Assert.True(problems.Count == 0, string.Join("\n", problems));

            var (req, hoReq, ack, cmd, notify, cancel) = (decoded[0], decoded[1], decoded[2], decoded[3], decoded[4], decoded[5]);
            string[] Vals(TsharkMessage m, string f) => m.Values(f).ToArray();
            Assert.Equal(["12"], Vals(req, "ngap.procedureCode"));
            Assert.Equal([Amf.ToString(CultureInfo.InvariantCulture)], Vals(req, "ngap.AMF_UE_NGAP_ID"));
            Assert.Equal(["7"], Vals(req, "ngap.RAN_UE_NGAP_ID"));
            Assert.Equal(["0"], Vals(req, "ngap.HandoverType"));
            Assert.Equal(["16"], Vals(req, "ngap.radioNetwork"));
            Assert.Equal(["1", "2", "5"], Vals(req, "ngap.pDUSessionID"));
            Assert.Equal(["aa:f3:7b:c0"], Vals(req, "ngap.gNB_ID")); // 0x2ABCDEF in 26 bits, left-aligned
            Assert.Equal(["258"], Vals(req, "ngap.tAC"));
            Assert.Equal(["0x0000000abcdef012", "0x0000000000012345"], Vals(req, "ngap.NRCellIdentity").Select(v => v.ToLowerInvariant()).ToArray());

            Assert.Equal(["00:00:01:01", "00:00:01:02", "00:00:01:05"], Vals(hoReq, "ngap.gTP_TEID"));
            Assert.Equal(["10.10.0.1", "10.10.0.1", "10.10.0.2"], Vals(hoReq, "ngap.TransportLayerAddressIPv4"));
            Assert.Equal(["1", "1", "2", "5"], Vals(hoReq, "ngap.qosFlowIdentifier"));

            Assert.Equal(["4000000000"], Vals(ack, "ngap.RAN_UE_NGAP_ID"));
            Assert.Equal(["1", "2", "5"], Vals(ack, "ngap.pDUSessionID"));
            Assert.Equal(["b0:00:00:01", "f0:00:00:01", "b0:00:00:02"], Vals(ack, "ngap.gTP_TEID"));
            Assert.Equal(["22"], Vals(ack, "ngap.radioNetwork"));

            Assert.Equal(["f0:00:00:01"], Vals(cmd, "ngap.gTP_TEID"));
            Assert.Equal(["1", "2", "5"], Vals(cmd, "ngap.pDUSessionID"));
            Assert.Equal(["0x0000000abcdef012"], Vals(notify, "ngap.NRCellIdentity").Select(v => v.ToLowerInvariant()).ToArray());
            Assert.Equal(["5"], Vals(cancel, "ngap.radioNetwork"));

            var (ps, psAck, psFail) = (decoded[8], decoded[9], decoded[10]);
            Assert.Equal(["25"], Vals(ps, "ngap.procedureCode"));
            Assert.Equal(["55"], Vals(ps, "ngap.RAN_UE_NGAP_ID"));
            Assert.Equal([Amf.ToString(CultureInfo.InvariantCulture)], Vals(ps, "ngap.AMF_UE_NGAP_ID")); // SourceAMF-UE-NGAP-ID
            Assert.Equal(["c0:00:00:01", "c0:00:00:02"], Vals(ps, "ngap.gTP_TEID"));
            Assert.Equal(["10.30.0.3", "10.30.0.3"], Vals(ps, "ngap.TransportLayerAddressIPv4"));
            Assert.Equal(["2001:db8::3"], Vals(ps, "ngap.TransportLayerAddressIPv6"));
            Assert.Equal(["00:00:09:01"], Vals(psAck, "ngap.gTP_TEID"));
            Assert.Equal(["1", "2"], Vals(psAck, "ngap.pDUSessionID"));
            Assert.Equal(["26"], Vals(psFail, "ngap.radioNetwork"));

            var (ul, dl, rst, rstAck, rstAll) = (decoded[11], decoded[12], decoded[13], decoded[14], decoded[15]);
            Assert.Equal(["49"], Vals(ul, "ngap.procedureCode"));
            Assert.Equal(["7"], Vals(dl, "ngap.procedureCode"));
            Assert.Equal(["1", "2"], Vals(ul, "ngap.dRB_ID"));
            Assert.Equal(["20"], Vals(rst, "ngap.procedureCode"));
            Assert.Equal(["7", "99"], Vals(rst, "ngap.rAN_UE_NGAP_ID").Concat(Vals(rst, "ngap.RAN_UE_NGAP_ID")).ToArray());
            var ourReset = NgapDecoder.Decode(messages[13].Encode());
            Assert.False(ourReset.ResetAll);
            Assert.Equal([new NgConnectionId(Amf, SourceRan), new NgConnectionId(null, 99)], ourReset.ResetConnections);
            Assert.Single(NgapDecoder.Decode(messages[14].Encode()).ResetConnections);
            Assert.True(NgapDecoder.Decode(messages[15].Encode()).ResetAll);
            Assert.Equal(["3"], Vals(rstAll, "ngap.misc"));
            Assert.NotEmpty(rstAck.Values("ngap.UE_associatedLogicalNG_connectionItem_element"));

            // Our decoder reads back what we built, including what tshark only shows as a tree.
            var s = NgapDecoder.Decode(messages[0].Encode());
            Assert.Equal(_targetCell, s.TargetCell);
            Assert.Equal(new NgapTargetRanNode(_targetGnb, _targetTai), s.Target);
            var a = NgapDecoder.Decode(messages[2].Encode());
            Assert.Equal(new[] { 1, 2, 5 }, a.PduSessions.Select(p => (int)p.PduSessionId));
            Assert.Equal(0xF0000001u, a.PduSessions[0].DlForwarding!.Value.Teid);
            Assert.Equal(new[] { 1, 2 }, a.PduSessions[1].Qfis());
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("MOBISCUD_KEEP_TMP") is null)
            {
                dir.Delete(recursive: true);
            }
        }
    }
}
