using System.Net.NetworkInformation;

namespace MobiScud.Protocols.OpenFlow;

public enum OfpType : byte
{
    Hello = 0,
    Error = 1,
    EchoRequest = 2,
    EchoReply = 3,
    Experimenter = 4,
    FeaturesRequest = 5,
    FeaturesReply = 6,
    GetConfigRequest = 7,
    GetConfigReply = 8,
    SetConfig = 9,
    PacketIn = 10,
    FlowRemoved = 11,
    PortStatus = 12,
    PacketOut = 13,
    FlowMod = 14,
    GroupMod = 15,
    PortMod = 16,
    TableMod = 17,
    MultipartRequest = 18,
    MultipartReply = 19,
    BarrierRequest = 20,
    BarrierReply = 21,
}

public enum FlowModCommand : byte
{
    Add = 0,
    Modify = 1,
    ModifyStrict = 2,
    Delete = 3,
    DeleteStrict = 4,
}

[Flags]
public enum FlowModFlags : ushort
{
    None = 0,
    SendFlowRemoved = 1,
    CheckOverlap = 2,
    ResetCounts = 4,
    NoPacketCounts = 8,
    NoByteCounts = 16,
}

public enum MultipartType : ushort
{
    Desc = 0,
    Flow = 1,
    Aggregate = 2,
    Table = 3,
    PortStats = 4,
    Queue = 5,
    Group = 6,
    GroupDesc = 7,
    GroupFeatures = 8,
    Meter = 9,
    MeterConfig = 10,
    MeterFeatures = 11,
    TableFeatures = 12,
    PortDesc = 13,
    Experimenter = 0xFFFF,
}

/// <summary>An OpenFlow 1.3 message; <see cref="Xid"/> pairs requests with replies and errors.</summary>
public abstract record OfpMessage(uint Xid, OfpType Type);

/// <summary>HELLO; <see cref="VersionBitmap"/> is the OFPHET_VERSIONBITMAP element (bit n = wire version n), if present.</summary>
public sealed record Hello(uint Xid, uint? VersionBitmap) : OfpMessage(Xid, OfpType.Hello)
{
    public bool Supports(byte version) => VersionBitmap is { } b ? version < 32 && (b & (1u << version)) != 0 : false;
}

public sealed record ErrorMessage(uint Xid, ushort ErrorType, ushort Code, byte[] Data) : OfpMessage(Xid, OfpType.Error)
{
    public override string ToString() => $"OFPT_ERROR xid={Xid} type={ErrorType} code={Code} ({OfpErrorNames.Describe(ErrorType, Code)})";
}

public sealed record EchoRequest(uint Xid, byte[] Data) : OfpMessage(Xid, OfpType.EchoRequest);

public sealed record EchoReply(uint Xid, byte[] Data) : OfpMessage(Xid, OfpType.EchoReply);

public sealed record FeaturesRequest(uint Xid) : OfpMessage(Xid, OfpType.FeaturesRequest);

public sealed record FeaturesReply(uint Xid, ulong DatapathId, uint NBuffers, byte NTables, byte AuxiliaryId, uint Capabilities) : OfpMessage(Xid, OfpType.FeaturesReply);

internal sealed record GetConfigRequest(uint Xid) : OfpMessage(Xid, OfpType.GetConfigRequest);

internal sealed record GetConfigReply(uint Xid, ushort Flags, ushort MissSendLen) : OfpMessage(Xid, OfpType.GetConfigReply);

public sealed record SetConfig(uint Xid, ushort Flags, ushort MissSendLen) : OfpMessage(Xid, OfpType.SetConfig);

public sealed record PacketIn(uint Xid, uint BufferId, ushort TotalLen, byte Reason, byte TableId, ulong Cookie, OfpMatch Match, byte[] Data)
    : OfpMessage(Xid, OfpType.PacketIn);

internal sealed record PacketOut(uint Xid, uint BufferId, uint InPort, IReadOnlyList<OfpAction> Actions, byte[] Data) : OfpMessage(Xid, OfpType.PacketOut);

public sealed record FlowMod(
    uint Xid,
    ulong Cookie,
    ulong CookieMask,
    byte TableId,
    FlowModCommand Command,
    ushort IdleTimeout,
    ushort HardTimeout,
    ushort Priority,
    uint BufferId,
    uint OutPort,
    uint OutGroup,
    FlowModFlags Flags,
    OfpMatch Match,
    IReadOnlyList<OfpInstruction> Instructions) : OfpMessage(Xid, OfpType.FlowMod)
{
    public const uint NoBuffer = 0xffffffff;
}

public sealed record FlowRemoved(
    uint Xid,
    ulong Cookie,
    ushort Priority,
    byte Reason,
    byte TableId,
    uint DurationSec,
    uint DurationNsec,
    ushort IdleTimeout,
    ushort HardTimeout,
    ulong PacketCount,
    ulong ByteCount,
    OfpMatch Match) : OfpMessage(Xid, OfpType.FlowRemoved);

/// <summary>ofp_port (64 bytes).</summary>
public sealed record PortDesc(
    uint PortNo,
    PhysicalAddress HwAddr,
    string Name,
    uint Config,
    uint State,
    uint Curr,
    uint Advertised,
    uint Supported,
    uint Peer,
    uint CurrSpeed,
    uint MaxSpeed);

