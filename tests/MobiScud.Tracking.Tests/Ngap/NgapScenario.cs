using System.Buffers.Binary;
using System.Net;
using MobiScud.Capture;
using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.Ngap;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking.Tests.Ngap;

/// <summary>
/// Builds N2 signalling with the Protocols NGAP encoder and 5G NAS by hand (TS 24.501 octets), wraps each message in
/// IPv4/SCTP (DATA chunk, PPID 60, port 38412) and plays it through a <see cref="TrackerFeed"/>, so the messages take
/// the same path as a capture's: pipeline, NGAP decoder, signal factory, tracker. The tracker's invariants are checked
/// after every step and any Fault note fails the test.
/// </summary>
internal sealed class NgapScenario
{
    public static readonly PlmnIdentity Plmn = PlmnIdentity.FromMccMnc("001", "01");
    public static readonly IPAddress Amf = IPAddress.Parse("10.0.0.100");
    public static readonly IPAddress Upf = IPAddress.Parse("10.10.0.1");
    public const string Imsi = "001010000000001";
    public const uint Tmsi = 0xC0000001;

    private readonly List<string> _faults = [];
    private long _frame;
    private long _nanos = 1_000_000_000;

    public NgapScenario()
    {
        Feed = new TrackerFeed((e, _) => Events.Add(e), (n, _) => Notes.Add(n));
        Feed.AfterStep = step =>
        {
            UeTracker.CheckInvariants(step.State);
            _faults.AddRange(step.Notes.Where(n => n.Kind == TrackerNoteKind.Fault).Select(n => n.Text));
        };
    }

    public TrackerFeed Feed { get; }

    public List<UeEvent> Events { get; } = [];

    public List<string> Notes { get; } = [];

    public IReadOnlyList<string> Faults => _faults;

    public sealed record Gnb(string Name, IPAddress Address, GlobalRanNodeId Id, NrCgi Cell)
    {
        public EnbId Node => new(Id.Id, Rat.Nr);
    }

    public static Gnb MakeGnb(int n, uint id, byte bits) =>
        new($"gnb{n}", IPAddress.Parse($"10.0.0.{n}"), new GlobalRanNodeId(Plmn, RanNodeKind.Gnb, id, bits), new NrCgi(Plmn, ((ulong)id << (36 - bits)) | 1));

    public static GtpTunnel Tunnel(string ip, uint teid) => new(TransportLayerAddress.FromIp(IPAddress.Parse(ip)), teid);

    public static GtpEndpoint Endpoint(string ip, uint teid) => new(IPAddress.Parse(ip), teid);

    public static PduSessionItem Session(byte id, GtpTunnel? ul = null, GtpTunnel? dl = null, NgapCause? cause = null) => new()
    {
        PduSessionId = id,
        UlTunnel = ul,
        DlTunnel = dl,
        QosFlows = 0b10,
        Cause = cause,
        Sst = 1,
        NasPduLength = -1,
    };

    public static NgapProtocolIe Ie(ushort id, byte[] value) => new(id, Criticality.Reject, value);

    public static NgapProtocolIe AmfId(ulong id) => Ie(NgapIeId.AmfUeNgapId, NgapIeEncoder.AmfUeNgapId(id));

    public static NgapProtocolIe RanId(uint id) => Ie(NgapIeId.RanUeNgapId, NgapIeEncoder.RanUeNgapId(id));

    public static NgapProtocolIe Nas(byte[] nas) => Ie(NgapIeId.NasPdu, NgapIeEncoder.NasPdu(nas));

    public static NgapProtocolIe Location(Gnb g) => Ie(NgapIeId.UserLocationInformation, NgapIeEncoder.UserLocationNr(g.Cell, new NgTai(Plmn, 1)));

    public static NgapProtocolIe Cause(NgapCauseGroup group, int value) => Ie(NgapIeId.Cause, NgapIeEncoder.Cause(new NgapCause(group, value)));

    public static NgapProtocolIe List(ushort listIeId, PduSessionItem[] items, byte[]?[]? nas = null) =>
        Ie(listIeId, NgapIeEncoder.PduSessionList(listIeId, items, nas));

    public static NgapMessage Msg(NgapPduType type, NgapProcedureCode code, params NgapProtocolIe[] ies) => new(type, code, Criticality.Reject, ies);

    public static NgapMessage Initiating(NgapProcedureCode code, params NgapProtocolIe[] ies) => Msg(NgapPduType.InitiatingMessage, code, ies);

    public static NgapMessage Successful(NgapProcedureCode code, params NgapProtocolIe[] ies) => Msg(NgapPduType.SuccessfulOutcome, code, ies);

    /// <summary>A gNB's message to the AMF.</summary>
    public void Up(Gnb g, NgapMessage m) => Sctp(g.Address, Amf, m.Encode());

    /// <summary>The AMF's message to a gNB.</summary>
    public void Down(Gnb g, NgapMessage m) => Sctp(Amf, g.Address, m.Encode());

    public void NgSetup(Gnb g) => Up(g, Initiating(NgapProcedureCode.NgSetup, Ie(NgapIeId.GlobalRanNodeId, NgapIeEncoder.GlobalRanNodeId(g.Id))));

