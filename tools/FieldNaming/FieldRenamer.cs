using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Rename;

namespace MobiScud.Tools.FieldNaming;

/// <summary>Applies a plan with Roslyn's Renamer, one field at a time, then drops the <c>this.</c> that only
/// disambiguated a field from a same-named parameter (<c>this.count = count</c> becomes <c>_count = count</c>).</summary>
internal static class FieldRenamer
{
    // Comments and strings keep their words: a field called "count" must not turn "the count of" into "the _count of".
    private static readonly SymbolRenameOptions _options =
        new(RenameOverloads: false, RenameInStrings: false, RenameInComments: false, RenameFile: false);

    public static async Task<Solution> RenameAsync(
        Solution solution, IReadOnlyList<FieldPlan> plans, Action<string> log, CancellationToken ct)
    {
        foreach (var plan in plans.Where(p => p.NewName is not null))
        {
            var field = await ResolveAsync(solution, plan, plan.OldName, ct)
                ?? throw new InvalidOperationException(
                    $"{plan.Location}: field {plan.TypeDisplay}.{plan.OldName} not found after earlier renames");
            solution = await Renamer.RenameSymbolAsync(solution, field, _options, plan.NewName!, ct);
            log($"  {plan.Location}: {plan.TypeDisplay}.{plan.OldName} -> {plan.NewName}");
        }

        return await DropRedundantThisAsync(solution, plans, ct);
    }

    private static async Task<IFieldSymbol?> ResolveAsync(Solution solution, FieldPlan plan, string name, CancellationToken ct)
    {
        var compilation = await solution.GetProject(plan.Project)!.GetCompilationAsync(ct);
        var type = compilation?.Assembly.GetTypeByMetadataName(plan.TypeMetadataName);
        return type?.GetMembers(name).OfType<IFieldSymbol>().SingleOrDefault();
    }

    private static async Task<Solution> DropRedundantThisAsync(
        Solution solution, IReadOnlyList<FieldPlan> plans, CancellationToken ct)
    {
        foreach (var byProject in plans.Where(p => p.NewName is not null).GroupBy(p => p.Project))
        {
            // Symbols are compared by name: each edited document makes a new compilation, whose symbols are new objects.
            var renamed = byProject.Select(p => p.TypeMetadataName + "." + p.NewName).ToHashSet(StringComparer.Ordinal);
            var newNames = byProject.Select(p => p.NewName!).ToHashSet(StringComparer.Ordinal);
            foreach (var documentId in solution.GetProject(byProject.Key)!.DocumentIds)
            {
                var document = solution.GetDocument(documentId)!;
                var root = await document.GetSyntaxRootAsync(ct);
                var candidates = root!.DescendantNodes().OfType<MemberAccessExpressionSyntax>()
                    .Where(m => m.Expression is ThisExpressionSyntax && newNames.Contains(m.Name.Identifier.ValueText))
                    .ToList();
                if (candidates.Count == 0)
                {
                    continue;
                }

                var model = await document.GetSemanticModelAsync(ct)
                    ?? throw new InvalidOperationException($"{document.FilePath}: no semantic model");
                var redundant = candidates.Where(m =>
                {
                    var symbol = model.GetSymbolInfo(m, ct).Symbol;
                    if (symbol is not IFieldSymbol field
                        || !renamed.Contains(FieldCatalog.MetadataName(field.ContainingType) + "." + field.Name))
                    {
                        return false;
                    }

                    // Without "this." the name must still bind to the field, not to a local or parameter.
                    var bound = model.LookupSymbols(m.SpanStart, name: m.Name.Identifier.ValueText);
                    return bound.Length == 1 && SymbolEqualityComparer.Default.Equals(bound[0], symbol);
                }).ToList();
                if (redundant.Count == 0)
                {
                    continue;
                }

                var newRoot = root.ReplaceNodes(redundant, (original, _) =>
                    SyntaxFactory.IdentifierName(original.Name.Identifier).WithTriviaFrom(original));
                solution = solution.WithDocumentSyntaxRoot(documentId, newRoot);
            }
        }

        return solution;
    }
}
