using System.Diagnostics;

namespace MobiScud.Testbed.Infrastructure;

/// <summary>Runs the system tools the testbed drives (ip, tc, ovs-*); a failure names the command and its stderr.</summary>
internal static class Shell
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static string Run(string file, params string[] args)
    {
        var r = TryRun(file, args);
        if (r.ExitCode != 0)
        {
            throw new TestbedException($"`{file} {string.Join(' ', args)}` failed (exit {r.ExitCode}): {r.StdErr.Trim()}");
        }

        return r.StdOut;
    }

    public static Result TryRun(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(Resolve(file))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new TestbedException($"could not start {file}");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            throw new TestbedException($"`{file} {string.Join(' ', args)}` did not finish in 60 s");
        }

        return new Result(p.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }

    /// <summary>Full path of a required tool, or a clear error saying which Debian package provides it.</summary>
    public static string Require(string tool, string debianPackage)
    {
        var found = Find(tool);
        return found ?? throw new TestbedException(
            $"'{tool}' is not installed: run `apt-get update && apt-get install -y {debianPackage}`");
    }

    public static string? Find(string tool)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        foreach (var dir in dirs)
        {
            if (dir.Length == 0)
            {
                continue;
            }

            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string Resolve(string file) => file.Contains('/') ? file : Find(file) ?? file;
}
