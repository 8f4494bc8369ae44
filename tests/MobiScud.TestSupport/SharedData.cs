namespace MobiScud.TestSupport;

/// <summary>
/// Finds the repository root and the shared data folder that sits beside the checkout
/// (`../shared`: third-party captures and datasets). MOBISCUD_SHARED overrides it.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string> RepoRootLazy = new(FindRepoRoot);

    public static string RepoRoot => RepoRootLazy.Value;

    public static string Root
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("MOBISCUD_SHARED");
            var root = string.IsNullOrEmpty(overridden)
                ? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"))
                : overridden;
            if (!Directory.Exists(root))
            {
                throw new DirectoryNotFoundException(
                    $"shared data folder not found at {root}: check out the repo beside shared/ or set MOBISCUD_SHARED");
            }

            return root;
        }
    }

    public static string Captures => Path.Combine(Root, "captures");

    public static string Datasets => Path.Combine(Root, "datasets");

    public static string Capture(string fileName) => RequireFile(Path.Combine(Captures, fileName));

    public static IReadOnlyList<string> AllCaptures() =>
        Directory.EnumerateFiles(Captures)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();

    private static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"shared file missing: {path}", path);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MobiScud.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no MobiScud.slnx above {AppContext.BaseDirectory}");
    }
}
