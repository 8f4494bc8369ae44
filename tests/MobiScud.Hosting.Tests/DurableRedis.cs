using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MobiScud.TestSupport;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// A real redis-server that keeps its data across a crash (append-only file, fsync on every write), so a test can
/// SIGKILL it and start it again on the same port and directory, as an operator's Redis restarts.
/// </summary>
public sealed class DurableRedis : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mobiscud-durable-redis-").FullName;
    private Process? _process;

    public int Port { get; } = TestServerProcess.FreePort();

    public string Endpoint => $"127.0.0.1:{Port}";

    public static async Task<DurableRedis> StartNewAsync()
    {
        var redis = new DurableRedis();
        await redis.StartAsync();
        return redis;
    }

    public async Task StartAsync()
    {
        var exe = ExternalTool.Require("redis-server", "redis-server");
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (var a in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no" })
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start redis-server");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                // Ready once it answers (it loads the append-only file before that).
                var r = await Cli("PING");
                if (r.Trim() == "PONG")
                {
                    return;
                }
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
            }

            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"redis-server did not come up on port {Port}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL: no shutdown, no final save (what was fsynced stays).</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>A redis-cli command against this server; its output.</summary>
    public async Task<string> Cli(params string[] args)
    {
        var cli = ExternalTool.Require("redis-cli", "redis-tools");
        var r = await ExternalTool.RunAsync(cli, ["-h", "127.0.0.1", "-p", Port.ToString(), .. args], TimeSpan.FromSeconds(30));
        if (r.ExitCode != 0 || r.StdOut.StartsWith("Could not connect", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', args)}: {r.StdOut}{r.StdErr}");
        }

        return r.StdOut;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Removed by the OS's temp cleaning eventually.
        }
    }
}