public sealed record PortStatus(uint Xid, byte Reason, PortDesc Desc) : OfpMessage(Xid, OfpType.PortStatus);

public sealed record BarrierRequest(uint Xid) : OfpMessage(Xid, OfpType.BarrierRequest);

internal sealed record BarrierReply(uint Xid) : OfpMessage(Xid, OfpType.BarrierReply);

public abstract record MultipartRequest(uint Xid, ushort Flags, MultipartType Kind) : OfpMessage(Xid, OfpType.MultipartRequest);

public abstract record MultipartReply(uint Xid, ushort Flags, MultipartType Kind) : OfpMessage(Xid, OfpType.MultipartReply)
{
    public const ushort More = 1;

    public bool HasMore => (Flags & More) != 0;
}

public sealed record FlowStatsRequest(uint Xid, byte TableId, uint OutPort, uint OutGroup, ulong Cookie, ulong CookieMask, OfpMatch Match, ushort Flags = 0)
    : MultipartRequest(Xid, Flags, MultipartType.Flow)
{
    public const byte AllTables = 0xff;
}

public sealed record FlowStats(
    byte TableId,
    uint DurationSec,
    uint DurationNsec,
    ushort Priority,
    ushort IdleTimeout,
    ushort HardTimeout,
    FlowModFlags Flags,
    ulong Cookie,
    ulong PacketCount,
    ulong ByteCount,
    OfpMatch Match,
    IReadOnlyList<OfpInstruction> Instructions);

public sealed record FlowStatsReply(uint Xid, ushort Flags, IReadOnlyList<FlowStats> Entries) : MultipartReply(Xid, Flags, MultipartType.Flow);

internal sealed record PortStatsRequest(uint Xid, uint PortNo, ushort Flags = 0) : MultipartRequest(Xid, Flags, MultipartType.PortStats);

internal sealed record PortStats(
    uint PortNo,
    ulong RxPackets,
    ulong TxPackets,
    ulong RxBytes,
    ulong TxBytes,
    ulong RxDropped,
    ulong TxDropped,
    ulong RxErrors,
    ulong TxErrors,
    ulong RxFrameErr,
    ulong RxOverErr,
    ulong RxCrcErr,
    ulong Collisions,
    uint DurationSec,
    uint DurationNsec);

internal sealed record PortStatsReply(uint Xid, ushort Flags, IReadOnlyList<PortStats> Entries) : MultipartReply(Xid, Flags, MultipartType.PortStats);

internal sealed record PortDescRequest(uint Xid, ushort Flags = 0) : MultipartRequest(Xid, Flags, MultipartType.PortDesc);

internal sealed record PortDescReply(uint Xid, ushort Flags, IReadOnlyList<PortDesc> Ports) : MultipartReply(Xid, Flags, MultipartType.PortDesc);

/// <summary>A multipart request of a kind we do not model, body kept verbatim.</summary>
internal sealed record OtherMultipartRequest(uint Xid, ushort Flags, MultipartType Other, byte[] Body) : MultipartRequest(Xid, Flags, Other);

internal sealed record OtherMultipartReply(uint Xid, ushort Flags, MultipartType Other, byte[] Body) : MultipartReply(Xid, Flags, Other);

/// <summary>A message type we do not model (group-mod, role ...), kept verbatim.</summary>
internal sealed record UnknownMessage(uint Xid, byte RawType, byte[] Body) : OfpMessage(Xid, (OfpType)RawType);

/// <summary>Names of error types/codes so a rejected flow-mod reads as what went wrong.</summary>
public static class OfpErrorNames
{
    public static string Describe(ushort type, ushort code) => type switch
    {
        0 => $"HELLO_FAILED/{code}",
        1 => "BAD_REQUEST/" + code switch { 0 => "BAD_VERSION", 1 => "BAD_TYPE", 2 => "BAD_MULTIPART", 6 => "BAD_LEN", _ => code.ToString() },
        2 => "BAD_ACTION/" + code switch { 0 => "BAD_TYPE", 1 => "BAD_LEN", 4 => "BAD_OUT_PORT", 5 => "BAD_ARGUMENT", 13 => "BAD_SET_TYPE", 14 => "BAD_SET_LEN", 15 => "BAD_SET_ARGUMENT", _ => code.ToString() },
        3 => "BAD_INSTRUCTION/" + code switch { 0 => "UNKNOWN_INST", 2 => "BAD_TABLE_ID", _ => code.ToString() },
        4 => "BAD_MATCH/" + code switch { 0 => "BAD_TYPE", 1 => "BAD_LEN", 3 => "BAD_DL_ADDR_MASK", 6 => "BAD_FIELD", 7 => "BAD_VALUE", 8 => "BAD_MASK", 9 => "BAD_PREREQ", 10 => "DUP_FIELD", _ => code.ToString() },
        5 => "FLOW_MOD_FAILED/" + code switch { 1 => "TABLE_FULL", 2 => "BAD_TABLE_ID", 3 => "OVERLAP", 4 => "EPERM", 5 => "BAD_TIMEOUT", 6 => "BAD_COMMAND", 7 => "BAD_FLAGS", _ => code.ToString() },
        _ => $"type {type} code {code}",
    };
}
