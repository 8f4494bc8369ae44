using System.Text;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>`Storage:Kind: Postgres` against a real PostgreSQL: configuration errors, an unreachable server, the schema install.</summary>
public sealed class PostgresStorageTests
{
    [Fact]
    public void A_missing_or_malformed_connection_string_is_a_configuration_error_naming_the_key_without_the_password()
    {
        var missing = Assert.Throws<OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides
        {
            Settings = Settings(new() { ["MobiScud:Storage:Kind"] = "Postgres" }),
        }));
        Assert.Contains(missing.Failures, f => f.StartsWith("MobiScud:Storage:Postgres must give the PostgreSQL connection string", StringComparison.Ordinal));

        // The --postgres switch of the command line maps onto the same key.
        var malformed = Assert.Throws<OptionsValidationException>(() => ServeHost.Build(
            ["--storage", "Postgres", "--postgres", "Host=db;Password=hunter2-secret;Colour=blue"], null,
            new ServeOverrides { Settings = Settings() }));
        var failure = Assert.Single(malformed.Failures, f => f.StartsWith("MobiScud:Storage:Postgres", StringComparison.Ordinal));
        Assert.Contains("not a valid Npgsql connection string", failure);
        Assert.Contains("colour", failure, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hunter2", failure);
    }

    [Fact]
    public async Task An_unreachable_database_stops_the_start_with_an_error_naming_the_server_and_key_but_not_the_password()
    {
        // A port nobody listens on (taken from the OS, then released).
        var port = RedisServer.FreePort();
        var settings = Settings(new()
        {
            ["MobiScud:Storage:Kind"] = "Postgres",
            ["MobiScud:Storage:Postgres"] = $"Host=127.0.0.1;Port={port};Username=mc;Password=hunter2-secret;Database=mobiscud;Timeout=5",
        });
        // Orleans logs the failure with its stack at Error; the test reads the exception, not the log.
        await using var app = ServeHost.Build([], null, new ServeOverrides { Settings = settings, Logging = l => l.ClearProviders() });
        var unavailable = await Assert.ThrowsAsync<StorageUnavailableException>(() => app.StartAsync());
        Assert.Contains($"postgresql://mc@127.0.0.1:{port}/mobiscud", unavailable.Message);
        Assert.Contains("MobiScud:Storage:Postgres", unavailable.Message);
        Assert.Contains("unreachable", unavailable.Message);
        Assert.DoesNotContain("hunter2", unavailable.Message);
    }

    [Fact]
    public async Task The_schema_is_created_once_on_a_fresh_database_and_services_in_a_row_reuse_it_and_the_state()
    {
        await using var server = await PostgresServer.StartAsync();

        // Two installers racing on a fresh database: one creates, the other waits and finds it there.
        var raced = await server.CreateDatabaseAsync("raced");
        var results = await Task.WhenAll(PostgresSchemaInstaller.InstallAsync(raced), PostgresSchemaInstaller.InstallAsync(raced));
        Assert.Equal(1, results.Count(created => created));
        Assert.False(await PostgresSchemaInstaller.InstallAsync(raced));
        await StorageQueriesKeepOrleansVersionContract(raced);

        // Two services in a row on one fresh database: the first creates the schema and persists a UE; the second
        // starts on the schema as it is and reads the UE's state back.
        var connection = await server.CreateDatabaseAsync("serve");
        var settings = Settings(new() { ["MobiScud:Storage:Kind"] = "Postgres", ["MobiScud:Storage:Postgres"] = connection, ["MobiScud:Hypervisor:Kind"] = "Replay" });
        await using (var first = await StartAsync(settings))
        {
            await first.Pipeline.PostAsync(Attach(7, EnbA, Now));
            await Wait.Until(async () => (await first.State(Ue(7)))?.PvmStatus == PvmStatus.Running, "the UE's PVM running");
        }

        Assert.Equal(PostgresSchemaInstaller.QueryKeys.Order(StringComparer.Ordinal), await PostgresServer.QueryAsync(connection, "SELECT querykey FROM orleansquery ORDER BY querykey COLLATE \"C\""));

        // Readable JSON in the database: the UE's record names its IMSI and the site of its PVM.
        var ueRow = Assert.Single(await PostgresServer.QueryAsync(connection, "SELECT payloadjson::text FROM orleansstorage WHERE graintypestring = 'ue' AND grainidextensionstring = 'imsi-001010000000007'"));
        Assert.Contains("\"001010000000007\"", ueRow);
        Assert.Contains(A.Value, ueRow);

        // The silo left the membership table as Dead (6) on a clean stop.
        Assert.Equal(["6"], await PostgresServer.QueryAsync(connection, "SELECT status::text FROM orleansmembershiptable"));

        await using (var second = await StartAsync(Settings(new(settings) { ["MobiScud:Silo:ClusterId"] = settings["MobiScud:Silo:ClusterId"] })))
        {
            var state = await second.State(Ue(7));
            Assert.NotNull(state);
            Assert.Equal(A, state.PvmSite);
            Assert.Equal(PvmStatus.Running, state.PvmStatus);
        }

        Assert.Equal(["1"], await PostgresServer.QueryAsync(connection, "SELECT count(*)::text FROM orleansquery WHERE querykey = 'WriteToStorageKey'"));
        Assert.Equal(["2"], await PostgresServer.QueryAsync(connection, "SELECT count(*)::text FROM orleansmembershiptable"));
    }

    /// <summary>
    /// The grain storage queries as the ADO.NET provider runs them (its parameter names, the stored query text): the
    /// answer is the new version, or the caller's own version / NULL when nothing was written, which the provider
    /// turns into an InconsistentStateException (two activations of one grain cannot both write).
    /// </summary>
    private static async Task StorageQueriesKeepOrleansVersionContract(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var queries = new Dictionary<string, string>();
        await using (var all = new NpgsqlCommand("SELECT querykey, querytext FROM orleansquery", connection))
        await using (var reader = await all.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                queries[reader.GetString(0)] = reader.GetString(1);
            }
        }

        NpgsqlCommand Command(string key, int? version, string? json = null)
        {
            var command = new NpgsqlCommand(queries[key], connection);
            command.Parameters.AddWithValue("GrainIdHash", 42);
            command.Parameters.AddWithValue("GrainIdN0", 0L);
            command.Parameters.AddWithValue("GrainIdN1", 0L);
            command.Parameters.AddWithValue("GrainTypeHash", 7);
            command.Parameters.AddWithValue("GrainTypeString", "ue");
            command.Parameters.AddWithValue("GrainIdExtensionString", "imsi-001010000000001");
            command.Parameters.AddWithValue("ServiceId", "svc");
            command.Parameters.AddWithValue("GrainStateVersion", version is { } v ? v : DBNull.Value);
            if (json is not null)
            {
                command.Parameters.AddWithValue("PayloadBinary", Encoding.UTF8.GetBytes(json));
            }

            return command;
        }

        // Write, clear, delete: the NewGrainStateVersion column of the single row.
        async Task<int?> Write(string key, int? version, string? json = null)
        {
            await using var command = Command(key, version, json);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            var column = reader.GetOrdinal("NewGrainStateVersion");
            return reader.IsDBNull(column) ? null : reader.GetInt32(column);
        }

        // Read: "version:state as JSON", or "no row".
        async Task<string> Read()
        {
            await using var command = Command("ReadFromStorageKey", null);
            await using var reader = await command.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
            {
                return "no row";
            }

            var payload = reader.GetOrdinal("PayloadBinary");
            return $"{reader.GetInt32(reader.GetOrdinal("Version"))}:{(reader.IsDBNull(payload) ? "" : Encoding.UTF8.GetString((byte[])reader[payload]))}";
        }

        Assert.Equal("no row", await Read());
        Assert.Equal(1, await Write("WriteToStorageKey", null, """{"$type":"a","n":1}"""));
        Assert.Null(await Write("WriteToStorageKey", null, """{"n":99}""")); // a second first write: NULL, a conflict
        Assert.Equal(2, await Write("WriteToStorageKey", 1, """{"$type":"a","n":2}"""));
        Assert.Equal(1, await Write("WriteToStorageKey", 1, """{"n":99}""")); // stale: the caller's own version back, a conflict
        Assert.Equal("""2:{"$type":"a","n":2}""", await Read()); // JSON as written, key order kept
        Assert.Equal(1, await Write("ClearStorageKey", 1)); // stale: the caller's own version back, a conflict
        Assert.Equal(3, await Write("ClearStorageKey", 2));
        Assert.Equal("3:", await Read());
        Assert.Equal(2, await Write("DeleteStorageKey", 2)); // stale: conflict
        Assert.Equal(4, await Write("DeleteStorageKey", 3));
        Assert.Equal("no row", await Read());
    }
}
