using System.Collections.Immutable;
using MobiScud.Control.Model;

namespace MobiScud.Tracking;

/// <summary>How the tracker knows an SCTP association's eNB, weakest first.</summary>
public enum EnbIdentitySource
{
    /// <summary>Nothing yet but the association: a stable id derived from the eNB's endpoint (top bit set).</summary>
    Endpoint,

    /// <summary>The E-UTRAN CGIs seen on it: a candidate, since a cell identity alone does not say macro or home.</summary>
    Cells,

    /// <summary>The Target-ID of the handover whose HandoverRequest the MME sent on this association.</summary>
    TargetId,

    /// <summary>S1 Setup's Global-eNB-ID.</summary>
    S1Setup,
}

/// <summary>
/// One SCTP association's eNB: its id, how it is known, and the cells seen on it. A cell identity is 28 bits: a macro
/// eNB's id is its top 20 bits, a Home eNB's id is all 28 (TS 36.413 9.2.1.37/9.2.1.38), so cells give only a
/// candidate until a Global-eNB-ID (S1 Setup) or a Target-ID confirms or replaces it.
/// </summary>
public sealed record EnbIdentity(EnbId Id, EnbIdentitySource Source)
{
    /// <summary>At most this many cells are kept per association (an eNB has at most 256).</summary>
    public const int MaxCells = 256;

    /// <summary>The id is a Home eNB id (confirmed, or the cells' home reading chosen).</summary>
    public bool Home { get; init; }

    /// <summary>The 28-bit cell identities seen on the association.</summary>
    public ImmutableSortedSet<uint> Cells { get; init; } = ImmutableSortedSet<uint>.Empty;

    public override string ToString() => Source switch
    {
        EnbIdentitySource.S1Setup => $"{Id} ({(Home ? "home" : "macro")}, S1 Setup)",
        EnbIdentitySource.TargetId => $"{Id} ({(Home ? "home" : "macro")}, Target-ID)",
        EnbIdentitySource.Cells => $"{Id} ({(Home ? "home" : "macro")} reading of cell{(Cells.Count == 1 ? "" : "s")} {string.Join(", ", Cells.Select(c => $"0x{c:X7}"))})",
        _ => $"{Id} (derived from the association)",
    };
}
