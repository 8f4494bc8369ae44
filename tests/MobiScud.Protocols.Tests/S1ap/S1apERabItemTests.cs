using System.Net;
using MobiScud.Protocols.Aper;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Protocols.Tests.S1ap;

/// <summary>
/// Every E-RAB item type of the codec's layout table, written and read by the one table-driven reader/writer: tshark
/// decodes each in its list without complaint and finds the E-RAB id and TEIDs we wrote, and our reader gives back an
/// item that writes the same bytes again.
/// </summary>
public sealed class S1apERabItemTests
{
    public static TheoryData<ushort, ushort> Items() => new()
    {
        { S1apIeId.ERabToBeSetupListCtxtSuReq, S1apIeId.ERabToBeSetupItemCtxtSuReq },
        { S1apIeId.ERabToBeSetupListBearerSuReq, S1apIeId.ERabToBeSetupItemBearerSuReq },
        { S1apIeId.ERabToBeModifiedListBearerModReq, S1apIeId.ERabToBeModifiedItemBearerModReq },
        { S1apIeId.ERabSetupListCtxtSuRes, S1apIeId.ERabSetupItemCtxtSuRes },
        { S1apIeId.ERabSetupListBearerSuRes, S1apIeId.ERabSetupItemBearerSuRes },
        { S1apIeId.ERabToBeSwitchedDlList, S1apIeId.ERabToBeSwitchedDlItem },
        { S1apIeId.ERabToBeSwitchedUlList, S1apIeId.ERabToBeSwitchedUlItem },
        { S1apIeId.ERabToBeModifiedListBearerModInd, S1apIeId.ERabToBeModifiedItemBearerModInd },
        { S1apIeId.ERabNotToBeModifiedListBearerModInd, S1apIeId.ERabNotToBeModifiedItemBearerModInd },
        { S1apIeId.ERabToBeSetupListHoReq, S1apIeId.ERabToBeSetupItemHoReq },
        { S1apIeId.ERabAdmittedList, S1apIeId.ERabAdmittedItem },
        { S1apIeId.ERabSubjectToDataForwardingList, S1apIeId.ERabDataForwardingItem },
        { S1apIeId.ERabFailedToSetupListHoReqAck, S1apIeId.ERabFailedToSetupItemHoReqAck },
        { S1apIeId.ERabToBeReleasedList, S1apIeId.ERabItem },
        { S1apIeId.ERabModifyListBearerModRes, S1apIeId.ERabModifyItemBearerModRes },
        { S1apIeId.ERabReleaseListBearerRelComp, S1apIeId.ERabReleaseItemBearerRelComp },
        { S1apIeId.ERabModifyListBearerModConf, S1apIeId.ERabModifyItemBearerModConf },
    };

    private static readonly byte[] _nas = [0x07, 0x46]; // a plain EMM DETACH ACCEPT: tshark dissects the NAS too

    /// <summary>An item with every field set; the layout decides which ones are written.</summary>
    private static ERabItem Full(ushort listId, ushort itemId, byte erabId) => new()
    {
        ListIeId = listId,
        ItemIeId = itemId,
        ERabId = erabId,
        Tunnel = new GtpTunnel(TransportLayerAddress.FromIp(IPAddress.Parse("10.0.0.1")), 0x11000000u + erabId),
        DlForwarding = new GtpTunnel(TransportLayerAddress.FromIp(IPAddress.Parse("10.0.0.2")), 0x22000000u + erabId),
        UlForwarding = new GtpTunnel(TransportLayerAddress.FromIp(IPAddress.Parse("10.0.0.3")), 0x33000000u + erabId),
        Qos = new ERabQos(7, 3, true, false),
        Cause = new S1apCause(CauseGroup.Transport, 1),
        NasPduLength = -1,
    };

    [Theory]
    [MemberData(nameof(Items))]
    public void Our_reader_reads_back_an_item_that_writes_the_same_bytes(ushort listId, ushort itemId)
    {
        var written = S1apIeCodec.EncodeERabItem(Full(listId, itemId, 9), _nas);
        var r = new AperReader(written);
        Assert.True(S1apIeCodec.TryReadERabItem(ref r, listId, itemId, out var read));
        Assert.Equal((listId, itemId, (byte)9), (read.ListIeId, read.ItemIeId, read.ERabId));
        var full = Full(listId, itemId, 9);
        Assert.True(read.Tunnel is null || read.Tunnel == full.Tunnel);
        Assert.True(read.DlForwarding is null || read.DlForwarding == full.DlForwarding);
        Assert.True(read.UlForwarding is null || read.UlForwarding == full.UlForwarding);
        Assert.True(read.Qos is null || read.Qos == full.Qos);
        Assert.True(read.Cause is null || read.Cause == full.Cause);
        var nas = read.HasNasPdu ? written.AsSpan(read.NasPduOffset, read.NasPduLength) : default;
        Assert.True(!read.HasNasPdu || nas.SequenceEqual(_nas));
        Assert.Equal(written, S1apIeCodec.EncodeERabItem(read, nas));
    }

    [Fact]
    public void An_item_type_outside_the_table_is_a_named_error_and_is_skipped_when_read()
    {
        var item = Full(S1apIeId.ERabToBeSetupListCtxtSuReq, S1apIeId.ERabInformationListItem, 1);
        var error = Assert.Throws<ArgumentException>(() => S1apIeCodec.EncodeERabItem(item));
        Assert.Contains($"item type {S1apIeId.ERabInformationListItem}", error.Message);
        var r = new AperReader([0x00, 0x00]);
        Assert.False(S1apIeCodec.TryReadERabItem(ref r, S1apIeId.ERabToBeSetupListCtxtSuReq, S1apIeId.ERabInformationListItem, out _));
    }

    [Fact]
    public async Task Tshark_decodes_every_item_type_in_its_list()
    {
        var rows = Items().Select(row => ((ushort)row[0], (ushort)row[1])).ToList();
        var messages = rows.Select((row, i) => new S1apMessage(S1apPduType.InitiatingMessage, S1apProcedureCode.ERabModify, Criticality.Reject,
        [
            new S1apProtocolIe(S1apIeId.MmeUeS1apId, Criticality.Reject, S1apIeCodec.EncodeMmeUeS1apId(1)),
            new S1apProtocolIe(row.Item1, Criticality.Reject, S1apIeCodec.EncodeERabList(row.Item2, Criticality.Reject,
                [S1apIeCodec.EncodeERabItem(Full(row.Item1, row.Item2, (byte)(i + 1)), _nas)])),
        ])).ToList();
        var dir = Directory.CreateTempSubdirectory("mobiscud-s1ap-erab-");
        try
        {
            var pcap = await S1apEncoderTsharkTests.WritePcapWithoutMalformedAsync(dir.FullName, messages);
            var decoded = TsharkCorpus.For(pcap, "s1ap");
            Assert.Equal(rows.Count, decoded.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                Assert.Equal([(i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)], decoded[i].Values("s1ap.e_RAB_ID"));
                var ours = S1apDecoder.Decode(messages[i].Encode());
                var item = Assert.Single(ours.ERabs);
                Assert.Equal(i + 1, item.ERabId);
                if (item.Tunnel is { } t)
                {
                    // The TEID's field name differs per item type (gTP_TEID, dL_GTP_TEID ...).
                    var teids = decoded[i].Fields.Where(f => f.Key.EndsWith("TEID", StringComparison.OrdinalIgnoreCase)).Select(f => f.Value);
                    Assert.Contains($"{t.Teid >> 24:x2}:00:00:{t.Teid & 0xFF:x2}", teids);
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
