using System.Buffers.Binary;
using System.Net;
using MobiScud.Protocols.OpenFlow;

namespace MobiScud.Sdn.Tests;

/// <summary>Our decoder against the bytes ovs-ofctl (OVS's own OpenFlow library) sends, and our encoder against its decoding.</summary>
public sealed class OpenFlowCodecTests
{
    private static OxmField Field(OfpMatch m, ushort cls, byte field) =>
        m.Get(cls, field) ?? throw new Xunit.Sdk.XunitException($"match lacks ({cls:x4},{field}): {m}");

    [Fact]
    public async Task Decodes_the_flow_mod_ovs_ofctl_sends_for_a_decap_rule_with_nicira_tunnel_source()
    {
        var c = await OfctlCapture.RunAsync(null, "add-flow", "{target}",
            "table=1,priority=300,cookie=0xa500000000000042,ip,tun_id=0x1001,tun_src=10.77.0.1,nw_src=172.16.0.5,nw_dst=192.168.77.10,actions=set_field:02:00:00:00:00:fe->eth_src,output:3");
        var fm = OfctlCapture.Single<FlowMod>(c);
        Assert.Equal(FlowModCommand.Add, fm.Command);
        Assert.Equal(1, fm.TableId);
        Assert.Equal(300, fm.Priority);
        Assert.Equal(0xa500000000000042UL, fm.Cookie);
        Assert.Equal(0x1001UL, Field(fm.Match, OxmClass.OpenFlowBasic, OxmFieldId.TunnelId).ValueAsUInt64());
        Assert.Equal(IPAddress.Parse("10.77.0.1"), new IPAddress(Field(fm.Match, OxmClass.Nxm1, OxmFieldId.NxTunIpv4Src).Value));
        Assert.Equal(0x0800UL, Field(fm.Match, OxmClass.OpenFlowBasic, OxmFieldId.EthType).ValueAsUInt64());
        Assert.Equal(IPAddress.Parse("172.16.0.5"), new IPAddress(Field(fm.Match, OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Src).Value));
        Assert.Equal(IPAddress.Parse("192.168.77.10"), new IPAddress(Field(fm.Match, OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Dst).Value));
        var apply = Assert.IsType<ApplyActionsInstruction>(Assert.Single(fm.Instructions));
        Assert.Equal(new SetFieldAction(OxmField.EthSrc(OfctlCapture.Mac("02:00:00:00:00:fe"))), apply.Actions[0]);
        Assert.Equal(3u, Assert.IsType<OutputAction>(apply.Actions[1]).Port);

        // The OXM headers on the wire are the ones the OVS note records.
        var frame = OfctlCapture.SingleFrame(c, OfpType.FlowMod);
        Assert.True(ContainsU32(frame, 0x80004c08), "TUNNEL_ID OXM header 0x80004c08 not in the flow-mod");
        Assert.True(ContainsU32(frame, 0x00013e04), "NXM tun_ipv4_src header 0x00013e04 not in the flow-mod");

        // Re-encoding the decoded message gives back exactly the bytes ovs-ofctl produced.
        Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(OfpCodec.Encode(fm)));
    }

    [Fact]
    public async Task Decodes_set_field_of_tunnel_destination_and_tunnel_id_as_ovs_ofctl_encodes_them()
    {
        var c = await OfctlCapture.RunAsync(null, "add-flow", "{target}",
            "table=2,priority=300,in_port=3,ip,nw_src=192.168.77.10,nw_dst=172.16.0.5,actions=set_field:10.77.0.1->tun_dst,set_field:0x2002->tun_id,output:10");
        var fm = OfctlCapture.Single<FlowMod>(c);
        var actions = Assert.IsType<ApplyActionsInstruction>(Assert.Single(fm.Instructions)).Actions;
        Assert.Equal(new SetFieldAction(OxmField.TunIpv4Dst(IPAddress.Parse("10.77.0.1"))), actions[0]);
        Assert.Equal(new SetFieldAction(OxmField.TunnelId(0x2002)), actions[1]);
        Assert.Equal(10u, Assert.IsType<OutputAction>(actions[2]).Port);
        Assert.Equal(3u, (uint)Field(fm.Match, OxmClass.OpenFlowBasic, OxmFieldId.InPort).ValueAsUInt64());
        var frame = OfctlCapture.SingleFrame(c, OfpType.FlowMod);
        Assert.True(ContainsU32(frame, 0x00014004), "NXM tun_ipv4_dst header 0x00014004 not in the set_field");
        Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(OfpCodec.Encode(fm)));
    }

    [Fact]
    public async Task Pkt_mark_set_field_matches_the_bytes_ovs_ofctl_sends_in_openflow13()
    {
        // What the steering compiler emits before an output into the gtpu port of a marked site.
        var c = await OfctlCapture.RunAsync(null, "add-flow", "{target}",
            "table=1,priority=100,tun_id=0x1001,actions=set_field:10.77.0.2->tun_dst,set_field:0x2->pkt_mark,IN_PORT");
        var fm = OfctlCapture.Single<FlowMod>(c);
        var actions = Assert.IsType<ApplyActionsInstruction>(Assert.Single(fm.Instructions)).Actions;
        Assert.Equal(new SetFieldAction(OxmField.PktMark(2)), actions[1]);
        Assert.Equal("pkt_mark=0x2", Assert.IsType<SetFieldAction>(actions[1]).Field.ToString());
        var frame = OfctlCapture.SingleFrame(c, OfpType.FlowMod);

        // OFPAT_SET_FIELD (25), length 16, NXM_NX_PKT_MARK header 0x00014204, value, 4 pad bytes.
        Assert.Contains("0019001000014204000000020000000", Convert.ToHexString(frame), StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(OfpCodec.Encode(fm)));

        // Our encoding of the set_field actions the compiler builds is the one ovs-ofctl produced (the output action is
        // taken from its message: ovs-ofctl writes max_len 0 where we write 0xffff, which OVS ignores for non-controller ports).
        var ours = new FlowMod(fm.Xid, fm.Cookie, fm.CookieMask, 1, FlowModCommand.Add, fm.IdleTimeout, fm.HardTimeout, 100, fm.BufferId, fm.OutPort, fm.OutGroup, fm.Flags,
            new OfpMatch([OxmField.TunnelId(0x1001)]),
            [new ApplyActionsInstruction([new SetFieldAction(OxmField.TunIpv4Dst(IPAddress.Parse("10.77.0.2"))), new SetFieldAction(OxmField.PktMark(2)), actions[2]])]);
        Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(OfpCodec.Encode(ours)));
    }

    [Fact]
    public async Task Decodes_metadata_goto_clear_write_actions_vlan_group_and_special_ports()
    {
        var c = await OfctlCapture.RunAsync(null, "add-flow", "{target}",
            "table=0,priority=5,udp,tp_dst=2152,actions=push_vlan:0x8100,set_field:4196->vlan_vid,pop_vlan,group:7,output:LOCAL,in_port,NORMAL,clear_actions,write_actions(output:2),write_metadata:0x5/0xff,goto_table:2");
        var fm = OfctlCapture.Single<FlowMod>(c);
        var apply = fm.Instructions.OfType<ApplyActionsInstruction>().Single().Actions;
        Assert.Equal(new PushVlanAction(0x8100), apply[0]);
        Assert.Equal(new SetFieldAction(OxmField.VlanVid(4196)), apply[1]);
        Assert.IsType<PopVlanAction>(apply[2]);
        Assert.Equal(new GroupAction(7), apply[3]);
        Assert.Equal(OfpPort.Local, Assert.IsType<OutputAction>(apply[4]).Port);
        Assert.Equal(OfpPort.InPort, Assert.IsType<OutputAction>(apply[5]).Port);
        Assert.Equal(OfpPort.Normal, Assert.IsType<OutputAction>(apply[6]).Port);
        Assert.Single(fm.Instructions.OfType<ClearActionsInstruction>());
        Assert.Equal(2u, Assert.IsType<OutputAction>(fm.Instructions.OfType<WriteActionsInstruction>().Single().Actions.Single()).Port);
        Assert.Equal(new WriteMetadataInstruction(5, 0xff), fm.Instructions.OfType<WriteMetadataInstruction>().Single());
        Assert.Equal(new GotoTableInstruction(2), fm.Instructions.OfType<GotoTableInstruction>().Single());
        Assert.Equal(2152UL, Field(fm.Match, OxmClass.OpenFlowBasic, OxmFieldId.UdpDst).ValueAsUInt64());
        Assert.Equal(Convert.ToHexString(OfctlCapture.SingleFrame(c, OfpType.FlowMod)), Convert.ToHexString(OfpCodec.Encode(fm)));
    }

    [Fact]
    public async Task Decodes_delete_strict_with_cookie_mask()
    {
        var c = await OfctlCapture.RunAsync(null, "del-flows", "--strict", "{target}", "table=1,priority=200,cookie=0xa5/-1,ip,nw_dst=192.168.77.10");
        var fm = OfctlCapture.Single<FlowMod>(c);
        Assert.Equal(FlowModCommand.DeleteStrict, fm.Command);
        Assert.Equal(0xa5UL, fm.Cookie);
        Assert.Equal(ulong.MaxValue, fm.CookieMask);
        Assert.Equal(200, fm.Priority);
        Assert.Empty(fm.Instructions);
    }

    [Fact]
    public async Task Our_flow_stats_reply_is_printed_by_ovs_ofctl_as_intended()
    {
        var entry = new FlowStats(1, 5, 0, 300, 0, 0, FlowModFlags.None, 0xa5000000000000aa, 12, 3400,
            new OfpMatch([OxmField.TunnelId(0x1001), OxmField.TunIpv4Src(IPAddress.Parse("10.77.0.1")), OxmField.EthType(0x0800), OxmField.Ipv4Dst(IPAddress.Parse("192.168.77.10"))]),
            [new ApplyActionsInstruction([new SetFieldAction(OxmField.TunIpv4Dst(IPAddress.Parse("10.77.0.2"))), new SetFieldAction(OxmField.TunnelId(0x2002)), new OutputAction(10)])]);
        FlowStatsRequest? request = null;
        var c = await OfctlCapture.RunAsync(m => m is FlowStatsRequest r ? new FlowStatsReply((request = r).Xid, 0, [entry]) : null, "dump-flows", "{target}");
        Assert.NotNull(request);
        Assert.Equal(FlowStatsRequest.AllTables, request.TableId);
        Assert.Equal(OfpPort.Any, request.OutPort);
        Assert.True(c.StdOut.Contains("cookie=0xa5000000000000aa, duration=5s", StringComparison.Ordinal), c.StdOut);
        Assert.Contains("cookie=0xa5000000000000aa, duration=5s, table=1, n_packets=12, n_bytes=3400, priority=300,ip,tun_id=0x1001,tun_src=10.77.0.1,nw_dst=192.168.77.10 actions=set_field:10.77.0.2->tun_dst,set_field:0x2002->tun_id,output:10", c.StdOut.Replace("\n", " ", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Port_desc_and_port_stats_requests_and_our_replies_agree_with_ovs_ofctl()
    {
        var port = new PortDesc(3, OfctlCapture.Mac("02:00:c0:a8:4d:0a"), "vpvma", 0, 4, 0x2040, 0, 0, 0, 10_000_000, 0);
        var c = await OfctlCapture.RunAsync(m => m is PortDescRequest r ? new PortDescReply(r.Xid, 0, [port]) : null, "dump-ports-desc", "{target}");
        Assert.Contains(" 3(vpvma): addr:02:00:c0:a8:4d:0a", c.StdOut, StringComparison.Ordinal);
        Assert.Contains("LIVE", c.StdOut, StringComparison.Ordinal);

        var stats = new PortStats(3, 10, 20, 1000, 2000, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0);
        PortStatsRequest? req = null;
        var s = await OfctlCapture.RunAsync(m => m is PortStatsRequest r ? new PortStatsReply((req = r).Xid, 0, [stats]) : null, "dump-ports", "{target}", "3");
        Assert.Equal(3u, req!.PortNo);
        Assert.Contains("port  3: rx pkts=10, bytes=1000, drop=1, errs=3, frame=5, over=6, crc=7", s.StdOut, StringComparison.Ordinal);
        Assert.Contains("tx pkts=20, bytes=2000, drop=2, errs=4, coll=8", s.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decodes_packet_out_from_ovs_ofctl()
    {
        var c = await OfctlCapture.RunAsync(null, "packet-out", "{target}", "in_port=1,packet=020000000002020000000001080045000014000100004011000000000000000000000000,actions=output:2");
        var po = OfctlCapture.Single<PacketOut>(c);
        Assert.Equal(1u, po.InPort);
        Assert.Equal(2u, Assert.IsType<OutputAction>(Assert.Single(po.Actions)).Port);
        Assert.Equal("0200000000020200000000010800", Convert.ToHexString(po.Data.AsSpan(0, 14)));
    }

    [Fact]
    public void Hello_version_bitmap_and_malformed_lengths_give_typed_errors()
    {
        var hello = OfpCodec.Decode(Convert.FromHexString("04000010000000010001000800000010"));
        Assert.True(Assert.IsType<Hello>(hello).Supports(4));

        var bad = Assert.Throws<OfpDecodeException>(() => OfpCodec.Decode(Convert.FromHexString("0400000400000001")));
        Assert.Equal(OfpDecodeError.BadLength, bad.Error);

        // A flow-mod whose match claims more bytes than the message holds.
        var fm = OfpCodec.Encode(new FlowMod(9, 0, 0, 0, FlowModCommand.Add, 0, 0, 1, FlowMod.NoBuffer, OfpPort.Any, 0xffffffff, FlowModFlags.None,
            new OfpMatch([OxmField.InPort(1)]), []));
        BinaryPrimitives.WriteUInt16BigEndian(fm.AsSpan(50), 400);
        var truncated = Assert.Throws<OfpDecodeException>(() => OfpCodec.Decode(fm));
        Assert.Equal(OfpDecodeError.Truncated, truncated.Error);
        Assert.Contains("match fields", truncated.Message, StringComparison.Ordinal);

        // An OXM with a wrong size for its field.
        var wrongSize = OfpCodec.Encode(new FlowMod(9, 0, 0, 0, FlowModCommand.Add, 0, 0, 1, FlowMod.NoBuffer, OfpPort.Any, 0xffffffff, FlowModFlags.None,
            new OfpMatch([new OxmField(OxmClass.OpenFlowBasic, OxmFieldId.Ipv4Dst, [1, 2, 3])]), []));
        Assert.Equal(OfpDecodeError.BadOxm, Assert.Throws<OfpDecodeException>(() => OfpCodec.Decode(wrongSize)).Error);

        var version10 = Assert.Throws<OfpDecodeException>(() => OfpCodec.Decode(Convert.FromHexString("0114000800000001")));
        Assert.Equal(OfpDecodeError.BadVersion, version10.Error);
    }

    private static bool ContainsU32(byte[] frame, uint value)
    {
        for (var i = 0; i + 4 <= frame.Length; i++)
        {
            if (BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(i)) == value)
            {
                return true;
            }
        }

        return false;
    }
}
