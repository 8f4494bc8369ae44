namespace MobiScud.Protocols.OpenFlow;

/// <summary>Reserved port numbers (ofp_port_no).</summary>
public static class OfpPort
{
    public const uint Max = 0xffffff00;
    public const uint InPort = 0xfffffff8;
    public const uint Table = 0xfffffff9;
    public const uint Normal = 0xfffffffa;
    public const uint Flood = 0xfffffffb;
    public const uint All = 0xfffffffc;
    public const uint Controller = 0xfffffffd;
    public const uint Local = 0xfffffffe;
    public const uint Any = 0xffffffff;
}

/// <summary>An OpenFlow 1.3 action (ofp_action_header and its bodies).</summary>
public abstract record OfpAction
{
    internal abstract void Write(OfpWriter w);

    internal static OfpAction Read(ref OfpReader r)
    {
        var body = r.Padded("action", OfpDecodeError.BadAction, out var type, out var at);
        switch (type)
        {
            case 0:
                {
                    var port = body.U32("output port");
                    var maxLen = body.U16("output max_len");
                    return new OutputAction(port, maxLen);
                }

            case 11: return new CopyTtlOutAction();
            case 12: return new CopyTtlInAction();
            case 17: return new PushVlanAction(body.U16("push_vlan ethertype"));
            case 18: return new PopVlanAction();
            case 21: return new SetQueueAction(body.U32("set_queue id"));
            case 22: return new GroupAction(body.U32("group id"));
            case 23: return new SetNwTtlAction(body.U8("nw_ttl"));
            case 24: return new DecNwTtlAction();
            case 25:
                {
                    var field = OxmField.Read(ref body);
                    if (body.Remaining >= 8)
                    {
                        throw new OfpDecodeException(OfpDecodeError.BadAction, at, $"set_field carries {body.Remaining} bytes after its OXM");
                    }

                    return new SetFieldAction(field);
                }

            case 0xFFFF: return new ExperimenterAction(body.U32("experimenter id"), body.Rest());
            default: return new UnknownAction(type, body.Rest());
        }
    }

    public static void WriteList(OfpWriter w, IEnumerable<OfpAction> actions)
    {
        foreach (var a in actions)
        {
            a.Write(w);
        }
    }
}

public sealed record OutputAction(uint Port, ushort MaxLen = 0xffff) : OfpAction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(0);
        w.U32(Port);
        w.U16(MaxLen);
        w.Zeros(6);
        w.EndPadded(s);
    }

    public override string ToString() => Port switch
    {
        OfpPort.Local => "output:LOCAL",
        OfpPort.InPort => "in_port",
        OfpPort.Normal => "NORMAL",
        OfpPort.Controller => "CONTROLLER",
        _ => $"output:{Port}",
    };
}

internal sealed record CopyTtlOutAction : OfpAction
{
    internal override void Write(OfpWriter w) => w.EndPadded(w.BeginPadded(11));
}

internal sealed record CopyTtlInAction : OfpAction
{
    internal override void Write(OfpWriter w) => w.EndPadded(w.BeginPadded(12));
}

internal sealed record PushVlanAction(ushort EtherType = 0x8100) : OfpAction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(17);
        w.U16(EtherType);
        w.EndPadded(s);
    }
}

internal sealed record PopVlanAction : OfpAction
{
    internal override void Write(OfpWriter w) => w.EndPadded(w.BeginPadded(18));
}

internal sealed record SetQueueAction(uint QueueId) : OfpAction
{
    internal override void Write(OfpWriter w) => w.PaddedU32(21, QueueId);
}

internal sealed record GroupAction(uint GroupId) : OfpAction
{
    internal override void Write(OfpWriter w) => w.PaddedU32(22, GroupId);
}

internal sealed record SetNwTtlAction(byte Ttl) : OfpAction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(23);
        w.U8(Ttl);
        w.EndPadded(s);
    }
}

