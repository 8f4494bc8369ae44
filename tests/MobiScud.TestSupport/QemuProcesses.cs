namespace MobiScud.TestSupport;

/// <summary>The QEMU processes a test started, found by their command line (which names the test's directory).</summary>
public static class QemuProcesses
{
    /// <summary>QEMUs whose command line lies under <paramref name="dir"/>.</summary>
    public static List<int> Under(string dir) =>
        [.. Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0).Where(pid => pid > 0 && IsQemuUnder(pid, dir))];

    public static bool IsQemuUnder(int pid, string dir)
    {
        try
        {
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmdline.Contains("qemu-system", StringComparison.Ordinal) && cmdline.Contains(dir, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Kills every QEMU under <paramref name="dir"/> (a test's cleanup: one already gone is fine).</summary>
    public static void KillUnder(string dir)
    {
        foreach (var pid in Under(dir))
        {
            try
            {
                using var p = System.Diagnostics.Process.GetProcessById(pid);
                p.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // exited meanwhile
            }
        }
    }
}
