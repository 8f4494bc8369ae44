using System.Buffers.Binary;
using System.Net;
using MobiScud.Capture;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;
using MobiScud.Testbed.Emulation;

namespace MobiScud.Protocols.Tests.Captures;

/// <summary>
/// Builds `data/captures/mobiscud_home_enb_handovers.pcap`: two Home eNBs (28-bit HeNB ids) seen from a tap that starts
/// after their S1 Setup, one UE attaching on HeNB 1, an S1 handover to HeNB 2, an X2 handover back (PathSwitchRequest),
/// release to idle, and a Service Request on HeNB 2. Real networks look like this and the MC must see two eNBs, not
/// four: the cells' top 20 bits read as a macro eNB id name neither HeNB. S1AP from our encoder (the testbed's message
/// builders), SCTP with per-direction TSNs and CRC32c, IPv4; checked in tshark by <see cref="HomeEnbCaptureTests"/>.
/// </summary>
internal static class HomeEnbCapture
{
    public const string FileName = "mobiscud_home_enb_handovers.pcap";

    /// <summary>HeNB ids whose cell 1 is the HeNB id itself (a HeNB's cell identity is its 28-bit id).</summary>
    public const uint HeNb1 = 0x00A2C01;
    public const uint HeNb2 = 0x00A2D01;

    public const string Imsi = "001010000000042";
    public const uint MmeUeId = 7001;

    public static readonly IPAddress Mme = IPAddress.Parse("10.0.0.1");
    public static readonly IPAddress Sgw = IPAddress.Parse("10.0.0.2");
    public static readonly IPAddress HeNb1Address = IPAddress.Parse("10.1.0.1");
    public static readonly IPAddress HeNb2Address = IPAddress.Parse("10.1.0.2");
    public static readonly IPAddress UeAddress = IPAddress.Parse("10.45.0.42");

    /// <summary>2026-01-05 09:00:00 UTC: a fixed start, so the file is the same on every run.</summary>
    private const long StartNanos = 1_767_603_600L * 1_000_000_000L;

