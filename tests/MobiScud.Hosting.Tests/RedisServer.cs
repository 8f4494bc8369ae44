using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MobiScud.TestSupport;

namespace MobiScud.Hosting.Tests;

/// <summary>A real redis-server (Debian's) on a free loopback port in a temp dir, killed and removed on dispose.</summary>
public sealed class RedisServer(Process process, string dir, int port) : TestServerProcess(process, dir, port)
{
    public string Endpoint => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var exe = ExternalTool.Require("redis-server", "redis-server");
        var dir = Directory.CreateTempSubdirectory("mobiscud-hosting-redis-").FullName;
        var port = FreePort();
        var server = new RedisServer(
            Launch(exe, ["--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--protected-mode", "no"], dir),
            dir,
            port);
        await server.WaitUntilReadyAsync(
            async () =>
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
            },
            "redis-server");
        return server;
    }
}
