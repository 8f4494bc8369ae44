using System.Buffers.Binary;
using System.Net.NetworkInformation;
using System.Text;

namespace MobiScud.Protocols.OpenFlow;

/// <summary>OpenFlow 1.3 (wire version 0x04) encoder/decoder. Decoding checks every length against the bytes present.</summary>
public static class OfpCodec
{
    public const byte Version13 = 0x04;
    public const int HeaderLength = 8;
    public const int MaxMessageLength = 0xffff;

    /// <summary>Reads the 8-byte header: version, type, total length (validated to be 8..65535), xid.</summary>
    public static (byte Version, byte Type, int Length, uint Xid) ReadHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderLength)
        {
            throw new OfpDecodeException(OfpDecodeError.Truncated, 0, $"header needs 8 bytes, have {header.Length}");
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        if (length < HeaderLength)
        {
            throw new OfpDecodeException(OfpDecodeError.BadLength, 2, $"message length {length} < 8");
        }

        return (header[0], header[1], length, BinaryPrimitives.ReadUInt32BigEndian(header[4..]));
    }

    /// <summary>Decodes exactly one message; <paramref name="frame"/> must hold the whole message and nothing else.</summary>
    public static OfpMessage Decode(ReadOnlySpan<byte> frame)
    {
        var (version, type, length, xid) = ReadHeader(frame);
        if (length != frame.Length)
        {
            throw new OfpDecodeException(OfpDecodeError.BadLength, 2, $"header says {length} bytes, frame has {frame.Length}");
        }

        var r = new OfpReader(frame[HeaderLength..], HeaderLength);

        // HELLO must be understood at any version (version negotiation); everything else must be 1.3.
        if (type == (byte)OfpType.Hello)
        {
            return DecodeHello(ref r, xid);
        }

        if (version != Version13)
        {
            // ERROR and ECHO are version-independent too; the controller answers them before rejecting.
            if (type != (byte)OfpType.Error)
            {
                throw new OfpDecodeException(OfpDecodeError.BadVersion, 0, $"version 0x{version:x2} is not OpenFlow 1.3 (0x04)");
            }
        }

        return (OfpType)type switch
        {
            OfpType.Error => new ErrorMessage(xid, r.U16("error type"), r.U16("error code"), r.Rest()),
            OfpType.EchoRequest => new EchoRequest(xid, r.Rest()),
            OfpType.EchoReply => new EchoReply(xid, r.Rest()),
            OfpType.FeaturesRequest => new FeaturesRequest(xid),
            OfpType.FeaturesReply => DecodeFeaturesReply(ref r, xid),
            OfpType.GetConfigRequest => new GetConfigRequest(xid),
            OfpType.GetConfigReply => new GetConfigReply(xid, r.U16("config flags"), r.U16("miss_send_len")),
            OfpType.SetConfig => new SetConfig(xid, r.U16("config flags"), r.U16("miss_send_len")),
            OfpType.PacketIn => DecodePacketIn(ref r, xid),
            OfpType.PacketOut => DecodePacketOut(ref r, xid),
            OfpType.FlowMod => DecodeFlowMod(ref r, xid),
            OfpType.FlowRemoved => DecodeFlowRemoved(ref r, xid),
            OfpType.PortStatus => DecodePortStatus(ref r, xid),
            OfpType.BarrierRequest => new BarrierRequest(xid),
            OfpType.BarrierReply => new BarrierReply(xid),
            OfpType.MultipartRequest => DecodeMultipartRequest(ref r, xid),
            OfpType.MultipartReply => DecodeMultipartReply(ref r, xid),
            _ => new UnknownMessage(xid, type, r.Rest()),
        };
    }

    private static Hello DecodeHello(ref OfpReader r, uint xid)
    {
        uint? bitmap = null;
        while (r.Remaining >= 4)
        {
            var at = r.AbsolutePosition;
            var type = r.U16("hello element type");
            var len = r.U16("hello element length");
            if (len < 4)
            {
                throw new OfpDecodeException(OfpDecodeError.BadHelloElement, at, $"hello element length {len} < 4");
            }

            var body = r.Sub(len - 4, "hello element body");
            if (type == 1)
            {
                if (body.Remaining < 4 || body.Remaining % 4 != 0)
                {
                    throw new OfpDecodeException(OfpDecodeError.BadHelloElement, at, $"version bitmap of {body.Remaining} bytes");
                }

                // Only versions 0..31 matter to us; the first word holds them.
                bitmap = body.U32("version bitmap");
            }

            // Elements are padded to 8 bytes; padding may be absent at the very end.
            var pad = Math.Min(((len + 7) / 8 * 8) - len, r.Remaining);
            r.Skip(pad, "hello element padding");
        }

        return new Hello(xid, bitmap);
    }

    private static FeaturesReply DecodeFeaturesReply(ref OfpReader r, uint xid)
    {
        var dpid = r.U64("datapath_id");
        var nBuffers = r.U32("n_buffers");
        var nTables = r.U8("n_tables");
        var aux = r.U8("auxiliary_id");
        r.Skip(2, "features pad");
        var caps = r.U32("capabilities");
        r.Skip(4, "features reserved");
        return new FeaturesReply(xid, dpid, nBuffers, nTables, aux, caps);
    }

    private static PacketIn DecodePacketIn(ref OfpReader r, uint xid)
    {
        var bufferId = r.U32("packet_in buffer_id");
        var totalLen = r.U16("packet_in total_len");
        var reason = r.U8("packet_in reason");
        var table = r.U8("packet_in table_id");
        var cookie = r.U64("packet_in cookie");
        var match = OfpMatch.Read(ref r);
        r.Skip(2, "packet_in pad");
        return new PacketIn(xid, bufferId, totalLen, reason, table, cookie, match, r.Rest());
    }

    private static PacketOut DecodePacketOut(ref OfpReader r, uint xid)
    {
        var bufferId = r.U32("packet_out buffer_id");
        var inPort = r.U32("packet_out in_port");
        var actionsLen = r.U16("packet_out actions_len");
        r.Skip(6, "packet_out pad");
        var actionsReader = r.Sub(actionsLen, "packet_out actions");
        var actions = actionsReader.ReadAll(OfpAction.Read);
        return new PacketOut(xid, bufferId, inPort, actions, r.Rest());
    }

    private static FlowMod DecodeFlowMod(ref OfpReader r, uint xid)
    {
        var cookie = r.U64("flow_mod cookie");
        var cookieMask = r.U64("flow_mod cookie_mask");
        var table = r.U8("flow_mod table_id");
        var command = r.U8("flow_mod command");
        if (command > 4)
        {
            throw r.Error(OfpDecodeError.BadLength, $"flow_mod command {command} is not 0..4");
        }

        var idle = r.U16("flow_mod idle_timeout");
        var hard = r.U16("flow_mod hard_timeout");
        var priority = r.U16("flow_mod priority");
        var bufferId = r.U32("flow_mod buffer_id");
        var outPort = r.U32("flow_mod out_port");
        var outGroup = r.U32("flow_mod out_group");
        var flags = r.U16("flow_mod flags");
        r.Skip(2, "flow_mod pad");
        var match = OfpMatch.Read(ref r);
        var instructions = r.ReadAll(OfpInstruction.Read);
        return new FlowMod(xid, cookie, cookieMask, table, (FlowModCommand)command, idle, hard, priority, bufferId, outPort, outGroup,
            (FlowModFlags)flags, match, instructions);
    }

    private static FlowRemoved DecodeFlowRemoved(ref OfpReader r, uint xid)
    {
        var cookie = r.U64("flow_removed cookie");
        var priority = r.U16("flow_removed priority");
        var reason = r.U8("flow_removed reason");
        var table = r.U8("flow_removed table_id");
        var ds = r.U32("duration_sec");
        var dn = r.U32("duration_nsec");
        var idle = r.U16("idle_timeout");
        var hard = r.U16("hard_timeout");
        var pc = r.U64("packet_count");
        var bc = r.U64("byte_count");
        var match = OfpMatch.Read(ref r);
        return new FlowRemoved(xid, cookie, priority, reason, table, ds, dn, idle, hard, pc, bc, match);
    }

    private static PortStatus DecodePortStatus(ref OfpReader r, uint xid)
    {
        var reason = r.U8("port_status reason");
        r.Skip(7, "port_status pad");
        return new PortStatus(xid, reason, ReadPort(ref r));
    }

    private static PortDesc ReadPort(ref OfpReader r)
    {
        var no = r.U32("port_no");
        r.Skip(4, "port pad");
        var mac = new PhysicalAddress(r.Take(6, "port hw_addr").ToArray());
        r.Skip(2, "port pad2");
        var nameBytes = r.Take(16, "port name");
        var nul = nameBytes.IndexOf((byte)0);
        var name = Encoding.ASCII.GetString(nul >= 0 ? nameBytes[..nul] : nameBytes);
        return new PortDesc(no, mac, name, r.U32("port config"), r.U32("port state"), r.U32("port curr"), r.U32("port advertised"),
            r.U32("port supported"), r.U32("port peer"), r.U32("port curr_speed"), r.U32("port max_speed"));
    }

    private static MultipartRequest DecodeMultipartRequest(ref OfpReader r, uint xid)
    {
        var kind = (MultipartType)r.U16("multipart type");
        var flags = r.U16("multipart flags");
        r.Skip(4, "multipart pad");
        switch (kind)
        {
            case MultipartType.Flow:
                {
                    var table = r.U8("flow stats table_id");
                    r.Skip(3, "flow stats pad");
                    var outPort = r.U32("flow stats out_port");
                    var outGroup = r.U32("flow stats out_group");
                    r.Skip(4, "flow stats pad2");
                    var cookie = r.U64("flow stats cookie");
                    var mask = r.U64("flow stats cookie_mask");
                    var match = OfpMatch.Read(ref r);
                    return new FlowStatsRequest(xid, table, outPort, outGroup, cookie, mask, match, flags);
                }

            case MultipartType.PortStats:
                {
                    var port = r.U32("port stats port_no");
                    r.Skip(4, "port stats pad");
                    return new PortStatsRequest(xid, port, flags);
                }

            case MultipartType.PortDesc:
                return new PortDescRequest(xid, flags);
            default:
                return new OtherMultipartRequest(xid, flags, kind, r.Rest());
        }
    }

    private static MultipartReply DecodeMultipartReply(ref OfpReader r, uint xid)
    {
        var kind = (MultipartType)r.U16("multipart type");
        var flags = r.U16("multipart flags");
        r.Skip(4, "multipart pad");
        switch (kind)
        {
            case MultipartType.Flow:
                {
                    var entries = new List<FlowStats>();
                    while (r.Remaining > 0)
                    {
                        var at = r.AbsolutePosition;
                        var len = r.U16("flow stats length");
                        if (len < 56)
                        {
                            throw new OfpDecodeException(OfpDecodeError.BadMultipart, at, $"flow stats entry length {len} < 56");
                        }

                        var e = r.Sub(len - 2, "flow stats entry");
                        var table = e.U8("table_id");
                        e.Skip(1, "pad");
                        var ds = e.U32("duration_sec");
                        var dn = e.U32("duration_nsec");
                        var prio = e.U16("priority");
                        var idle = e.U16("idle_timeout");
                        var hard = e.U16("hard_timeout");
                        var fl = e.U16("flags");
                        e.Skip(4, "pad2");
                        var cookie = e.U64("cookie");
                        var pc = e.U64("packet_count");
                        var bc = e.U64("byte_count");
                        var match = OfpMatch.Read(ref e);
                        var instr = e.ReadAll(OfpInstruction.Read);
                        entries.Add(new FlowStats(table, ds, dn, prio, idle, hard, (FlowModFlags)fl, cookie, pc, bc, match, instr));
                    }

                    return new FlowStatsReply(xid, flags, entries);
                }

            case MultipartType.PortStats:
                {
                    var entries = new List<PortStats>();
                    while (r.Remaining > 0)
                    {
                        var e = r.Sub(112, "port stats entry");
                        var no = e.U32("port_no");
                        e.Skip(4, "pad");
                        var c = new ulong[12];
                        for (var i = 0; i < 12; i++)
                        {
                            c[i] = e.U64("port counter");
                        }

                        entries.Add(new PortStats(no, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11],
                            e.U32("duration_sec"), e.U32("duration_nsec")));
                    }

                    return new PortStatsReply(xid, flags, entries);
                }

            case MultipartType.PortDesc:
                {
                    var ports = new List<PortDesc>();
                    while (r.Remaining > 0)
                    {
                        var e = r.Sub(64, "port desc entry");
                        ports.Add(ReadPort(ref e));
                    }

                    return new PortDescReply(xid, flags, ports);
                }

            default:
                return new OtherMultipartReply(xid, flags, kind, r.Rest());
        }
    }

    public static byte[] Encode(OfpMessage message)
    {
        var w = new OfpWriter(128);
        Encode(message, w);
        return w.ToArray();
    }

    /// <summary>Appends one message to <paramref name="w"/> (so batches go out in one write).</summary>
    public static void Encode(OfpMessage message, OfpWriter w)
    {
        var start = w.Position;
        w.U8(Version13);
        w.U8((byte)message.Type);
        w.U16(0);
        w.U32(message.Xid);
        switch (message)
        {
            case Hello h:
                if (h.VersionBitmap is { } bm)
                {
                    w.U16(1);
                    w.U16(8);
                    w.U32(bm);
                }

                break;
            case ErrorMessage e:
                w.U16(e.ErrorType);
                w.U16(e.Code);
                w.Bytes(e.Data);
                break;
            case EchoRequest e:
                w.Bytes(e.Data);
                break;
            case EchoReply e:
                w.Bytes(e.Data);
                break;
            case FeaturesRequest or GetConfigRequest or BarrierRequest or BarrierReply:
                break;
            case FeaturesReply f:
                w.U64(f.DatapathId);
                w.U32(f.NBuffers);
                w.U8(f.NTables);
                w.U8(f.AuxiliaryId);
                w.Zeros(2);
                w.U32(f.Capabilities);
                w.U32(0);
                break;
            case GetConfigReply g:
                w.U16(g.Flags);
                w.U16(g.MissSendLen);
                break;
            case SetConfig s:
                w.U16(s.Flags);
                w.U16(s.MissSendLen);
                break;
            case PacketIn p:
                w.U32(p.BufferId);
                w.U16(p.TotalLen);
                w.U8(p.Reason);
                w.U8(p.TableId);
                w.U64(p.Cookie);
                p.Match.Write(w);
                w.Zeros(2);
                w.Bytes(p.Data);
                break;
            case PacketOut p:
                {
                    w.U32(p.BufferId);
                    w.U32(p.InPort);
                    var lenAt = w.Position;
                    w.U16(0);
                    w.Zeros(6);
                    var actionsStart = w.Position;
                    OfpAction.WriteList(w, p.Actions);
                    w.PatchU16(lenAt, (ushort)(w.Position - actionsStart));
                    w.Bytes(p.Data);
                    break;
                }

            case FlowMod f:
                w.U64(f.Cookie);
                w.U64(f.CookieMask);
                w.U8(f.TableId);
                w.U8((byte)f.Command);
                w.U16(f.IdleTimeout);
                w.U16(f.HardTimeout);
                w.U16(f.Priority);
                w.U32(f.BufferId);
                w.U32(f.OutPort);
                w.U32(f.OutGroup);
                w.U16((ushort)f.Flags);
                w.Zeros(2);
                f.Match.Write(w);
                OfpInstruction.WriteList(w, f.Instructions);
                break;
            case FlowRemoved f:
                w.U64(f.Cookie);
                w.U16(f.Priority);
                w.U8(f.Reason);
                w.U8(f.TableId);
                w.U32(f.DurationSec);
                w.U32(f.DurationNsec);
                w.U16(f.IdleTimeout);
                w.U16(f.HardTimeout);
                w.U64(f.PacketCount);
                w.U64(f.ByteCount);
                f.Match.Write(w);
                break;
            case PortStatus p:
                w.U8(p.Reason);
                w.Zeros(7);
                WritePort(w, p.Desc);
                break;
            case MultipartRequest m:
                EncodeMultipartRequest(m, w);
                break;
            case MultipartReply m:
                EncodeMultipartReply(m, w);
                break;
            case UnknownMessage u:
                w.Bytes(u.Body);
                break;
            default:
                throw new ArgumentException($"cannot encode {message.GetType().Name}");
        }

        var length = w.Position - start;
        if (length > MaxMessageLength)
        {
            throw new ArgumentException($"{message.Type} of {length} bytes exceeds the OpenFlow maximum of 65535");
        }

        w.PatchU16(start + 2, (ushort)length);
    }

    private static void EncodeMultipartRequest(MultipartRequest m, OfpWriter w)
    {
        w.U16((ushort)m.Kind);
        w.U16(m.Flags);
        w.Zeros(4);
        switch (m)
        {
            case FlowStatsRequest f:
                w.U8(f.TableId);
                w.Zeros(3);
                w.U32(f.OutPort);
                w.U32(f.OutGroup);
                w.Zeros(4);
                w.U64(f.Cookie);
                w.U64(f.CookieMask);
                f.Match.Write(w);
                break;
            case PortStatsRequest p:
                w.U32(p.PortNo);
                w.Zeros(4);
                break;
            case PortDescRequest:
                break;
            case OtherMultipartRequest o:
                w.Bytes(o.Body);
                break;
        }
    }

    private static void EncodeMultipartReply(MultipartReply m, OfpWriter w)
    {
        w.U16((ushort)m.Kind);
        w.U16(m.Flags);
        w.Zeros(4);
        switch (m)
        {
            case FlowStatsReply f:
                foreach (var e in f.Entries)
                {
                    var s = w.Position;
                    w.U16(0);
                    w.U8(e.TableId);
                    w.Zeros(1);
                    w.U32(e.DurationSec);
                    w.U32(e.DurationNsec);
                    w.U16(e.Priority);
                    w.U16(e.IdleTimeout);
                    w.U16(e.HardTimeout);
                    w.U16((ushort)e.Flags);
                    w.Zeros(4);
                    w.U64(e.Cookie);
                    w.U64(e.PacketCount);
                    w.U64(e.ByteCount);
                    e.Match.Write(w);
                    OfpInstruction.WriteList(w, e.Instructions);
                    w.PatchU16(s, (ushort)(w.Position - s));
                }

                break;
            case PortStatsReply p:
                foreach (var e in p.Entries)
                {
                    w.U32(e.PortNo);
                    w.Zeros(4);
                    foreach (var c in new[] { e.RxPackets, e.TxPackets, e.RxBytes, e.TxBytes, e.RxDropped, e.TxDropped, e.RxErrors, e.TxErrors, e.RxFrameErr, e.RxOverErr, e.RxCrcErr, e.Collisions })
                    {
                        w.U64(c);
                    }

                    w.U32(e.DurationSec);
                    w.U32(e.DurationNsec);
                }

                break;
            case PortDescReply p:
                foreach (var port in p.Ports)
                {
                    WritePort(w, port);
                }

                break;
            case OtherMultipartReply o:
                w.Bytes(o.Body);
                break;
        }
    }

    private static void WritePort(OfpWriter w, PortDesc p)
    {
        w.U32(p.PortNo);
        w.Zeros(4);
        var mac = p.HwAddr.GetAddressBytes();
        w.Bytes(mac.Length == 6 ? mac : new byte[6]);
        w.Zeros(2);
        var name = new byte[16];
        Encoding.ASCII.GetBytes(p.Name.AsSpan(0, Math.Min(15, p.Name.Length)), name);
        w.Bytes(name);
        w.U32(p.Config);
        w.U32(p.State);
        w.U32(p.Curr);
        w.U32(p.Advertised);
        w.U32(p.Supported);
        w.U32(p.Peer);
        w.U32(p.CurrSpeed);
        w.U32(p.MaxSpeed);
    }

    /// <summary>Canonical bytes of an instruction list: two lists are the same program iff these are equal.</summary>
    public static byte[] EncodeInstructions(IEnumerable<OfpInstruction> instructions)
    {
        var w = new OfpWriter(64);
        OfpInstruction.WriteList(w, instructions);
        return w.ToArray();
    }
}
