using System.Net;
using System.Net.Sockets;
using Npgsql;
using StackExchange.Redis;

namespace MobiScud.Hosting.Config;

/// <summary>
/// Checks what the start needs from outside before the silo and Kestrel start, so that a taken port or an unreachable
/// Redis or PostgreSQL is one line naming the key (and the server), not a start failing through layers of logged
/// stack traces or an unhandled exception.
/// </summary>
public static class ServePreflight
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> for taken ports, <see cref="StorageUnavailableException"/> for storage.</summary>
    public static async Task CheckAsync(MobiScudOptions options, CancellationToken ct = default)
    {
        var taken = TakenPorts(options);
        if (taken.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(MobiScudOptions.Section, typeof(MobiScudOptions), taken);
        }

        await CheckStorageAsync(options.Storage, ct);
    }

    /// <summary>The configured ports something else already listens on, each naming its key.</summary>
    public static List<string> TakenPorts(MobiScudOptions o)
    {
        var silo = o.Silo.ListenOnAnyAddress ? IPAddress.Any : IPAddress.Parse(o.Silo.AdvertisedAddress);
        var problems = new List<string>();
        var ports = new List<(string Key, IPAddress Address, int Port)>
        {
            ("Api:Port", IPAddress.Parse(o.Api.Address), o.Api.Port),
            ("Silo:SiloPort", silo, o.Silo.SiloPort),
            ("Silo:GatewayPort", silo, o.Silo.GatewayPort),
        };
        if (o.Sdn.Kind == SdnKind.OpenFlow && o.Sdn.TcpEndPoint() is { } openflow)
        {
            ports.Add(("Sdn:Tcp", openflow.Address, openflow.Port));
        }

        foreach (var (key, address, port) in ports)
        {
            if (port == 0)
            {
                continue;
            }

            try
            {
                using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                probe.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                probe.Bind(new IPEndPoint(address, port));
            }
            catch (SocketException e)
            {
                problems.Add($"{MobiScudOptions.Section}:{key} {port} on {address}: {e.Message}");
            }
        }

        if (o.Silo.SiloPort == o.Silo.GatewayPort)
        {
            problems.Add($"{MobiScudOptions.Section}:Silo:GatewayPort {o.Silo.GatewayPort} is also the SiloPort");
        }

        return problems;
    }

    public static async Task CheckStorageAsync(StorageOptions storage, CancellationToken ct = default)
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
