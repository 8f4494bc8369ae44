namespace MobiScud.Testbed.Emulation;

/// <summary>
/// The emulated radio and core of one testbed run, LTE (<see cref="EpcEmulator"/>: eNBs, MME) or 5G
/// (<see cref="NgcEmulator"/>: gNBs, AMF): the UE-side procedures the experiment plays, in the RAT's own signalling.
/// </summary>
internal interface IRanEmulator : IAsyncDisposable
{
    IReadOnlyList<EmulatedUe> Ues { get; }

    /// <summary>Every signalling message sent and received, by node ("enbN" is eNB or gNB N, "mme" the MME or AMF).</summary>
    IReadOnlyCollection<SignallingRecord> Signalling { get; }

    /// <summary>Messages a node could not read or place (each also logged as a warning).</summary>
    IReadOnlyCollection<SignallingProblem> Problems { get; }

    /// <summary>Unacknowledged DATA on every association (used to wait for the wire to go quiet).</summary>
    int OutstandingData { get; }

    /// <summary>Raised when a UE's downlink end changes (attach, handover, release): the S-GW's or UPF's user plane follows.</summary>
    event Action<EmulatedUe>? DownlinkChanged;

    /// <summary>LTE attach, or 5G registration and PDU session, at RAN node <paramref name="enb"/>.</summary>
    Task AttachAsync(EmulatedUe ue, int enb);

    /// <summary>X2 handover (LTE) or Xn handover (5G): the target asks the core to switch the path.</summary>
    Task X2HandoverAsync(EmulatedUe ue, int target);

    /// <summary>S1 handover (LTE) or N2 handover (5G) through the core, or cancelled by the source after preparation.</summary>
    Task S1HandoverAsync(EmulatedUe ue, int target, bool cancel = false);

    Task ReleaseToIdleAsync(EmulatedUe ue);

    Task ServiceRequestAsync(EmulatedUe ue, int enb);
}
