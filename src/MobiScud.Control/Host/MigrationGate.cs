using MobiScud.Control.Model;

namespace MobiScud.Control.Host;

/// <summary>
/// Scheduling between the core's migration commands and the PVM backend: a host with shared links (serve) runs the
/// core's pure <see cref="Policies.MigrationScheduler"/> behind it (per-link budgets, a queue by benefit with
/// deadlines). A migration it holds is started by the gate itself when budget frees; one it refuses or drops is
/// reported on the gate's outcome channel (MigrationFailed), never inside the caller's turn.
/// </summary>
public interface IMigrationGate
{
    /// <summary>True: start <paramref name="start"/> now. False: the gate holds it (and starts it later) or refused it (and reports so).</summary>
    Task<bool> RequestAsync(StartMigration start, CancellationToken ct = default);

    /// <summary>True when the migration was still held by the gate: it is dropped and reported cancelled. False: it is on the backend, cancel it there.</summary>
    Task<bool> WithdrawAsync(CancelMigration cancel, CancellationToken ct = default);

    /// <summary>The core no longer tracks the migration (completed, failed, cancelled, rolled back): its budget is free.</summary>
    Task EndedAsync(MigrationId migration, bool landed, CancellationToken ct = default);
}
