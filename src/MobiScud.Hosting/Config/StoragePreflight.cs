using System.Net.Sockets;
using Npgsql;
using StackExchange.Redis;

namespace MobiScud.Hosting.Config;

/// <summary>
/// Reaches the configured storage before the silo starts, so that an unreachable Redis or PostgreSQL is one line naming
/// the key and the server (exit 3), not a silo start failing through four layers of logged stack traces.
/// </summary>
public static class StoragePreflight
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static async Task CheckAsync(StorageOptions storage, CancellationToken ct = default)
    {
        switch (storage.Kind)
        {
            case StorageKind.Redis:
                await RedisAsync(storage.Redis, ct);
                break;
            case StorageKind.Postgres:
                await PostgresAsync(storage.Postgres!, ct);
                break;
        }
    }

    private static async Task RedisAsync(string configuration, CancellationToken ct)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = (int)Timeout.TotalMilliseconds;
        options.ConnectRetry = 1;

        // The endpoints only: the configuration string may carry a password.
        var where = $"Redis at {string.Join(", ", options.EndPoints.Select(EndPointCollection.ToString))} ({MobiScudOptions.Section}:Storage:Redis)";
        try
        {
            await using var redis = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(Timeout + Timeout, ct);
            await redis.GetDatabase().PingAsync().WaitAsync(Timeout, ct);
        }
        catch (Exception e) when (e is RedisException or SocketException or TimeoutException)
        {
            var cause = e.InnerException is { } inner ? $" ({FirstSentence(inner.Message)})" : "";
            throw new StorageUnavailableException($"{where} is unreachable: {FirstSentence(e.Message)}{cause}", e);
        }
    }

    private static async Task PostgresAsync(string connectionString, CancellationToken ct)
    {
        var where = $"PostgreSQL at {PostgresStorage.Describe(connectionString)} ({PostgresStorage.ConfigKey})";
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Timeout > Timeout.TotalSeconds)
        {
            builder.Timeout = (int)Timeout.TotalSeconds;
        }

        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
        {
            throw new StorageUnavailableException($"{where} is unreachable: {e.Message}", e);
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
