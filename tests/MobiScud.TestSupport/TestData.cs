namespace MobiScud.TestSupport;

/// <summary>
/// Finds the repository root and its data folder (`data/`: third-party captures, datasets and specifications,
/// each with SOURCES.md). MOBISCUD_DATA points at another folder of the same layout (extra captures).
/// </summary>
public static class TestData
{
    private static readonly Lazy<string> _repoRootLazy = new(FindRepoRoot);

    public static string RepoRoot => _repoRootLazy.Value;

    public static string Root
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("MOBISCUD_DATA");
            var root = string.IsNullOrEmpty(overridden) ? Path.Combine(RepoRoot, "data") : overridden;
            if (!Directory.Exists(root))
            {
                throw new DirectoryNotFoundException($"data folder not found at {root} (MOBISCUD_DATA overrides it)");
            }

            return root;
        }
    }

    public static string Captures => Path.Combine(Root, "captures");

    public static string Datasets => Path.Combine(Root, "datasets");

    public static string Specs => Path.Combine(Root, "specs");

    public static string Capture(string fileName) => RequireFile(Path.Combine(Captures, fileName));

    public static IReadOnlyList<string> AllCaptures() =>
        Directory.EnumerateFiles(Captures)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();

    private static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"data file missing: {path}", path);

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