    /// <summary>An uplink G-PDU from the gNB to the UPF tunnel end, with the PDU Session Container (TS 38.415, UL, QFI 1).</summary>
    public void UplinkPacket(Gnb g, GtpEndpoint upf, IPAddress ueAddress)
    {
        var inner = PacketBuilder.Ipv4(ueAddress, IPAddress.Parse("8.8.8.8"), PacketBuilder.IcmpProtocol, PacketBuilder.IcmpEcho(PacketBuilder.IcmpEchoRequest, 1, 1, [1, 2, 3, 4]));
        var gtp = new byte[12 + 4 + inner.Length];
        gtp[0] = 0x34; // version 1, PT, E
        gtp[1] = 0xFF; // G-PDU
        BinaryPrimitives.WriteUInt16BigEndian(gtp.AsSpan(2), (ushort)(gtp.Length - 8));
        BinaryPrimitives.WriteUInt32BigEndian(gtp.AsSpan(4), upf.Teid);
        gtp[11] = 0x85; // next: PDU Session Container
        gtp[12] = 1; // length in 4-octet units
        gtp[13] = 0x10; // PDU type 1 (UL)
        gtp[14] = 0x01; // QFI 1
        gtp[15] = 0x00; // no further extension
        inner.CopyTo(gtp.AsSpan(16));
        var udp = new byte[8 + gtp.Length];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 2152);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), 2152);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        gtp.CopyTo(udp.AsSpan(8));
        Frame(PacketBuilder.Ipv4(g.Address, upf.Address, PacketBuilder.UdpProtocol, udp));
    }

    /// <summary>An S1AP message (PPID 18, port 36412) on the same tap: the feed follows S1 and N2 together.</summary>
    public void S1(IPAddress from, IPAddress to, byte[] s1ap) => Sctp(from, to, s1ap, 36412, 18);

    private void Sctp(IPAddress from, IPAddress to, byte[] data, ushort port = 38412, uint ppid = 60)
    {
        var chunk = new byte[(16 + data.Length + 3) & ~3];
        chunk[1] = 0x03; // B|E: unfragmented
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)(16 + data.Length));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4), (uint)_frame);
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(12), ppid);
        data.CopyTo(chunk.AsSpan(16));
        var sctp = new byte[12 + chunk.Length];
        BinaryPrimitives.WriteUInt16BigEndian(sctp, port);
        BinaryPrimitives.WriteUInt16BigEndian(sctp.AsSpan(2), port);
        BinaryPrimitives.WriteUInt32BigEndian(sctp.AsSpan(4), 0x5C7A9);
        chunk.CopyTo(sctp.AsSpan(12));
        Frame(PacketBuilder.Ipv4(from, to, 132, sctp));
    }

    private void Frame(byte[] packet)
    {
        _frame++;
        _nanos += 1_000_000;
        Feed.Process(new CaptureFrame(_frame, LinkType.Raw, _nanos, packet, packet.Length, 0));
    }

    // 5G NAS (TS 24.501), as a UE and an AMF send them. MAC and sequence numbers are not checked by a tap.
    private static byte[] Protected(byte header, params byte[] plain) => [0x7E, header, 0, 0, 0, 1, 0, .. plain];

    /// <summary>Registration Request, initial, SUCI with the null scheme for IMSI 001010000000001 (plain).</summary>
    public static byte[] RegistrationRequest() =>
        [0x7E, 0x00, 0x41, 0x79, 0x00, 0x0D, 0x01, 0x00, 0xF1, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10];

    /// <summary>Security Mode Command (integrity protected with the new context) selecting 5G-EA<paramref name="cipher"/>/5G-IA2.</summary>
    public static byte[] SecurityModeCommand(byte cipher) => Protected(3, 0x7E, 0x00, 0x5D, (byte)((cipher << 4) | 2), 0x07, 0x02, 0x80, 0x20);

    private static readonly byte[] _guti = [0x00, 0x0B, 0xF2, 0x00, 0xF1, 0x10, 0x01, 0x00, 0x41, 0xC0, 0x00, 0x00, 0x01];

    /// <summary>Registration Accept with the 5G-GUTI (TMSI 0xC0000001), integrity protected and ciphered.</summary>
    public static byte[] RegistrationAccept() => Protected(2, [0x7E, 0x00, 0x42, 0x01, 0x01, 0x77, .. _guti]);

    /// <summary>DL NAS Transport carrying PDU Session Establishment Accept (session 1, IPv4 <paramref name="ue"/>), protected and ciphered.</summary>
    public static byte[] PduSessionEstablishmentAccept(IPAddress ue)
    {
        byte[] sm = [0x2E, 0x01, 0x01, 0xC2, 0x11, 0x00, 0x00, 0x06, 0x01, 0x00, 0x01, 0x01, 0x00, 0x01, 0x29, 0x05, 0x01, .. ue.GetAddressBytes()];
        return Protected(2, [0x7E, 0x00, 0x68, 0x01, (byte)(sm.Length >> 8), (byte)sm.Length, .. sm]);
    }

    /// <summary>Service Request with the 5G-S-TMSI (integrity protected only, as initial NAS messages are).</summary>
    public static byte[] ServiceRequest() => Protected(1, 0x7E, 0x00, 0x4C, 0x01, 0x00, 0x07, 0xF4, 0x00, 0x41, 0xC0, 0x00, 0x00, 0x01);

    /// <summary>Deregistration Request (UE originating, normal) with the 5G-GUTI, integrity protected.</summary>
    public static byte[] DeregistrationRequest() => Protected(1, [0x7E, 0x00, 0x45, 0x01, .. _guti]);
}
