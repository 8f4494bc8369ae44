using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MobiScud.Hosting.Config;

/// <summary>The storage backend cannot be used (unreachable, refused, schema broken); the message names it, never a password.</summary>
public sealed class StorageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Creates the Orleans tables and queries (PostgresSchema.sql, embedded) in the configured database when they are
/// missing, in one transaction, before the silo's clustering and grain storage start. Idempotent: an installed
/// schema is checked and left alone; silos starting together are serialized by an advisory lock.
/// </summary>
public sealed class PostgresSchemaInstaller(string connectionString, ILogger<PostgresSchemaInstaller> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Every query key Orleans' ADO.NET clustering and grain storage (10.4) look up.</summary>
    public static readonly string[] QueryKeys =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey", "MembershipReadRowKey",
        "MembershipReadAllKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey", "CleanupDefunctSiloEntriesKey",
        "CleanupDefunctSiloEntryKey", "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey",
    ];

    // Any fixed number: one lock id shared by every MobiScud installer on the database.
    private const long LockId = 0x4d6f6269_5363_7564;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PostgresSchemaInstaller), ServiceLifecycleStage.First, async ct =>
        {
            var installed = await InstallAsync(connectionString, ct);
            logger.LogInformation("PostgreSQL {Database}: {What}", PostgresStorage.Describe(connectionString),
                installed ? "Orleans schema created" : "Orleans schema present");
        });

    /// <summary>Installs the schema if it is missing. True when it was created now, false when it was already there.</summary>
    public static async Task<bool> InstallAsync(string connectionString, CancellationToken ct = default)
    {
        var where = $"PostgreSQL at {PostgresStorage.Describe(connectionString)} ({PostgresStorage.ConfigKey})";
        await using var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or ArgumentException)
        {
            throw new StorageUnavailableException($"{where} is unreachable: {e.Message}", e);
        }

        try
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({LockId})", connection, tx))
            {
                await lockCommand.ExecuteNonQueryAsync(ct);
            }

            bool present;
            await using (var probe = new NpgsqlCommand("SELECT to_regclass('orleansquery') IS NOT NULL", connection, tx))
            {
                present = (bool)(await probe.ExecuteScalarAsync(ct))!;
            }

            if (present)
            {
                await CheckQueriesAsync(connection, tx, where, ct);
                await tx.CommitAsync(ct);
                return false;
            }

            await using (var script = new NpgsqlCommand(Script(), connection, tx))
            {
                await script.ExecuteNonQueryAsync(ct);
            }

            await tx.CommitAsync(ct);
            return true;
        }
        catch (PostgresException e)
        {
            throw new StorageUnavailableException($"{where}: installing or checking the Orleans schema failed: {e.MessageText} (SQLSTATE {e.SqlState})", e);
        }
    }

    private static async Task CheckQueriesAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string where, CancellationToken ct)
    {
        var found = new HashSet<string>();
        await using var command = new NpgsqlCommand("SELECT querykey FROM orleansquery", connection, tx);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            found.Add(reader.GetString(0));
        }

        var missing = QueryKeys.Where(k => !found.Contains(k)).ToList();
        if (missing.Count > 0)
        {
            // Someone else's (older) Orleans schema: do not write over it, say what is missing.
            throw new StorageUnavailableException($"{where}: table orleansquery exists but lacks {string.Join(", ", missing)}; drop the Orleans tables to let mobiscud create them, or add these queries");
        }
    }

    /// <summary>The embedded schema script.</summary>
    public static string Script()
    {
        using var stream = typeof(PostgresSchemaInstaller).Assembly.GetManifestResourceStream("MobiScud.Hosting.Config.PostgresSchema.sql")
            ?? throw new InvalidOperationException("PostgresSchema.sql is not embedded in MobiScud.Hosting");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
