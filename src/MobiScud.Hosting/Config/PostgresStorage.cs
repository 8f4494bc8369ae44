using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace MobiScud.Hosting.Config;

/// <summary>`Storage:Kind: Postgres`: Orleans' ADO.NET clustering and grain storage on PostgreSQL through Npgsql.</summary>
internal static class PostgresStorage
{
    /// <summary>The ADO.NET invariant Orleans maps to Npgsql's provider factory.</summary>
    public const string Invariant = "Npgsql";

    public const string ConfigKey = "MobiScud:Storage:Postgres";

    /// <summary>Cluster membership in PostgreSQL (silos find each other through it).</summary>
    public static void UseClustering(ISiloBuilder silo, string connectionString)
    {
        AddSchemaInstaller(silo.Services, connectionString);
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = connectionString;
        });
    }

    /// <summary>Grain state in PostgreSQL, as readable JSON (the contract's own JSON shape).</summary>
    public static void AddGrainStorage(ISiloBuilder silo, string name, string connectionString)
    {
        AddSchemaInstaller(silo.Services, connectionString);
        silo.AddAdoNetGrainStorage(name, o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = connectionString;
            o.GrainStorageSerializer = new McGrainStorageSerializer();
        });
    }

    /// <summary>The schema is installed once per silo, before clustering and storage start (first lifecycle stage).</summary>
    private static void AddSchemaInstaller(IServiceCollection services, string connectionString) =>
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILifecycleParticipant<ISiloLifecycle>, PostgresSchemaInstaller>(sp =>
            new PostgresSchemaInstaller(connectionString, sp.GetService<ILogger<PostgresSchemaInstaller>>() ?? NullLogger<PostgresSchemaInstaller>.Instance)));

    /// <summary>Where a connection string points, without its password (for errors and logs).</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            var user = string.IsNullOrEmpty(b.Username) ? "" : $"{b.Username}@";
            return $"postgresql://{user}{b.Host}:{b.Port}/{b.Database}";
        }
        catch (ArgumentException)
        {
            return "(unparsable connection string)";
        }
    }

    /// <summary>Why a connection string cannot be used, or null; never echoes the password.</summary>
    public static string? Problem(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return "must give the PostgreSQL connection string (e.g. Host=localhost;Database=mobiscud;Username=mobiscud) when Storage:Kind is Postgres";
        }

        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(b.Host) ? "has no Host (e.g. Host=localhost or Host=/run/postgresql)" : null;
        }
        catch (ArgumentException e)
        {
            // Npgsql's message names the keyword, not its value, so the password cannot leak here.
            return $"is not a valid Npgsql connection string: {e.Message}";
        }
    }
}
