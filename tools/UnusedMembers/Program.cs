using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FindSymbols;
using Microsoft.CodeAnalysis.MSBuild;

// Reports every type and member declared under the given src/ path prefixes that no code references (outside its own
// declaration), and those only tests reference. A row is a place to look, not a verdict: members reached by
// reflection (JSON, configuration binding, Orleans) look unused to a reference search.
const string Usage = "usage: UnusedMembers <solution.slnx> <path-prefix>...";
if (args.Length < 2)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var solutionPath = Path.GetFullPath(args[0]);
var prefixes = args.Skip(1).Select(Path.GetFullPath).ToList();
using var workspace = MSBuildWorkspace.Create();
var solution = await workspace.OpenSolutionAsync(solutionPath);
var failures = workspace.Diagnostics.Where(d => d.Kind == WorkspaceDiagnosticKind.Failure).ToList();
foreach (var failure in failures)
{
    Console.Error.WriteLine($"load failure: {failure.Message}");
}

if (failures.Count != 0)
{
    return 1;
}

var seen = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
var rows = new List<(string Where, string Kind, string Name, string Verdict)>();
foreach (var project in solution.Projects)
{
    var compilation = await project.GetCompilationAsync();
    if (compilation is null)
    {
        continue;
    }

    foreach (var document in project.Documents)
    {
        if (document.FilePath is not { } path || !prefixes.Any(p => path.StartsWith(p, StringComparison.Ordinal)))
        {
            continue;
        }

        var model = await document.GetSemanticModelAsync();
        var root = await document.GetSyntaxRootAsync();
        if (model is null || root is null)
        {
            continue;
        }

        foreach (var node in root.DescendantNodes())
        {
            var symbol = model.GetDeclaredSymbol(node);
            if (symbol is null || !Candidate(symbol) || !seen.Add(symbol))
            {
                continue;
            }

            var references = await SymbolFinder.FindReferencesAsync(symbol, solution);
            var locations = references.SelectMany(r => r.Locations).ToList();
            // bench/ counts as product code: it is shipped in the CLI (Bench.Support) or run by hand.
            var fromSrc = locations.Count(l => l.Document.FilePath is { } f && (f.Contains("/src/", StringComparison.Ordinal) || f.Contains("/bench/", StringComparison.Ordinal)));
            var fromTests = locations.Count - fromSrc;
            if (fromSrc == 0)
            {
                var line = node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                var where = $"{Path.GetRelativePath(Path.GetDirectoryName(solutionPath)!, path)}:{line}";
                rows.Add((where, symbol.Kind.ToString(), symbol.ToDisplayString(),
                    fromTests == 0 ? "unreferenced" : $"tests only ({fromTests})"));
            }
        }
    }
}

foreach (var row in rows.OrderBy(r => r.Where, StringComparer.Ordinal))
{
    Console.WriteLine($"{row.Where}\t{row.Kind}\t{row.Name}\t{row.Verdict}");
}

Console.Error.WriteLine($"{rows.Count} rows");
return 0;

// Kinds a reference search can judge: not overrides, interface implementations, accessors, constructors of
// records/primary constructors, entry points or operators.
static bool Candidate(ISymbol symbol)
{
    if (symbol.IsImplicitlyDeclared || symbol.IsOverride)
    {
        return false;
    }

    switch (symbol)
    {
        case INamedTypeSymbol:
            return true;
        case IMethodSymbol method:
            if (method.MethodKind is not (MethodKind.Ordinary or MethodKind.Constructor) || method.Name == "Main"
                || method.ExplicitInterfaceImplementations.Length != 0)
            {
                return false;
            }

            if (method.MethodKind == MethodKind.Constructor && method.Parameters.Length == 0)
            {
                return false;
            }

            break;
        case IPropertySymbol property:
            if (property.ExplicitInterfaceImplementations.Length != 0)
            {
                return false;
            }

            break;
        case IFieldSymbol field:
            if (field.ContainingType.TypeKind == TypeKind.Enum)
            {
                return false;
            }

            break;
        case IEventSymbol:
            break;
        default:
            return false;
    }

    var type = symbol.ContainingType;
    if (type is null)
    {
        return false;
    }

    foreach (var iface in type.AllInterfaces)
    {
        foreach (var member in iface.GetMembers())
        {
            if (SymbolEqualityComparer.Default.Equals(type.FindImplementationForInterfaceMember(member), symbol))
            {
                return false;
            }
        }
    }

    return true;
}