    public static byte[] Build()
    {
        var a = new Association(HeNb1Address, 0x1111_0001, 0x2222_0001, 1_000);
        var b = new Association(HeNb2Address, 0x1111_0002, 0x2222_0002, 5_000);
        var plmn = new[] { S1apMessages.Plmn.Octet0, S1apMessages.Plmn.Octet1, S1apMessages.Plmn.Octet2 };
        var m1 = HeNb1 >> 8;
        var m2 = HeNb2 >> 8;
        const uint mTmsi = 0xC000_0042;
        var steps = new List<(Association Assoc, bool Uplink, byte[] Pdu)>
        {
            // Attach on HeNB 1.
            (a, true, S1apMessages.InitialUeMessage(1, m1, NasMessages.AttachRequest(Imsi), null, moData: false)),
            (a, false, S1apMessages.InitialContextSetupRequest(MmeUeId, 1, 5, Sgw, 0x1001, NasMessages.AttachAccept(UeAddress, 1, mTmsi, plmn))),
            (a, true, S1apMessages.InitialContextSetupResponse(MmeUeId, 1, 5, HeNb1Address, 0x2001)),

            // S1 handover HeNB 1 -> HeNB 2: the Target-ID names the Home eNB id.
            (a, true, WithHomeTarget(S1apMessages.HandoverRequired(MmeUeId, 1, m1, m2, 5), HeNb2)),
            (b, false, S1apMessages.HandoverRequest(MmeUeId, m1, m2, 5, Sgw, 0x1001)),
            (b, true, S1apMessages.HandoverRequestAcknowledge(MmeUeId, 2, 5, HeNb2Address, 0x3001)),
            (a, false, S1apMessages.HandoverCommand(MmeUeId, 1)),
            (b, true, S1apMessages.HandoverNotify(MmeUeId, 2, m2)),
            (a, false, S1apMessages.UeContextReleaseCommand(MmeUeId, 1, new S1apCause(CauseGroup.RadioNetwork, 2))),
            (a, true, S1apMessages.UeContextReleaseComplete(MmeUeId, 1)),

            // X2 handover back to HeNB 1.
            (a, true, S1apMessages.PathSwitchRequest(3, MmeUeId, m1, 5, HeNb1Address, 0x2002)),
            (a, false, S1apMessages.PathSwitchRequestAcknowledge(MmeUeId, 3)),

            // Idle, then a Service Request on HeNB 2 with a new downlink tunnel.
            (a, true, S1apMessages.UeContextReleaseRequest(MmeUeId, 3)),
            (a, false, S1apMessages.UeContextReleaseCommand(MmeUeId, 3, new S1apCause(CauseGroup.RadioNetwork, 20))),
            (a, true, S1apMessages.UeContextReleaseComplete(MmeUeId, 3)),
            (b, true, S1apMessages.InitialUeMessage(4, m2, NasMessages.ServiceRequest(1), new STmsi(1, mTmsi), moData: true)),
            (b, false, S1apMessages.InitialContextSetupRequest(MmeUeId, 4, 5, Sgw, 0x1001, null)),
            (b, true, S1apMessages.InitialContextSetupResponse(MmeUeId, 4, 5, HeNb2Address, 0x3002)),
        };

        using var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, LinkType.Raw))
        {
            var time = StartNanos;
            ushort ipId = 1;
            foreach (var (assoc, uplink, pdu) in steps)
            {
                writer.Write(time, assoc.Packet(uplink, pdu, ipId++));
                time += 7_000_000; // 7 ms between messages
            }
        }

        return stream.ToArray();
    }

    private static byte[] WithHomeTarget(byte[] handoverRequired, uint homeEnbId)
    {
        var message = S1apMessage.Decode(handoverRequired);
        var target = S1apIeCodec.EncodeTargetEnbId(new TargetEnbId(new GlobalEnbId(S1apMessages.Plmn, EnbIdKind.Home, homeEnbId), S1apMessages.TrackingArea));
        var ies = message.ProtocolIes.Select(ie => ie.Id == S1apIeId.TargetId ? ie with { Value = target } : ie).ToList();
        return new S1apMessage(message.PduType, message.ProcedureCode, message.Criticality, ies).Encode();
    }

    /// <summary>One SCTP association between a HeNB and the MME: per-direction verification tags, TSNs and stream sequence.</summary>
    private sealed class Association(IPAddress enb, uint uplinkTag, uint downlinkTag, uint firstTsn)
    {
        private uint _uplinkTsn = firstTsn;
        private uint _downlinkTsn = firstTsn + 100_000;
        private ushort _uplinkSsn;
        private ushort _downlinkSsn;

        public byte[] Packet(bool uplink, byte[] pdu, ushort ipId)
        {
            var tsn = uplink ? _uplinkTsn++ : _downlinkTsn++;
            var ssn = uplink ? _uplinkSsn++ : _downlinkSsn++;
            // UE-associated signalling on stream 1; B|E: one whole message per DATA chunk.
            var sctp = SctpPacketWriter.Packet(SctpWellKnown.S1apPort, SctpWellKnown.S1apPort, uplink ? uplinkTag : downlinkTag,
                SctpPacketWriter.Data(tsn, 1, ssn, SctpWellKnown.S1apPpid, pdu));
            return Ipv4(uplink ? enb : Mme, uplink ? Mme : enb, sctp, ipId);
        }
    }

    private static byte[] Ipv4(IPAddress source, IPAddress destination, byte[] payload, ushort id)
    {
        var packet = new byte[20 + payload.Length];
        var h = packet.AsSpan(0, 20);
        h[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], 0x4000); // DF
        h[8] = 64;
        h[9] = 132; // SCTP
        source.GetAddressBytes().CopyTo(h[12..]);
        destination.GetAddressBytes().CopyTo(h[16..]);
        uint sum = 0;
        for (var i = 0; i < 20; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(h[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        BinaryPrimitives.WriteUInt16BigEndian(h[10..], (ushort)~sum);
        payload.CopyTo(packet.AsSpan(20));
        return packet;
    }
}
