namespace MobiScud.Control.Model;

/// <summary>
/// What a handover is called on the UE's radio access: the MC keeps one <see cref="HandoverKind"/> for both (X2 and Xn
/// are both a path switch after the RAN nodes moved the UE; S1 and N2 both go through the core), text names it as the
/// signalling did.
/// </summary>
public static class HandoverNames
{
    /// <summary>X2 or S1 between eNBs, Xn or N2 between gNBs.</summary>
    public static string Name(HandoverKind kind, EnbId node) => (kind, node.IsGnb) switch
    {
        (HandoverKind.X2, false) => "X2",
        (HandoverKind.X2, true) => "Xn",
        (HandoverKind.S1, true) => "N2",
        _ => "S1",
    };
}
