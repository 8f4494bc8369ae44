using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using StackExchange.Redis;

namespace MobiScud.Hosting.Tests;

/// <summary>A durable storage backend for one test: its own redis-server or PostgreSQL cluster, gone on dispose.</summary>
public sealed class TestStorage(StorageKind kind, string connection, IAsyncDisposable server) : IAsyncDisposable
{
    public StorageKind Kind => kind;

    /// <summary>The Redis endpoint or the PostgreSQL connection string (a fresh database).</summary>
    public string Connection => connection;

    public static async Task<TestStorage> StartAsync(StorageKind kind)
    {
        switch (kind)
        {
            case StorageKind.Redis:
                var redis = await RedisServer.StartAsync();
                return new TestStorage(kind, redis.Endpoint, redis);
            case StorageKind.Postgres:
                var postgres = await PostgresServer.StartAsync();
                try
                {
                    return new TestStorage(kind, await postgres.CreateDatabaseAsync("mobiscud"), postgres);
                }
                catch
                {
                    await postgres.DisposeAsync();
                    throw;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a durable storage");
        }
    }

    /// <summary>`serve` configuration for this backend (clustering and grain storage).</summary>
    public Dictionary<string, string?> Settings => new()
    {
        ["MobiScud:Storage:Kind"] = Kind.ToString(),
        [$"MobiScud:Storage:{Kind}"] = Connection,
    };

    /// <summary>Grain storage only, for an Orleans TestCluster (which brings its own membership).</summary>
    public static void AddGrainStorage(ISiloBuilder silo, StorageKind kind, string connection)
    {
        if (kind == StorageKind.Postgres)
        {
            PostgresStorage.AddGrainStorage(silo, GrainNames.Storage, connection);
            return;
        }

        silo.AddRedisGrainStorage(GrainNames.Storage, o =>
        {
            o.ConfigurationOptions = ConfigurationOptions.Parse(connection);
            o.GrainStorageSerializer = new McGrainStorageSerializer();
        });
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();
}
