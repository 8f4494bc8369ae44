namespace MobiScud.Simulation.Results;

/// <summary>Why a probe found a UE's PVM away from the UE's serving site (results.json `pvmAway.byCause`).</summary>
public enum AwayCause
{
    /// <summary>A migration of the PVM is on the wire (pre-copy) or queued by the scheduler.</summary>
    MoveInFlight,

    /// <summary>The UE was served at the PVM's site since the PVM got there, moved on, and no move is in flight.</summary>
    LeftBehind,

    /// <summary>A migration put the PVM where the UE has not been seen since: sent ahead, or the UE moved on during the move.</summary>
    MovedNotThere,

    /// <summary>Resumed after an idle period at the site it was suspended at, and the UE has not been seen there since.</summary>
    ResumedAway,

    /// <summary>Created at a site where the UE has not been seen since (a placement fallback, or the UE moved during the boot).</summary>
    CreatedAway,
}

/// <summary>Where a migration was headed, against the MC's view of the UE when it started it.</summary>
public enum MoveTarget
{
    /// <summary>The site of the UE's serving cell.</summary>
    ServingSite,

    /// <summary>The site of the target cell of a handover being prepared (pre-copy from HandoverPrepared).</summary>
    HandoverTargetSite,

    /// <summary>Any other site: ahead of the user on its path, or partway toward it.</summary>
    Elsewhere,
}
