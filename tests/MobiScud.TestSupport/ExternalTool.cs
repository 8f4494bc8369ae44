using System.Diagnostics;

namespace MobiScud.TestSupport;

/// <summary>Runs the real tools our tests check against (tshark, ovs-ofctl, qemu-img ...).</summary>
public static class ExternalTool
{
    /// <summary>Full path of a tool on PATH; fails the test (never skips it) with how to install it.</summary>
    public static string Require(string name, string debianPackage)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'))
        {
            var candidate = Path.Combine(dir, name);
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var dir in new[] { "/usr/sbin", "/sbin", "/usr/bin" })
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"'{name}' is not installed: run `apt-get update && apt-get install -y {debianPackage}` (tests/run.sh does this as root)");
    }

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs a tool to completion; a timeout kills it and fails loudly.</summary>
    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish in {timeout}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
