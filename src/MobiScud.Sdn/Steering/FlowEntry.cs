using MobiScud.Protocols.OpenFlow;

namespace MobiScud.Sdn.Steering;

/// <summary>A flow's identity in OpenFlow: two flows with the same table, priority and match are the same flow.</summary>
public readonly record struct FlowKey(byte TableId, ushort Priority, OfpMatch Match)
{
    public override string ToString() => $"table={TableId},priority={Priority},{Match}";
}

/// <summary>A flow the controller wants on a switch (or found there), as data.</summary>
public sealed record FlowEntry(byte TableId, ushort Priority, OfpMatch Match, IReadOnlyList<OfpInstruction> Instructions, ulong Cookie)
{
    public FlowKey Key => new(TableId, Priority, Match);

    /// <summary>Same key, cookie and program (instructions compared by their wire bytes).</summary>
    public bool SameAs(FlowEntry other) =>
        Key.Equals(other.Key) && Cookie == other.Cookie &&
        OfpCodec.EncodeInstructions(Instructions).AsSpan().SequenceEqual(OfpCodec.EncodeInstructions(other.Instructions));

    public FlowMod ToFlowMod(uint xid, FlowModCommand command = FlowModCommand.Add) => new(
        xid, Cookie, command is FlowModCommand.Add ? 0 : ulong.MaxValue, TableId, command, 0, 0, Priority, FlowMod.NoBuffer,
        OfpPort.Any, 0xffffffff, FlowModFlags.None, Match, command is FlowModCommand.DeleteStrict or FlowModCommand.Delete ? [] : Instructions);

    public static FlowEntry FromStats(FlowStats s) => new(s.TableId, s.Priority, s.Match, s.Instructions, s.Cookie);

    public override string ToString() =>
        $"cookie=0x{Cookie:x},table={TableId},priority={Priority},{Match} actions={string.Join(';', Instructions)}";
}
