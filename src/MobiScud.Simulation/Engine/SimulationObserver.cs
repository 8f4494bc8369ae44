using MobiScud.Control.Model;

namespace MobiScud.Simulation.Engine;

/// <summary>
/// Watches a run as it goes (the live dashboard of `mobiscud run --live`). Called on the simulator's thread, except
/// <see cref="Event"/> and <see cref="Command"/>, which come from the lane's thread while lanes run in parallel: an observer must be thread-safe.
/// </summary>
public interface ISimulationObserver
{
    /// <summary>Before the RAN's next event, at virtual time <paramref name="at"/>: a live run waits here for the clock.</summary>
    void Pace(TimeSpan at);

    /// <summary>A RAN event the simulator gives every lane (attach, handover, idle ...).</summary>
    void Signal(UeEvent e);

    /// <summary>An event lane <paramref name="lane"/>'s MC receives (the RAN's, and its hypervisor's outcomes), before it decides.</summary>
    void Event(int lane, UeEvent e);

    /// <summary>A command lane <paramref name="lane"/>'s MC gave (the observer picks the lane it shows).</summary>
    void Command(int lane, TimeSpan at, ControlCommand command);

    /// <summary>After each sample tick, with every lane caught up to now: read <see cref="Simulator.Live"/>.</summary>
    void Sampled(Simulator simulator);
}

/// <summary>A UE of the simulated RAN now: attached, connected, serving eNB index and position (metres).</summary>
public readonly record struct LiveUe(bool Attached, bool Connected, int Enb, double X, double Y);

/// <summary>A migration on the wire in a lane: bytes from the pre-copy model as of now.</summary>
public readonly record struct LiveMigration(int Ue, MigrationId Id, int From, int To, double BytesSent, double BytesRemaining, double Rate);

/// <summary>The run as it is now, for an observer (read only between events, on the simulator's thread).</summary>
public sealed class LiveView
{
    private readonly Simulator _sim;

    internal LiveView(Simulator sim) => _sim = sim;

    public LiveUe Ue(int ue) => _sim.LiveUe(ue);

    /// <summary>Per UE the site index where lane <paramref name="lane"/>'s PVM runs (edge sites, then the core), -1 for none.</summary>
    public void PvmSites(int lane, int[] site) => _sim.Lanes[lane].PvmSites(site);

    public IReadOnlyList<LiveMigration> Migrations(int lane) => _sim.Lanes[lane].LiveMigrations();

    public IReadOnlyList<Results.LaneStats> Lanes => [.. _sim.Lanes.Select(l => l.Stats)];
}
