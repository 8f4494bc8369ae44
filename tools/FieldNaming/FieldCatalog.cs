using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MobiScud.Tools.FieldNaming;

/// <summary>A private field that breaks the rule: where it is, and either its new name or why it is left alone.</summary>
internal sealed record FieldPlan(
    ProjectId Project,
    string ProjectName,
    string TypeMetadataName,
    string TypeDisplay,
    string OldName,
    string? NewName,
    string Location,
    string? SkipReason);

/// <summary>Finds the private fields that violate the rule and decides, per field, whether renaming is safe.</summary>
internal static class FieldCatalog
{
    // Attributes that do not bind a field's name to anything outside the source.
    private static readonly HashSet<string> _nameFreeAttributes = new(StringComparer.Ordinal)
    {
        "System.ThreadStaticAttribute",
    };

    // Reflection reaches a private field only with these; a file that uses one may name a field in a string, and
    // renaming would break it silently. (GetField("x") without BindingFlags.NonPublic finds public fields only.)
    private static readonly string[] _reflectionMarkers =
        ["NonPublic", "UnsafeAccessor", "GetRuntimeFields", "DeclaredFields", "DeclaredMembers"];

    public static async Task<IReadOnlyList<FieldPlan>> PlanAsync(Solution solution, CancellationToken ct)
    {
        var reflectionStrings = await ReflectionStringsAsync(solution, ct);
        var plans = new List<FieldPlan>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var targetsByType = new Dictionary<INamedTypeSymbol, HashSet<string>>(SymbolEqualityComparer.Default);

        foreach (var project in solution.Projects.Where(p => p.Language == LanguageNames.CSharp).OrderBy(p => p.Name))
        {
            var compilation = await project.GetCompilationAsync(ct)
                ?? throw new InvalidOperationException($"project {project.Name}: no compilation");
            foreach (var document in project.Documents.OrderBy(d => d.FilePath, StringComparer.Ordinal))
            {
                var tree = await document.GetSyntaxTreeAsync(ct);
                if (tree is null)
                {
                    continue;
                }

                var model = compilation.GetSemanticModel(tree);
                var root = await tree.GetRootAsync(ct);
                var generated = IsGenerated(document, root);
                foreach (var declarator in root.DescendantNodes().OfType<FieldDeclarationSyntax>()
                             .SelectMany(f => f.Declaration.Variables))
                {
                    if (model.GetDeclaredSymbol(declarator, ct) is not IFieldSymbol field
                        || field.DeclaredAccessibility != Accessibility.Private
                        || field.IsConst
                        || field.IsImplicitlyDeclared
                        || FieldNames.IsCompliant(field.Name))
                    {
                        continue;
                    }

                    var span = declarator.Identifier.GetLocation().GetLineSpan();
                    var location = $"{Relative(solution, span.Path)}:{span.StartLinePosition.Line + 1}";
                    // A file compiled into two projects declares the field twice; the first project renames both.
                    // (Keyed by position: "int a, b;" declares two fields on one line.)
                    if (!seen.Add($"{span.Path}@{declarator.Identifier.SpanStart}"))
                    {
                        continue;
                    }

                    var type = field.ContainingType;
                    var newName = FieldNames.ToUnderscoreCamel(field.Name);
                    var reason = generated ? "declared in generated code"
                        : newName is null ? "no letters to build a _camelCase name from"
                        : AttributeReason(field)
                        ?? SerializedTypeReason(type, field)
                        ?? ReflectionReason(field.Name, reflectionStrings)
                        ?? CollisionReason(type, field, newName, targetsByType);
                    if (reason is null)
                    {
                        if (!targetsByType.TryGetValue(type, out var targets))
                        {
                            targetsByType[type] = targets = new HashSet<string>(StringComparer.Ordinal);
                        }

                        targets.Add(newName!);
                    }

                    plans.Add(new FieldPlan(project.Id, project.Name, MetadataName(type),
                        type.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat), field.Name,
                        reason is null ? newName : null, location, reason));
                }
            }
        }

