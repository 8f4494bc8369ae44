namespace MobiScud.Control.Model;

/// <summary>
/// The eNB that earlier events about this UE called <paramref name="Was"/> is <paramref name="Now"/>: the tracker
/// learnt the eNB's real identity after it had to name it (a capture without S1 Setup, where an eNB is first known
/// by its cells and a later Target-ID or Global-eNB-ID confirms or replaces that reading). The UE did not move; the
/// MC's facts (serving eNB, a pending handover's ends) follow the new name, and placement and steering are judged
/// again against the site the new name maps to.
/// </summary>
public sealed record EnbIdentified(TimeSpan At, UeId Ue, EnbId Was, EnbId Now, string Reason) : UeEvent(At, Ue);
