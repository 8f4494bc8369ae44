using System.Diagnostics;
using System.Globalization;
using MobiScud.TestSupport;
using Npgsql;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// A throw-away PostgreSQL cluster (Debian's postgresql package): initdb into a temp dir, trust auth, a free loopback
/// port, its unix socket in the temp dir; stopped and deleted on dispose. PostgreSQL refuses to run as root, so under
/// root (CI) it runs as the `postgres` user the package creates, through setpriv (which execs: the process we hold
/// is the postmaster itself).
/// </summary>
public sealed class PostgresServer(Process process, string dir, int port) : TestServerProcess(process, dir, port)
{
    /// <summary>A connection string to a database of this server (as the superuser, trust auth: no password).</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=30;Command Timeout=60";

    /// <summary>A new empty database, so each test starts without any Orleans schema.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>The first column of every row of a query, as text.</summary>
    public static async Task<List<string>> QueryAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), CultureInfo.InvariantCulture)!);
        }

        return rows;
    }

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = BinDirectory();
        var dir = Directory.CreateTempSubdirectory("mobiscud-hosting-pg-").FullName;
        var data = Path.Combine(dir, "data");
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            var chown = await ExternalTool.RunAsync("chown", ["postgres:postgres", dir], TimeSpan.FromSeconds(30));
            if (chown.ExitCode != 0)
            {
                throw new InvalidOperationException($"chown postgres {dir}: {chown.StdErr} (the postgresql package creates the postgres user)");
            }
        }

        var init = await ExternalTool.RunAsync(asRoot ? "setpriv" : Path.Combine(bin, "initdb"),
            [.. AsPostgres(asRoot, Path.Combine(bin, "initdb")), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"],
            TimeSpan.FromMinutes(2));
        if (init.ExitCode != 0)
        {
            Directory.Delete(dir, recursive: true);
            throw new InvalidOperationException($"initdb failed ({init.ExitCode}): {init.StdErr}");
        }

        var port = FreePort();
        var server = new PostgresServer(
            Launch(asRoot ? "setpriv" : Path.Combine(bin, "postgres"), AsPostgres(asRoot, Path.Combine(bin, "postgres")).Concat(
            [
                "-D", data, "-p", port.ToString(CultureInfo.InvariantCulture), "-k", dir, "-c", "listen_addresses=127.0.0.1",
                // A test database: durability against power loss is not what is tested.
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
            ]), dir),
            dir,
            port);
        await server.WaitUntilReadyAsync(
            async () =>
            {
                await using var connection = new NpgsqlConnection(server.ConnectionString() + ";Pooling=false");
                await connection.OpenAsync();
            },
            "postgres");
        return server;
    }

    /// <summary>Debian installs the server under /usr/lib/postgresql/VERSION/bin; the newest one present.</summary>
    private static string BinDirectory()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1))
                .Where(d => d.Version >= 0 && File.Exists(Path.Combine(d.Dir, "bin", "initdb")))
                .OrderByDescending(d => d.Version).Select(d => Path.Combine(d.Dir, "bin")).FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL server is not installed (no /usr/lib/postgresql/*/bin/initdb): run `apt-get update && apt-get install -y postgresql` (tests/scripts/install-prereqs.sh does this as root)");
    }

    private static IEnumerable<string> AsPostgres(bool asRoot, string exe) =>
        asRoot ? ["--reuid=postgres", "--regid=postgres", "--init-groups", exe] : [];

    /// <summary>SIGQUIT: immediate shutdown, the postmaster takes its backends down with it (SIGKILL would orphan them).</summary>
    protected override async Task StopAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExternalTool.RunAsync("kill", ["-QUIT", Process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
    }
}
