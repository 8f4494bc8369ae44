using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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
        var ueRow = Assert.Single(await PostgresServer.QueryAsync(connection, "SELECT payloadjson::text FROM orleansstorage WHERE grainidextensionstring = 'imsi-001010000000007'"));
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
}
