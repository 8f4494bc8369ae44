using MobiScud.Protocols.Link;

namespace MobiScud.Protocols.Sctp;

/// <summary>Which way a packet travels within an association: from its lower endpoint to the higher one, or back.</summary>
public enum SctpDirection : byte
{
    LowToHigh,
    HighToLow,
}

/// <summary>
/// An SCTP association named by both endpoints (address AND port: several eNBs may share one address), ordered so that
/// both directions give the same key.
/// </summary>
public readonly record struct SctpAssociationKey(NetEndpoint Low, NetEndpoint High)
{
    public static SctpAssociationKey From(NetEndpoint source, NetEndpoint destination, out SctpDirection direction)
    {
        if (source.CompareTo(destination) <= 0)
        {
            direction = SctpDirection.LowToHigh;
            return new SctpAssociationKey(source, destination);
        }

        direction = SctpDirection.HighToLow;
        return new SctpAssociationKey(destination, source);
    }

    public NetEndpoint SourceOf(SctpDirection direction) => direction == SctpDirection.LowToHigh ? Low : High;

    public NetEndpoint DestinationOf(SctpDirection direction) => direction == SctpDirection.LowToHigh ? High : Low;

    public override string ToString() => $"{Low}<->{High}";
}