internal sealed record DecNwTtlAction : OfpAction
{
    internal override void Write(OfpWriter w) => w.EndPadded(w.BeginPadded(24));
}

public sealed record SetFieldAction(OxmField Field) : OfpAction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(25);
        Field.Write(w);
        w.EndPadded(s);
    }

    public override string ToString() => $"set_field:{Field}";
}

internal sealed record ExperimenterAction(uint Experimenter, byte[] Data) : OfpAction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(0xFFFF);
        w.U32(Experimenter);
        w.Bytes(Data);
        w.EndPadded(s);
    }
}

/// <summary>An action type we do not model; kept verbatim so it can be re-encoded.</summary>
internal sealed record UnknownAction(ushort Type, byte[] Body) : OfpAction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(Type);
        w.Bytes(Body);
        w.EndPadded(s);
    }
}

/// <summary>An OpenFlow 1.3 instruction.</summary>
public abstract record OfpInstruction
{
    internal abstract void Write(OfpWriter w);

    public static void WriteList(OfpWriter w, IEnumerable<OfpInstruction> instructions)
    {
        foreach (var i in instructions)
        {
            i.Write(w);
        }
    }

    /// <summary>write_actions / apply_actions: 4 bytes of padding, then the actions.</summary>
    private protected static void WriteActions(OfpWriter w, ushort type, IReadOnlyList<OfpAction> actions)
    {
        var s = w.BeginPadded(type);
        w.Zeros(4);
        OfpAction.WriteList(w, actions);
        w.EndPadded(s);
    }

    internal static OfpInstruction Read(ref OfpReader r)
    {
        var body = r.Padded("instruction", OfpDecodeError.BadInstruction, out var type, out var at);
        switch (type)
        {
            case 1: return new GotoTableInstruction(body.U8("goto table id"));
            case 2:
                {
                    body.Skip(4, "write_metadata pad");
                    return new WriteMetadataInstruction(body.U64("metadata"), body.U64("metadata mask"));
                }

            case 3:
            case 4:
                {
                    body.Skip(4, "actions instruction pad");
                    var actions = body.ReadAll(OfpAction.Read);
                    return type == 3 ? new WriteActionsInstruction(actions) : new ApplyActionsInstruction(actions);
                }

            case 5: return new ClearActionsInstruction();
            case 6: return new MeterInstruction(body.U32("meter id"));
            default:
                throw new OfpDecodeException(OfpDecodeError.BadInstruction, at, $"unknown instruction type {type}");
        }
    }

}

public sealed record GotoTableInstruction(byte TableId) : OfpInstruction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(1);
        w.U8(TableId);
        w.Zeros(3);
        w.EndPadded(s);
    }

    public override string ToString() => $"goto_table:{TableId}";
}

internal sealed record WriteMetadataInstruction(ulong Metadata, ulong Mask) : OfpInstruction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(2);
        w.Zeros(4);
        w.U64(Metadata);
        w.U64(Mask);
        w.EndPadded(s);
    }
}

public sealed record ApplyActionsInstruction(IReadOnlyList<OfpAction> Actions) : OfpInstruction
{
    internal override void Write(OfpWriter w) => WriteActions(w, 4, Actions);

    public override string ToString() => Actions.Count == 0 ? "drop" : string.Join(',', Actions);
}

internal sealed record WriteActionsInstruction(IReadOnlyList<OfpAction> Actions) : OfpInstruction
{
    internal override void Write(OfpWriter w) => WriteActions(w, 3, Actions);

    public override string ToString() => $"write_actions({string.Join(',', Actions)})";
}

internal sealed record ClearActionsInstruction : OfpInstruction
{
    internal override void Write(OfpWriter w)
    {
        var s = w.BeginPadded(5);
        w.Zeros(4);
        w.EndPadded(s);
    }
}

internal sealed record MeterInstruction(uint MeterId) : OfpInstruction
{
    internal override void Write(OfpWriter w) => w.PaddedU32(6, MeterId);
}
