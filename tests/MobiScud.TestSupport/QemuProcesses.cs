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
}
