using Microsoft.CodeAnalysis;

namespace MobiScud.Tools.FieldNaming;

/// <summary>The compiler's warnings and errors per project and id: a rename must not add any.</summary>
internal static class Diagnostics
{
    public static async Task<Dictionary<(string Project, string Id), List<string>>> CountAsync(
        Solution solution, CancellationToken ct)
    {
        var found = new Dictionary<(string, string), List<string>>();
        foreach (var project in solution.Projects)
        {
            var compilation = await project.GetCompilationAsync(ct)
                ?? throw new InvalidOperationException($"project {project.Name}: no compilation");
            foreach (var d in compilation.GetDiagnostics(ct).Where(d => d.Severity >= DiagnosticSeverity.Warning))
            {
                var key = (project.Name, d.Id);
                if (!found.TryGetValue(key, out var list))
                {
                    found[key] = list = [];
                }

                list.Add(d.ToString());
            }
        }

        return found;
    }

    /// <summary>Every (project, id) whose count grew, with the diagnostics the renamed solution reports.</summary>
    public static List<string> Regressions(
        Dictionary<(string Project, string Id), List<string>> before,
        Dictionary<(string Project, string Id), List<string>> after) =>
        after.Where(a => a.Value.Count > (before.TryGetValue(a.Key, out var b) ? b.Count : 0))
            .SelectMany(a => a.Value.Select(d => $"{a.Key.Project}: {d}"))
            .ToList();
}
