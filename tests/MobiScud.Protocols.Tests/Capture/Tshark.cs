using MobiScud.TestSupport;

namespace MobiScud.Protocols.Tests.Capture;

/// <summary>Runs tshark (the oracle) with -T fields and caches the rows per file and query.</summary>
internal static class Tshark
{
    private static readonly Dictionary<string, Task<IReadOnlyList<string[]>>> _cache = [];

    public static Task<IReadOnlyList<string[]>> FieldsAsync(string file, string filter, params string[] fields)
    {
        var key = $"{file}|{filter}|{string.Join(',', fields)}";
        lock (_cache)
        {
            if (!_cache.TryGetValue(key, out var task))
            {
                task = RunAsync(file, filter, fields);
                _cache[key] = task;
            }

            return task;
        }
    }

    private static async Task<IReadOnlyList<string[]>> RunAsync(string file, string filter, string[] fields)
    {
        var tshark = ExternalTool.Require("tshark", "tshark");
        var args = new List<string> { "-r", file, "-n", "-T", "fields", "-E", "separator=\t" };
        if (filter.Length > 0)
        {
            args.AddRange(["-Y", filter]);
        }

        foreach (var f in fields)
        {
            args.AddRange(["-e", f]);
        }

        var result = await ExternalTool.RunAsync(tshark, args, TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, $"tshark failed on {file}: {result.StdErr}");
        return result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t')).ToList();
    }
}