        return plans;
    }

    /// <summary>Walks the containing types so nested and generic types resolve with GetTypeByMetadataName.</summary>
    public static string MetadataName(INamedTypeSymbol type)
    {
        var names = new Stack<string>();
        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
        {
            names.Push(t.MetadataName);
        }

        var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() + "." : "";
        return ns + string.Join("+", names);
    }

    private static string? AttributeReason(IFieldSymbol field)
    {
        var bound = field.GetAttributes()
            .Select(a => a.AttributeClass?.ToDisplayString() ?? "?")
            .Where(a => !_nameFreeAttributes.Contains(a))
            .ToList();
        if (bound.Count == 0)
        {
            return null;
        }

        return bound.Any(a => a.StartsWith("Orleans.", StringComparison.Ordinal))
            ? $"Orleans serializer member [{string.Join(", ", bound)}]: left to a deliberate change of the stored format"
            : $"has attribute [{string.Join(", ", bound)}], which may bind the field by name";
    }

    private static string? SerializedTypeReason(INamedTypeSymbol type, IFieldSymbol field)
    {
        // A static field is never part of an instance's serialized form.
        if (field.IsStatic)
        {
            return null;
        }

        // Orleans writes [Id] members (caught by AttributeReason) and, with GenerateFieldIds, generated ones.
        if (type.GetAttributes().Any(a =>
                a.AttributeClass?.ToDisplayString() == "Orleans.GenerateSerializerAttribute"))
        {
            return $"instance field of Orleans [GenerateSerializer] type {type.Name}: may be part of the stored format";
        }

        // BinaryFormatter / DataContractSerializer write every field of a [Serializable] type under its name (an
        // ISerializable type writes the names its GetObjectData chooses; [DataMember] fields are caught above).
        return type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "System.SerializableAttribute")
            ? $"type {type.Name} is [Serializable]: its fields are serialized by name"
            : null;
    }

    private static string? ReflectionReason(string name, IReadOnlyDictionary<string, string> reflectionStrings) =>
        reflectionStrings.TryGetValue(name, out var where)
            ? $"the string \"{name}\" appears in {where}, which uses reflection"
            : null;

    private static string? CollisionReason(
        INamedTypeSymbol type, IFieldSymbol field, string newName,
        Dictionary<INamedTypeSymbol, HashSet<string>> targetsByType)
    {
        if (targetsByType.TryGetValue(type, out var taken) && taken.Contains(newName))
        {
            return $"another field of {type.Name} is renamed to {newName} too";
        }

        // Members of the type and of its bases (an inherited protected _x would be hidden), nested types, and type
        // parameters all share the name space that the new name enters.
        for (INamedTypeSymbol? t = type; t is not null; t = t.BaseType)
        {
            var clash = t.GetMembers(newName).FirstOrDefault(m => !SymbolEqualityComparer.Default.Equals(m, field));
            if (clash is not null)
            {
                return $"{newName} already names {clash.Kind.ToString().ToLowerInvariant()} {clash.ToDisplayString()}";
            }
        }

        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
        {
            if (t.Name == newName || t.TypeParameters.Any(p => p.Name == newName))
            {
                return $"{newName} already names type or type parameter in {t.ToDisplayString()}";
            }
        }

        return null;
    }

    /// <summary>String literals of files that reflect over members, with the first file each appears in.</summary>
    private static async Task<IReadOnlyDictionary<string, string>> ReflectionStringsAsync(
        Solution solution, CancellationToken ct)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var document in solution.Projects.SelectMany(p => p.Documents))
        {
            var text = (await document.GetTextAsync(ct)).ToString();
            if (!_reflectionMarkers.Any(m => text.Contains(m, StringComparison.Ordinal)))
            {
                continue;
            }

            var root = await document.GetSyntaxRootAsync(ct);
            foreach (var literal in root!.DescendantTokens().Where(t => t.IsKind(SyntaxKind.StringLiteralToken)))
            {
                found.TryAdd(literal.ValueText, Relative(solution, document.FilePath));
            }
        }

        return found;
    }

    private static bool IsGenerated(Document document, SyntaxNode root)
    {
        var path = document.FilePath ?? "";
        var name = Path.GetFileName(path);
        if (path.Contains("/obj/", StringComparison.Ordinal)
            || name.EndsWith(".g.cs", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".generated.cs", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".designer.cs", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return root.GetLeadingTrivia().Any(t =>
            t.IsKind(SyntaxKind.SingleLineCommentTrivia) && t.ToString().Contains("<auto-generated", StringComparison.Ordinal));
    }

    public static string Relative(Solution solution, string? path)
    {
        var dir = Path.GetDirectoryName(solution.FilePath) ?? "";
        return path is null ? "?" : Path.GetRelativePath(dir, path);
    }
}
