using System.Diagnostics;
using MobiScud.TestSupport;

namespace MobiScud.Hosting.Tests;

/// <summary>A real server a test starts (redis-server, postgres): its process, temp dir and port; stopped and deleted on dispose.</summary>
public abstract class TestServerProcess(Process process, string dir, int port) : IAsyncDisposable
{
    public int Port => port;

    protected Process Process => process;

    /// <summary>What the server wrote on stderr, once it has exited (for a start that failed).</summary>
    protected Task<string> Log { get; } = process.StandardError.ReadToEndAsync();

    /// <summary>Starts a server with its output captured (and drained, so it never blocks on a full pipe).</summary>
    protected static Process Launch(string exe, IEnumerable<string> args, string workingDirectory)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var started = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        _ = started.StandardOutput.ReadToEndAsync();
        return started;
    }

    /// <summary>Polls until the server answers; a server that exits or never answers is disposed and reported with its log.</summary>
    protected async Task WaitUntilReadyAsync(Func<Task> probe, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await probe();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (Exception e)
            {
                var log = process.HasExited ? await Log : "(still running)";
                await DisposeAsync();
                throw new InvalidOperationException($"{what} did not come up on port {port}: {e.Message}; its log: {log}");
            }
        }
    }

    public static int FreePort() => TestPorts.Free();

    /// <summary>How the server is asked to stop; killing is the default (nothing of it needs to survive).</summary>
    protected virtual Task StopAsync()
    {
        process.Kill(entireProcessTree: true);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            await StopAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        process.Dispose();
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // The server may still hold a file for a moment; the temp dir is cleaned by the OS eventually.
        }

        GC.SuppressFinalize(this);
    }
}
