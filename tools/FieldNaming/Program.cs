using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.MSBuild;
using MobiScud.Tools.FieldNaming;

// Renames every private field that breaks the _camelCase rule, across the whole solution, and writes the files only
// when the compiler reports no diagnostic that it did not report before. Run by tests/scripts/rename-private-fields.sh.
const string Usage = "usage: FieldNaming [--dry-run] <solution.slnx>";

var dryRun = args.Contains("--dry-run");
var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
var unknown = args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a != "--dry-run").ToList();
if (positional.Count != 1 || unknown.Count != 0)
{
    Console.Error.WriteLine(unknown.Count != 0 ? $"unknown option {unknown[0]}; {Usage}" : Usage);
    return 2;
}

var solutionPath = Path.GetFullPath(positional[0]);
if (!File.Exists(solutionPath))
{
    Console.Error.WriteLine($"solution {solutionPath} not found; {Usage}");
    return 2;
}

var clock = Stopwatch.StartNew();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
var ct = cts.Token;

using var workspace = MSBuildWorkspace.Create();
var solution = await workspace.OpenSolutionAsync(solutionPath, cancellationToken: ct);
var loadFailures = workspace.Diagnostics.Where(d => d.Kind == WorkspaceDiagnosticKind.Failure).ToList();
if (loadFailures.Count != 0)
{
    // A project that did not load would keep its old references to renamed fields: refuse rather than half-rename.
    foreach (var failure in loadFailures)
    {
        Console.Error.WriteLine($"load failure: {failure.Message}");
    }

    return 1;
}

Console.WriteLine($"loaded {solution.Projects.Count()} projects in {clock.Elapsed.TotalSeconds:F1} s");

var plans = await FieldCatalog.PlanAsync(solution, ct);
var renames = plans.Where(p => p.NewName is not null).ToList();
var skips = plans.Where(p => p.SkipReason is not null).ToList();
Console.WriteLine($"{plans.Count} private fields break the rule: {renames.Count} to rename, {skips.Count} skipped "
    + $"({clock.Elapsed.TotalSeconds:F1} s)");
foreach (var skip in skips)
{
    Console.WriteLine($"  skipped {skip.Location}: {skip.TypeDisplay}.{skip.OldName}: {skip.SkipReason}");
}

if (dryRun)
{
    foreach (var plan in renames)
    {
        Console.WriteLine($"  would rename {plan.Location}: {plan.TypeDisplay}.{plan.OldName} -> {plan.NewName}");
    }

    return 0;
}

var before = await Diagnostics.CountAsync(solution, ct);
Console.WriteLine($"compiled the original solution ({clock.Elapsed.TotalSeconds:F1} s)");
var renamed = await FieldRenamer.RenameAsync(solution, plans, Console.WriteLine, ct);
Console.WriteLine($"renamed ({clock.Elapsed.TotalSeconds:F1} s)");
var after = await Diagnostics.CountAsync(renamed, ct);
Console.WriteLine($"compiled the renamed solution ({clock.Elapsed.TotalSeconds:F1} s)");
var regressions = Diagnostics.Regressions(before, after);
if (regressions.Count != 0)
{
    Console.Error.WriteLine("the renamed solution has diagnostics the original did not; no file written:");
    foreach (var line in regressions)
    {
        Console.Error.WriteLine($"  {line}");
    }

    return 1;
}

// Every field that is not skipped must now follow the rule; anything else is a bug in the tool, not in the code.
var remaining = (await FieldCatalog.PlanAsync(renamed, ct)).Select(p => $"{p.TypeMetadataName}.{p.OldName}").ToHashSet();
var missed = remaining.Except(skips.Select(p => $"{p.TypeMetadataName}.{p.OldName}")).Order().ToList();
if (missed.Count != 0)
{
    Console.Error.WriteLine($"{missed.Count} fields still break the rule after renaming; no file written:");
    foreach (var name in missed)
    {
        Console.Error.WriteLine($"  {name}");
    }

    return 1;
}

var changed = renamed.GetChanges(solution).GetProjectChanges().SelectMany(p => p.GetChangedDocuments()).Count();
if (!workspace.TryApplyChanges(renamed))
{
    Console.Error.WriteLine("the workspace refused the changes; no file written");
    return 1;
}

Console.WriteLine($"renamed {renames.Count} fields in {changed} documents, skipped {skips.Count}, "
    + $"in {clock.Elapsed.TotalSeconds:F1} s");
return 0;
